package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5"
)

// PrepareStaging (re)creates the empty staging table schema.staging for
// schema.table in one transaction: DROP TABLE IF EXISTS staging RESTRICT
// (after reclaimSequences; a drop that other objects block is a
// ConfigError naming them, nothing changed), then creates it shaped by
// the query's columns (cols), so that a schema change goes live with the
// swap (ferry.SchemaEvolve):
//
//   - no live table: a table derived from cols (MapType for a MySQL
//     source, the source's own types for a PostgreSQL one);
//   - a live table whose columns are what cols derive (names, types with
//     their modifiers, collations, NOT NULL: SchemaChanges is empty):
//     CREATE TABLE staging (LIKE live INCLUDING ALL), which keeps
//     defaults, identity, constraints, indexes, comments and storage;
//   - a live table that differs: the derived table, plus the live table's
//     primary key and plain indexes on the columns that still exist
//     (expression and partial indexes, and any on a dropped column, are
//     left out and logged). Grants, RLS, policies, triggers and comments
//     are the swap's to carry (see Swap).
//
// Without cols (nil), or when a column's type cannot be derived (a live
// table made by hand for it), a live table is copied LIKE it is.
// Idempotent.
//
// Indexes after the load: staging is left with no index at all. Every
// index and index-backed constraint it got (primary key, unique,
// exclusion) is dropped and recorded in its comment (deferIndexes);
// BuildDeferred builds them, several at once, after the last chunk and
// before the swap. Loads find an earlier attempt of their chunk through
// the schema's LedgerTable, which this creates if missing.
//
// It refuses (ConfigError, nothing changed) a live table that views or
// other tables' foreign keys depend on, since a swap could not keep them
// (see Swap), a chunk column that cols lack, and a MySQL type MapType does
// not know.
func (t *Target) PrepareStaging(ctx context.Context, schema, table, staging string, cols []ferry.Column, chunkColumn string) error {
	op := fmt.Sprintf("postgres: prepare staging %s.%s for %s", schema, staging, table)
	if err := validIdents(op, schema, table, staging, chunkColumn); err != nil {
		return err
	}
	if staging == table {
		return &ferry.ConfigError{Where: ferry.Where{Table: table}, Msg: op + ": staging and live have the same name", Fix: "use ferry.StagingName"}
	}
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return wrapOp(ctx, op, err)
	}
	defer rollback(tx)
	live, exists, err := liveTable(ctx, tx, schema, table)
	if err != nil {
		return wrapOp(ctx, op, err)
	}
	if exists {
		if err := checkDependents(ctx, tx, schema, table, live.oid); err != nil {
			return wrapOp(ctx, op, err)
		}
	}
	if exists {
		if err := t.reclaimSequences(ctx, tx, schema, table, staging, live.oid); err != nil {
			return wrapOp(ctx, op, err)
		}
	}
	// RESTRICT (the default, spelled out): the drop never cascades to an
	// object outside the staging table; one that still depends on it fails
	// the drop and leaves everything as it was.
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+qualified(schema, staging)+` RESTRICT`); err != nil {
		if pe := asPgError(err); pe != nil && pe.Code == "2BP01" {
			return &ferry.ConfigError{Where: ferry.Where{Table: table},
				Msg: fmt.Sprintf("%s: %s (%s); Ferry drops and recreates the staging table at every run", op, pe.Message, pe.Detail),
				Fix: "drop the objects that depend on " + schema + "." + staging + " or detach them (e.g. ALTER SEQUENCE ... OWNED BY NONE)"}
		}
		return wrapOp(ctx, op, err)
	}
	changes, err := t.createStaging(ctx, tx, schema, table, staging, cols, chunkColumn, exists, live.oid)
	if err != nil {
		return wrapOp(ctx, op, err)
	}
	// The chunk column must exist: Load filters and deletes by its range.
	var stagingOID uint32
	err = tx.QueryRow(ctx, `SELECT a.attrelid::oid FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped`,
		qualified(schema, staging), chunkColumn).Scan(&stagingOID)
	if errors.Is(err, pgx.ErrNoRows) {
		return &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s: chunk column %q is not a column of the live table %s.%s", op, chunkColumn, schema, table),
			Fix: "add the column to the live table, or drop the live table so that Ferry recreates it from the query"}
	}
	if err != nil {
		return wrapOp(ctx, op, err)
	}
	// Indexes after the load: staging loads with none; Swap builds them.
	if err := deferIndexes(ctx, tx, schema, staging); err != nil {
		return wrapOp(ctx, op+": defer indexes", err)
	}
	if err := ensureLedger(ctx, tx, schema, stagingOID); err != nil {
		return wrapOp(ctx, op+": chunk ledger", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapOp(ctx, op, err)
	}
	t.log().InfoContext(ctx, "postgres: staging prepared", "schema", schema, "table", table, "staging", staging, "like_live", exists && len(changes) == 0)
	return nil
}

