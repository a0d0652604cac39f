package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/retry"
)

// FreshnessTable is ferry.FreshnessTable, on MySQL:
//
//	table_name varchar(64) PRIMARY KEY, run_id varchar(255), `rows` bigint, swapped_at datetime(6) (UTC)
const FreshnessTable = ferry.FreshnessTable

// SwapLockWaitTimeout is the lock_wait_timeout (seconds) of the swap's
// session: a RENAME waiting behind a long reader gives up quickly, so that
// the readers queued behind the RENAME are not stalled, and is retried.
const SwapLockWaitTimeout = 5

// Swap markers: before the RENAME, Swap creates the table
// swapPendingPrefix+h (h: 16 hex of SHA-256 of the run id) holding the run
// id, and the RENAME statement itself renames it to swapDonePrefix+h. The
// marker therefore changes name atomically with the tables: after any
// failure, "swapped marker exists" is exactly "this run's swap happened".
// Markers of other runs are dropped after each swap, so a schema holds one.
const (
	swapPendingPrefix = "_ferry_swapping_"
	swapDonePrefix    = "_ferry_swapped_"
)

type swapInfo struct {
	tbl           ferry.SwapTable
	live, staging bool
}

func runHash(runID string) string {
	sum := sha256.Sum256([]byte(runID))
	return hex.EncodeToString(sum[:8])
}

// Swap exchanges staging and live for all of req.Tables at once.
//
//  1. If this run's swapped marker table (see below) exists, the swap
//     already happened in an earlier attempt: nothing is renamed and
//     AlreadySwapped is true; steps 5-6 are redone (they are idempotent).
//     This check comes before the count check because after a swap
//     staging holds the previous data.
//  2. It counts every staging table (ferry.SwapRequest.CheckCounts) and
//     refuses with a *ferry.CountMismatchError when one differs from
//     Expected or does not exist. Live is untouched.
//     Then it builds the secondary indexes PrepareStaging deferred
//     (BuildDeferred: one ALTER TABLE per staging table); a UNIQUE index
//     meeting duplicate keys is a *ferry.DataError. Live is untouched.
//  3. It gives each staging table what defines its live table
//     (keepDefinition: the table and column comments, and the triggers,
//     moved from live to staging; moved back if the RENAME fails), then
//     creates the marker table _ferry_swapping_<h> (h = 16 hex of the
//     SHA-256 of the run id) holding the run id.
//  4. It renames everything in ONE statement, which MySQL applies
//     atomically: RENAME TABLE live TO old, staging TO live, old TO
//     staging, ... (a table without a live table yet: staging TO live),
//     _ferry_swapping_<h> TO _ferry_swapped_<h>. The marker's new name is
//     thus the atomic record of the swap (unlike a freshness row written
//     after it), and live tables' own comments are left alone. Readers of
//     live wait on the metadata lock and then see either the old or the
//     new table, never a missing or partial one. The session's
//     lock_wait_timeout is SwapLockWaitTimeout seconds; a lock wait
//     timeout or deadlock is retried with retry.Backoff (WithSwapAttempts,
//     WithSleep), then returned as ferry.Retryable.
//     When the RENAME fails for any reason but this run's swapped marker
//     exists (a retry racing its first attempt, which swapped in between),
//     the swap is done: AlreadySwapped, and steps 5-6 follow.
//  5. It upserts FreshnessTable in one transaction (a retry keeps the
//     first swapped_at), retrying transient errors a few times. If that
//     still fails, the error is a ferry.RetryableError whose message says
//     "swapped, but recording freshness failed": the new data IS live, and
//     the retry (AlreadySwapped) records freshness.
//  6. Best effort (failures are logged, not returned): it truncates what
//     was live (now staging, the next run's staging; for a table that had
//     no live table it creates staging LIKE live), and drops the marker
//     tables of other runs and this run's pending marker. The next run's
//     PrepareStaging recreates staging anyway.
//
// The swap session runs USE <schema> for the RENAME (the embedded demo
// server resolves RENAME targets in the current database) and restores the
// session's database afterwards.
//
// Grants on live tables are by name in MySQL, so they apply to the new
// live table; triggers and comments are carried by keepDefinition.
func (t *Target) Swap(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	op := "mysql: swap schema " + req.Schema
	var res ferry.SwapResult
	if err := req.Validate(); err != nil {
		return res, fmt.Errorf("%s: %w", op, err)
	}
	h := runHash(req.RunID)
	pending, done := swapPendingPrefix+h, swapDonePrefix+h
	conn, restore, err := t.swapSession(ctx, req.Schema)
	if err != nil {
		return res, classify(op, err)
	}
	defer conn.Close()
	defer restore()
	if err := ensureFreshness(ctx, conn, req.Schema); err != nil {
		return res, classify(op+": freshness table", err)
	}
	names, err := schemaTables(ctx, conn, req.Schema)
	if err != nil {
		return res, classify(op, err)
	}
	infos := make([]swapInfo, len(req.Tables))
	for i, st := range req.Tables {
		infos[i] = swapInfo{tbl: st, live: names[strings.ToLower(st.Table)], staging: names[strings.ToLower(st.Staging)]}
	}
	if names[done] {
		res.AlreadySwapped = true
		t.opts.log.InfoContext(ctx, "mysql: swap already done by this run; not renaming again", "run_id", req.RunID, "schema", req.Schema)
	} else if res, err = t.verifyAndRename(ctx, conn, req, infos, names, pending, done); err != nil {
		return res, err
	}
	// The new data is live. Record it first: a failure from here on must
	// not read as "not swapped".
	ferr := t.recordFreshness(ctx, req, &res)
	// Best effort: PrepareStaging of the next run drops and recreates
	// staging anyway, and the next swap drops stale markers.
	t.cleanUp(ctx, conn, req.Schema, infos, names, pending, done)
	if ferr != nil {
		return res, ferr
	}
	t.opts.log.InfoContext(ctx, "mysql: swapped", "run_id", req.RunID, "schema", req.Schema, "tables", len(infos), "already_swapped", res.AlreadySwapped)
	return res, nil
}

