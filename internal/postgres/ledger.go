package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// LedgerTable is the table, in each company schema of a PostgreSQL
// target, where every committed chunk load leaves one row (staging's oid,
// the chunk's Lo, its rows), written in the load's own transaction.
//
// Staging keeps no index while chunks load (PrepareStaging defers every
// one, BuildDeferred builds them before the swap), so a load can no longer
// look for an earlier attempt's rows in its range cheaply: the ledger says
// whether there are any. A chunk with a ledger row (a retry after a load
// that committed) has its range deleted, by a scan of staging, before it is
// loaded again; a first load deletes nothing and scans nothing. The name
// starts with "_ferry_", which configured tables may not (ferry.ValidTableName).
// Rows are keyed by staging's oid: a staging table recreated by the next
// run starts with none, and PrepareStaging removes the rows of tables that
// no longer exist.
const LedgerTable = "_ferry_chunks"

// ensureLedger creates schema's ledger if it is missing and removes the
// rows of dropped tables and of the staging table stagingOID, which is
// about to be (re)filled. It runs in PrepareStaging's transaction; an
// advisory lock lets two tables of one schema be prepared at once.
func ensureLedger(ctx context.Context, tx pgx.Tx, schema string, stagingOID uint32) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "ferry ledger "+schema); err != nil {
		return err
	}
	led := qualified(schema, LedgerTable)
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+led+` (staging oid NOT NULL, lo bigint NOT NULL, "rows" bigint NOT NULL,
		loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (staging, lo))`); err != nil {
		return fmt.Errorf("create %s: %w", led, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+led+` l WHERE l.staging = $1 OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = l.staging)`, stagingOID); err != nil {
		return fmt.Errorf("clean %s: %w", led, err)
	}
	return nil
}

// takeLedger removes the ledger row of the chunk at lo of staging rel, in
// the load's transaction, and reports whether there was one: an earlier
// attempt committed rows of this chunk, which the load must delete first.
// Loads of one chunk take turns (Load's advisory lock), so the row an
// earlier attempt committed is visible here.
func takeLedger(ctx context.Context, tx pgx.Tx, schema, rel string, lo int64) (bool, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM `+qualified(schema, LedgerTable)+` WHERE staging = $1::regclass AND lo = $2`, rel, lo)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// recordLedger writes the chunk's ledger row in the load's transaction.
func recordLedger(ctx context.Context, tx pgx.Tx, schema, rel string, lo, rows int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+qualified(schema, LedgerTable)+` (staging, lo, "rows") VALUES ($1::regclass, $2, $3)`, rel, lo, rows)
	return err
}
