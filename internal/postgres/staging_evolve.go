package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5"
)

// createStaging creates the (dropped) staging table as PrepareStaging
// describes and returns how it differs from the live table (nil: LIKE
// live, or no live table).
func (t *Target) createStaging(ctx context.Context, tx pgx.Tx, schema, table, staging string, cols []ferry.Column, chunkColumn string, exists bool, liveOID uint32) ([]ferry.SchemaChange, error) {
	like := `CREATE TABLE ` + qualified(schema, staging) + ` (LIKE ` + qualified(schema, table) + ` INCLUDING ALL)`
	typeOf := func(c ferry.Column) (string, error) { return stagingType(ctx, tx, c) }
	if exists && (len(cols) == 0 || !derivable(cols, typeOf)) {
		// A live table made by hand for a type Ferry cannot derive keeps
		// its shape (the loader still checks each chunk against it).
		_, err := tx.Exec(ctx, like)
		return nil, err
	}
	create, err := createDDL(schema, table, staging, cols, chunkColumn, typeOf)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, create); err != nil {
		return nil, err
	}
	if !exists {
		return nil, nil
	}
	changes, err := compareRelations(ctx, tx, qualified(schema, table), qualified(schema, staging))
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		if _, err := tx.Exec(ctx, `DROP TABLE `+qualified(schema, staging)); err != nil {
			return nil, err
		}
		_, err := tx.Exec(ctx, like)
		return nil, err
	}
	if err := t.copyIndexes(ctx, tx, schema, table, staging, liveOID); err != nil {
		return nil, err
	}
	t.log().InfoContext(ctx, "postgres: the query's columns differ from the live table's; staging takes the new shape",
		"schema", schema, "table", table, "changes", fmt.Sprint(changes))
	return changes, nil
}

// derivable reports whether every column has a staging type.
func derivable(cols []ferry.Column, typeOf func(ferry.Column) (string, error)) bool {
	for _, c := range cols {
		if _, err := typeOf(c); err != nil {
			return false
		}
	}
	return true
}

