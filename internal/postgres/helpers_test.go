package postgres

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"github.com/ferrydata/ferry/internal/csvcodec/csvtest"
	"log/slog"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/jackc/pgx/v5"
)

const testSchema = "bi_acme"

// env is a fresh database with a Target and an inspection connection.
type env struct {
	t    *testing.T
	tg   *Target
	conn *pgx.Conn
	url  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	conn, url := testdb.PostgresConn(t)
	ctx := context.Background()
	tg, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(tg.Close)
	tg.Sleep = func(ctx context.Context, d time.Duration) error { return nil }
	tg.Logger = slog.New(slog.DiscardHandler)
	testdb.Must(t, "ensure schema", tg.EnsureSchema(ctx, testSchema))
	return &env{t: t, tg: tg, conn: conn, url: url}
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.conn.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) int(sql string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// strings returns the first column of sql's rows as text.
func (e *env) strings(sql string, args ...any) []string {
	e.t.Helper()
	rows, err := e.conn.Query(context.Background(), sql, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var s *string
		err := r.Scan(&s)
		if s == nil {
			return "<NULL>", err
		}
		return *s, err
	})
	if err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return out
}

var kvCols = []ferry.Column{{Name: "id", Type: "bigint", Nullable: false}, {Name: "v", Type: "varchar(50)", Nullable: true}}

// handCols are the columns of the hand-made tables (id bigint ..., v text)
// as a MySQL query returning them describes them.
var handCols = []ferry.Column{{Name: "id", Type: "bigint"}, {Name: "v", Type: "text", Nullable: true}}

// prepare prepares the staging table of table with kvCols.
func (e *env) prepare(table string) string {
	e.t.Helper()
	stg := ferry.StagingName(table)
	testdb.Must(e.t, "prepare staging", e.tg.PrepareStaging(context.Background(), testSchema, table, stg, kvCols, "id"))
	return stg
}

func kvCSV(prefix string, lo, hi int64) []byte { return csvtest.KV(prefix, lo, hi) }

func (e *env) load(stg string, lo, hi int64, data []byte) int64 {
	e.t.Helper()
	// As load-chunk does: the export's record count is known.
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		e.t.Fatalf("count the records of [%d,%d): %v", lo, hi, err)
	}
	rows := int64(len(recs) - 1)
	n, err := e.tg.Load(context.Background(), ferry.LoadRequest{Schema: testSchema, Staging: stg, ChunkColumn: "id", Lo: lo, Hi: hi, Rows: rows, RowsKnown: true}, bytes.NewReader(data))
	if err != nil {
		e.t.Fatalf("load [%d,%d): %v", lo, hi, err)
	}
	return n
}

// publish makes table live with the rows of kvCSV(prefix, 1, n+1).
func (e *env) publish(table, runID, prefix string, n int64) {
	e.t.Helper()
	stg := e.prepare(table)
	e.load(stg, 1, n+1, kvCSV(prefix, 1, n+1))
	_, err := e.tg.Swap(context.Background(), ferry.SwapRequest{RunID: runID, Schema: testSchema,
		Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: n}}})
	testdb.Must(e.t, "swap", err)
}

func (e *env) oid(table string) int64 {
	e.t.Helper()
	return e.int(`SELECT c.oid::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, testSchema, table)
}

func asErr[T any](err error, target *T) bool { return err != nil && errors.As(err, target) }

func isRetryable(err error) bool {
	var re *ferry.RetryableError
	return errors.As(err, &re)
}
