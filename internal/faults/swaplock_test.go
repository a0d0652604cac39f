package faults

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
)

// swapLockTimeout is the swap's lock timeout in these tests (MySQL counts
// whole seconds); readerBound is the longest a new reader may wait for a
// live table: the lock timeout and a generous margin for the loaded
// machine. It is a correctness limit (a reader must never wait for the
// whole of a blocked swap's retries), not a performance figure.
const (
	swapLockTimeout = time.Second
	readerBound     = swapLockTimeout + 2*time.Second
)

// lockBeforeSwap makes a reader hold alpha's live table (world.hold, as
// kind says) just before alpha's swap.
type lockBeforeSwap struct {
	ferry.Target
	w       *world
	t       *testing.T
	kind    holdKind
	once    sync.Once
	unlock  func()
	session string // the reader's session id, once it holds the table
	mu      sync.Mutex
}

func (l *lockBeforeSwap) Swap(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	if req.Schema == l.w.schema["alpha"] {
		l.once.Do(func() {
			l.mu.Lock()
			l.unlock, l.session = l.w.hold(l.t, l.kind)
			l.mu.Unlock()
		})
	}
	return l.Target.Swap(ctx, req)
}

// release lets the reader go (once; later calls do nothing).
func (l *lockBeforeSwap) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unlock != nil {
		l.unlock()
		l.unlock = func() {}
	}
}

// shortSwapLocks makes the world's target time a swap's lock wait out
// after swapLockTimeout, try attempts times per swap-tables invocation,
// and call sleep between attempts instead of waiting.
func (w *world) shortSwapLocks(t *testing.T, attempts int, sleep func(context.Context, time.Duration) error) ferry.Target {
	t.Helper()
	if w.engine == ferry.EngineMySQL {
		return mysql.NewTarget(w.tdb, mysql.WithLogger(quiet), mysql.WithSwapLockWait(int(swapLockTimeout/time.Second)),
			mysql.WithSwapAttempts(attempts), mysql.WithSleep(sleep))
	}
	tg := w.target.(*postgres.Target)
	tg.LockTimeout, tg.SwapAttempts, tg.Sleep = swapLockTimeout, attempts, sleep
	return tg
}

// newReaders queries alpha's live table over and over, each query a new
// reader, until stop is called; stop returns the longest a query took and
// the queries' first error.
func (w *world) newReaders(t *testing.T) (stop func() (time.Duration, int, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	q := "SELECT COUNT(*) FROM `" + w.schema["alpha"] + "`.orders"
	var pg *pgx.Conn
	if w.engine == ferry.EnginePostgres {
		var err error
		if pg, err = pgx.Connect(ctx, w.pgURL); err != nil {
			t.Fatal(err)
		}
		q = `SELECT count(*) FROM "` + w.schema["alpha"] + `".orders`
	}
	var (
		longest time.Duration
		n       int
		first   error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var count int64
			start := time.Now()
			var err error
			if pg != nil {
				err = pg.QueryRow(context.Background(), q).Scan(&count)
			} else {
				err = w.tdb.QueryRow(q).Scan(&count)
			}
			longest = max(longest, time.Since(start))
			n++
			if err != nil && first == nil {
				first = err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() (time.Duration, int, error) {
		cancel()
		<-done
		if pg != nil {
			pg.Close(context.Background())
		}
		return longest, n, first
	}
}

// TestReaderLockDuringSwap: a reader holds a lock on alpha's live table
// when alpha's swap starts, while new readers query the table throughout:
// LOCK TABLES … READ (MariaDB), an open REPEATABLE READ transaction that
// read it, or a SELECT still running. The swap waits only up to its lock
// timeout (1 s here), then retries with backoff. When the reader lets go
// after the first timeout, the swap succeeds: live equals the source.
// When it never does, alpha fails cleanly (its live table as it was,
// beta published), and the run's cause names the reader's session (id,
// user, address, state, statement), how to end it and the swap lock
// timeout's knob. Either way no new reader waits longer than the lock
// timeout (bound: + 2 s), and none fails.
func TestReaderLockDuringSwap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		engine ferry.Engine
		kind   holdKind
		letsGo bool
	}{
		{ferry.EngineMySQL, holdLockTables, true},
		{ferry.EngineMySQL, holdLockTables, false},
		{ferry.EngineMySQL, holdTransaction, false},
		{ferry.EngineMySQL, holdLongSelect, false},
		{ferry.EnginePostgres, holdTransaction, true},
		{ferry.EnginePostgres, holdTransaction, false},
		{ferry.EnginePostgres, holdLongSelect, false},
	} {
		name := string(tc.engine) + "/" + string(tc.kind) + "/reader_lets_go"
		if !tc.letsGo {
			name = string(tc.engine) + "/" + string(tc.kind) + "/reader_never_lets_go"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testReaderLock(t, tc.engine, tc.kind, tc.letsGo)
		})
	}
}