// swapSession returns a connection of its own with the swap's
// lock_wait_timeout, and the func that puts the session back as it was
// (timeout and current database) or, when it cannot, keeps the connection
// from being reused.
func (t *Target) swapSession(ctx context.Context, schema string) (*sql.Conn, func(), error) {
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	var origDB sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&origDB); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", t.opts.lockWait)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	restore := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, err := conn.ExecContext(rctx, "SET SESSION lock_wait_timeout = DEFAULT")
		if err == nil && origDB.Valid && !strings.EqualFold(origDB.String, schema) {
			_, err = conn.ExecContext(rctx, "USE "+quoteIdent(origDB.String))
		}
		if err != nil || !origDB.Valid {
			// The session cannot be put back as it was: do not reuse it.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	return conn, restore, nil
}

// verifyAndRename is steps 2-4 of Swap: the counts (ferry.SwapRequest
// CheckCounts), the pending marker and the one RENAME. A RENAME that fails
// while this run's done marker exists is a racing attempt's swap: then the
// result says AlreadySwapped.
func (t *Target) verifyAndRename(ctx context.Context, conn *sql.Conn, req ferry.SwapRequest, infos []swapInfo, names map[string]bool, pending, done string) (ferry.SwapResult, error) {
	op := "mysql: swap schema " + req.Schema
	var res ferry.SwapResult
	err := req.CheckCounts(func(staging string) (int64, error) {
		if !names[strings.ToLower(staging)] {
			return 0, ferry.ErrNotFound
		}
		var n int64
		qctx, cancel, q := t.limit(ctx, "SELECT COUNT(*) FROM "+qualified(req.Schema, staging))
		defer cancel()
		if err := conn.QueryRowContext(qctx, q).Scan(&n); err != nil {
			return 0, classify(op+": count "+staging, err)
		}
		return n, nil
	})
	if err != nil {
		return res, err
	}
	if err := t.buildDeferred(ctx, conn, req); err != nil {
		return res, err
	}
	t.runHook(hookAfterCounts)
	kept, err := t.keepDefinition(ctx, conn, req.Schema, infos)
	if err == nil {
		err = createMarker(ctx, conn, req.Schema, pending, req.RunID)
	}
	if err != nil {
		t.restore(ctx, conn, req.Schema, kept)
		if _, ok := err.(*ferry.ConfigError); ok {
			return res, err
		}
		return res, classify(op+": keep the live tables' triggers and comments", err)
	}
	t.runHook(hookBeforeRename)
	if err := t.rename(ctx, conn, req.Schema, infos, pending, done); err != nil {
		// A retry racing its first attempt fails here (the done
		// marker exists: error 1050; or the shared pending marker
		// was renamed away: 1146) after the first attempt swapped.
		// The done marker tells: then this is a swap already done.
		// The pool, not conn, asks: conn may be what failed.
		ok, cerr := tableExists(ctx, t.db, req.Schema, done)
		if cerr != nil || !ok {
			t.restore(ctx, conn, req.Schema, kept)
			return res, err
		}
		res.AlreadySwapped = true
		t.opts.log.InfoContext(ctx, "mysql: swap done by a concurrent attempt of this run; not renaming again", "run_id", req.RunID, "schema", req.Schema, "rename_error", err.Error())
		return res, nil
	}
	res.SwappedAt = t.opts.now().UTC()
	return res, nil
}

