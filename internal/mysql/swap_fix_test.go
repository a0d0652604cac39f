package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// swapFixture makes live a (3 rows) and its staging (5 rows) and returns
// the swap request of run-1 for it.
func swapFixture(t *testing.T, db *sql.DB, schema string, tgt *Target) ferry.SwapRequest {
	t.Helper()
	exec(t, db, "CREATE TABLE a (id int NOT NULL, v varchar(20), KEY (id))")
	fillStaging(t, db, "a", 3)
	st := ferry.StagingName("a")
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "a", st, nil, "id"))
	fillStaging(t, db, st, 5)
	return ferry.SwapRequest{RunID: "run-1", Schema: schema, Tables: []ferry.SwapTable{{Table: "a", Staging: st, Expected: 5}}}
}

// freshnessRows lists the freshness table as "table run rows swapped_at".
func freshnessRows(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT table_name, run_id, `rows`, swapped_at FROM " + FreshnessTable + " ORDER BY table_name")
	testdb.Must(t, "freshness", err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, run, at string
		var n int64
		testdb.Must(t, "scan", rows.Scan(&name, &run, &n, &at))
		out = append(out, fmt.Sprintf("%s %s %d %s", name, run, n, at))
	}
	testdb.Must(t, "freshness rows", rows.Err())
	return strings.Join(out, "; ")
}

// markerTables lists the schema's swap marker tables.
func markerTables(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	rows, err := db.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_ferry\\_swap%' ORDER BY 1", schema)
	testdb.Must(t, "markers", err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		testdb.Must(t, "scan", rows.Scan(&n))
		out = append(out, n)
	}
	return out
}

// A failure to record freshness after the RENAME says the tables were
// swapped, is retryable, and the retry (AlreadySwapped) records freshness.
// The failure is real: a trigger on the freshness table raises it.
func TestSwapFreshnessFailsAfterRename(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 800000, time.UTC)
	const (
		permanent = "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'freshness unwritable'"
		lockWait  = "SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1205, MESSAGE_TEXT = 'Lock wait timeout exceeded'"
	)
	for _, tc := range []struct {
		name        string
		signal      string
		dropOnSleep bool // the trigger goes after the first backoff
		wantErr     bool
		wantSleeps  int
	}{
		{name: "permanent error", signal: permanent, wantErr: true, wantSleeps: 0},
		{name: "transient error retried until it passes", signal: lockWait, dropOnSleep: true, wantErr: false, wantSleeps: 1},
		{name: "transient error every time", signal: lockWait, wantErr: true, wantSleeps: freshnessAttempts - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, schema := openDB(t)
			var sleeps int
			tgt := NewTarget(db, WithClock(func() time.Time { return now }), WithSleep(func(context.Context, time.Duration) error {
				sleeps++
				if tc.dropOnSleep {
					exec(t, db, "DROP TRIGGER IF EXISTS ferry_block_freshness")
				}
				return nil
			}))
			req := swapFixture(t, db, schema, tgt)
			conn, err := db.Conn(ctxT(t))
			testdb.Must(t, "conn", err)
			testdb.Must(t, "freshness table", ensureFreshness(ctxT(t), conn, schema))
			conn.Close()
			exec(t, db, "CREATE TRIGGER ferry_block_freshness BEFORE INSERT ON "+FreshnessTable+" FOR EACH ROW "+tc.signal)

			res, err := tgt.Swap(ctxT(t), req)
			if sleeps != tc.wantSleeps {
				t.Errorf("slept %d times, want %d", sleeps, tc.wantSleeps)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM a"); n != 5 {
				t.Fatalf("live a has %d rows after the RENAME, want the new 5", n)
			}
			// Clean-up ran although freshness failed: staging is empty.
			if n := count(t, db, "SELECT COUNT(*) FROM "+quoteIdent(req.Tables[0].Staging)); n != 0 {
				t.Errorf("staging has %d rows after the swap, want 0", n)
			}
			if !tc.wantErr {
				testdb.Must(t, "swap", err)
				if res.AlreadySwapped || !res.SwappedAt.Equal(now) {
					t.Errorf("result = %+v", res)
				}
				if got, want := freshnessRows(t, db), "a run-1 5 2026-03-04 05:06:07.000800"; got != want {
					t.Errorf("freshness = %q, want %q", got, want)
				}
				return
			}
			var re *ferry.RetryableError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v, want a RetryableError", err)
			}
			if !strings.HasPrefix(err.Error(), "mysql: swap schema "+schema+": swapped, but recording freshness failed: ") {
				t.Errorf("error %q does not start by saying the tables were swapped", err)
			}
			if !errors.Is(err, ferry.ErrSwappedUnrecorded) {
				t.Errorf("error %v does not wrap ferry.ErrSwappedUnrecorded (steps would record the tables as not swapped)", err)
			}
			if got := freshnessRows(t, db); got != "" {
				t.Fatalf("freshness = %q after the failure, want none", got)
			}

			// The retry: the trigger is gone, the swap is found done,
			// nothing is renamed again, freshness is recorded.
			exec(t, db, "DROP TRIGGER IF EXISTS ferry_block_freshness")
			fillStaging(t, db, req.Tables[0].Staging, 5)
			res, err = tgt.Swap(ctxT(t), req)
			testdb.Must(t, "retried swap", err)
			if !res.AlreadySwapped || !res.SwappedAt.Equal(now) {
				t.Errorf("retried swap result = %+v, want AlreadySwapped at %v", res, now)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM a"); n != 5 {
				t.Errorf("live a has %d rows after the retry, want 5", n)
			}
			if got, want := freshnessRows(t, db), "a run-1 5 2026-03-04 05:06:07.000800"; got != want {
				t.Errorf("freshness after the retry = %q, want %q", got, want)
			}
		})
	}
}

