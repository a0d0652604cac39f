package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql/mysqltest"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"
)

func count(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	testdb.Must(t, q, db.QueryRow(q, args...).Scan(&n))
	return n
}

// columnValues returns, per row ordered by id, whether col is NULL and the
// hex of its bytes (text converted to utf8mb4 first, so a latin1 source
// column compares by content).
func columnValues(t *testing.T, db *sql.DB, table, col string, text bool) []string {
	t.Helper()
	expr := "HEX(CAST(" + quoteIdent(col) + " AS BINARY))"
	if text {
		expr = "HEX(CONVERT(" + quoteIdent(col) + " USING utf8mb4))"
	}
	rows, err := db.Query("SELECT " + quoteIdent(col) + " IS NULL, " + expr + " FROM " + quoteIdent(table) + " ORDER BY id")
	testdb.Must(t, "select "+col, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var null bool
		var h sql.NullString
		testdb.Must(t, "scan", rows.Scan(&null, &h))
		out = append(out, strconv.FormatBool(null)+":"+h.String)
	}
	testdb.Must(t, "rows", rows.Err())
	return out
}

type chunkRange struct{ lo, hi int64 }

var fixtureChunks = []chunkRange{{0, 10}, {10, 20}, {20, 1 << 40}}

// copyChunks exports each chunk from src and loads it into staging.
func copyChunks(t *testing.T, src *Source, tgt *Target, fx mysqltest.Fixture, schema, staging string, chunks []chunkRange) int64 {
	t.Helper()
	var total int64
	for _, c := range chunks {
		var buf bytes.Buffer
		st, err := src.Export(ctxT(t), ferry.ExportRequest{Query: fx.Query, Params: fx.Params, ChunkColumn: fx.ChunkColumn, Lo: c.lo, Hi: c.hi, Target: ferry.EngineMySQL}, &buf)
		testdb.Must(t, "export", err)
		n, err := tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: staging, ChunkColumn: fx.ChunkColumn, Lo: c.lo, Hi: c.hi}, &buf)
		testdb.Must(t, "load", err)
		if n != st.Rows {
			t.Fatalf("chunk [%d,%d): loaded %d rows, exported %d", c.lo, c.hi, n, st.Rows)
		}
		total += n
	}
	return total
}

func TestMySQLToMySQLFidelity(t *testing.T) {
	for _, mode := range []string{"load data", "insert"} {
		t.Run(mode, func(t *testing.T) {
			srcDB, _ := openDB(t)
			fx := mysqltest.FidelityFixture(t, srcDB)
			src := NewSource(srcDB)
			tgtDB, schema := openDB(t)
			var opts []Option
			if mode == "insert" {
				opts = append(opts, WithInsertLoader(4))
			}
			tgt := NewTarget(tgtDB, opts...)
			cols, err := src.Columns(ctxT(t), fx.Query, fx.Params)
			testdb.Must(t, "columns", err)
			const table = "fid"
			staging := ferry.StagingName(table)
			testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, table, staging, cols, fx.ChunkColumn))
			total := copyChunks(t, src, tgt, fx, schema, staging, fixtureChunks)
			// Re-running every chunk leaves the same rows, no duplicates.
			if again := copyChunks(t, src, tgt, fx, schema, staging, fixtureChunks); again != total {
				t.Fatalf("second pass loaded %d rows, first %d", again, total)
			}
			if n, err := tgt.Count(ctxT(t), schema, staging); err != nil || n != int64(len(fx.Rows)) {
				t.Fatalf("staging count = %d, %v; want %d", n, err, len(fx.Rows))
			}
			res, err := tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "run-fid", Schema: schema, Tables: []ferry.SwapTable{{Table: table, Staging: staging, Expected: total}}})
			testdb.Must(t, "swap", err)
			if res.AlreadySwapped {
				t.Fatal("first swap reported AlreadySwapped")
			}
			for _, c := range fx.Names {
				got := columnValues(t, tgtDB, table, c, fx.Latin1[c])
				want := columnValues(t, srcDB, fx.Table, c, fx.Latin1[c])
				if len(got) != len(want) {
					t.Fatalf("column %s: %d rows, want %d", c, len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("column %s row %d: target %s, source %s", c, i+1, got[i], want[i])
					}
				}
			}
			// The target exports the very same CSV (floats compared by value).
			req := ferry.ExportRequest{Query: fx.Query, Params: fx.Params, ChunkColumn: "id", Hi: 1 << 40}
			_, want := exportAll(t, src, req)
			req.Query = strings.Replace(fx.Query, fx.Table, table, 1)
			_, got := exportAll(t, NewSource(tgtDB), req)
			if !bytes.Equal(got, want) {
				gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
				for i := range min(len(gl), len(wl)) {
					if !bytes.Equal(gl[i], wl[i]) {
						t.Errorf("target export differs from source export at line %d:\n%q\n%q", i+1, gl[i], wl[i])
						break
					}
				}
				t.Errorf("target export (%d bytes) differs from source export (%d bytes)", len(got), len(want))
			}
		})
	}
}

