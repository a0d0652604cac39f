package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/mysql/mysqltest"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/go-sql-driver/mysql"
)

// openDB gives a fresh database opened with Open.
func openDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	name, dsn := testdb.MySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := Open(ctx, dsn)
	testdb.Must(t, "open", err)
	t.Cleanup(func() { db.Close() })
	return db, name
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// readCSV parses an export into header and records (data copied).
func readCSV(t *testing.T, b []byte) ([]string, [][]csvcodec.Field) {
	t.Helper()
	r := csvcodec.NewReader(bytes.NewReader(b))
	h, err := r.ReadHeader()
	testdb.Must(t, "read header", err)
	var recs [][]csvcodec.Field
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		testdb.Must(t, "read record", err)
		cp := make([]csvcodec.Field, len(rec))
		for i, f := range rec {
			cp[i] = csvcodec.Field{Null: f.Null, Data: append([]byte(nil), f.Data...)}
		}
		recs = append(recs, cp)
	}
	return h, recs
}

func exportAll(t *testing.T, src *Source, req ferry.ExportRequest) (ferry.ExportStats, []byte) {
	t.Helper()
	var buf bytes.Buffer
	st, err := src.Export(ctxT(t), req, &buf)
	testdb.Must(t, "export", err)
	return st, buf.Bytes()
}

func TestExportFidelityFixture(t *testing.T) {
	db, _ := openDB(t)
	fx := mysqltest.FidelityFixture(t, db)
	src := NewSource(db)
	st, out := exportAll(t, src, ferry.ExportRequest{Query: fx.Query, Params: fx.Params, ChunkColumn: fx.ChunkColumn,
		Lo: 0, Hi: 1 << 40, Target: ferry.EnginePostgres})
	header, recs := readCSV(t, out)
	if !reflect.DeepEqual(header, fx.Names) {
		t.Fatalf("header = %v, want %v", header, fx.Names)
	}
	if st.Rows != int64(len(fx.Rows)) || len(recs) != len(fx.Rows) {
		t.Fatalf("rows = %d (%d records), want %d", st.Rows, len(recs), len(fx.Rows))
	}
	if st.RawBytes != int64(len(out)) {
		t.Errorf("stats %+v do not describe the %d bytes written", st, len(out))
	}
	// Rows are in id order for this simple query; find by id anyway.
	byID := map[string][]csvcodec.Field{}
	for _, r := range recs {
		byID[string(r[0].Data)] = r
	}
	for _, want := range fx.Rows {
		id := string(want[0].Data)
		got, ok := byID[id]
		if !ok {
			t.Errorf("row id %s missing", id)
			continue
		}
		for i, w := range want {
			g := got[i]
			gd := g.Data
			if w.Binary && !g.Null {
				var err error
				if gd, err = csvcodec.DecodeBinary(g.Data); err != nil {
					t.Errorf("row %s column %s: %v", id, fx.Names[i], err)
					continue
				}
			}
			if g.Null != w.Null || (!w.Null && !bytes.Equal(gd, w.Data)) {
				t.Errorf("row %s column %s = %q (null %v), want %q (null %v)", id, fx.Names[i], gd, g.Null, w.Data, w.Null)
			}
		}
	}
}

