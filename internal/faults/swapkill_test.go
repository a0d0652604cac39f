package faults

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/local"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
)

// childEnv carries a child's orders (JSON childSpec): TestMain of this
// package runs the workflow in the child and SIGKILLs it at spec.Point.
const childEnv = "FERRY_FAULTS_SWAP_CHILD"

// Points of a swap where the child dies.
const (
	beforeSwapPoint = "before"  // swap-tables running, the target's Swap not yet called
	inSwapPoint     = "waiting" // the swap's statement waiting for a reader's lock on alpha's live table
	afterSwapPoint  = "after"   // the target's Swap returned, swap-tables not yet recorded it
)

type childSpec struct {
	Engine                      ferry.Engine
	SrcDSN, AdminDSN, TargetDSN string
	StoreDir, RunID, Point      string
	Schema                      string // alpha's schema
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	// The tests wait on the databases far more than they compute: run
	// three at a time unless -test.parallel says otherwise (each holds
	// about ten connections per server).
	flag.Parse()
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == f.DefValue {
		flag.Set("test.parallel", "3")
	}
	os.Exit(m.Run())
}

// runChild runs the workflow as `ferry run` does, killing itself with
// SIGKILL at the point. It returns only when the point was never reached.
func runChild(specJSON string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	src, _ := sql.Open("mysql", spec.SrcDSN)
	adm, _ := sql.Open("mysql", spec.AdminDSN)
	store, err := localstore.New(spec.StoreDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var target ferry.Target
	var waiting func() bool
	switch spec.Engine {
	case ferry.EngineMySQL:
		db, err := mysql.Open(ctx, spec.TargetDSN)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		target = mysql.NewTarget(db, mysql.WithLogger(quiet))
		waiting = func() bool {
			var n int
			db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE state LIKE 'Waiting for table metadata lock%' AND info LIKE CONCAT('%`', ?, '`%')", spec.Schema).Scan(&n)
			return n > 0
		}
	case ferry.EnginePostgres:
		tg, err := postgres.Open(ctx, spec.TargetDSN)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		tg.Logger = quiet
		target = tg
		conn, err := pgx.Connect(ctx, spec.TargetDSN)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		waiting = func() bool {
			var n int
			conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").Scan(&n)
			return n > 0
		}
	}
	st := steps.New(steps.Deps{Config: mysql.NewAdmin(adm), Ledger: mysql.NewAdmin(adm), Source: mysql.NewSource(src, mysql.WithLogger(quiet)),
		Target: dyingSwap{Target: target, spec: spec, waiting: waiting}, Store: store, Bucket: local.DefaultBucket, Logger: quiet})
	res, err := local.Run(ctx, local.Options{Steps: st, Store: store, RunID: spec.RunID, RunDate: "2026-11-22", ChunkConcurrency: 3,
		Logger: quiet, Clock: asl.NewVirtualClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "child: the run ended (%s) without reaching point %s\n", res.Execution.Status, spec.Point)
	return 3
}

// dyingSwap kills the process at its spec's point of alpha's swap.
type dyingSwap struct {
	ferry.Target
	spec    childSpec
	waiting func() bool
}

func die() { syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }

func (d dyingSwap) Swap(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	if req.Schema != d.spec.Schema {
		return d.Target.Swap(ctx, req)
	}
	switch d.spec.Point {
	case beforeSwapPoint:
		die()
	case inSwapPoint:
		go func() {
			for !d.waiting() {
				time.Sleep(5 * time.Millisecond)
			}
			die()
		}()
	}
	res, err := d.Target.Swap(ctx, req)
	if d.spec.Point == afterSwapPoint {
		die()
	}
	return res, err
}

// TestSwapKilled: `ferry run` (this test binary re-executed as a child)
// is killed with SIGKILL at each point of alpha's swap: before the swap,
// while its statement waits for a reader's lock on the live table, and
// after the swap before swap-tables recorded it. Then: no live table is
// missing and each is wholly the earlier run's or wholly the new source;
// the same run started again (as a redrive would) completes, with every
// live table equal to the source (a table swapped twice would hold the
// earlier rows); and the run lease is released, so the next run starts
// (until then a new run is refused naming the dead run, whose lease lasts
// its documented 24 hours unless `ferry runs release` ends it).
func TestSwapKilled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		engine ferry.Engine
		point  string
	}{
		{ferry.EngineMySQL, beforeSwapPoint}, {ferry.EnginePostgres, beforeSwapPoint},
		{ferry.EngineMySQL, inSwapPoint}, {ferry.EnginePostgres, inSwapPoint},
		{ferry.EngineMySQL, afterSwapPoint}, {ferry.EnginePostgres, afterSwapPoint},
	} {
		t.Run(string(tc.engine)+"/"+tc.point, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.engine)
			dir := t.TempDir()
			store, err := localstore.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			w.store, w.bucket = store, local.DefaultBucket
			w.deps.Store, w.deps.Bucket = store, local.DefaultBucket
			succeeded(t, w.run(t, "earlier"))
			before := w.snapshot(t)
			w.changeSource(t)

			unlock := func() {}
			if tc.point == inSwapPoint {
				kind := holdLockTables // LOCK TABLES … READ on MariaDB; on PostgreSQL an open REPEATABLE READ transaction
				if tc.engine == ferry.EnginePostgres {
					kind = holdTransaction
				}
				unlock, _ = w.hold(t, kind)
			}
			spec, _ := json.Marshal(childSpec{Engine: tc.engine, SrcDSN: w.srcDSN, AdminDSN: w.adminDSN, TargetDSN: w.targetDSN,
				StoreDir: dir, RunID: "killed", Point: tc.point, Schema: w.schema["alpha"]})
			cmd := osexec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
			out, err := cmd.CombinedOutput()
			unlock()
			var ee *osexec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed at %s: %v\n%s", tc.point, err, out)
			}

			for _, c := range companies {
				live := w.liveRows(t, c)
				if live == nil {
					t.Fatalf("company %s: the live table is missing after the kill", c.Alias)
				}
				if diff(before[c.Alias], live) != "" && diff(w.sourceRows(t, c), live) != "" {
					t.Errorf("company %s: the live table is neither the earlier run's nor the new source after the kill", c.Alias)
				}
			}
			// A new run is refused while the dead run's lease lasts.
			if res := w.run(t, "refused"); !res.Failed() || !strings.Contains(res.Execution.Cause, "killed") {
				t.Errorf("a new run during the dead run's lease: %s %s", res.Execution.Status, res.Execution.Cause)
			}
			// The killed run again (a redrive): it completes.
			succeeded(t, w.run(t, "killed"))
			w.liveEqualsSource(t)
			// And the next run can start: the lease was released.
			if l, err := w.adm.GetLease(context.Background()); err != nil || l.Holder != "" {
				t.Errorf("after the killed run completed, the run lease is %+v (%v), want released", l, err)
			}
		})
	}
}