// failingReader yields the first n bytes of data, then fails.
type failingReader struct {
	data []byte
	n    int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("upstream broke")
	}
	k := min(len(p), f.n, len(f.data))
	copy(p, f.data[:k])
	f.data, f.n = f.data[k:], f.n-k
	return k, nil
}

func setupStaging(t *testing.T) (*Source, *Target, *sql.DB, mysqltest.Fixture, string, string) {
	srcDB, _ := openDB(t)
	fx := mysqltest.FidelityFixture(t, srcDB)
	src := NewSource(srcDB)
	tgtDB, schema := openDB(t)
	tgt := NewTarget(tgtDB)
	cols, err := src.Columns(ctxT(t), fx.Query, fx.Params)
	testdb.Must(t, "columns", err)
	staging := ferry.StagingName("fid")
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "fid", staging, cols, fx.ChunkColumn))
	copyChunks(t, src, tgt, fx, schema, staging, fixtureChunks)
	return src, tgt, tgtDB, fx, schema, staging
}

func TestFailedLoadLeavesStagingAsItWas(t *testing.T) {
	src, tgt, tgtDB, fx, schema, staging := setupStaging(t)
	before := columnValues(t, tgtDB, staging, "s", false)
	var buf bytes.Buffer
	_, err := src.Export(ctxT(t), ferry.ExportRequest{Query: fx.Query, Params: fx.Params, ChunkColumn: "id", Lo: 0, Hi: 20}, &buf)
	testdb.Must(t, "export", err)
	data := buf.Bytes()
	_, err = tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: staging, ChunkColumn: "id", Lo: 0, Hi: 20},
		&failingReader{data: data, n: len(data) * 2 / 3})
	if err == nil || !strings.Contains(err.Error(), "upstream broke") {
		t.Fatalf("error = %v, want the reader's error", err)
	}
	if after := columnValues(t, tgtDB, staging, "s", false); strings.Join(after, "|") != strings.Join(before, "|") {
		t.Errorf("staging changed by a failed load:\n%v\n%v", after, before)
	}
}