func TestColumnsTypes(t *testing.T) {
	db, _ := openDB(t)
	fx := mysqltest.FidelityFixture(t, db)
	src := NewSource(db)
	cols, err := src.Columns(ctxT(t), fx.Query, fx.Params)
	testdb.Must(t, "columns", err)
	cols = mysqltest.Basic(cols)
	if !reflect.DeepEqual(cols, fx.Columns) {
		for i := range max(len(cols), len(fx.Columns)) {
			var g, w ferry.Column
			if i < len(cols) {
				g = cols[i]
			}
			if i < len(fx.Columns) {
				w = fx.Columns[i]
			}
			if g != w {
				t.Errorf("column %d = %+v, want %+v", i, g, w)
			}
		}
	}
	// Expressions and the driver-metadata fallback.
	exec(t, db, "CREATE TABLE m (id int NOT NULL, u tinyint unsigned, e enum('x','y'), v varchar(20))")
	cols, err = src.Columns(ctxT(t), "SELECT id, u, e, v, CAST(v AS BINARY) AS vb, id + 1 AS n FROM m", nil)
	testdb.Must(t, "columns", err)
	cols = mysqltest.Basic(cols)
	want := []ferry.Column{{Name: "id", Type: "int", Nullable: false}, {Name: "u", Type: "tinyint unsigned", Nullable: true}, {Name: "e", Type: "enum('x','y')", Nullable: true},
		{Name: "v", Type: "varchar(20)", Nullable: true}, {Name: "vb", Type: "varbinary(80)", Nullable: true}, {Name: "n", Type: "bigint", Nullable: false}}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("columns = %+v\nwant %+v", cols, want)
	}
}

func TestColumnsDriverFallback(t *testing.T) {
	db, _ := openDB(t)
	exec(t, db, "CREATE TABLE m (id int NOT NULL, d decimal(10,2), dt datetime(3), b varbinary(5), bt bit(3))")
	src := NewSource(db)
	rows, err := db.Query("SELECT * FROM m LIMIT 0")
	testdb.Must(t, "query", err)
	cts, _ := rows.ColumnTypes()
	rows.Close()
	var got []string
	for _, ct := range cts {
		got = append(got, driverType(ct))
	}
	want := []string{"int", "decimal(10,2)", "datetime(3)", "longblob", "bit(64)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("driver types = %v, want %v", got, want)
	}
	_ = src
}

func TestZeroDates(t *testing.T) {
	db, _ := openDB(t)
	exec(t, db, "SET SESSION sql_mode = ''")
	exec(t, db, "CREATE TABLE z (id int PRIMARY KEY, d date, dt datetime, ts timestamp NULL, t time)")
	conn, err := db.Conn(ctxT(t))
	testdb.Must(t, "conn", err)
	defer conn.Close()
	_, err = conn.ExecContext(ctxT(t), "SET SESSION sql_mode = ''")
	testdb.Must(t, "sql_mode", err)
	_, err = conn.ExecContext(ctxT(t), `INSERT INTO z VALUES
		(1, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05', '00:00:00'),
		(2, '0000-00-00', '2024-01-02 03:04:05', NULL, '-01:00:00'),
		(3, '2024-01-02', '2024-00-15 00:00:00', '0000-00-00 00:00:00', NULL),
		(4, '2024-05-00', NULL, NULL, NULL)`)
	testdb.Must(t, "insert", err)
	src := NewSource(db)
	req := ferry.ExportRequest{Query: "SELECT * FROM z", ChunkColumn: "id", Lo: 1, Hi: 10}

	var buf bytes.Buffer
	_, err = src.Export(ctxT(t), req, &buf)
	var de *ferry.DataError
	if !errors.As(err, &de) {
		t.Fatalf("default policy: error = %v, want *ferry.DataError", err)
	}
	if de.Row != "2" || de.Column != "d" || !strings.Contains(de.Fix, "zero_dates policy to null") {
		t.Errorf("DataError = %+v, want row 2 column d with the fix", de)
	}

	req.ZeroDates = ferry.ZeroDateNull
	st, out := exportAll(t, src, req)
	if st.ZeroDates != 4 || st.Rows != 4 {
		t.Errorf("stats = %+v, want 4 rows and 4 zero dates", st)
	}
	_, recs := readCSV(t, out)
	want := [][]string{
		{"1", "2024-01-02", "2024-01-02 03:04:05", "2024-01-02 03:04:05", "00:00:00"},
		{"2", "NULL", "2024-01-02 03:04:05", "NULL", "-01:00:00"},
		{"3", "2024-01-02", "NULL", "NULL", "NULL"},
		{"4", "NULL", "NULL", "NULL", "NULL"},
	}
	for i, r := range recs {
		for j, f := range r {
			g := string(f.Data)
			if f.Null {
				g = "NULL"
			}
			if g != want[i][j] {
				t.Errorf("row %d col %d = %q, want %q", i, j, g, want[i][j])
			}
		}
	}
}