// columnDefs reads a relation's columns (rel is a regclass text): each
// one's definition as the catalogs spell it, "numeric(12,4) NOT NULL",
// "text COLLATE \"C\"" (a collation only when not the type's default).
func columnDefs(ctx context.Context, tx pgx.Tx, rel string) ([]ferry.ColumnDef, error) {
	rows, err := tx.Query(ctx, `SELECT a.attname,
			format_type(a.atttypid, a.atttypmod)
			|| CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation THEN ' COLLATE ' || quote_ident(co.collname) ELSE '' END
			|| CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
		FROM pg_attribute a
		JOIN pg_type ty ON ty.oid = a.atttypid
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, rel)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ferry.ColumnDef, error) {
		var d ferry.ColumnDef
		err := r.Scan(&d.Name, &d.Def)
		return d, err
	})
}

// compareRelations returns how relation other differs from live.
func compareRelations(ctx context.Context, tx pgx.Tx, live, other string) ([]ferry.SchemaChange, error) {
	old, err := columnDefs(ctx, tx, live)
	if err != nil {
		return nil, err
	}
	now, err := columnDefs(ctx, tx, other)
	if err != nil {
		return nil, err
	}
	return ferry.DiffColumns(old, now), nil
}

// SchemaChanges reports how the table cols derive (see PrepareStaging)
// differs from the live table schema.table, column by column; nil when
// there is no live table or no difference. It creates a temporary table
// in a transaction it rolls back: nothing changes.
func (t *Target) SchemaChanges(ctx context.Context, schema, table string, cols []ferry.Column, chunkColumn string) ([]ferry.SchemaChange, error) {
	op := fmt.Sprintf("postgres: schema changes of %s.%s", schema, table)
	if err := validIdents(op, schema, table, chunkColumn); err != nil {
		return nil, err
	}
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return nil, wrapOp(ctx, op, err)
	}
	defer rollback(tx)
	_, exists, err := liveTable(ctx, tx, schema, table)
	if err != nil || !exists {
		return nil, wrapOp(ctx, op, err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	probe := "ferry_probe_" + hex.EncodeToString(b)
	create, err := createDDL(schema, table, probe, cols, chunkColumn, func(c ferry.Column) (string, error) { return stagingType(ctx, tx, c) })
	if err != nil {
		return nil, err
	}
	create = `CREATE TEMPORARY TABLE ` + quoteIdent(probe) + strings.TrimPrefix(create, `CREATE TABLE `+qualified(schema, probe))
	if _, err := tx.Exec(ctx, create); err != nil {
		return nil, wrapOp(ctx, op, err)
	}
	changes, err := compareRelations(ctx, tx, qualified(schema, table), "pg_temp."+quoteIdent(probe))
	if err != nil {
		return nil, wrapOp(ctx, op, err)
	}
	return changes, nil
}

// liveIndex is an index of the live table as copyIndexes reads it.
type liveIndex struct {
	name            string
	primary, unique bool
	method          string
	plain           bool     // no expression, no predicate
	keys, include   []string // column names
}

// copyIndexes re-creates the live table's primary key and plain indexes
// on staging when every column they name still exists there; the others
// are logged and left out.
func (t *Target) copyIndexes(ctx context.Context, tx pgx.Tx, schema, table, staging string, liveOID uint32) error {
	rows, err := tx.Query(ctx, `SELECT c.relname, i.indisprimary, i.indisunique, am.amname,
			i.indexprs IS NULL AND i.indpred IS NULL,
			ARRAY(SELECT coalesce(a.attname, '') FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
				LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)::text[],
			i.indnkeyatts
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		WHERE i.indrelid = $1 ORDER BY i.indisprimary DESC, c.relname`, liveOID)
	if err != nil {
		return err
	}
	idx, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (liveIndex, error) {
		var ix liveIndex
		var all []string
		var nkey int16
		err := r.Scan(&ix.name, &ix.primary, &ix.unique, &ix.method, &ix.plain, &all, &nkey)
		if int(nkey) <= len(all) {
			ix.keys, ix.include = all[:nkey], all[nkey:]
		}
		return ix, err
	})
	if err != nil {
		return err
	}
	now, err := columnDefs(ctx, tx, qualified(schema, staging))
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, c := range now {
		has[c.Name] = true
	}
	for _, ix := range idx {
		if stmt, ok := indexDDL(ix, qualified(schema, staging), has); ok {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("re-create index %s of %s.%s on the new shape: %w", ix.name, schema, table, err)
			}
			continue
		}
		t.log().WarnContext(ctx, "postgres: an index of the live table is an expression or partial index, or names a column the query no longer returns; staging goes without it",
			"schema", schema, "table", table, "index", ix.name)
	}
	return nil
}

// indexDDL is the statement that re-creates ix on table, false when ix
// cannot be (not plain, or a column is missing).
func indexDDL(ix liveIndex, table string, has map[string]bool) (string, bool) {
	if !ix.plain || len(ix.keys) == 0 {
		return "", false
	}
	quote := func(names []string) (string, bool) {
		q := make([]string, len(names))
		for i, n := range names {
			if n == "" || !has[n] {
				return "", false
			}
			q[i] = quoteIdent(n)
		}
		return strings.Join(q, ", "), true
	}
	keys, ok := quote(ix.keys)
	if !ok {
		return "", false
	}
	inc, ok := quote(ix.include)
	if !ok {
		return "", false
	}
	if inc != "" {
		inc = " INCLUDE (" + inc + ")"
	}
	switch {
	case ix.primary:
		return `ALTER TABLE ` + table + ` ADD PRIMARY KEY (` + keys + `)` + inc, true
	case ix.unique:
		return `CREATE UNIQUE INDEX ON ` + table + ` USING ` + quoteIdent(ix.method) + ` (` + keys + `)` + inc, true
	}
	return `CREATE INDEX ON ` + table + ` USING ` + quoteIdent(ix.method) + ` (` + keys + `)` + inc, true
}