// blockingReader yields data, then blocks until release is closed, then
// yields the rest.
type blockingReader struct {
	first, rest []byte
	started     chan struct{}
	release     chan struct{}
	once        atomic.Bool
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if len(b.first) > 0 {
		n := copy(p, b.first)
		b.first = b.first[n:]
		return n, nil
	}
	if b.once.CompareAndSwap(false, true) {
		close(b.started)
		<-b.release
	}
	if len(b.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// snapshot is every column of table, by id, as bytes: what a failed load
// must leave unchanged.
func snapshot(t *testing.T, db *sql.DB, fx mysqltest.Fixture, table string) string {
	t.Helper()
	var b strings.Builder
	for _, c := range fx.Names {
		b.WriteString(c + "=" + strings.Join(columnValues(t, db, table, c, fx.Latin1[c]), "|") + "\n")
	}
	return b.String()
}

// TestKilledLoadLeavesLiveAndStagingAsTheyWere kills the LOAD DATA's
// connection mid-stream (KILL from another session while the loader's
// reader is still feeding the server). The error is retryable, neither the
// live table nor staging changed, and the retried load then succeeds with
// no duplicates.
func TestKilledLoadLeavesLiveAndStagingAsTheyWere(t *testing.T) {
	src, tgt, tgtDB, fx, schema, staging := setupStaging(t)
	// Make the fixture live (staging is emptied), then fill staging again.
	_, err := tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "run-live", Schema: schema, Tables: []ferry.SwapTable{{Table: "fid", Staging: staging, Expected: int64(len(fx.Rows))}}})
	testdb.Must(t, "swap", err)
	exec(t, tgtDB, "DELETE FROM "+quoteIdent("fid")+" WHERE id > 20") // live differs from what the load writes
	copyChunks(t, src, tgt, fx, schema, staging, fixtureChunks[:2])
	liveBefore, stagingBefore := snapshot(t, tgtDB, fx, "fid"), snapshot(t, tgtDB, fx, staging)
	if liveBefore == stagingBefore {
		t.Fatal("live and staging start out alike: the test could not tell them apart")
	}
	var buf bytes.Buffer
	_, err = src.Export(ctxT(t), ferry.ExportRequest{Query: fx.Query, Params: fx.Params, ChunkColumn: "id", Lo: 0, Hi: 1 << 40}, &buf)
	testdb.Must(t, "export", err)
	data := buf.Bytes()
	cut := len(data) / 2
	br := &blockingReader{first: data[:cut], rest: data[cut:], started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	req := ferry.LoadRequest{Schema: schema, Staging: staging, ChunkColumn: "id", Lo: 0, Hi: 1 << 40}
	go func() {
		_, err := tgt.Load(ctxT(t), req, br)
		done <- err
	}()
	<-br.started
	var id int64
	for i := 0; i < 800 && id == 0; i++ {
		err := tgtDB.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE '%LOAD DATA LOCAL INFILE%' AND ID <> CONNECTION_ID()", schema).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if id == 0 {
			time.Sleep(25 * time.Millisecond)
		}
	}
	if id == 0 {
		close(br.release)
		t.Fatalf("the LOAD DATA statement never showed in the process list (load: %v)", <-done)
	}
	exec(t, tgtDB, "KILL "+strconv.FormatInt(id, 10))
	close(br.release)
	err = <-done
	if err == nil {
		t.Fatal("a killed load returned no error")
	}
	var re *ferry.RetryableError
	if !errors.As(err, &re) {
		t.Errorf("error = %v, want retryable", err)
	}
	if after := snapshot(t, tgtDB, fx, staging); after != stagingBefore {
		t.Errorf("staging changed by a killed load:\n%s\nwas\n%s", after, stagingBefore)
	}
	if after := snapshot(t, tgtDB, fx, "fid"); after != liveBefore {
		t.Errorf("live changed by a killed load:\n%s\nwas\n%s", after, liveBefore)
	}
	// The retry (a fresh reader of the same chunk) loads it once.
	n, err := tgt.Load(ctxT(t), req, bytes.NewReader(data))
	testdb.Must(t, "retried load", err)
	if n != int64(len(fx.Rows)) || count(t, tgtDB, "SELECT COUNT(*) FROM "+quoteIdent(staging)) != n {
		t.Errorf("retried load: %d rows loaded, staging has %d, want %d", n, count(t, tgtDB, "SELECT COUNT(*) FROM "+quoteIdent(staging)), len(fx.Rows))
	}
}