func TestNULInTextRefusedForPostgres(t *testing.T) {
	db, _ := openDB(t)
	exec(t, db, "CREATE TABLE n (id int PRIMARY KEY, s varchar(10), b varbinary(10))")
	exec(t, db, "INSERT INTO n VALUES (1, 'ok', 'a\\0b'), (7, 'a\\0b', 'x')")
	src := NewSource(db)
	req := ferry.ExportRequest{Query: "SELECT * FROM n", ChunkColumn: "id", Lo: 0, Hi: 100, Target: ferry.EnginePostgres}
	_, err := src.Export(ctxT(t), req, io.Discard)
	var de *ferry.DataError
	if !errors.As(err, &de) || de.Row != "7" || de.Column != "s" {
		t.Fatalf("error = %v, want DataError for row 7 column s", err)
	}
	// Binary columns may hold 0x00, and MySQL targets take text with it.
	req.Target = ferry.EngineMySQL
	st, _ := exportAll(t, src, req)
	if st.Rows != 2 {
		t.Errorf("rows = %d, want 2", st.Rows)
	}
	req.Lo, req.Target = 0, ferry.EnginePostgres
	req.Hi = 5
	st, _ = exportAll(t, src, req)
	if st.Rows != 1 {
		t.Errorf("rows = %d, want 1 (binary 0x00 is fine for postgres)", st.Rows)
	}
}

func TestExportErrors(t *testing.T) {
	db, _ := openDB(t)
	exec(t, db, "CREATE TABLE e (id int PRIMARY KEY, s text)")
	src := NewSource(db)
	tests := []struct {
		name string
		req  ferry.ExportRequest
	}{
		{"multi statement", ferry.ExportRequest{Query: "SELECT * FROM e; DROP TABLE e", ChunkColumn: "id", Hi: 10}},
		{"unknown param", ferry.ExportRequest{Query: "SELECT * FROM e WHERE id > :x", ChunkColumn: "id", Hi: 10}},
		{"missing table", ferry.ExportRequest{Query: "SELECT * FROM nope", ChunkColumn: "id", Hi: 10}},
		{"chunk column not in result", ferry.ExportRequest{Query: "SELECT s FROM e", ChunkColumn: "id", Hi: 10}},
		{"bad chunk column", ferry.ExportRequest{Query: "SELECT * FROM e", ChunkColumn: "id`; --", Hi: 10}},
		{"bad policy", ferry.ExportRequest{Query: "SELECT * FROM e", ChunkColumn: "id", Hi: 10, ZeroDates: "zero"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := src.Export(ctxT(t), tt.req, io.Discard)
			var ce *ferry.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want *ferry.ConfigError", err)
			}
		})
	}
}

// TestExportStatementTimeout: the export's SELECT gets a server-side
// limit (MariaDB max_statement_time, MySQL MAX_EXECUTION_TIME) from
// WithStatementTimeout or from the context's deadline less the margin, so
// the server stops it before the client gives up; the error is retryable.
func TestExportStatementTimeout(t *testing.T) {
	db, _ := openDB(t)
	tests := []struct {
		name     string
		opts     []Option
		deadline time.Duration
	}{
		{"statement timeout", []Option{WithStatementTimeout(1500 * time.Millisecond)}, 60 * time.Second},
		{"context deadline only", nil, 3 * time.Second}, // margin 1s: the server stops it at ~2s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := NewSource(db, tt.opts...)
			if !src.mariaDB(ctxT(t)) {
				t.Skip("MySQL's MAX_EXECUTION_TIME makes SLEEP return early instead of failing; this test needs MariaDB")
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			_, err := src.Export(ctx, ferry.ExportRequest{Query: "SELECT 1 AS id, SLEEP(10) AS s", ChunkColumn: "id", Hi: 10}, io.Discard)
			var re *ferry.RetryableError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v, want a RetryableError from the statement timeout", err)
			}
			if no := mysqlErrNo(err); no != erStatementTimeout {
				t.Errorf("error = %v (server error %d), want the server's limit (%d) to stop the SELECT first", err, no, erStatementTimeout)
			}
		})
	}
}

