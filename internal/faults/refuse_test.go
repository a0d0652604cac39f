package faults

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// deleteFromStaging deletes rows from a company's staging table by hand,
// on its own connection.
func (w *world) deleteFromStaging(t *testing.T, alias string) {
	t.Helper()
	schema, staging := w.schema[alias], ferry.StagingName("orders")
	if w.engine == ferry.EngineMySQL {
		exec(t, w.tdb, "DELETE FROM `"+schema+"`.`"+staging+"` WHERE id % 3 = 0")
		return
	}
	conn, err := pgx.Connect(context.Background(), w.pgURL)
	testdb.Must(t, "connect target", err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), `DELETE FROM "`+schema+`"."`+staging+`" WHERE id % 3 = 0`)
	testdb.Must(t, "delete from staging", err)
}

// beforeSwap runs do before the target's first swap of a company's schema.
type beforeSwap struct {
	ferry.Target
	once map[string]*sync.Once
	do   func(schema string)
}

func (b beforeSwap) Swap(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	if o := b.once[req.Schema]; o != nil {
		o.Do(func() { b.do(req.Schema) })
	}
	return b.Target.Swap(ctx, req)
}

// changeSource updates every source row and adds new ones, so that a run
// after it publishes something different from the run before.
func (w *world) changeSource(t *testing.T) {
	t.Helper()
	exec(t, w.src, "UPDATE orders SET amount = amount + 1000")
	w.addOrders(t, w.next, w.next+9)
}

// TestCountMismatchRefused: after run 1 published both companies, the
// source changes and run 2 loads every chunk; then, just before alpha's
// swap, a third of alpha's staging rows are deleted by hand. The swap
// counts staging against the chunks' markers and refuses: alpha's live
// table stays exactly as run 1 published it, the execution fails naming
// alpha, and beta (untouched staging) is published.
func TestCountMismatchRefused(t *testing.T) {
	t.Parallel()
	for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			succeeded(t, w.run(t, "published"))
			before := w.snapshot(t)
			w.changeSource(t)
			alpha := w.schema["alpha"]
			w.deps.Target = beforeSwap{Target: w.target, once: map[string]*sync.Once{alpha: {}},
				do: func(string) { w.deleteFromStaging(t, "alpha") }}
			res := w.run(t, "mismatch")
			if !res.Failed() || !strings.Contains(res.Execution.Cause, "alpha") {
				t.Fatalf("run %s %s: %s; want FAILED naming alpha", res.Execution.Status, res.Execution.Error, res.Execution.Cause)
			}
			t.Logf("refused: %s: %s", res.Execution.Error, res.Execution.Cause)
			if d := diff(before["alpha"], w.liveRows(t, companies[0])); d != "" {
				t.Errorf("alpha's live table changed though its swap was refused: %s", d)
			}
			if d := diff(w.sourceRows(t, companies[1]), w.liveRows(t, companies[1])); d != "" {
				t.Errorf("beta's live table is not the new source: %s", d)
			}
			w.checkOutcome(t, res.Execution.Name, "alpha", "staging has")
		})
	}
}

// checkOutcome checks the run history records company alias as failed
// with an error mentioning want.
func (w *world) checkOutcome(t *testing.T, runID, alias, want string) {
	t.Helper()
	var id int64
	for _, c := range companies {
		if c.Alias == alias {
			id = c.ID
		}
	}
	_, loads, err := w.adm.GetRun(context.Background(), runID)
	testdb.Must(t, "run history", err)
	for _, l := range loads {
		if l.CompanyID == id && l.Status != "ok" && strings.Contains(strings.ToLower(l.Error), want) {
			return
		}
	}
	t.Errorf("the run history of %s has no failed table load of %s mentioning %q: %+v", runID, alias, want, loads)
}

// leftoverStore puts an earlier run's object under a chunk's key just
// before load-chunk opens it (as a late upload of an earlier attempt
// would), once per key in keys.
type leftoverStore struct {
	ferry.Store
	mu   sync.Mutex
	keys map[string][]byte // key → the leftover bytes
}

func (s *leftoverStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	body, ok := s.keys[key]
	delete(s.keys, key)
	s.mu.Unlock()
	if ok {
		wr, err := s.Store.Create(ctx, key)
		if err != nil {
			return nil, err
		}
		io.Copy(wr, bytes.NewReader(body))
		if err := wr.Commit(); err != nil {
			return nil, err
		}
	}
	return s.Store.Open(ctx, key)
}