// A retry racing its first attempt: attempt 2 finds no done marker and
// counts staging, then attempt 1 swaps, then attempt 2's RENAME fails. It
// must report AlreadySwapped, rename nothing and leave no pending marker.
func TestSwapRetryRacingFirstAttempt(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		name string
		// where attempt 1 runs inside attempt 2
		at swapHookPoint
	}{
		// attempt 2 then creates the pending marker again and its RENAME
		// meets the done marker: error 1050.
		{name: "first attempt swaps before the pending marker", at: hookAfterCounts},
		// attempt 1 reuses and renames attempt 2's pending marker, so
		// attempt 2's RENAME misses it: error 1146.
		{name: "first attempt swaps before the rename", at: hookBeforeRename},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, schema := openDB(t)
			tgt := NewTarget(db, WithClock(func() time.Time { return now }))
			req := swapFixture(t, db, schema, tgt)
			ran := false
			tgt.setHook(tc.at, func() {
				ran = true
				res, err := tgt.Swap(ctxT(t), req)
				testdb.Must(t, "first attempt", err)
				if res.AlreadySwapped {
					t.Errorf("first attempt reported AlreadySwapped")
				}
			})
			res, err := tgt.Swap(ctxT(t), req)
			if !ran {
				t.Fatal("the first attempt did not run inside the second")
			}
			testdb.Must(t, "racing attempt", err)
			if !res.AlreadySwapped || !res.SwappedAt.Equal(now) {
				t.Errorf("racing attempt result = %+v, want AlreadySwapped at %v", res, now)
			}
			// Live holds the first attempt's swap: the new 5 rows, not the
			// emptied staging swapped back in.
			if n := count(t, db, "SELECT COUNT(*) FROM a"); n != 5 {
				t.Errorf("live a has %d rows, want 5", n)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM "+quoteIdent(req.Tables[0].Staging)); n != 0 {
				t.Errorf("staging has %d rows, want 0", n)
			}
			if got, want := markerTables(t, db, schema), []string{swapDonePrefix + runHash("run-1")}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("marker tables = %v, want %v", got, want)
			}
			if got, want := freshnessRows(t, db), "a run-1 5 2026-03-04 05:06:07.000000"; got != want {
				t.Errorf("freshness = %q, want %q", got, want)
			}
		})
	}
}