func TestLoadWarningsAreDataErrors(t *testing.T) {
	for _, mode := range []string{"load data", "insert"} {
		t.Run(mode, func(t *testing.T) {
			db, schema := openDB(t)
			var opts []Option
			if mode == "insert" {
				opts = append(opts, WithInsertLoader(0))
			}
			tgt := NewTarget(db, opts...)
			exec(t, db, "CREATE TABLE st (id int NOT NULL, s varchar(3), n tinyint)")
			exec(t, db, "INSERT INTO st VALUES (1, 'old', 1)")
			csv := "\"id\",\"s\",\"n\"\n\"1\",\"abcdef\",\"1\"\n"
			_, err := tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: "st", ChunkColumn: "id", Lo: 0, Hi: 10}, strings.NewReader(csv))
			var de *ferry.DataError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v, want DataError", err)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM st WHERE s = 'old'"); n != 1 {
				t.Errorf("staging changed by a refused load")
			}
			// A warning that quotes the value (Incorrect/Truncated ...
			// value: 'secret1'): only the error's Detail (logs) holds it.
			csv = "\"id\",\"s\",\"n\"\n\"1\",\"ab\",\"secret1\"\n"
			_, err = tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: "st", ChunkColumn: "id", Lo: 0, Hi: 10}, strings.NewReader(csv))
			if !errors.As(err, &de) || strings.Contains(ferry.WithoutDetail(err.Error()), "secret1") {
				t.Errorf("error = %v, want a DataError quoting the value only in its detail", err)
			}
			csv = "\"id\",\"s\",\"nope\"\n"
			_, err = tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: "st", ChunkColumn: "id", Lo: 0, Hi: 10}, strings.NewReader(csv))
			var ce *ferry.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("unknown column: error = %v, want ConfigError", err)
			}
			_, err = tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: "missing", ChunkColumn: "id", Lo: 0, Hi: 10}, strings.NewReader("\"id\"\n"))
			if !errors.Is(err, ferry.ErrNotFound) {
				t.Errorf("missing staging: error = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestHideValues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Warning 1366: Incorrect integer value: 'abc' for column `d`.`t`.`n` at row 1", "Warning 1366: Incorrect integer value: (quoted in the log) for column `d`.`t`.`n` at row 1"},
		{"Warning 1292: Truncated incorrect DECIMAL value: 'it''s \\' x'", "Warning 1292: Truncated incorrect DECIMAL value: (quoted in the log)"},
		{"Warning 1062: Duplicate entry 'a@b.c' for key 'email'", "Warning 1062: Duplicate entry (quoted in the log) for key 'email'"},
		{"Warning 1406: Data too long for column 's' at row 1", "Warning 1406: Data too long for column 's' at row 1"},
	} {
		if got := hideValues(tc.in); got != tc.want {
			t.Errorf("hideValues(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
	// classify's last resort hides them too, and keeps the server's error.
	dup := &mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'a@b.c' for key 'PRIMARY'"}
	err := classify("mysql: insert into s.t", dup)
	if got := err.Error(); strings.Contains(got, "a@b.c") || !strings.Contains(got, "mysql: insert into s.t: Error 1062") {
		t.Errorf("classify(duplicate entry) = %q, want the op and the error without the value", got)
	}
	if mysqlErrNo(err) != 1062 {
		t.Errorf("classify(duplicate entry) lost the server's error: %v", err)
	}
}

// fillStaging replaces staging's rows with n rows.
func fillStaging(t *testing.T, db *sql.DB, table string, n int) {
	t.Helper()
	exec(t, db, "DELETE FROM "+quoteIdent(table))
	var vals []string
	for i := 1; i <= n; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'v%d')", i, i))
	}
	if n > 0 {
		exec(t, db, "INSERT INTO "+quoteIdent(table)+" VALUES "+strings.Join(vals, ","))
	}
}

