package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
)

// FreshnessTable is the table in each company schema that records, per
// table, the run that last swapped it live, its row count and when. BI
// tools may read it:
//
//	table_name varchar(64) PRIMARY KEY, run_id varchar(255), `rows` bigint, swapped_at datetime(6) (UTC)
const FreshnessTable = "_ferry_freshness"

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

var runIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:\-]{1,200}$`)

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
//  2. It counts every staging table and refuses with a
//     *ferry.CountMismatchError when one differs from Expected. Live is
//     untouched.
//  3. It creates the marker table _ferry_swapping_<h> (h = 16 hex of the
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
//     timeout or deadlock is retried with doubling backoff
//     (WithSwapAttempts, WithSleep), then returned as ferry.Retryable.
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
// live table.
func (t *Target) Swap(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	op := "mysql: swap schema " + req.Schema
	var res ferry.SwapResult
	if err := validIdents(op, req.Schema); err != nil {
		return res, err
	}
	if !runIDRe.MatchString(req.RunID) {
		return res, &ferry.ConfigError{Msg: fmt.Sprintf("%s: run id %q must match %s", op, req.RunID, runIDRe), Fix: "start the run with a Step Functions execution name"}
	}
	if len(req.Tables) == 0 {
		return res, &ferry.ConfigError{Msg: op + ": no tables to swap", Fix: "configure at least one active table for the company"}
	}
	seen := map[string]bool{}
	for _, st := range req.Tables {
		if err := validIdents(op, st.Table, st.Staging); err != nil {
			return res, err
		}
		if seen[strings.ToLower(st.Table)] {
			return res, &ferry.ConfigError{Msg: op + ": table " + st.Table + " listed twice", Fix: "remove the duplicate table configuration"}
		}
		seen[strings.ToLower(st.Table)] = true
	}
	h := runHash(req.RunID)
	pending, done := swapPendingPrefix+h, swapDonePrefix+h

	conn, err := t.db.Conn(ctx)
	if err != nil {
		return res, classify(op, err)
	}
	defer conn.Close()
	var origDB sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&origDB); err != nil {
		return res, classify(op, err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", t.opts.lockWait)); err != nil {
		return res, classify(op, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, err := conn.ExecContext(rctx, "SET SESSION lock_wait_timeout = DEFAULT")
		if err == nil && origDB.Valid && !strings.EqualFold(origDB.String, req.Schema) {
			_, err = conn.ExecContext(rctx, "USE "+quoteIdent(origDB.String))
		}
		if err != nil || !origDB.Valid {
			// The session cannot be put back as it was: do not reuse it.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
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
	} else {
		for _, in := range infos {
			w := ferry.Where{Table: in.tbl.Table}
			if !in.staging {
				return res, fmt.Errorf("%s: %s: staging table %s does not exist (fix: rerun the workflow): %w", op, w, in.tbl.Staging, ferry.ErrNotFound)
			}
			var n int64
			qctx, cancel, q := t.limit(ctx, "SELECT COUNT(*) FROM "+qualified(req.Schema, in.tbl.Staging))
			err := conn.QueryRowContext(qctx, q).Scan(&n)
			cancel()
			if err != nil {
				return res, classify(op+": count "+in.tbl.Staging, err)
			}
			if n != in.tbl.Expected {
				return res, &ferry.CountMismatchError{Where: w, Staging: n, Expected: in.tbl.Expected}
			}
		}
		hooks(ctx).run(hookAfterCounts)
		if err := createMarker(ctx, conn, req.Schema, pending, req.RunID); err != nil {
			return res, classify(op+": create marker", err)
		}
		hooks(ctx).run(hookBeforeRename)
		if err := t.rename(ctx, conn, req.Schema, infos, pending, done); err != nil {
			// A retry racing its first attempt fails here (the done
			// marker exists: error 1050; or the shared pending marker
			// was renamed away: 1146) after the first attempt swapped.
			// The done marker tells: then this is a swap already done.
			// The pool, not conn, asks: conn may be what failed.
			ok, cerr := tableExists(ctx, t.db, req.Schema, done)
			if cerr != nil || !ok {
				return res, err
			}
			res.AlreadySwapped = true
			t.opts.log.InfoContext(ctx, "mysql: swap done by a concurrent attempt of this run; not renaming again", "run_id", req.RunID, "schema", req.Schema, "rename_error", err.Error())
		} else {
			res.SwappedAt = t.opts.now().UTC()
		}
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
	backoff := 200 * time.Millisecond
	var err error
	for attempt := 1; ; attempt++ {
		if err = t.upsertFreshness(ctx, req, res); err == nil {
			return nil
		}
		if !isTransient(err) || attempt == freshnessAttempts {
			break
		}
		t.opts.log.WarnContext(ctx, "mysql: swapped, but recording freshness failed; retrying", "schema", req.Schema, "run_id", req.RunID, "attempt", attempt, "error", err.Error())
		if t.opts.sleep(ctx, backoff) != nil {
			break
		}
		backoff *= 2
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
		var at sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT MIN(swapped_at) FROM "+qualified(req.Schema, FreshnessTable)+" WHERE run_id = ?", req.RunID).Scan(&at); err != nil {
			return fmt.Errorf("read %s: %w", FreshnessTable, err)
		}
		res.SwappedAt = t.opts.now().UTC()
		if at.Valid {
			if ts, err := time.Parse("2006-01-02 15:04:05.999999", at.String); err == nil {
				res.SwappedAt = ts
			}
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

// Test hooks, carried in the context so that concurrent tests do not
// share them. Production contexts carry none.
type swapHookKey struct{}

type swapHookPoint int

const (
	hookAfterCounts  swapHookPoint = iota // staging counted, before the pending marker
	hookBeforeRename                      // pending marker created, before the RENAME
)

type swapHooks map[swapHookPoint]func()

func hooks(ctx context.Context) swapHooks {
	h, _ := ctx.Value(swapHookKey{}).(swapHooks)
	return h
}

func (h swapHooks) run(p swapHookPoint) {
	if f := h[p]; f != nil {
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
	backoff := 200 * time.Millisecond
	var err error
	for attempt := 1; attempt <= t.opts.swapAttempts; attempt++ {
		_, err = conn.ExecContext(ctx, stmt)
		if err == nil {
			return nil
		}
		if no := mysqlErrNo(err); no != erLockWaitTimeout && no != erLockDeadlock {
			return classify(op+": rename", err)
		}
		if attempt == t.opts.swapAttempts {
			break
		}
		wait := backoff + time.Duration(rand.Int64N(int64(backoff/2)))
		t.opts.log.WarnContext(ctx, "mysql: swap waited too long for a table lock; retrying", "schema", schema, "attempt", attempt, "wait", wait)
		if serr := t.opts.sleep(ctx, wait); serr != nil {
			return ferry.Retryable(op+": rename", err)
		}
		backoff *= 2
	}
	return ferry.Retryable(fmt.Sprintf("%s: rename (%d attempts, readers held the tables)", op, t.opts.swapAttempts), err)
}
