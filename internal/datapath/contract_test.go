package datapath

import (
	"bytes"
	"context"
	"errors"
	"github.com/ferrydata/ferry/internal/csvcodec/csvtest"
	"io"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/testdb"
)

// targets are the ferry.Target implementations the contract suite runs on:
// each gives a fresh target and the schema to use.
var targets = []struct {
	engine ferry.Engine
	open   func(t *testing.T) (ferry.Target, string)
}{
	{ferry.EnginePostgres, func(t *testing.T) (ferry.Target, string) {
		tg, err := postgres.Open(context.Background(), testdb.Postgres(t))
		testdb.Must(t, "open postgres", err)
		t.Cleanup(tg.Close)
		tg.Logger = quiet
		tg.Sleep = func(context.Context, time.Duration) error { return nil }
		return tg, "bi_acme"
	}},
	{ferry.EngineMySQL, func(t *testing.T) (ferry.Target, string) {
		dbname, dsn := testdb.MySQL(t)
		db, err := mysql.Open(context.Background(), dsn)
		testdb.Must(t, "open mysql", err)
		t.Cleanup(func() { db.Close() })
		return mysql.NewTarget(db, mysql.WithLogger(quiet), mysql.WithSleep(func(context.Context, time.Duration) error { return nil })), dbname
	}},
}

var contractCols = []ferry.Column{{Name: "id", Type: "bigint", Nullable: false}, {Name: "v", Type: "varchar(50)", Nullable: true}}

func rowsCSV(prefix string, lo, hi int64) []byte { return csvtest.KV(prefix, lo, hi) }

type brokenReader struct {
	data []byte
	err  error
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, b.err
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// TestTargetContract runs the ferry.Target contract on every target: a
// first run without live tables, idempotent loads and reruns, a failed load
// that leaves staging as it was, a swap and its retry, a second run
// through LIKE live, and a refused count mismatch.
func TestTargetContract(t *testing.T) {
	for _, tc := range targets {
		t.Run(string(tc.engine), func(t *testing.T) {
			tg, schema := tc.open(t)
			ctx := context.Background()
			if tg.Engine() != tc.engine {
				t.Fatalf("Engine() = %s", tg.Engine())
			}
			count := func(table string) int64 {
				t.Helper()
				n, err := tg.Count(ctx, schema, table)
				testdb.Must(t, "count "+table, err)
				return n
			}
			load := func(stg string, lo, hi int64, r io.Reader) (int64, error) {
				return tg.Load(ctx, ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: "id", Lo: lo, Hi: hi}, r)
			}
			const table = "orders"
			stg := ferry.StagingName(table)
			for i := 0; i < 2; i++ {
				testdb.Must(t, "ensure schema", tg.EnsureSchema(ctx, schema))
				testdb.Must(t, "prepare staging", tg.PrepareStaging(ctx, schema, table, stg, contractCols, "id"))
			}
			if _, err := tg.Count(ctx, schema, table); !errors.Is(err, ferry.ErrNotFound) {
				t.Fatalf("count of a table that does not exist yet: %v, want ErrNotFound", err)
			}

			// Three chunks, each loaded twice: no duplicates.
			chunks := [][2]int64{{1, 4}, {4, 8}, {8, 11}}
			for round := 0; round < 2; round++ {
				for _, c := range chunks {
					n, err := load(stg, c[0], c[1], bytes.NewReader(rowsCSV("a", c[0], c[1])))
					testdb.Must(t, "load", err)
					if n != c[1]-c[0] {
						t.Fatalf("load [%d,%d) returned %d", c[0], c[1], n)
					}
				}
				if got := count(stg); got != 10 {
					t.Fatalf("round %d: staging has %d rows, want 10", round, got)
				}
			}
			// A load whose reader breaks midway changes nothing.
			boom := errors.New("stream broke")
			data := rowsCSV("b", 4, 8)
			if _, err := load(stg, 4, 8, &brokenReader{data: data[:len(data)-3], err: boom}); !errors.Is(err, boom) {
				t.Fatalf("broken reader: err = %v, want it to wrap the reader's error", err)
			}
			if got := count(stg); got != 10 {
				t.Fatalf("after a failed load staging has %d rows, want 10", got)
			}

			// First swap, then its retry.
			req := ferry.SwapRequest{RunID: "run-1", Schema: schema, Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: 10}}}
			res, err := tg.Swap(ctx, req)
			testdb.Must(t, "swap", err)
			if res.AlreadySwapped {
				t.Fatal("first swap says AlreadySwapped")
			}
			res, err = tg.Swap(ctx, req)
			testdb.Must(t, "retried swap", err)
			if !res.AlreadySwapped || count(table) != 10 {
				t.Fatalf("retried swap: %+v, live %d rows; want AlreadySwapped and 10 rows", res, count(table))
			}

			// Second run: staging LIKE live, swap, what was live is emptied.
			testdb.Must(t, "prepare staging 2", tg.PrepareStaging(ctx, schema, table, stg, contractCols, "id"))
			if got := count(stg); got != 0 {
				t.Fatalf("prepared staging has %d rows", got)
			}
			_, err = load(stg, 1, 4, bytes.NewReader(rowsCSV("c", 1, 4)))
			testdb.Must(t, "load 2", err)
			_, err = tg.Swap(ctx, ferry.SwapRequest{RunID: "run-2", Schema: schema, Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: 3}}})
			testdb.Must(t, "swap 2", err)
			if count(table) != 3 || count(stg) != 0 {
				t.Fatalf("after run 2: live %d rows (want 3), staging %d (want 0)", count(table), count(stg))
			}

			// Third run with a short staging: refused, live untouched.
			testdb.Must(t, "prepare staging 3", tg.PrepareStaging(ctx, schema, table, stg, contractCols, "id"))
			_, err = load(stg, 1, 3, bytes.NewReader(rowsCSV("d", 1, 3)))
			testdb.Must(t, "load 3", err)
			_, err = tg.Swap(ctx, ferry.SwapRequest{RunID: "run-3", Schema: schema, Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: 5}}})
			var me *ferry.CountMismatchError
			if !errors.As(err, &me) || me.Staging != 2 || me.Expected != 5 {
				t.Fatalf("short staging: err = %v, want CountMismatchError 2 vs 5", err)
			}
			if count(table) != 3 {
				t.Fatalf("a refused swap changed live: %d rows", count(table))
			}
		})
	}
}
