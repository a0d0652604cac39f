// Package soak is `make soak` (issue 9; not in make test): FERRY_SOAK_RUNS
// runs (default 50 under make soak) of the real statemachine/ferry.asl.json
// back to back over two companies, on each target (MariaDB, PostgreSQL),
// while 8 readers query the live tables and a killer ends a random export
// or load session every FERRY_SOAK_KILL_EVERY (default 2s). It prints runs,
// kills, reader queries, reader errors, partial or empty reads, the longest
// reader block, and rows lost or duplicated; the last three counts must be
// 0 (the test fails otherwise).
package soak

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/steps"
)

func init() { gomysql.SetLogger(log.New(io.Discard, "", 0)) }

var quiet = slog.New(slog.DiscardHandler)

var companies = []admin.NewCompany{{ID: 1, Alias: "alpha"}, {ID: 2, Alias: "beta"}}

// The query sleeps 1 ms a row so exports are on the server long enough to be killed.
const query = "SELECT id, note, amount FROM orders WHERE company_id = :company_id AND SLEEP(0.001) = 0"

// figures are what the soak prints.
type figures struct {
	runs, failedRuns, kills, loadKills, queries, readerErrs, partial, lostOrDup atomic.Int64
	longest                                                                     atomic.Int64 // ns
	firstErr                                                                    atomic.Value
}

type soak struct {
	engine  ferry.Engine
	src     *sql.DB
	srcName string
	tdb     *sql.DB       // MySQL target
	pg      *pgxpool.Pool // PostgreSQL target
	pgURL   string
	server  *sql.DB // MariaDB server connection for KILL
	schema  map[string]string
	deps    steps.Deps
	store   ferry.Store
	bucket  string
	mu      sync.Mutex
	allowed map[string]map[int64]bool // alias → counts a reader may see
	next    int
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func TestSoak(t *testing.T) {
	runs := envInt("FERRY_SOAK_RUNS", 0)
	if runs == 0 {
		t.Skip("make soak (FERRY_SOAK_RUNS=N) runs it")
	}
	every, err := time.ParseDuration(os.Getenv("FERRY_SOAK_KILL_EVERY"))
	if err != nil {
		every = 2 * time.Second
	}
	for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			s := newSoak(t, engine)
			f := &figures{}
			start := time.Now()
			// The first run publishes the live tables the readers query.
			s.runOnce(t, f, fmt.Sprintf("soak-%s-000", engine))
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); s.read(ctx, f, i) }()
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.kill(ctx, f, every) }()
			for i := 1; i < runs; i++ {
				s.grow(t, 7)
				s.runOnce(t, f, fmt.Sprintf("soak-%s-%03d", engine, i))
			}
			stop()
			wg.Wait()
			fe, _ := f.firstErr.Load().(string)
			fmt.Printf("soak %s: runs %d (failed %d), kills %d (of them loads %d), reader queries %d, reader errors %d, partial or empty reads %d, longest reader block %s, rows lost or duplicated %d, wall %s\n",
				engine, f.runs.Load(), f.failedRuns.Load(), f.kills.Load(), f.loadKills.Load(), f.queries.Load(), f.readerErrs.Load(), f.partial.Load(),
				time.Duration(f.longest.Load()).Round(time.Millisecond), f.lostOrDup.Load(), time.Since(start).Round(time.Second))
			if fe != "" {
				fmt.Printf("soak %s: first reader error: %s\n", engine, fe)
			}
			if f.readerErrs.Load() != 0 || f.partial.Load() != 0 || f.lostOrDup.Load() != 0 || f.failedRuns.Load() != 0 {
				t.Errorf("soak %s: reader errors, partial reads, failed runs or rows lost/duplicated", engine)
			}
		})
	}
}
