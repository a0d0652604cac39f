package faults

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// killer ends database sessions from a connection of its own and counts
// the attempts it has interfered with, per chunk.
type killer struct {
	w        *world
	db       *sql.DB // the MariaDB server, for KILL
	perChunk int     // attempts of each chunk's export and load to kill
	// gate lets an attempt that is to be killed run alone (the kill finds
	// its session by statement, and must not hit another chunk's).
	gate     sync.RWMutex
	mu       sync.Mutex
	attempts map[string]int
	kills    map[string]int // "export", "load" → sessions killed
}

func newKiller(t *testing.T, w *world, perChunk int) *killer {
	db, err := sql.Open("mysql", testdb.MySQLServerDSN())
	testdb.Must(t, "killer's connection", err)
	t.Cleanup(func() { db.Close() })
	return &killer{w: w, db: db, perChunk: perChunk, attempts: map[string]int{}, kills: map[string]int{}}
}

// attempt numbers an attempt of step on chunk (1 for the first).
func (k *killer) attempt(step, chunk string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.attempts[step+" "+chunk]++
	return k.attempts[step+" "+chunk]
}

func (k *killer) count(step string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kills[step]
}

// killExport ends the source sessions running the configured export
// query (KILL CONNECTION), in the source's database only.
func (k *killer) killExport(ctx context.Context) int {
	return k.killMySQL(ctx, "export", "SELECT id FROM information_schema.processlist WHERE db = ? AND info LIKE '%SLEEP(0.01)%' AND id <> CONNECTION_ID()", k.w.srcName)
}

// killLoad ends the target session loading into staging: KILL CONNECTION
// on MariaDB (the statement names the company's schema, a database of this
// test), pg_terminate_backend on PostgreSQL (a COPY in this test's
// database).
func (k *killer) killLoad(ctx context.Context, schema string) int {
	if k.w.engine == ferry.EngineMySQL {
		return k.killMySQL(ctx, "load", "SELECT id FROM information_schema.processlist WHERE info LIKE CONCAT('%`', ?, '`%') AND command = 'Query' AND id <> CONNECTION_ID()", schema)
	}
	conn, err := pgx.Connect(ctx, k.w.pgURL)
	if err != nil {
		return 0
	}
	defer conn.Close(context.Background())
	var n int
	conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'COPY%' AND state = 'active'").Scan(&n)
	k.note("load", n)
	return n
}

func (k *killer) killMySQL(ctx context.Context, step, find string, arg string) int {
	db := k.db
	rows, err := db.QueryContext(ctx, find, arg)
	if err != nil {
		return 0
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err == nil {
			n++
		}
	}
	k.note(step, n)
	return n
}

func (k *killer) note(step string, n int) {
	k.mu.Lock()
	k.kills[step] += n
	k.mu.Unlock()
}

// killingSource kills its session in the middle of the first perChunk
// exports of each chunk, while the statement runs on the server.
type killingSource struct {
	ferry.Source
	k *killer
}

func (s killingSource) Export(ctx context.Context, req ferry.ExportRequest, w io.Writer) (ferry.ExportStats, error) {
	chunk := fmt.Sprintf("%v/%d", req.Params["company_id"], req.Lo)
	if s.k.attempt("export", chunk) > s.k.perChunk {
		s.k.gate.RLock()
		defer s.k.gate.RUnlock()
		return s.Source.Export(ctx, req, w)
	}
	s.k.gate.Lock()
	defer s.k.gate.Unlock()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for s.k.killExport(ctx) == 0 {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return s.Source.Export(ctx, req, w)
}

// killingTarget kills the loading session in the middle of the first
// perChunk loads of each chunk: the chunk's CSV reaches the loader 64
// bytes at a time, and once the COPY or LOAD DATA statement is running
// (waiting for more of it) its session is ended.
type killingTarget struct {
	ferry.Target
	k *killer
}

func (t killingTarget) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	chunk := fmt.Sprintf("%s/%d", req.Schema, req.Lo)
	if t.k.attempt("load", chunk) > t.k.perChunk {
		t.k.gate.RLock()
		defer t.k.gate.RUnlock()
		return t.Target.Load(ctx, req, r)
	}
	t.k.gate.Lock()
	defer t.k.gate.Unlock()
	return t.Target.Load(ctx, req, &trickle{r: r, do: func() bool { return t.k.killLoad(ctx, req.Schema) > 0 }})
}

// trickle reads at most 64 bytes at a time and, from the second read on,
// calls do before each read until it reports success.
type trickle struct {
	r     io.Reader
	do    func() bool
	reads int
	done  bool
}

func (o *trickle) Read(p []byte) (int, error) {
	o.reads++
	if o.reads > 1 && !o.done {
		o.done = o.do()
	}
	return o.r.Read(p[:min(len(p), 64)])
}

// TestKilledConnections: the source's session is killed (KILL CONNECTION)
// in the middle of the first two exports of every chunk, and the target's
// (KILL CONNECTION on MariaDB, pg_terminate_backend on PostgreSQL) in the
// middle of the first two loads of every chunk. Each kill is a retryable
// failure: the run succeeds with every live table equal to the source,
// value by value (a load killed halfway committed nothing, a retried load
// duplicated nothing).
func TestKilledConnections(t *testing.T) {
	t.Parallel()
	for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			k := newKiller(t, w, 2)
			w.deps.Source = killingSource{Source: w.deps.Source, k: k}
			w.deps.Target = killingTarget{Target: w.deps.Target, k: k}
			res := w.run(t, "killed")
			succeeded(t, res)
			chunks := res.Report.Chunks
			// A kill can miss an attempt whose statement ended first; most
			// must land for the test to mean anything.
			if n := k.count("export"); n < chunks/2 {
				t.Errorf("test is void: %d export sessions killed, want at least %d", n, chunks/2)
			}
			if n := k.count("load"); n < chunks/2 {
				t.Errorf("test is void: %d load sessions killed, want at least %d", n, chunks/2)
			}
			t.Logf("%d chunks; killed %d export and %d load sessions", chunks, k.count("export"), k.count("load"))
			w.liveEqualsSource(t)
		})
	}
}