func TestBoundsAndBoundaries(t *testing.T) {
	db, _ := openDB(t)
	src := NewSource(db)
	exec(t, db, "CREATE TABLE empty_t (id bigint PRIMARY KEY)")
	exec(t, db, "CREATE TABLE one_t (id bigint PRIMARY KEY)")
	exec(t, db, "INSERT INTO one_t VALUES (42)")
	exec(t, db, "CREATE TABLE sparse_t (id bigint PRIMARY KEY)")
	exec(t, db, "INSERT INTO sparse_t VALUES (1), (1800000000000000000)")
	exec(t, db, "CREATE TABLE dense_t (id bigint PRIMARY KEY, c int)")
	var vals []string
	for i := 1; i <= 100; i++ {
		vals = append(vals, "("+strconv.Itoa(i)+", "+strconv.Itoa(i%3)+")")
	}
	exec(t, db, "INSERT INTO dense_t VALUES "+strings.Join(vals, ","))
	exec(t, db, "CREATE TABLE dup_t (k int, v int)")
	exec(t, db, "INSERT INTO dup_t VALUES (1,1),(1,2),(1,3),(1,4),(1,5),(2,1),(3,1),(3,2)")

	const top = int64(1) << 62
	tests := []struct {
		name   string
		query  string
		params map[string]ferry.Param
		col    string
		every  int64
		lo, hi int64
		bounds ferry.Bounds
		want   []int64
	}{
		{"empty", "SELECT * FROM empty_t", nil, "id", 10, 0, top, ferry.Bounds{}, nil},
		{"single row", "SELECT * FROM one_t", nil, "id", 10, 0, top, ferry.Bounds{Rows: 1, Min: 42, Max: 42}, []int64{42}},
		{"sparse", "SELECT * FROM sparse_t", nil, "id", 1, 0, top, ferry.Bounds{Rows: 2, Min: 1, Max: 1800000000000000000}, []int64{1, 1800000000000000000}},
		{"sparse big chunk", "SELECT * FROM sparse_t", nil, "id", 1000, 0, top, ferry.Bounds{Rows: 2, Min: 1, Max: 1800000000000000000}, []int64{1}},
		{"dense", "SELECT * FROM dense_t", nil, "id", 30, 0, top, ferry.Bounds{Rows: 100, Min: 1, Max: 100}, []int64{1, 31, 61, 91}},
		{"dense exact", "SELECT * FROM dense_t WHERE id <= :n", map[string]ferry.Param{"n": 90}, "id", 30, 0, top, ferry.Bounds{Rows: 90, Min: 1, Max: 90}, []int64{1, 31, 61}},
		{"dense sub-range", "SELECT * FROM dense_t", nil, "id", 25, 50, 80, ferry.Bounds{Rows: 100, Min: 1, Max: 100}, []int64{50, 75}},
		{"duplicates advance", "SELECT k, v FROM dup_t", nil, "k", 2, 0, top, ferry.Bounds{Rows: 8, Min: 1, Max: 3}, []int64{1, 2, 3}},
		{"grouped", "SELECT c, COUNT(*) AS n FROM dense_t GROUP BY c", nil, "c", 1, 0, top, ferry.Bounds{Rows: 3, Min: 0, Max: 2}, []int64{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := src.Bounds(ctxT(t), tt.query, tt.params, tt.col)
			testdb.Must(t, "bounds", err)
			if b != tt.bounds {
				t.Errorf("bounds = %+v, want %+v", b, tt.bounds)
			}
			got, err := src.Boundaries(ctxT(t), tt.query, tt.params, tt.col, tt.lo, tt.hi, tt.every)
			testdb.Must(t, "boundaries", err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("boundaries = %v, want %v", got, tt.want)
			}
			if max := b.Rows/tt.every + 1; int64(len(got)) > max {
				t.Errorf("%d boundaries, more than rows/every+1 = %d", len(got), max)
			}
		})
	}

	exec(t, db, "CREATE TABLE nulls_t (id int)")
	exec(t, db, "INSERT INTO nulls_t VALUES (1), (NULL)")
	_, err := src.Bounds(ctxT(t), "SELECT * FROM nulls_t", nil, "id")
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("NULL chunk column: error = %v, want ConfigError", err)
	}
	_, err = src.Bounds(ctxT(t), "SELECT 'a' AS id", nil, "id")
	if !errors.As(err, &ce) {
		t.Errorf("text chunk column: error = %v, want ConfigError", err)
	}
}