// freshnessAttempts is how many times Swap tries to record freshness after
// the RENAME when the error is transient.
const freshnessAttempts = 4

// recordFreshness upserts FreshnessTable for req's tables in one
// transaction, retrying transient errors with doubling backoff (WithSleep).
// With res.AlreadySwapped it first sets res.SwappedAt from an earlier
// attempt's rows (the current time when there are none). Its error says
// the tables were swapped and is retryable: the retry finds the swap done
// and records freshness again.
func (t *Target) recordFreshness(ctx context.Context, req ferry.SwapRequest, res *ferry.SwapResult) error {
	_, err := retry.Do(ctx, retry.Policy{Attempts: freshnessAttempts, Retryable: isTransient, Sleep: t.opts.sleep,
		OnRetry: func(attempt int, _ time.Duration, err error) {
			t.opts.log.WarnContext(ctx, "mysql: swapped, but recording freshness failed; retrying", "schema", req.Schema, "run_id", req.RunID, "attempt", attempt, "error", err.Error())
		}}, func(int) error { return t.upsertFreshness(ctx, req, res) })
	if err == nil {
		return nil
	}
	return ferry.Retryable("mysql: swap schema "+req.Schema+": swapped, but recording freshness failed", fmt.Errorf("%w: %w (fix: a retry of the swap step records it)", ferry.ErrSwappedUnrecorded, err))
}

func (t *Target) upsertFreshness(ctx context.Context, req ferry.SwapRequest, res *ferry.SwapResult) error {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if res.AlreadySwapped {
		var at scanTime
		if err := tx.QueryRowContext(ctx, "SELECT MIN(swapped_at) FROM "+qualified(req.Schema, FreshnessTable)+" WHERE run_id = ?", req.RunID).Scan(&at); err != nil {
			return fmt.Errorf("read %s: %w", FreshnessTable, err)
		}
		res.SwappedAt = t.opts.now().UTC()
		if at.Valid {
			res.SwappedAt = at.T
		}
	}
	for _, st := range req.Tables {
		_, err := tx.ExecContext(ctx, "INSERT INTO "+qualified(req.Schema, FreshnessTable)+
			" (table_name, run_id, `rows`, swapped_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE"+
			" swapped_at = IF(run_id = VALUES(run_id), swapped_at, VALUES(swapped_at)), `rows` = VALUES(`rows`), run_id = VALUES(run_id)",
			st.Table, req.RunID, st.Expected, res.SwappedAt.Format("2006-01-02 15:04:05.000000"))
		if err != nil {
			return fmt.Errorf("table %s: %w", st.Table, err)
		}
	}
	return tx.Commit()
}

// cleanUp empties what was live (now the next run's staging; for a table
// that had no live table it creates staging LIKE live) and drops every
// marker table but this run's done marker, including a pending marker a
// racing attempt left. Best effort: failures are logged.
func (t *Target) cleanUp(ctx context.Context, conn *sql.Conn, schema string, infos []swapInfo, names map[string]bool, pending, done string) {
	for _, in := range infos {
		st, err := tableExists(ctx, conn, schema, in.tbl.Staging)
		if err == nil {
			q := "TRUNCATE TABLE " + qualified(schema, in.tbl.Staging)
			if !st {
				q = "CREATE TABLE " + qualified(schema, in.tbl.Staging) + " LIKE " + qualified(schema, in.tbl.Table)
			}
			_, err = conn.ExecContext(ctx, q)
		}
		if err != nil {
			t.opts.log.WarnContext(ctx, "mysql: swapped, but resetting staging failed; the next run's PrepareStaging recreates it", "schema", schema, "table", in.tbl.Table, "staging", in.tbl.Staging, "error", err.Error())
		}
	}
	drop := []string{pending}
	for name := range names {
		if name != done && name != pending && (strings.HasPrefix(name, swapPendingPrefix) || strings.HasPrefix(name, swapDonePrefix)) {
			drop = append(drop, name)
		}
	}
	for _, name := range drop {
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+qualified(schema, name)); err != nil {
			t.opts.log.WarnContext(ctx, "mysql: swapped, but dropping an old swap marker failed; the next swap drops it", "schema", schema, "marker", name, "error", err.Error())
		}
	}
}