func testReaderLock(t *testing.T, engine ferry.Engine, kind holdKind, letsGo bool) {
	w := newWorld(t, engine)
	succeeded(t, w.run(t, "published"))
	before := w.snapshot(t)
	w.changeSource(t)
	var (
		mu     sync.Mutex
		sleeps int
		lock   *lockBeforeSwap
	)
	attempts := 3
	if !letsGo {
		attempts = 1 // each of the workflow's 6 attempts times out once
	}
	tg := w.shortSwapLocks(t, attempts, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		sleeps++
		mu.Unlock()
		if letsGo {
			lock.release()
		}
		return ctx.Err()
	})
	lock = &lockBeforeSwap{Target: tg, w: w, t: t, kind: kind}
	t.Cleanup(lock.release)
	w.deps.Target = lock
	stop := w.newReaders(t)
	res := w.run(t, "locked")
	longest, queries, rerr := stop()
	lock.release()
	t.Logf("%d reader queries, longest %v; %d swap retries inside swap-tables; run %s %s", queries, longest, sleeps, res.Execution.Status, res.Execution.Cause)
	if rerr != nil {
		t.Errorf("a new reader failed: %v", rerr)
	}
	if longest >= readerBound {
		t.Errorf("a new reader waited %v for the live table, more than the swap's lock timeout %v (bound %v)", longest, swapLockTimeout, readerBound)
	}
	if letsGo {
		succeeded(t, res)
		if sleeps == 0 {
			t.Error("test is void: the swap never timed out on the reader's lock")
		}
		w.liveEqualsSource(t)
		return
	}
	if !res.Failed() || !strings.Contains(res.Execution.Cause, "alpha") {
		t.Fatalf("run %s: %s; want FAILED naming alpha", res.Execution.Status, res.Execution.Cause)
	}
	for _, want := range w.blockedCause(t, kind, lock.session) {
		if !strings.Contains(res.Execution.Cause, want) {
			t.Errorf("the run's cause does not say %q:\n%s", want, res.Execution.Cause)
		}
	}
	if d := diff(before["alpha"], w.liveRows(t, companies[0])); d != "" {
		t.Errorf("alpha's live table changed though its swap never got the lock: %s", d)
	}
	if d := diff(w.sourceRows(t, companies[1]), w.liveRows(t, companies[1])); d != "" {
		t.Errorf("beta's live table is not the new source: %s", d)
	}
}

// blockedCause is what the cause of a run whose swap never got the lock
// held by session (as kind holds it) must say: the table, the wait, the
// session with its user, address, state and statement, how to end it and
// the knob. A session that only holds LOCK TABLES is named on MariaDB only
// with the metadata_lock_info plugin; without it the cause says how to
// name it.
func (w *world) blockedCause(t *testing.T, kind holdKind, session string) []string {
	t.Helper()
	want := []string{"table " + w.schema["alpha"] + ".orders: the swap waited 1s for a lock",
		"fix: end ", "raise the swap lock timeout (FERRY_SWAP_LOCK_TIMEOUT, now 1s), then run again"}
	end := "KILL " + session
	state := map[holdKind]string{holdTransaction: "idle in transaction for ", holdLongSelect: "running a statement for "}[kind]
	query := "SELECT SLEEP(300) FROM `" + w.schema["alpha"] + "`.orders LIMIT 1"
	if w.engine == ferry.EnginePostgres {
		end, query = "SELECT pg_terminate_backend("+session+")", `SELECT pg_sleep(300) FROM "`+w.schema["alpha"]+`".orders LIMIT 1`
		if kind == holdLongSelect {
			state = "active for "
		} else {
			query = `SELECT count(*) FROM "` + w.schema["alpha"] + `".orders`
			want = append(want, "held by session "+session+" on "+w.schema["alpha"]+".orders (user postgres, 127.0.0.1, ")
		}
	}
	if kind == holdLockTables {
		var plugin int
		if err := w.tdb.QueryRow("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'").Scan(&plugin); err != nil {
			t.Fatal(err)
		}
		if plugin == 0 {
			return append(want, "named once the metadata_lock_info plugin is loaded: INSTALL SONAME 'metadata_lock_info'")
		}
		return append(want, "held by session "+session+" on "+w.schema["alpha"]+".orders (user root, 127.0.0.1, idle for ", end)
	}
	if kind == holdTransaction && w.engine == ferry.EngineMySQL {
		query = "" // an idle MySQL session shows no statement
	}
	return append(want, "session "+session+" ", state, ferry.ShortQuery(query), end)
}
