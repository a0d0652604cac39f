package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

func TestLoadSameChunkTwice(t *testing.T) {
	e := newEnv(t)
	stg := e.prepare("orders")
	data := kvCSV("a", 1, 10)
	for i := 0; i < 2; i++ {
		if n := e.load(stg, 1, 10, data); n != 9 {
			t.Fatalf("load %d returned %d rows, want 9", i+1, n)
		}
	}
	got := e.strings(`SELECT id || '=' || v FROM bi_acme.` + quoteIdent(stg) + ` ORDER BY id`)
	if len(got) != 9 || got[0] != "1=a1" || got[8] != "9=a9" {
		t.Fatalf("staging after two loads = %v, want the 9 rows once", got)
	}
	// The ledger holds the chunk once; preparing staging again clears it.
	ledger := `SELECT count(*) FROM bi_acme.` + LedgerTable + ` WHERE staging = $1::regclass`
	if n := e.int(ledger, qualified(testSchema, stg)); n != 1 {
		t.Errorf("ledger rows of the chunk %d, want 1", n)
	}
	stg = e.prepare("orders")
	if n := e.int(`SELECT count(*) FROM bi_acme.` + LedgerTable); n != 0 {
		t.Errorf("ledger rows after PrepareStaging %d, want 0", n)
	}
}

func TestLoadThreeChunksRerun(t *testing.T) {
	e := newEnv(t)
	stg := e.prepare("orders")
	chunks := [][2]int64{{1, 5}, {5, 9}, {9, 12}}
	for _, c := range chunks {
		e.load(stg, c[0], c[1], kvCSV("a", c[0], c[1]))
	}
	// Re-run chunk by chunk; the second chunk's source changed meanwhile
	// (one row fewer): the rerun replaces exactly its range.
	for i, c := range chunks {
		prefix, hi := "b", c[1]
		if i == 1 {
			hi--
		}
		if n := e.load(stg, c[0], c[1], kvCSV(prefix, c[0], hi)); n != hi-c[0] {
			t.Fatalf("chunk %d reloaded %d rows, want %d", i, n, hi-c[0])
		}
		wantTotal := []int64{11, 10, 10}[i]
		if got := e.int(`SELECT count(*) FROM bi_acme.` + quoteIdent(stg)); got != wantTotal {
			t.Fatalf("after rerun of chunk %d staging has %d rows, want %d", i, got, wantTotal)
		}
	}
	got := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.` + quoteIdent(stg))
	want := "1b1,2b2,3b3,4b4,5b5,6b6,7b7,9b9,10b10,11b11"
	if got[0] != want {
		t.Fatalf("staging = %s\nwant      %s", got[0], want)
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestLoadFailedReaderLeavesNoRows(t *testing.T) {
	e := newEnv(t)
	e.publish("orders", "run-1", "live", 3)
	stg := e.prepare("orders")
	e.load(stg, 1, 4, kvCSV("a", 1, 4))
	before := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.` + quoteIdent(stg))

	// Enough rows that COPY has sent some before the reader fails.
	data := kvCSV("b", 1, 3000)
	cut := bytes.LastIndexByte(data[:len(data)/2], '\n') + 1
	boom := errors.New("s3: connection reset while reading chunk")
	_, err := e.tg.Load(context.Background(), ferry.LoadRequest{Schema: testSchema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 4},
		&failingReader{data: data[:cut], err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
	after := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.` + quoteIdent(stg))
	if after[0] != before[0] {
		t.Fatalf("staging changed by a failed load: %s, was %s", after[0], before[0])
	}
	if got := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.orders`); got[0] != "1live1,2live2,3live3" {
		t.Fatalf("live changed: %s", got[0])
	}
}