// Test hooks: points inside Swap where a test runs a function of its own
// (another attempt of the same swap, racing this one). A production
// Target has none; tests set them with setHook.
type swapHookPoint int

const (
	hookAfterCounts  swapHookPoint = iota // staging counted, before the pending marker
	hookBeforeRename                      // pending marker created, before the RENAME
)

// runHook runs the hook set for p, once: the hook may call Swap on the
// same Target without running itself again.
func (t *Target) runHook(p swapHookPoint) {
	t.hookMu.Lock()
	f := t.hooks[p]
	delete(t.hooks, p)
	t.hookMu.Unlock()
	if f != nil {
		f()
	}
}

func createMarker(ctx context.Context, conn *sql.Conn, schema, name, runID string) error {
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+qualified(schema, name)+" (run_id varchar(255) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM "+qualified(schema, name)); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, "INSERT INTO "+qualified(schema, name)+" (run_id) VALUES (?)", runID)
	return err
}

// schemaTables lists the schema's tables, lower case.
func schemaTables(ctx context.Context, conn *sql.Conn, schema string) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[strings.ToLower(name)] = true
	}
	return out, rows.Err()
}

func ensureFreshness(ctx context.Context, conn *sql.Conn, schema string) error {
	_, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+qualified(schema, FreshnessTable)+` (
  table_name varchar(64) NOT NULL PRIMARY KEY,
  run_id varchar(255) NOT NULL,
  `+"`rows`"+` bigint NOT NULL,
  swapped_at datetime(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`)
	return err
}

// rename runs the one RENAME TABLE statement, retrying lock waits.
func (t *Target) rename(ctx context.Context, conn *sql.Conn, schema string, infos []swapInfo, pending, done string) error {
	op := "mysql: swap schema " + schema
	var parts []string
	for _, in := range infos {
		live, stg := qualified(schema, in.tbl.Table), qualified(schema, in.tbl.Staging)
		if in.live {
			old := qualified(schema, ferry.OldName(in.tbl.Table))
			// A leftover can only come from a manual intervention: the
			// RENAME below never leaves the old name behind.
			if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+old); err != nil {
				return classify(op, err)
			}
			parts = append(parts, live+" TO "+old, stg+" TO "+live, old+" TO "+stg)
		} else {
			parts = append(parts, stg+" TO "+live)
		}
	}
	parts = append(parts, qualified(schema, pending)+" TO "+qualified(schema, done))
	stmt := "RENAME TABLE " + strings.Join(parts, ", ")
	if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(schema)); err != nil {
		return classify(op, err)
	}
	res, err := retry.Do(ctx, retry.Policy{Attempts: t.opts.swapAttempts, Sleep: t.opts.sleep,
		Retryable: func(err error) bool { no := mysqlErrNo(err); return no == erLockWaitTimeout || no == erLockDeadlock },
		OnRetry: func(attempt int, wait time.Duration, _ error) {
			t.opts.log.WarnContext(ctx, "mysql: swap waited too long for a table lock; retrying", "schema", schema, "attempt", attempt, "wait", wait)
		}}, func(int) error {
		_, err := conn.ExecContext(ctx, stmt)
		return err
	})
	switch res {
	case retry.Done:
		return nil
	case retry.Permanent:
		return classify(op+": rename", err)
	case retry.Interrupted:
		return ferry.Retryable(op+": rename", err)
	}
	if mysqlErrNo(err) == erLockWaitTimeout {
		err = t.lockWaitError(ctx, conn, schema, infos, err)
	}
	return ferry.Retryable(fmt.Sprintf("%s: rename (%d attempts)", op, t.opts.swapAttempts), err)
}