func TestSwap(t *testing.T) {
	db, schema := openDB(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 600000, time.UTC)
	tgt := NewTarget(db, WithClock(func() time.Time { return now }))
	cols := []ferry.Column{{Name: "id", Type: "int", Nullable: false}, {Name: "v", Type: "varchar(20)", Nullable: true}}
	stA, stB := ferry.StagingName("a"), ferry.StagingName("b")
	// a has a live table; b has none yet.
	exec(t, db, "CREATE TABLE a (id int NOT NULL, v varchar(20), KEY (id)) COMMENT 'users table'")
	fillStaging(t, db, "a", 3)
	testdb.Must(t, "prepare a", tgt.PrepareStaging(ctxT(t), schema, "a", stA, cols, "id"))
	testdb.Must(t, "prepare b", tgt.PrepareStaging(ctxT(t), schema, "b", stB, cols, "id"))
	// Preparing twice is harmless.
	testdb.Must(t, "prepare b", tgt.PrepareStaging(ctxT(t), schema, "b", stB, cols, "id"))
	fillStaging(t, db, stA, 5)
	fillStaging(t, db, stB, 2)

	// Grants on live are by name: they survive the swap.
	user := "ferry_reader_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	for _, host := range []string{"localhost", "127.0.0.1", "%"} {
		exec(t, db, "CREATE USER '"+user+"'@'"+host+"' IDENTIFIED BY 'pw'")
		exec(t, db, "GRANT SELECT ON "+qualified(schema, "a")+" TO '"+user+"'@'"+host+"'")
		h := host
		t.Cleanup(func() { db.Exec("DROP USER IF EXISTS '" + user + "'@'" + h + "'") })
	}

	req := ferry.SwapRequest{RunID: "run-1", Schema: schema, Tables: []ferry.SwapTable{{Table: "a", Staging: stA, Expected: 5}, {Table: "b", Staging: stB, Expected: 2}}}

	// A count mismatch refuses and leaves live untouched.
	bad := req
	bad.Tables = []ferry.SwapTable{{Table: "a", Staging: stA, Expected: 5}, {Table: "b", Staging: stB, Expected: 3}}
	_, err := tgt.Swap(ctxT(t), bad)
	var me *ferry.CountMismatchError
	if !errors.As(err, &me) || me.Table != "b" || me.Staging != 2 || me.Expected != 3 {
		t.Fatalf("error = %v, want CountMismatchError for b (2 vs 3)", err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM a"); n != 3 {
		t.Fatalf("live a has %d rows after a refused swap, want 3", n)
	}
	if _, err := tgt.Count(ctxT(t), schema, "b"); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("live b after a refused swap: %v, want ErrNotFound", err)
	}

	res, err := tgt.Swap(ctxT(t), req)
	testdb.Must(t, "swap", err)
	if res.AlreadySwapped || !res.SwappedAt.Equal(now) {
		t.Errorf("result = %+v", res)
	}
	for table, want := range map[string]int64{"a": 5, "b": 2, stA: 0, stB: 0} {
		if n, err := tgt.Count(ctxT(t), schema, table); err != nil || n != want {
			t.Errorf("count %s = %d, %v; want %d", table, n, err, want)
		}
	}

	// A retry of the same run is detected and renames nothing, even with
	// staging refilled.
	fillStaging(t, db, stA, 9)
	later := now.Add(time.Hour)
	tgt.opts.now = func() time.Time { return later }
	res, err = tgt.Swap(ctxT(t), req)
	testdb.Must(t, "retried swap", err)
	if !res.AlreadySwapped || !res.SwappedAt.Equal(now) {
		t.Errorf("retried swap result = %+v, want AlreadySwapped at %v", res, now)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM a"); n != 5 {
		t.Errorf("live a = %d rows after a retried swap, want 5", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM "+quoteIdent(stA)); n != 0 {
		t.Errorf("staging a = %d rows after a retried swap, want 0 (clean-up redone)", n)
	}

	// Freshness.
	rows, err := db.Query("SELECT table_name, run_id, `rows`, swapped_at FROM " + FreshnessTable + " ORDER BY table_name")
	testdb.Must(t, "freshness", err)
	var fresh []string
	for rows.Next() {
		var name, run, at string
		var n int64
		testdb.Must(t, "scan", rows.Scan(&name, &run, &n, &at))
		fresh = append(fresh, fmt.Sprintf("%s %s %d %s", name, run, n, at))
	}
	rows.Close()
	if got, want := strings.Join(fresh, "; "), "a run-1 5 2026-01-02 03:04:05.000600; b run-1 2 2026-01-02 03:04:05.000600"; got != want {
		t.Errorf("freshness = %q, want %q", got, want)
	}

	// The grant on a still works on the new table.
	cfg, err := Config(testdb.MySQLServerDSN())
	testdb.Must(t, "config", err)
	cfg.User, cfg.Passwd, cfg.DBName = user, "pw", schema
	udb, err := sql.Open("mysql", cfg.FormatDSN())
	testdb.Must(t, "open as reader", err)
	defer udb.Close()
	if n := count(t, udb, "SELECT COUNT(*) FROM a"); n != 5 {
		t.Errorf("reader sees %d rows, want 5", n)
	}
	if _, err := udb.Exec("SELECT COUNT(*) FROM b"); err == nil {
		t.Errorf("reader can read b, which was never granted")
	}

	// A next run swaps again.
	fillStaging(t, db, stA, 4)
	fillStaging(t, db, stB, 1)
	req.RunID = "run-2"
	req.Tables[0].Expected, req.Tables[1].Expected = 4, 1
	res, err = tgt.Swap(ctxT(t), req)
	testdb.Must(t, "second run swap", err)
	if res.AlreadySwapped || count(t, db, "SELECT COUNT(*) FROM a") != 4 || count(t, db, "SELECT COUNT(*) FROM b") != 1 {
		t.Errorf("second run: %+v", res)
	}
	if n := count(t, udb, "SELECT COUNT(*) FROM a"); n != 4 {
		t.Errorf("reader sees %d rows after the second swap, want 4", n)
	}
	// One marker remains, the last run's; live's own comment is kept.
	var markers []string
	rows, err = db.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_ferry\\_swap%' ORDER BY 1", schema)
	testdb.Must(t, "markers", err)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		markers = append(markers, n)
	}
	rows.Close()
	if len(markers) != 1 || markers[0] != swapDonePrefix+runHash("run-2") {
		t.Errorf("marker tables = %v, want only run-2's", markers)
	}
	var comment string
	testdb.Must(t, "comment", db.QueryRow("SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'a'", schema).Scan(&comment))
	if comment != "users table" {
		t.Errorf("live comment = %q, want the user's", comment)
	}
}

