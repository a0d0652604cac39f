package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
)

// deferMark starts the staging table's comment while indexes are deferred:
// the rest is the JSON list of what BuildDeferred still has to build.
// swapkeep sets staging's comment from live's at the swap, after the build
// has cleared this one; a table comment is not copied by LIKE.
const deferMark = "ferry:deferred-indexes "

// deferredIndex is one index or index-backed constraint (primary key,
// unique, exclusion) dropped from staging for the load. Def rebuilds it
// alone (CREATE INDEX, or ALTER TABLE ADD CONSTRAINT). For a primary key
// or unique constraint that is not deferrable, IndexDef is its index's
// CREATE UNIQUE INDEX (named Index) and Kind "p" or "u": BuildDeferred
// builds that index beside the others, then attaches it (ADD CONSTRAINT
// ... USING INDEX). Records written before IndexDef existed build by Def.
type deferredIndex struct {
	Name       string `json:"name"`
	Constraint bool   `json:"constraint,omitempty"`
	Def        string `json:"def"`
	Kind       string `json:"kind,omitempty"`
	Index      string `json:"index,omitempty"`
	IndexDef   string `json:"index_def,omitempty"`
}

// deferIndexes drops every index and index-backed constraint of staging
// (inside PrepareStaging's tx) and records their definitions in staging's
// comment, so that the load maintains none of them row by row and
// BuildDeferred builds them before the swap.
func deferIndexes(ctx context.Context, tx pgx.Tx, schema, staging string) error {
	rel := qualified(schema, staging)
	rows, err := tx.Query(ctx, `SELECT ic.relname, coalesce(con.conname, ''), coalesce(con.contype::text, ''), coalesce(con.condeferrable, false),
			coalesce(pg_get_constraintdef(con.oid), ''), pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
		LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
		WHERE i.indrelid = $1::regclass
		ORDER BY i.indisprimary DESC, ic.relname`, rel)
	if err != nil {
		return err
	}
	type ix struct {
		name, conName, conType, conDef, def string
		deferrable                          bool
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ix, error) {
		var v ix
		return v, r.Scan(&v.name, &v.conName, &v.conType, &v.deferrable, &v.conDef, &v.def)
	})
	if err != nil {
		return err
	}
	var deferred []deferredIndex
	for _, v := range all {
		drop := `DROP INDEX ` + qualified(schema, v.name)
		d := deferredIndex{Name: v.name, Def: v.def}
		if v.conName != "" {
			drop = `ALTER TABLE ` + rel + ` DROP CONSTRAINT ` + quoteIdent(v.conName)
			d = deferredIndex{Name: v.conName, Constraint: true, Def: `ALTER TABLE ` + rel + ` ADD CONSTRAINT ` + quoteIdent(v.conName) + ` ` + v.conDef}
			if (v.conType == "p" || v.conType == "u") && !v.deferrable {
				d.Kind, d.Index, d.IndexDef = v.conType, v.name, v.def
			}
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
