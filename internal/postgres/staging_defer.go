package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
)

// deferMark starts the staging table's comment while indexes are deferred:
// the rest is the JSON list of what BuildDeferred still has to build.
// swapkeep sets staging's comment from live's at the swap, after the build
// has cleared this one; a table comment is not copied by LIKE.
const deferMark = "ferry:deferred-indexes "

// deferredIndex is one index or index-backed constraint (primary key,
// unique, exclusion) dropped from staging for the load.
type deferredIndex struct {
	Name       string `json:"name"`
	Constraint bool   `json:"constraint,omitempty"`
	Def        string `json:"def"`
}

// deferIndexes drops from staging (inside PrepareStaging's tx) every index
// but one that leads with the chunk column (Load's range DELETE and count
// use it) and records their definitions in staging's comment, so that the
// load does not maintain them row by row. BuildDeferred builds them before
// the swap.
func deferIndexes(ctx context.Context, tx pgx.Tx, schema, staging string, chunkAttnum int16) error {
	rel := qualified(schema, staging)
	rows, err := tx.Query(ctx, `SELECT ic.relname, i.indkey[0] = $2 AND NOT i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL,
			i.indkey[0] = $2, coalesce(con.conname, ''), coalesce(pg_get_constraintdef(con.oid), ''), pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
		LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
		WHERE i.indrelid = $1::regclass
		ORDER BY 2 DESC, 3 DESC, i.indnatts, ic.relname`, rel, chunkAttnum)
	if err != nil {
		return err
	}
	type ix struct {
		name, conName, conDef, def string
		plain, leads               bool
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ix, error) {
		var v ix
		return v, r.Scan(&v.name, &v.plain, &v.leads, &v.conName, &v.conDef, &v.def)
	})
	if err != nil {
		return err
	}
	if len(all) == 0 || !all[0].leads {
		return errors.New("no index leads with the chunk column")
	}
	var deferred []deferredIndex
	for _, v := range all[1:] {
		drop := `DROP INDEX ` + qualified(schema, v.name)
		d := deferredIndex{Name: v.name, Def: v.def}
		if v.conName != "" {
			drop = `ALTER TABLE ` + rel + ` DROP CONSTRAINT ` + quoteIdent(v.conName)
			d = deferredIndex{Name: v.conName, Constraint: true, Def: `ALTER TABLE ` + rel + ` ADD CONSTRAINT ` + quoteIdent(v.conName) + ` ` + v.conDef}
		}
		if _, err := tx.Exec(ctx, drop); err != nil {
			return err
		}
		deferred = append(deferred, d)
	}
	return setDeferred(ctx, tx, rel, deferred)
}

func setDeferred(ctx context.Context, tx pgx.Tx, rel string, deferred []deferredIndex) error {
	if len(deferred) == 0 {
		_, err := tx.Exec(ctx, `COMMENT ON TABLE `+rel+` IS NULL`)
		return err
	}
	b, err := json.Marshal(deferred)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `COMMENT ON TABLE `+rel+` IS `+quoteLiteral(deferMark+string(b)))
	return err
}

// BuildDeferred builds on each staging table of req the indexes and
// constraints PrepareStaging deferred, one transaction per index that also
// removes it from the record: a retried or resumed swap builds only what is
// missing. A unique index or primary key that finds duplicate keys is a
// DataError naming the table and index; nothing of live is touched. The
// swap-tables Lambda's timeout bounds the whole build.
func (t *Target) BuildDeferred(ctx context.Context, req ferry.SwapRequest) error {
	for _, tb := range req.Tables {
		op := fmt.Sprintf("postgres: build deferred indexes of %s.%s for %s", req.Schema, tb.Staging, tb.Table)
		for {
			done, err := t.buildOne(ctx, op, req.Schema, tb)
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	return nil
}

// buildOne builds the first deferred index still recorded on tb's staging
// table and reports whether none was left.
func (t *Target) buildOne(ctx context.Context, op, schema string, tb ferry.SwapTable) (bool, error) {
	rel := qualified(schema, tb.Staging)
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return false, wrapOp(ctx, op, err)
	}
	defer rollback(tx)
	var comment *string
	err = tx.QueryRow(ctx, `SELECT obj_description(c.oid, 'pg_class') FROM pg_class c
		WHERE c.relname = $2 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) FOR UPDATE OF c`, schema, tb.Staging).Scan(&comment)
	if errors.Is(err, pgx.ErrNoRows) || comment == nil || !strings.HasPrefix(*comment, deferMark) {
		return true, nil // no staging (the swap reports it) or nothing deferred
	}
	if err != nil {
		return false, wrapOp(ctx, op, err)
	}
	var deferred []deferredIndex
	if err := json.Unmarshal([]byte(strings.TrimPrefix(*comment, deferMark)), &deferred); err != nil {
		return false, fmt.Errorf("%s: read the record of deferred indexes: %w", op, err)
	}
	if len(deferred) > 0 {
		d := deferred[0]
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $2 AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1))
			OR EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $3::regclass AND conname = $2)`, schema, d.Name, rel).Scan(&exists); err != nil {
			return false, wrapOp(ctx, op, err)
		}
		if !exists {
			if _, err := tx.Exec(ctx, d.Def); err != nil {
				return false, buildErr(ctx, op, tb, d, err)
			}
		}
		t.log().InfoContext(ctx, "postgres: deferred index built", "schema", schema, "table", tb.Table, "staging", tb.Staging, "index", d.Name)
		deferred = deferred[1:]
	}
	if err := setDeferred(ctx, tx, rel, deferred); err != nil {
		return false, wrapOp(ctx, op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, wrapOp(ctx, op, err)
	}
	return len(deferred) == 0, nil
}

// buildErr reports duplicate keys (23505) or NULLs in a primary key (23502)
// as a DataError naming table and index; other errors are classified.
func buildErr(ctx context.Context, op string, tb ferry.SwapTable, d deferredIndex, err error) error {
	if c := pgCode(err); c == "23505" || c == "23502" {
		pe := asPgError(err)
		return &ferry.DataError{Where: ferry.Where{Table: tb.Table},
			Msg: fmt.Sprintf("%s: unique index or primary key %s (%s, live's index on the same keys) of table %s cannot be built on the loaded rows: %s; live table %s is unchanged",
				op, d.Name, d.Def, tb.Table, pe.Message, tb.Table),
			Fix:    fmt.Sprintf("make the query return unique, non-NULL keys for %s (or drop that index/primary key from the live table %s)", d.Name, tb.Table),
			Detail: pe.Detail}
	}
	return wrapOp(ctx, op, err)
}