func TestSwapRetriesLockWait(t *testing.T) {
	db, schema := openDB(t)
	var sleeps []time.Duration
	var holder *sql.Tx
	tgt := NewTarget(db, WithSleep(func(ctx context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		if len(sleeps) == 2 {
			holder.Commit()
		}
		return nil
	}))
	tgt.opts.lockWait = 1
	exec(t, db, "CREATE TABLE a (id int NOT NULL, v varchar(20))")
	st := ferry.StagingName("a")
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "a", st, nil, "id"))
	fillStaging(t, db, st, 2)
	// A reader in an open transaction holds a metadata lock on a.
	var err error
	holder, err = db.BeginTx(ctxT(t), nil)
	testdb.Must(t, "begin", err)
	defer holder.Rollback()
	var n int
	testdb.Must(t, "read", holder.QueryRow("SELECT COUNT(*) FROM a").Scan(&n))

	res, err := tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "r1", Schema: schema, Tables: []ferry.SwapTable{{Table: "a", Staging: st, Expected: 2}}})
	testdb.Must(t, "swap", err)
	if res.AlreadySwapped || len(sleeps) != 2 || sleeps[1] <= sleeps[0]/2 {
		t.Errorf("result %+v after sleeps %v; want 2 growing backoffs", res, sleeps)
	}
	if count(t, db, "SELECT COUNT(*) FROM a") != 2 {
		t.Error("swap did not happen")
	}

	// Out of attempts: a RetryableError, live untouched.
	fillStaging(t, db, st, 7)
	holder2, err := db.BeginTx(ctxT(t), nil)
	testdb.Must(t, "begin", err)
	defer holder2.Rollback()
	testdb.Must(t, "read", holder2.QueryRow("SELECT COUNT(*) FROM a").Scan(&n))
	tgt.opts.sleep = func(context.Context, time.Duration) error { return nil }
	tgt.opts.swapAttempts = 2
	_, err = tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "r2", Schema: schema, Tables: []ferry.SwapTable{{Table: "a", Staging: st, Expected: 7}}})
	var re *ferry.RetryableError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want RetryableError", err)
	}
	holder2.Rollback()
	if count(t, db, "SELECT COUNT(*) FROM a") != 2 {
		t.Error("live changed by a failed swap")
	}
	// And the retry of that run then succeeds.
	if _, err := tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "r2", Schema: schema, Tables: []ferry.SwapTable{{Table: "a", Staging: st, Expected: 7}}}); err != nil {
		t.Fatal(err)
	}
	if count(t, db, "SELECT COUNT(*) FROM a") != 7 {
		t.Error("retried swap did not happen")
	}
}