// wrapOp keeps typed Ferry errors as they are, reports a missing privilege
// as a ConfigError and classifies the rest.
func wrapOp(ctx context.Context, op string, err error) error {
	switch err.(type) {
	case *ferry.ConfigError, *ferry.DataError, *ferry.CountMismatchError:
		return err
	}
	if pe := asPgError(err); pe != nil && pe.Code == "42501" {
		return &ferry.ConfigError{Msg: op + ": " + pe.Message,
			Fix: "Ferry's database role lacks a privilege: it needs CREATE on the schema and must own (or be a member of the owner of) the tables it replaces; see the internal/postgres package documentation"}
	}
	return classify(ctx, op, err)
}

// createDDL is the CREATE TABLE of a staging table without a live table.
// Columns keep NOT NULL except temporal ones, which the zero-date policy
// "null" may fill with NULL.
func createDDL(schema, table, staging string, cols []ferry.Column, chunkColumn string, typeOf func(ferry.Column) (string, error)) (string, error) {
	if len(cols) == 0 {
		return "", &ferry.ConfigError{Where: ferry.Where{Table: table}, Msg: "postgres: the query returns no columns", Fix: "check the table's query"}
	}
	var b strings.Builder
	b.WriteString(`CREATE TABLE ` + qualified(schema, staging) + ` (`)
	seen := map[string]bool{}
	hasChunk := false
	for i, c := range cols {
		if err := ferry.ValidIdent(c.Name); err != nil {
			return "", &ferry.ConfigError{Where: ferry.Where{Table: table}, Msg: "postgres: column: " + err.Error(), Fix: "alias the column in the query (AS name)"}
		}
		if seen[strings.ToLower(c.Name)] {
			return "", &ferry.ConfigError{Where: ferry.Where{Table: table}, Msg: fmt.Sprintf("postgres: column %q appears twice", c.Name), Fix: "alias the columns in the query so that names are unique"}
		}
		seen[strings.ToLower(c.Name)] = true
		if c.Name == chunkColumn {
			hasChunk = true
		}
		pt, err := typeOf(c)
		if err != nil {
			return "", &ferry.ConfigError{Where: ferry.Where{Table: table},
				Msg: fmt.Sprintf("postgres: column %s: %v", c.Name, err),
				Fix: "cast the column in the query to a supported type, or create the live table " + table + " by hand"}
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name) + " " + pt)
		if !c.Nullable && !isTemporal(c.Type) {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString(")")
	if !hasChunk {
		return "", &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("postgres: chunk column %q is not a column of the query", chunkColumn),
			Fix: "select the chunk column in the query or change chunk_column"}
	}
	return b.String(), nil
}

// reclaimSequences gives the live table back every sequence that the old
// staging table's columns own (pg_depend deptype 'a') while a column
// default of the live table draws from it: ALTER SEQUENCE s OWNED BY
// live.col, col being the first live column whose default uses s. That
// state is what a swap made before Swap moved OWNED BY sequences (see
// moveOwnedSequences) left behind; without this the DROP of the old
// staging table would fail (the live default depends on its sequence).
// Sequences nothing live uses are left alone and dropped with staging.
func (t *Target) reclaimSequences(ctx context.Context, tx pgx.Tx, schema, table, staging string, liveOID uint32) error {
	stg, ok, err := lookup(ctx, tx, schema, staging)
	if err != nil || !ok {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT sn.nspname, s.relname, u.attname
		FROM pg_depend o
		JOIN pg_class s ON s.oid = o.objid AND s.relkind = 'S'
		JOIN pg_namespace sn ON sn.oid = s.relnamespace
		CROSS JOIN LATERAL (SELECT a.attname FROM pg_depend d
			JOIN pg_attrdef ad ON ad.oid = d.objid
			JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum AND NOT a.attisdropped
			WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
			  AND d.refobjid = s.oid AND ad.adrelid = $2
			ORDER BY a.attnum LIMIT 1) u
		WHERE o.classid = 'pg_class'::regclass AND o.refclassid = 'pg_class'::regclass
		  AND o.deptype = 'a' AND o.refobjid = $1
		ORDER BY 1, 2`, stg.oid, liveOID)
	if err != nil {
		return err
	}
	type owned struct{ seqSchema, seq, col string }
	var move []owned
	for rows.Next() {
		var o owned
		if err := rows.Scan(&o.seqSchema, &o.seq, &o.col); err != nil {
			rows.Close()
			return err
		}
		move = append(move, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range move {
		if _, err := tx.Exec(ctx, `ALTER SEQUENCE `+qualified(o.seqSchema, o.seq)+` OWNED BY `+qualified(schema, table)+`.`+quoteIdent(o.col)); err != nil {
			return fmt.Errorf("give sequence %s.%s back to %s.%s column %s: %w", o.seqSchema, o.seq, schema, table, o.col, err)
		}
		t.log().WarnContext(ctx, "postgres: sequence owned by the old staging table given back to the live table",
			"schema", schema, "table", table, "sequence", o.seqSchema+"."+o.seq, "column", o.col)
	}
	return nil
}