func TestLoadConnectionTerminatedMidCopy(t *testing.T) {
	e := newEnv(t)
	e.publish("orders", "run-1", "live", 3)
	stg := e.prepare("orders")
	e.load(stg, 1, 4, kvCSV("a", 1, 4))
	before := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.` + quoteIdent(stg))

	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := e.tg.Load(context.Background(), ferry.LoadRequest{Schema: testSchema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 4}, pr)
		errc <- err
	}()
	if _, err := pw.Write(kvCSV("b", 1, 3)); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) for the COPY to be running, then kill its backend.
	var pid int64
	for i := 0; i < 400 && pid == 0; i++ {
		err := e.conn.QueryRow(context.Background(), `SELECT coalesce(max(pid), 0)::bigint FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'COPY %' AND state = 'active'`).Scan(&pid)
		testdb.Must(t, "pg_stat_activity", err)
		if pid == 0 {
			time.Sleep(25 * time.Millisecond)
		}
	}
	if pid == 0 {
		pw.Close()
		t.Fatalf("the COPY never showed up in pg_stat_activity (load: %v)", <-errc)
	}
	e.exec(`SELECT pg_terminate_backend($1::int)`, pid)
	for i := 0; i < 400 && e.int(`SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int`, pid) > 0; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	pw.Write(kvCSV("b", 3, 4)[len("\"id\",\"v\"\n"):])
	pw.Close()
	err := <-errc
	if err == nil || !isRetryable(err) {
		t.Fatalf("err = %v, want a RetryableError", err)
	}
	after := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.` + quoteIdent(stg))
	if after[0] != before[0] {
		t.Fatalf("staging changed by a killed load: %s, was %s", after[0], before[0])
	}
	if got := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.orders`); got[0] != "1live1,2live2,3live3" {
		t.Fatalf("live changed: %s", got[0])
	}
	// The pool recovers: the next load works.
	if n := e.load(stg, 1, 4, kvCSV("c", 1, 4)); n != 3 {
		t.Fatalf("load after the kill loaded %d rows", n)
	}
}

func TestLoadErrors(t *testing.T) {
	e := newEnv(t)
	stg := e.prepare("orders")
	e.load(stg, 1, 4, kvCSV("a", 1, 4))
	before := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.` + quoteIdent(stg))
	const hdr = "\"id\",\"v\"\n"
	cases := []struct {
		name   string
		csv    string
		kind   string // "data" or "config"
		column string
		want   string
		hidden string // a row value only the error's Detail may quote
		known  string // what the error says instead when the row count is known (COPY ... WHERE)
	}{
		{"bad integer", hdr + "\"1\",\"x\"\n\"zwei\",\"y\"\n", "data", "id", "invalid input syntax", "zwei", ""},
		{"too long", hdr + "\"1\",\"" + strings.Repeat("x", 51) + "\"\n", "data", "v", "too long", strings.Repeat("x", 51), ""},
		{"NUL in text", hdr + "\"1\",\"a\x00b\"\n", "data", "", "0x00", "", ""},
		{"invalid UTF-8", hdr + "\"1\",\"a\xffb\"\n", "data", "", "UTF8", "", ""},
		{"NULL chunk column", hdr + "NULL,\"x\"\n", "data", "id", "null value", "", "(or NULL)"},
		{"row outside chunk", hdr + "\"1\",\"x\"\n\"7\",\"y\"\n", "data", "id", "outside the chunk", "", ""},
		{"malformed body", hdr + "\"1\",\"unterminated\n", "data", "", "line", "", ""},
		{"empty stream", "", "data", "", "no header", "", ""},
		{"bad header name", "\"id\",\"a b\"\n", "data", "a b", "identifier", "", ""},
		{"unknown column", "\"id\",\"w\"\n\"1\",\"x\"\n", "config", "", "column \"w\"", "", ""},
		{"no chunk column", "\"v\"\n\"x\"\n", "config", "", "chunk column", "", ""},
	}
	for _, known := range []bool{false, true} {
		for _, c := range cases {
			if known && c.known != "" {
				c.want = c.known
			}
			t.Run(fmt.Sprintf("%s/known=%v", c.name, known), func(t *testing.T) {
				req := ferry.LoadRequest{Schema: testSchema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 4, RowsKnown: known, Rows: int64(max(strings.Count(c.csv, "\n")-1, 0))}
				_, err := e.tg.Load(context.Background(), req, strings.NewReader(c.csv))
				switch c.kind {
				case "data":
					var de *ferry.DataError
					if !asErr(err, &de) {
						t.Fatalf("err = %v, want DataError", err)
					}
					if c.column != "" && de.Column != c.column {
						t.Errorf("DataError.Column = %q, want %q (%v)", de.Column, c.column, err)
					}
				case "config":
					var ce *ferry.ConfigError
					if !asErr(err, &ce) {
						t.Fatalf("err = %v, want ConfigError", err)
					}
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("err = %v, want it to mention %q", err, c.want)
				}
				if c.hidden != "" && strings.Contains(ferry.WithoutDetail(err.Error()), c.hidden) {
					t.Errorf("err = %v quotes the row value outside its database detail", err)
				}
				if isRetryable(err) {
					t.Errorf("err = %v is retryable, want permanent", err)
				}
				after := e.strings(`SELECT string_agg(id || v, ',' ORDER BY id) FROM bi_acme.` + quoteIdent(stg))
				if after[0] != before[0] {
					t.Fatalf("staging changed by a failed load: %s, was %s", after[0], before[0])
				}
			})
		}
	}
}

func TestLoadDeadlineIsRetryable(t *testing.T) {
	e := newEnv(t)
	stg := e.prepare("orders")
	// Another session holds the staging table, so the DELETE waits.
	tx, err := e.conn.Begin(context.Background())
	testdb.Must(t, "begin", err)
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(context.Background(), `LOCK TABLE bi_acme.`+quoteIdent(stg)+` IN ACCESS EXCLUSIVE MODE`)
	testdb.Must(t, "lock", err)

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err = e.tg.Load(ctx, ferry.LoadRequest{Schema: testSchema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 4}, bytes.NewReader(kvCSV("a", 1, 4)))
	if !isRetryable(err) {
		t.Fatalf("err = %v, want RetryableError", err)
	}
	if !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("err = %v, want the statement timeout (under the deadline) to fire first", err)
	}
}