func TestSwapUnderReaders(t *testing.T) {
	db, schema := openDB(t)
	tgt := NewTarget(db)
	exec(t, db, "CREATE TABLE live (id int NOT NULL, v varchar(20))")
	exec(t, db, "CREATE TABLE small_src LIKE live")
	exec(t, db, "CREATE TABLE big_src LIKE live")
	fillStaging(t, db, "small_src", 3)
	fillStaging(t, db, "big_src", 7)
	exec(t, db, "INSERT INTO live SELECT * FROM small_src")
	st := ferry.StagingName("live")
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "live", st, nil, "id"))

	ctx, cancel := context.WithCancel(ctxT(t))
	var reads atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range 4 {
		g.Go(func() error {
			for gctx.Err() == nil {
				var n int64
				err := db.QueryRowContext(gctx, "SELECT COUNT(*) FROM live").Scan(&n)
				if gctx.Err() != nil {
					return nil
				}
				if err != nil {
					return fmt.Errorf("reader: %w", err)
				}
				if n != 3 && n != 7 {
					return fmt.Errorf("reader saw %d rows", n)
				}
				reads.Add(1)
			}
			return nil
		})
	}
	swaps := 0
	for i := range 12 {
		srcTable, n := "big_src", int64(7)
		if i%2 == 1 {
			srcTable, n = "small_src", 3
		}
		exec(t, db, "INSERT INTO "+quoteIdent(st)+" SELECT * FROM "+srcTable)
		_, err := tgt.Swap(ctx, ferry.SwapRequest{RunID: "run-" + strconv.Itoa(i), Schema: schema, Tables: []ferry.SwapTable{{Table: "live", Staging: st, Expected: n}}})
		if err != nil {
			cancel()
			g.Wait()
			t.Fatalf("swap %d: %v", i, err)
		}
		swaps++
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if reads.Load() == 0 || swaps != 12 {
		t.Fatalf("%d reads, %d swaps", reads.Load(), swaps)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM live"); n != 3 {
		t.Errorf("live = %d after an even number of swaps, want 3", n)
	}
}

func TestPrepareStagingRefusesBadTypes(t *testing.T) {
	db, schema := openDB(t)
	tgt := NewTarget(db)
	for _, typ := range []string{"int) ; DROP TABLE x; --", "varchar(10) CHARACTER SET latin1", "enum('a\\')", "frobnicate"} {
		err := tgt.PrepareStaging(ctxT(t), schema, "x", ferry.StagingName("x"), []ferry.Column{{Name: "id", Type: typ}}, "id")
		var ce *ferry.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("type %q: error = %v, want ConfigError", typ, err)
		}
	}
	if err := tgt.EnsureSchema(ctxT(t), schema+"_x"); err != nil {
		t.Fatal(err)
	}
	defer db.Exec("DROP DATABASE " + quoteIdent(schema+"_x"))
	if err := tgt.EnsureSchema(ctxT(t), schema+"_x"); err != nil {
		t.Fatalf("EnsureSchema is not idempotent: %v", err)
	}
	if err := tgt.EnsureSchema(ctxT(t), "bad`name"); err == nil {
		t.Error("EnsureSchema accepted a bad name")
	}
}

// TestLoadStatementLimitUnderDeadline: a Load whose DELETE waits on a row
// lock is stopped by the server (MariaDB max_statement_time, set from the
// context's deadline less the margin) before the client's deadline, so no
// statement outlives the Lambda that issued it; the error is retryable and
// staging is unchanged.
func TestLoadStatementLimitUnderDeadline(t *testing.T) {
	db, schema := openDB(t)
	tgt := NewTarget(db, WithLogger(slog.New(slog.DiscardHandler)))
	if !tgt.srv.mariaDB(ctxT(t), db) {
		t.Skip("the server-side limit of a DELETE needs MariaDB")
	}
	exec(t, db, "CREATE TABLE st (id int NOT NULL PRIMARY KEY, v varchar(10))")
	exec(t, db, "INSERT INTO st VALUES (1, 'a'), (2, 'b')")
	holder, err := db.BeginTx(ctxT(t), nil)
	testdb.Must(t, "begin", err)
	defer holder.Rollback()
	_, err = holder.Exec("UPDATE st SET v = 'held' WHERE id = 1")
	testdb.Must(t, "hold a row", err)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // margin 1s: the server stops it at ~2s
	defer cancel()
	_, err = tgt.Load(ctx, ferry.LoadRequest{Schema: schema, Staging: "st", ChunkColumn: "id", Lo: 0, Hi: 10},
		strings.NewReader("\"id\",\"v\"\n\"1\",\"new\"\n"))
	var re *ferry.RetryableError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want retryable", err)
	}
	if no := mysqlErrNo(err); no != erStatementTimeout {
		t.Errorf("error = %v (server error %d), want the server's max_statement_time (%d) to stop the DELETE before the deadline", err, no, erStatementTimeout)
	}
	holder.Rollback()
	if got := count(t, db, "SELECT COUNT(*) FROM st WHERE v IN ('a', 'b')"); got != 2 {
		t.Errorf("staging changed by a stopped load")
	}
}

