package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/ferrydata/ferry"
)

// deferredBuilds is how many deferred indexes BuildDeferred builds at once,
// each on its own connection: on 2 cores, a primary key and an index built
// side by side took 2.5 s where one after the other took 3.4 s (2M rows,
// docs/performance.md). A swap thus holds up to this many target
// connections while it builds, the connections its company's loads held
// just before.
const deferredBuilds = 2

// buildJob is one index to build: a plain index, or the unique index that
// a primary key or unique constraint is then attached to.
type buildJob struct {
	tb       ferry.SwapTable
	d        deferredIndex
	name, do string
}

// BuildDeferred builds the indexes and constraints PrepareStaging deferred
// on req's staging tables, after the load and before the swap. First every
// index, deferredBuilds at a time (each CREATE INDEX in its own
// transaction; an index that already exists, from an earlier attempt, is
// skipped); then, per table in one transaction, the constraints are
// attached to their indexes (ADD CONSTRAINT ... USING INDEX; an exclusion
// or deferrable constraint is built there by its own ALTER TABLE) and the
// record is cleared. A retried or resumed swap builds only what is missing.
// A unique index or primary key that finds duplicate keys (or NULLs) is a
// DataError naming the table and index; nothing of live is touched. The
// swap-tables Lambda's timeout bounds the whole build.
func (t *Target) BuildDeferred(ctx context.Context, req ferry.SwapRequest) error {
	var jobs []buildJob
	recorded := map[string][]deferredIndex{}
	for _, tb := range req.Tables {
		deferred, err := t.readDeferred(ctx, req.Schema, tb)
		if err != nil {
			return err
		}
		recorded[tb.Staging] = deferred
		for _, d := range deferred {
			switch {
			case !d.Constraint:
				jobs = append(jobs, buildJob{tb: tb, d: d, name: d.Name, do: d.Def})
			case d.IndexDef != "":
				jobs = append(jobs, buildJob{tb: tb, d: d, name: d.Index, do: d.IndexDef})
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(deferredBuilds)
	for _, j := range jobs {
		g.Go(func() error { return t.buildIndex(gctx, req.Schema, j) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, tb := range req.Tables {
		if len(recorded[tb.Staging]) == 0 {
			continue
		}
		if err := t.attachDeferred(ctx, req.Schema, tb); err != nil {
			return err
		}
	}
	return nil
}

func buildOp(schema string, tb ferry.SwapTable) string {
	return fmt.Sprintf("postgres: build deferred indexes of %s.%s for %s", schema, tb.Staging, tb.Table)
}

// readDeferred is the record in tb's staging comment (nil when nothing is
// deferred or there is no staging table, which the swap reports).
func (t *Target) readDeferred(ctx context.Context, schema string, tb ferry.SwapTable) ([]deferredIndex, error) {
	return deferredOf(ctx, t.pool, buildOp(schema, tb), schema, tb.Staging, "")
}

// deferredOf reads staging's record through q; lock is appended to the
// query (" FOR UPDATE OF c" in the attach transaction).
func deferredOf(ctx context.Context, q querier, op, schema, staging, lock string) ([]deferredIndex, error) {
	var comment *string
	err := q.QueryRow(ctx, `SELECT obj_description(c.oid, 'pg_class') FROM pg_class c
		WHERE c.relname = $2 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)`+lock, schema, staging).Scan(&comment)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (comment == nil || !strings.HasPrefix(*comment, deferMark)) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapOp(ctx, op, err)
	}
	var deferred []deferredIndex
	if err := json.Unmarshal([]byte(strings.TrimPrefix(*comment, deferMark)), &deferred); err != nil {
		return nil, fmt.Errorf("%s: read the record of deferred indexes: %w", op, err)
	}
	return deferred, nil
}

// buildIndex runs j's CREATE INDEX in its own transaction unless an index
// of that name exists (an earlier attempt built it, or the constraint is
// already attached).
func (t *Target) buildIndex(ctx context.Context, schema string, j buildJob) error {
	op := buildOp(schema, j.tb)
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return wrapOp(ctx, op, err)
	}
	defer rollback(tx)
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $2 AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1))`,
		schema, j.name).Scan(&exists); err != nil {
		return wrapOp(ctx, op, err)
	}
	if exists {
		return nil
	}
	if _, err := tx.Exec(ctx, j.do); err != nil {
		return buildErr(ctx, op, j.tb, j.d, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return buildErr(ctx, op, j.tb, j.d, err)
	}
	t.log().InfoContext(ctx, "postgres: deferred index built", "schema", schema, "table", j.tb.Table, "staging", j.tb.Staging, "index", j.name)
	return nil
}

// attachDeferred attaches tb's deferred constraints to the indexes
// buildIndex built (or builds one by its ALTER TABLE when it has no
// IndexDef) and clears the record, in one transaction that holds the
// record's row.
func (t *Target) attachDeferred(ctx context.Context, schema string, tb ferry.SwapTable) error {
	op := buildOp(schema, tb)
	rel := qualified(schema, tb.Staging)
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return wrapOp(ctx, op, err)
	}
	defer rollback(tx)
	deferred, err := deferredOf(ctx, tx, op, schema, tb.Staging, " FOR UPDATE OF c")
	if err != nil || len(deferred) == 0 {
		return err
	}
	for _, d := range deferred {
		if !d.Constraint {
			continue
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2)`, rel, d.Name).Scan(&exists); err != nil {
			return wrapOp(ctx, op, err)
		}
		if exists {
			continue
		}
		stmt := d.Def
		if d.IndexDef != "" {
			kind := "UNIQUE"
			if d.Kind == "p" {
				kind = "PRIMARY KEY"
			}
			stmt = `ALTER TABLE ` + rel + ` ADD CONSTRAINT ` + quoteIdent(d.Name) + ` ` + kind + ` USING INDEX ` + quoteIdent(d.Index)
		}
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return buildErr(ctx, op, tb, d, err)
		}
		t.log().InfoContext(ctx, "postgres: deferred constraint added", "schema", schema, "table", tb.Table, "staging", tb.Staging, "constraint", d.Name)
	}
	if err := setDeferred(ctx, tx, rel, nil); err != nil {
		return wrapOp(ctx, op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapOp(ctx, op, err)
	}
	return nil
}