func TestCountAndEnsureSchema(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		testdb.Must(t, "ensure schema", e.tg.EnsureSchema(ctx, "bi_other"))
	}
	if _, err := e.tg.Count(ctx, "bi_other", "missing"); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("count of a missing table: %v, want ErrNotFound", err)
	}
	e.publish("orders", "run-1", "a", 7)
	if n, err := e.tg.Count(ctx, testSchema, "orders"); err != nil || n != 7 {
		t.Fatalf("count = %d, %v; want 7", n, err)
	}
	var ce *ferry.ConfigError
	if _, err := e.tg.Count(ctx, testSchema, `x"; DROP TABLE y`); !asErr(err, &ce) {
		t.Fatalf("bad identifier: %v, want ConfigError", err)
	}
	if e.tg.Engine() != ferry.EnginePostgres {
		t.Fatal("Engine() is not postgres")
	}
}

// TestRedact: a connection string is shown only as scheme, user, host,
// port and database (ferry.SafeDSN); nothing of its query string or other
// keywords, in Redact or in Open's errors (a refused connection, a string
// pgx cannot parse).
func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://ferry:s3cret@db.example:5432/bi?sslmode=require", "postgres://ferry@db.example:5432/bi"},
		{"postgres://ferry@db:5432/bi", "postgres://ferry@db:5432/bi"},
		{"postgres://u@h/db?password=s3cret", "postgres://u@h/db"},
		{"postgresql://db/bi?user=ferry&password=s3cret&sslmode=require&sslkey=/s3cret/key", "postgresql://db/bi"},
		{"host=db user=ferry password=s3cret dbname=bi", "postgres://ferry@db/bi"},
		{"host=db port=5433 password='s3 cret' dbname=bi sslpassword=s3cret", "postgres://db:5433/bi"},
		{"postgres://u:s3cret@h:notaport/db", "<malformed connection string>"},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, dsn := range []string{
		"postgres://ferry:s3cret@127.0.0.1:1/bi?sslmode=disable&connect_timeout=2",
		"postgres://ferry@127.0.0.1:1/bi?sslmode=disable&connect_timeout=2&password=s3cret&application_name=s3cret_app",
		"postgres://ferry@127.0.0.1:1/bi?sslmode=bogus&password=s3cret&application_name=s3cret_app",
		"host=127.0.0.1 port=1 user=ferry password=s3cret dbname=bi sslmode=bogus application_name=s3cret_app",
	} {
		_, err := Open(context.Background(), dsn)
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "ferry@127.0.0.1:1/bi") {
			t.Errorf("Open(%q) error = %v: want an error naming ferry@127.0.0.1:1/bi, with nothing of the query string", dsn, err)
		}
	}
	_, err := Open(context.Background(), "postgres://ferry:s3cret@127.0.0.1:1/bi?sslmode=disable&connect_timeout=2")
	if !isRetryable(err) {
		t.Errorf("connection refused: %v, want RetryableError", err)
	}
}

// TestLoadSameChunkConcurrently: a retry racing the first attempt of the
// same chunk must not leave the chunk's rows twice.
func TestLoadSameChunkConcurrently(t *testing.T) {
	e := newEnv(t)
	stg := e.prepare("orders")
	req := ferry.LoadRequest{Schema: testSchema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 6}
	data := kvCSV("a", 1, 6)
	hdr := bytes.IndexByte(data, '\n') + 1

	// First attempt: stalls mid-COPY on a pipe.
	pr, pw := io.Pipe()
	first := make(chan error, 1)
	go func() { _, err := e.tg.Load(context.Background(), req, pr); first <- err }()
	pw.Write(data[:hdr+4])
	for i := 0; i < 400 && e.int(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY %' AND state = 'active'`) == 0; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	// Second attempt: must wait for the first (or, without the lock, it
	// would finish on its own and leave duplicates).
	second := make(chan error, 1)
	go func() { _, err := e.tg.Load(context.Background(), req, bytes.NewReader(data)); second <- err }()
	waiting := false
	for i := 0; i < 200 && !waiting; i++ {
		waiting = e.int(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`) > 0
		select {
		case err := <-second:
			second <- err
			i = 200
		default:
		}
		if !waiting {
			time.Sleep(25 * time.Millisecond)
		}
	}
	pw.Write(data[hdr+4:])
	pw.Close()
	testdb.Must(t, "first load", <-first)
	testdb.Must(t, "second load", <-second)
	if got := e.int(`SELECT count(*) FROM bi_acme.` + quoteIdent(stg)); got != 5 {
		t.Fatalf("staging has %d rows after two concurrent loads of a 5-row chunk, want 5", got)
	}
	if !waiting {
		t.Error("the second load never waited for the first")
	}
}