func TestRedactAndConfig(t *testing.T) {
	if got := Redact("ferry:s3cret@tcp(db.example:3306)/prod?tls=true"); got != "mysql://ferry@db.example:3306/prod" || strings.Contains(got, "s3cret") {
		t.Errorf("Redact = %q", got)
	}
	if got := Redact("::garbage"); strings.Contains(got, "garbage") {
		t.Errorf("Redact of a malformed DSN leaks it: %q", got)
	}
	cfg, err := Config("u:p@tcp(127.0.0.1:3306)/db?parseTime=true&interpolateParams=true&multiStatements=true&allowAllFiles=true&time_zone=%27Europe%2FParis%27")
	testdb.Must(t, "config", err)
	if cfg.ParseTime || cfg.InterpolateParams || cfg.MultiStatements || cfg.AllowAllFiles || cfg.Params["time_zone"] != "'+00:00'" || cfg.Timeout == 0 {
		t.Errorf("settings not forced: %+v", cfg)
	}
	if _, err := Config("u:s3cret@tcp(127.0.0.1:3306"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("malformed DSN error = %v", err)
	}
}

// TestOpenErrorsHideThePassword: neither a refused connection nor a
// refused login puts the password (or a DSN with it) into the error.
func TestOpenErrorsHideThePassword(t *testing.T) {
	const pw = "s3cret-Pa55"
	server, err := mysql.ParseDSN(testdb.MySQLServerDSN())
	testdb.Must(t, "server DSN", err)
	tests := []struct {
		name      string
		dsn       string
		retryable bool
	}{
		{"connection refused", "ferry:" + pw + "@tcp(127.0.0.1:1)/bi?timeout=2s", true},
		{"login refused", "ferry_nobody:" + pw + "@tcp(" + server.Addr + ")/bi?timeout=5s", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(ctxT(t), tt.dsn)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), "mysql://ferry") || strings.Contains(err.Error(), "timeout=") {
				t.Errorf("error = %v, want it to name the safe DSN (scheme, user, host, port, database; no parameters)", err)
			}
			var re *ferry.RetryableError
			if errors.As(err, &re) != tt.retryable {
				t.Errorf("error = %v, retryable %v, want %v", err, errors.As(err, &re), tt.retryable)
			}
		})
	}
}

func TestOpenSession(t *testing.T) {
	db, _ := openDB(t)
	var tz, cs string
	testdb.Must(t, "session", db.QueryRow("SELECT @@session.time_zone, @@character_set_connection").Scan(&tz, &cs))
	if tz != "+00:00" || cs != "utf8mb4" {
		t.Errorf("time_zone %q charset %q", tz, cs)
	}
}