func (w *world) object(t *testing.T, key string) []byte {
	t.Helper()
	r, err := w.store.Open(context.Background(), key)
	testdb.Must(t, "open "+key, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	testdb.Must(t, "read "+key, err)
	return b
}

func (w *world) put(t *testing.T, key string, body []byte) {
	t.Helper()
	wr, err := w.store.Create(context.Background(), key)
	testdb.Must(t, "create "+key, err)
	wr.Write(body)
	testdb.Must(t, "commit "+key, wr.Commit())
}

// TestLeftoverObjectNeverLoaded: an object from an earlier run (a valid
// chunk export of older values) lies under a chunk's key of the new run.
// Before the run, it is overwritten by the export: the run succeeds with
// the new values. Replacing the fresh export between export-chunk and
// load-chunk (a late upload of an earlier attempt), it is refused by the
// load's checksum check: alpha fails naming the chunk, its live table keeps
// the earlier run's values, nothing of the leftover is published.
func TestLeftoverObjectNeverLoaded(t *testing.T) {
	t.Parallel()
	for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			succeeded(t, w.run(t, "earlier"))
			before := w.snapshot(t)
			old := w.object(t, ferry.ChunkKey("earlier", "alpha", "orders", 0))
			w.changeSource(t)

			// Left before the run: the export overwrites it.
			w.put(t, ferry.ChunkKey("before", "alpha", "orders", 0), old)
			succeeded(t, w.run(t, "before"))
			w.liveEqualsSource(t)

			// Put over the fresh export before the load opens it.
			published := w.snapshot(t)
			w.changeSource(t)
			key := ferry.ChunkKey("late", "alpha", "orders", 0)
			w.deps.Store = &leftoverStore{Store: w.store, keys: map[string][]byte{key: old}}
			res := w.run(t, "late")
			if !res.Failed() || !strings.Contains(res.Execution.Cause, "alpha") {
				t.Fatalf("run %s %s: %s; want FAILED naming alpha", res.Execution.Status, res.Execution.Error, res.Execution.Cause)
			}
			t.Logf("refused: %s: %s", res.Execution.Error, res.Execution.Cause)
			if d := diff(published["alpha"], w.liveRows(t, companies[0])); d != "" {
				t.Errorf("alpha's live table changed though a chunk was refused: %s", d)
			}
			if d := diff(before["alpha"], w.liveRows(t, companies[0])); d == "" {
				t.Errorf("alpha's live table holds the leftover's (earlier run's) values")
			}
			// The cause names the chunk and quotes its own error and fix
			// (from the chunk's failure note).
			for _, want := range []string{"orders#0", "load-chunk failed: DataError", "does not match its export", "fix: rerun the workflow"} {
				if !strings.Contains(res.Execution.Cause, want) {
					t.Errorf("the cause lacks %q: %s", want, res.Execution.Cause)
				}
			}
			w.historyHasFailedRow(t, "late", "orders#0", "does not match its export", "fix: rerun the workflow")
		})
	}
}

// historyHasFailedRow checks the run history of runID (ferry runs show):
// alpha's table has a row, failed, whose error names each of want (alpha's
// chunk map failed, so swap-tables never ran for it: finish-run records
// it); beta's table is swapped.
func (w *world) historyHasFailedRow(t *testing.T, runID string, want ...string) {
	t.Helper()
	loads, err := w.adm.TableLoads(ctxT(t), runID)
	if err != nil {
		t.Fatal(err)
	}
	status := map[int64]admin.TableLoad{}
	for _, l := range loads {
		if l.Table == "orders" {
			status[l.CompanyID] = l
		}
	}
	a, b := status[companies[0].ID], status[companies[1].ID]
	t.Logf("run history: alpha %s (%d chunks): %s; beta %s", a.Status, a.Chunks, a.Error, b.Status)
	if a.Status != admin.LoadFailed || a.Chunks == 0 {
		t.Errorf("alpha's orders in the run history: %+v; want failed with its chunks", a)
	}
	for _, s := range want {
		if !strings.Contains(a.Error, s) {
			t.Errorf("alpha's run-history error lacks %q: %s", s, a.Error)
		}
	}
	if b.Status != admin.LoadSwapped {
		t.Errorf("beta's orders in the run history: %+v; want swapped", b)
	}
}

// TestOverlappingRunRefused: a second run started while the first holds
// the run lease is refused naming the running run's id; the first then
// completes and publishes.
func TestOverlappingRunRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, ferry.EnginePostgres)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.deps.Target = blockingLoad{Target: w.target, first: func() {
		once.Do(func() { close(started) })
		<-release
	}}
	first := make(chan error, 1)
	var res1Failed bool
	var cause1 string
	go func() {
		res := w.run(t, "running-run")
		res1Failed, cause1 = res.Failed(), res.Execution.Cause
		first <- nil
	}()
	<-started
	unblocked := w.deps
	unblocked.Target = w.target
	res := w.runWith(t, "second-run", steps.New(unblocked))
	close(release)
	<-first
	if !res.Failed() || !strings.Contains(res.Execution.Cause+res.Execution.Error, "running-run") {
		t.Errorf("second run %s %s: %s; want refused naming running-run", res.Execution.Status, res.Execution.Error, res.Execution.Cause)
	}
	t.Logf("second run refused: %s: %s", res.Execution.Error, res.Execution.Cause)
	if res1Failed {
		t.Fatalf("the first run failed: %s", cause1)
	}
	w.liveEqualsSource(t)
}

// blockingLoad calls first at the start of every load (the test blocks
// the first run there).
type blockingLoad struct {
	ferry.Target
	first func()
}

func (b blockingLoad) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	b.first()
	return b.Target.Load(ctx, req, r)
}