// TestLoadSameChunkConcurrently: a retry racing the first attempt of the
// same chunk (Step Functions may start one while the other still runs) must
// not leave the chunk's rows twice. The second load waits for the first's
// chunk lock (GET_LOCK) and then replaces what it committed; either way the
// chunk ends up loaded once.
func TestLoadSameChunkConcurrently(t *testing.T) {
	tests := []struct {
		name string
		// cut is where the first attempt's stream stalls.
		cut func(data []byte) int
	}{
		// The first attempt has inserted rows: they lock the range.
		{"first attempt stalls mid-stream", func(data []byte) int { return bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1 }},
		// The first attempt has inserted nothing yet: only the chunk lock
		// stops the second from loading alongside it.
		{"first attempt stalls before its first row", func(data []byte) int { return bytes.IndexByte(data, '\n') + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testLoadSameChunkConcurrently(t, tt.cut) })
	}
}

func testLoadSameChunkConcurrently(t *testing.T, cutAt func(data []byte) int) {
	db, schema := openDB(t)
	tgt := NewTarget(db, WithLogger(slog.New(slog.DiscardHandler)))
	cols := []ferry.Column{{Name: "id", Type: "int", Nullable: false}, {Name: "v", Type: "varchar(20)", Nullable: true}}
	stg := ferry.StagingName("orders")
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
	var csv strings.Builder
	csv.WriteString("\"id\",\"v\"\n")
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&csv, "\"%d\",\"v%d\"\n", i, i)
	}
	data := []byte(csv.String())
	req := ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 201}

	// First attempt: stalls mid-stream.
	cut := cutAt(data)
	br := &blockingReader{first: data[:cut], rest: data[cut:], started: make(chan struct{}), release: make(chan struct{})}
	first := make(chan error, 1)
	go func() { _, err := tgt.Load(ctxT(t), req, br); first <- err }()
	<-br.started
	// Second attempt: the whole chunk.
	second := make(chan error, 1)
	go func() { _, err := tgt.Load(ctxT(t), req, bytes.NewReader(data)); second <- err }()
	waited := false
wait:
	for range 800 {
		select {
		case err := <-second:
			second <- err // it finished without waiting: the count below judges it
			break wait
		default:
		}
		// The second load waits for the first's chunk lock (or, were it to
		// get past it, in its DELETE for the first load's row locks).
		if waited = count(t, db, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND (INFO LIKE '%GET_LOCK%' OR INFO LIKE '%DELETE FROM%') AND ID <> CONNECTION_ID()", schema) > 0; waited {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	close(br.release)
	errs := []error{<-first, <-second}
	ok := 0
	for i, err := range errs {
		var re *ferry.RetryableError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &re):
			t.Logf("attempt %d: %v (retryable)", i+1, err)
		default:
			t.Errorf("attempt %d: %v, want success or a retryable error", i+1, err)
		}
	}
	if ok == 0 {
		t.Fatal("neither load succeeded")
	}
	if n := count(t, db, "SELECT COUNT(*) FROM "+quoteIdent(stg)); n != 200 {
		t.Fatalf("staging has %d rows after two concurrent loads of a 200-row chunk, want 200", n)
	}
	if !waited {
		t.Error("the second load never waited for the first's locks")
	}
}
