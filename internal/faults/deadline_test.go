package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
)

// deadlineTarget gives the first load of every chunk a deadline that
// passes while the loader waits for the chunk's data (the COPY or LOAD
// DATA statement running on the server), as when a step reaches its
// Lambda deadline in the middle of a load. When the load has returned, it
// checks that nothing was left on the server: an exclusive lock on the
// staging table is granted within 5 seconds (no statement still running,
// no open transaction holding it).
type deadlineTarget struct {
	ferry.Target
	w        *world
	mu       sync.Mutex
	attempts map[string]int
	hit      int // loads that ended at their deadline
	firsts   int
	left     []string
}

func (d *deadlineTarget) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	d.mu.Lock()
	d.attempts[fmt.Sprint(req.Schema, req.Lo)]++
	first := d.attempts[fmt.Sprint(req.Schema, req.Lo)] == 1
	// Every other chunk stalls inside its CSV header (before the loader's
	// statement starts: a read error, not a malformed header).
	passBytes := 320
	if first {
		d.firsts++
		if d.firsts%2 == 0 {
			passBytes = 64
		}
	}
	d.mu.Unlock()
	if !first {
		return d.Target.Load(ctx, req, r)
	}
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	n, err := d.Target.Load(dctx, req, &stall{r: r, ctx: dctx, pass: passBytes})
	if errors.Is(err, context.DeadlineExceeded) || dctx.Err() != nil {
		d.mu.Lock()
		d.hit++
		d.mu.Unlock()
		if lerr := d.w.lockStaging(ctx, req.Schema, req.Staging); lerr != nil {
			d.mu.Lock()
			d.left = append(d.left, fmt.Sprintf("%s.%s [%d,%d): %v", req.Schema, req.Staging, req.Lo, req.Hi, lerr))
			d.mu.Unlock()
		}
	}
	return n, err
}

// stall passes the CSV's first pass bytes, 64 at a time, then waits for
// ctx to end. With 320 (the typed header and a few rows) the loader's
// statement is running on the server, waiting for the rest; with 64 the
// loader is still reading the header.
type stall struct {
	r    io.Reader
	ctx  context.Context
	pass int
	n    int
}

func (s *stall) Read(p []byte) (int, error) {
	if s.n >= s.pass {
		<-s.ctx.Done()
		return 0, s.ctx.Err()
	}
	n, err := s.r.Read(p[:min(len(p), 64)])
	s.n += n
	return n, err
}

// lockStaging takes and releases an exclusive lock on a staging table,
// waiting at most 5 seconds for it.
func (w *world) lockStaging(ctx context.Context, schema, staging string) error {
	if w.engine == ferry.EngineMySQL {
		conn, err := w.tdb.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 5, SESSION innodb_lock_wait_timeout = 5"); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, "LOCK TABLES `"+schema+"`.`"+staging+"` WRITE"); err != nil {
			return err
		}
		_, err = conn.ExecContext(ctx, "UNLOCK TABLES")
		return err
	}
	conn, err := pgx.Connect(ctx, w.pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '5s'"); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `LOCK TABLE "`+schema+`"."`+staging+`" IN ACCESS EXCLUSIVE MODE`)
	return err
}

// TestDeadlineMidLoad: the first load of every chunk reaches its deadline
// while its statement waits for data (every other chunk: while the loader
// still reads the CSV header, which must be retryable, not a DataError).
// The statement is cancelled on the server and nothing holds the staging
// table afterwards (an exclusive lock is granted); the retry loads the
// chunk; the run succeeds with every live table equal to the source.
func TestDeadlineMidLoad(t *testing.T) {
	t.Parallel()
	for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine)
			d := &deadlineTarget{Target: w.target, w: w, attempts: map[string]int{}}
			w.deps.Target = d
			res := w.run(t, "deadline")
			succeeded(t, res)
			if d.hit < res.Report.Chunks {
				t.Errorf("test is void: %d loads reached their deadline, want one per chunk (%d)", d.hit, res.Report.Chunks)
			}
			for _, l := range d.left {
				t.Errorf("left behind after a load's deadline: %s", l)
			}
			w.liveEqualsSource(t)
		})
	}
}
