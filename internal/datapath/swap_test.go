package datapath

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// rawConn is one plain client session on a target, as a BI tool has.
type rawConn interface {
	exec(ctx context.Context, q string) error
	int(ctx context.Context, q string) (int64, error)
}

type mysqlConn struct{ c *sql.Conn }

func (m mysqlConn) exec(ctx context.Context, q string) error {
	_, err := m.c.ExecContext(ctx, q)
	return err
}

func (m mysqlConn) int(ctx context.Context, q string) (n int64, err error) {
	err = m.c.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}

type pgConn struct{ c *pgx.Conn }

func (p pgConn) exec(ctx context.Context, q string) error {
	_, err := p.c.Exec(ctx, q)
	return err
}

func (p pgConn) int(ctx context.Context, q string) (n int64, err error) {
	err = p.c.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// readerKit is a target plus what the swap-under-readers test needs to
// watch it from outside: plain sessions and the server's view of who waits
// on a lock.
type readerKit struct {
	tg      ferry.Target
	schema  string
	connect func(t *testing.T) rawConn
	// live is the qualified, quoted name of the live table.
	live string
	// waiting counts sessions blocked on a table lock whose statement
	// starts with prefix.
	waiting func(ctx context.Context, c rawConn, prefix string) (int64, error)
	// swapBlocks is how the swap's statement that waits for live's lock
	// starts.
	swapBlocks string
}

var readerKits = []struct {
	engine ferry.Engine
	open   func(t *testing.T, table string) readerKit
}{
	{ferry.EnginePostgres, func(t *testing.T, table string) readerKit {
		url := testdb.Postgres(t)
		tg, err := postgres.Open(context.Background(), url)
		testdb.Must(t, "open postgres", err)
		t.Cleanup(tg.Close)
		tg.Logger = quiet
		tg.Sleep = func(context.Context, time.Duration) error { return nil }
		tg.LockTimeout = 30 * time.Second // part 2 holds live on purpose while it sets up the queue
		return readerKit{tg: tg, schema: "bi_acme",
			connect: func(t *testing.T) rawConn {
				c, err := pgx.Connect(context.Background(), url) // cached prepared statements, as BI tools use
				testdb.Must(t, "connect", err)
				t.Cleanup(func() { c.Close(context.Background()) })
				return pgConn{c}
			},
			live:       pgx.Identifier{"bi_acme", table}.Sanitize(),
			swapBlocks: "LOCK TABLE",
			waiting: func(ctx context.Context, c rawConn, prefix string) (int64, error) {
				return c.int(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
					AND wait_event_type = 'Lock' AND starts_with(query, '`+prefix+`')`)
			},
		}
	}},
	{ferry.EngineMySQL, func(t *testing.T, table string) readerKit {
		dbname, dsn := testdb.MySQL(t)
		db, err := mysql.Open(context.Background(), dsn)
		testdb.Must(t, "open mysql", err)
		t.Cleanup(func() { db.Close() })
		tg := mysql.NewTarget(db, mysql.WithLogger(quiet), mysql.WithSleep(func(context.Context, time.Duration) error { return nil }))
		return readerKit{tg: tg, schema: dbname,
			connect: func(t *testing.T) rawConn {
				c, err := db.Conn(context.Background())
				testdb.Must(t, "connect", err)
				t.Cleanup(func() { c.Close() })
				return mysqlConn{c}
			},
			live:       "`" + dbname + "`.`" + table + "`",
			swapBlocks: "RENAME TABLE",
			waiting: func(ctx context.Context, c rawConn, prefix string) (int64, error) {
				return c.int(ctx, `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '`+dbname+`'
					AND STATE LIKE 'Waiting for table metadata lock' AND INFO LIKE '`+prefix+`%'`)
			},
		}
	}},
}

// waitFor polls cond every 20ms until it holds, for at most 20s.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	for range 1000 {
		ok, err := cond()
		testdb.Must(t, what, err)
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("gave up waiting: %s", what)
}

// TestSwapUnderReaders runs on both targets. Readers query the live table
// in a loop while swaps alternate it between a 3-row and a 7-row dataset;
// no reader may ever see an error, a missing table or another count. The
// test waits after each swap until every reader has read again, so every
// reader sees both datasets. Then the worst case, made deterministic: a
// long reader's open transaction holds live, the swap queues behind it, a
// new reader queues behind the swap; when the long reader ends, the swap
// completes and the queued reader sees the complete new table, no error.
func TestSwapUnderReaders(t *testing.T) {
	for _, kc := range readerKits {
		t.Run(string(kc.engine), func(t *testing.T) {
			const table = "orders"
			k := kc.open(t, table)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			stg := ferry.StagingName(table)
			sizes := [2]int64{3, 7}
			run := 0
			// publish loads n rows into staging and swaps them live.
			publish := func(ctx context.Context, n int64) error {
				run++
				if err := k.tg.PrepareStaging(ctx, k.schema, table, stg, contractCols, "id"); err != nil {
					return err
				}
				if _, err := k.tg.Load(ctx, ferry.LoadRequest{Schema: k.schema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: n + 1},
					bytes.NewReader(rowsCSV(fmt.Sprintf("r%d-", run), 1, n+1))); err != nil {
					return err
				}
				_, err := k.tg.Swap(ctx, ferry.SwapRequest{RunID: fmt.Sprintf("run-%d", run), Schema: k.schema,
					Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: n}}})
				return err
			}
			testdb.Must(t, "ensure schema", k.tg.EnsureSchema(ctx, k.schema))
			testdb.Must(t, "first publish", publish(ctx, sizes[0]))

			// Part 1: looping readers.
			const readers = 4
			var (
				stop   atomic.Bool
				wg     sync.WaitGroup
				mu     sync.Mutex
				bad    []string
				seen   [readers]map[int64]int
				nReads [readers]atomic.Int64
			)
			conns := make([]rawConn, readers)
			for r := range readers {
				conns[r] = k.connect(t)
				seen[r] = map[int64]int{}
			}
			for r := range readers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						n, err := conns[r].int(ctx, "SELECT COUNT(*) FROM "+k.live)
						mu.Lock()
						switch {
						case err != nil:
							bad = append(bad, fmt.Sprintf("reader %d: %v", r, err))
						case n != sizes[0] && n != sizes[1]:
							bad = append(bad, fmt.Sprintf("reader %d saw %d rows", r, n))
						default:
							seen[r][n]++
						}
						mu.Unlock()
						nReads[r].Add(1)
						if err != nil {
							return
						}
					}
				}()
			}
			const swaps = 10
			for i := 1; i <= swaps; i++ {
				var before [readers]int64
				for r := range readers {
					before[r] = nReads[r].Load()
				}
				if err := publish(ctx, sizes[i%2]); err != nil {
					stop.Store(true)
					wg.Wait()
					t.Fatalf("swap %d: %v", i, err)
				}
				// Every reader reads at least once more before the next swap.
				waitFor(t, "readers to read after a swap", func() (bool, error) {
					for r := range readers {
						if nReads[r].Load() < before[r]+2 {
							return false, nil
						}
					}
					return true, nil
				})
			}
			stop.Store(true)
			wg.Wait()
			if len(bad) > 0 {
				t.Fatalf("readers saw %d bad results, first: %s", len(bad), bad[0])
			}
			for r := range readers {
				if seen[r][sizes[0]] == 0 || seen[r][sizes[1]] == 0 {
					t.Fatalf("reader %d saw %v: not both datasets", r, seen[r])
				}
			}

			// Part 2: a reader queued behind a swap that waits for a long reader.
			// Live now holds sizes[0] rows (an even number of swaps).
			holder, queued, watcher := k.connect(t), k.connect(t), k.connect(t)
			testdb.Must(t, "begin long reader", holder.exec(ctx, "BEGIN"))
			n, err := holder.int(ctx, "SELECT COUNT(*) FROM "+k.live)
			testdb.Must(t, "long read", err)
			if n != sizes[0] {
				t.Fatalf("live has %d rows before the blocked swap, want %d", n, sizes[0])
			}
			swapErr := make(chan error, 1)
			go func() { swapErr <- publish(ctx, sizes[1]) }()
			waitFor(t, "the swap to wait for the long reader's lock", func() (bool, error) {
				select {
				case err := <-swapErr:
					swapErr <- err
					return false, fmt.Errorf("the swap finished while a reader held live: %v", err)
				default:
				}
				n, err := k.waiting(ctx, watcher, k.swapBlocks)
				return n > 0, err
			})
			type result struct {
				n   int64
				err error
			}
			queuedRes := make(chan result, 1)
			go func() {
				n, err := queued.int(ctx, "SELECT COUNT(*) FROM "+k.live)
				queuedRes <- result{n, err}
			}()
			waitFor(t, "the new reader to queue behind the swap", func() (bool, error) {
				n, err := k.waiting(ctx, watcher, "SELECT COUNT(*) FROM")
				return n > 0, err
			})
			testdb.Must(t, "end long reader", holder.exec(ctx, "COMMIT"))
			testdb.Must(t, "blocked swap", <-swapErr)
			res := <-queuedRes
			if res.err != nil {
				t.Fatalf("the reader queued behind the swap failed: %v", res.err)
			}
			if res.n != sizes[1] {
				t.Fatalf("the reader queued behind the swap saw %d rows, want the new table's %d", res.n, sizes[1])
			}
		})
	}
}
