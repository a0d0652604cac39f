package datapath

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/mysql/mysqltest"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/jackc/pgx/v5"
)

var quiet = slog.New(slog.DiscardHandler)

// equality says how a PostgreSQL value is compared with the source's
// exported text, and which SQL renders it.
type equality int

const (
	exact      equality = iota // col::text, byte for byte
	hexBytes                   // bytea: col::text is \x + hex of the source bytes
	bitDigits                  // bit(n): col::text is the n digits
	integer                    // same integer value (YEAR 0000 is 0)
	float32Val                 // real: the same 32-bit value (bit pattern, so -0 ≠ 0)
	float64Val                 // double precision: the same 64-bit value
	dateText                   // to_char(col, 'YYYY-MM-DD')
	timestamp6                 // to_char(col, 'YYYY-MM-DD HH24:MI:SS.US'), as DATETIME(6) prints
	mysqlTime                  // interval → microseconds → MySQL TIME text ([-]HH:MM:SS)
	jsonDoc                    // jsonb: the same JSON value; text (MariaDB's JSON alias): byte for byte
)

// fidelityColumns lists every fixture column with what equality means for
// it on each target. MySQL → MySQL is always the server's text-protocol
// bytes of the value, byte for byte: both ends are the same engine.
var fidelityColumns = []struct {
	col      string
	pg       equality
	why      string
	mysqlWhy string
}{
	{"id", exact, "int → integer: integer text", "int"},
	{"s", exact, "varchar(255) → varchar(255): quotes, commas, CR, LF, CRLF, tabs, backslashes, NULL/\\N strings, emoji", "same bytes"},
	{"txt", exact, "text → text", "same bytes"},
	{"lat", exact, "latin1 varchar → varchar: the UTF-8 text of the latin1 value", "same characters"},
	{"bin", hexBytes, "binary(4) → bytea with 0x00", "same bytes, 0x00 padding kept"},
	{"vbin", hexBytes, "varbinary → bytea", "same bytes"},
	{"blb", hexBytes, "blob → bytea", "same bytes"},
	{"amount", exact, "decimal(65,30) → numeric(65,30): exact, all 30 scale digits", "same digits"},
	{"f", float32Val, "float → real: the same 32-bit float", "same float"},
	{"d", float64Val, "double → double precision: the same 64-bit float, -0 kept", "same double"},
	{"ubig", exact, "bigint unsigned → numeric(20,0): max 18446744073709551615", "same digits"},
	{"big", exact, "bigint → bigint: min and max", "same digits"},
	{"flag", exact, "tinyint(1) → smallint: 0, 1, 2, -1, 127, -128 all survive", "same value"},
	{"b1", bitDigits, "bit(1) → bit(1)", "same bits"},
	{"b8", bitDigits, "bit(8) → bit(8): leading zeros kept", "same bits"},
	{"dt", dateText, "date → date", "same date"},
	{"dtm", timestamp6, "datetime(6) → timestamp(6): no shift, microseconds", "same datetime"},
	{"ts", timestamp6, "timestamp(6) → timestamp(6) holding UTC", "same UTC instant (UTC sessions)"},
	{"tm", mysqlTime, "time → interval: 838:59:59, negative, over 24h", "same time"},
	{"yr", integer, "year → smallint: 0000 is 0", "same year"},
	{"en", exact, "enum → text: the label", "same label"},
	{"st", exact, "set → text: the comma list", "same members"},
	{"j", jsonDoc, "json → jsonb (MySQL) or longtext → text (MariaDB)", "same document"},
	{"g", hexBytes, "geometry → bytea: SRID + WKB", "same bytes"},
}

// source is a MariaDB database with the fidelity fixture and a Source.
type source struct {
	db  *sql.DB
	src *mysql.Source
	fx  mysqltest.Fixture
}

func newSource(t *testing.T) source {
	t.Helper()
	_, dsn := testdb.MySQL(t)
	db, err := mysql.Open(context.Background(), dsn)
	testdb.Must(t, "open source", err)
	t.Cleanup(func() { db.Close() })
	fx := mysqltest.FidelityFixture(t, db)
	return source{db: db, src: mysql.NewSource(db, mysql.WithLogger(quiet)), fx: fx}
}

// export writes the fixture's rows of [lo, hi) for target.
func (s source) export(t *testing.T, target ferry.Engine, lo, hi int64) ([]byte, ferry.ExportStats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := s.src.Export(context.Background(), ferry.ExportRequest{Query: s.fx.Query, Params: s.fx.Params,
		ChunkColumn: s.fx.ChunkColumn, Lo: lo, Hi: hi, Target: target}, &buf)
	testdb.Must(t, fmt.Sprintf("export [%d,%d)", lo, hi), err)
	return buf.Bytes(), st
}

// copyTo exports the fixture in chunks and loads it into tg's staging
// table, then swaps it live. open turns an exported chunk into the reader
// Load gets (a bytes reader, or a store object).
func (s source) copyTo(t *testing.T, tg ferry.Target, schema, table string, open func(t *testing.T, i int, csv []byte) io.Reader) {
	t.Helper()
	ctx := context.Background()
	cols, err := s.src.Columns(ctx, s.fx.Query, s.fx.Params)
	testdb.Must(t, "columns", err)
	if !reflect.DeepEqual(mysqltest.Basic(cols), s.fx.Columns) {
		t.Fatalf("Source.Columns = %+v\nfixture says   %+v", cols, s.fx.Columns)
	}
	testdb.Must(t, "ensure schema", tg.EnsureSchema(ctx, schema))
	stg := ferry.StagingName(table)
	testdb.Must(t, "prepare staging", tg.PrepareStaging(ctx, schema, table, stg, cols, s.fx.ChunkColumn))
	n := int64(len(s.fx.Rows))
	bounds := []int64{1, 4, 11, n + 1} // three chunks: edge rows, the first awkward rows, the rest
	var total int64
	for i := 0; i+1 < len(bounds); i++ {
		csv, st := s.export(t, tg.Engine(), bounds[i], bounds[i+1])
		checkExport(t, s.fx, csv, bounds[i], bounds[i+1])
		got, err := tg.Load(ctx, ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: s.fx.ChunkColumn,
			Lo: bounds[i], Hi: bounds[i+1]}, open(t, i, csv))
		testdb.Must(t, fmt.Sprintf("load chunk %d", i), err)
		if got != st.Rows {
			t.Fatalf("chunk %d: exported %d rows, loaded %d", i, st.Rows, got)
		}
		total += got
	}
	if total != n {
		t.Fatalf("loaded %d rows, the fixture has %d", total, n)
	}
	// Re-run the copy chunk by chunk, as retries do: each chunk replaces
	// its own rows, so staging never holds a duplicate.
	for i := 0; i+1 < len(bounds); i++ {
		csv, st := s.export(t, tg.Engine(), bounds[i], bounds[i+1])
		got, err := tg.Load(ctx, ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: s.fx.ChunkColumn,
			Lo: bounds[i], Hi: bounds[i+1]}, open(t, i, csv))
		testdb.Must(t, fmt.Sprintf("reload chunk %d", i), err)
		c, err := tg.Count(ctx, schema, stg)
		testdb.Must(t, "count staging", err)
		if got != st.Rows || c != n {
			t.Fatalf("re-run of chunk %d: loaded %d of %d exported rows, staging has %d rows, want %d", i, got, st.Rows, c, n)
		}
	}
	res, err := tg.Swap(ctx, ferry.SwapRequest{RunID: "run-fidelity", Schema: schema,
		Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: total}}})
	testdb.Must(t, "swap", err)
	if res.AlreadySwapped {
		t.Fatal("first swap reported AlreadySwapped")
	}
}

// checkExport compares an exported chunk with the fixture's rows of
// [lo, hi), byte for byte: the fixture's values are what was inserted into
// the source, so the targets' values below are compared with the source's.
func checkExport(t *testing.T, fx mysqltest.Fixture, csv []byte, lo, hi int64) {
	t.Helper()
	r := csvcodec.NewReader(bytes.NewReader(csv))
	header, err := r.ReadHeader()
	testdb.Must(t, "read exported header", err)
	if !reflect.DeepEqual(header, fx.Names) {
		t.Fatalf("exported header %v, want %v", header, fx.Names)
	}
	want := map[string][]csvcodec.Field{}
	for _, rec := range fx.Rows {
		if id, _ := strconv.ParseInt(string(rec[0].Data), 10, 64); id >= lo && id < hi {
			want[string(rec[0].Data)] = rec
		}
	}
	// The export has no ORDER BY: match records by id.
	got := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		testdb.Must(t, "read exported record", err)
		id := string(rec[0].Data)
		w, ok := want[id]
		if !ok || got[id] {
			t.Fatalf("chunk [%d,%d): exported id %s is not in the chunk's fixture rows once", lo, hi, id)
		}
		got[id] = true
		for c, f := range rec {
			data := f.Data
			if w[c].Binary && !f.Null {
				if data, err = csvcodec.DecodeBinary(f.Data); err != nil {
					t.Fatalf("id %s column %s: %v", id, fx.Names[c], err)
				}
			}
			if f.Null != w[c].Null || !bytes.Equal(data, w[c].Data) {
				t.Errorf("id %s column %s exported %q (null %v), source %q (null %v)", id, fx.Names[c], data, f.Null, w[c].Data, w[c].Null)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("chunk [%d,%d): %d records exported, the fixture has %d", lo, hi, len(got), len(want))
	}
}

func fromBytes(_ *testing.T, _ int, csv []byte) io.Reader { return bytes.NewReader(csv) }

func TestFidelityMySQLToPostgres(t *testing.T) {
	s := newSource(t)
	tg, conn := newPostgres(t)
	s.copyTo(t, tg, "bi_fidelity", "fidelity", fromBytes)
	comparePostgres(t, conn, s.fx, "bi_fidelity", "fidelity")
}

// TestFidelityThroughStores carries the chunks as the steps do: gzip
// objects in a Store (the local directory store, and the S3 store on an
// in-process S3 over HTTP), streamed back into Load.
func TestFidelityThroughStores(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) ferry.Store
	}{
		{"localstore", func(t *testing.T) ferry.Store {
			store, err := localstore.New(t.TempDir())
			testdb.Must(t, "store", err)
			return store
		}},
		{"s3store", func(t *testing.T) ferry.Store {
			client, bucket := s3test.Server(t)
			return s3store.New(client, bucket)
		}},
	}
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			s := newSource(t)
			tg, conn := newPostgres(t)
			store := sc.open(t)
			ctx := context.Background()
			viaStore := func(t *testing.T, i int, csv []byte) io.Reader {
				key := ferry.ChunkKey("run-fidelity", "acme", "fidelity", i)
				w, err := store.Create(ctx, key)
				testdb.Must(t, "create object", err)
				zw := gzip.NewWriter(w)
				if _, err := zw.Write(csv); err != nil {
					t.Fatal(err)
				}
				testdb.Must(t, "gzip", zw.Close())
				testdb.Must(t, "commit", w.Commit())
				rc, err := store.Open(ctx, key)
				testdb.Must(t, "open object", err)
				t.Cleanup(func() { rc.Close() })
				zr, err := gzip.NewReader(rc)
				testdb.Must(t, "gunzip", err)
				return zr
			}
			s.copyTo(t, tg, "bi_acme", "fidelity", viaStore)
			comparePostgres(t, conn, s.fx, "bi_acme", "fidelity")
		})
	}
}

func newPostgres(t *testing.T) (*postgres.Target, *pgx.Conn) {
	t.Helper()
	conn, url := testdb.PostgresConn(t)
	tg, err := postgres.Open(context.Background(), url)
	testdb.Must(t, "open postgres", err)
	t.Cleanup(tg.Close)
	tg.Logger = quiet
	_, err = conn.Exec(context.Background(), `SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1`)
	testdb.Must(t, "session", err)
	return tg, conn
}

// comparePostgres checks every fixture value in schema.table.
func comparePostgres(t *testing.T, conn *pgx.Conn, fx mysqltest.Fixture, schema, table string) {
	t.Helper()
	ctx := context.Background()
	checkListed(t, fx)
	qt := pgx.Identifier{schema, table}.Sanitize()
	pgTypes := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, qt)
	testdb.Must(t, "catalog", err)
	for rows.Next() {
		var n, ty string
		testdb.Must(t, "scan", rows.Scan(&n, &ty))
		pgTypes[n] = ty
	}
	testdb.Must(t, "catalog", rows.Err())

	idx := map[string]int{}
	for i, n := range fx.Names {
		idx[n] = i
	}
	for _, c := range fidelityColumns {
		t.Run(c.col, func(t *testing.T) {
			col := pgx.Identifier{c.col}.Sanitize()
			expr := col + "::text"
			switch c.pg {
			case dateText:
				expr = "to_char(" + col + ", 'YYYY-MM-DD')"
			case timestamp6:
				expr = "to_char(" + col + ", 'YYYY-MM-DD HH24:MI:SS.US')"
			case mysqlTime:
				expr = "(extract(epoch from " + col + ") * 1000000)::bigint::text"
			}
			got := queryColumn(t, conn, `SELECT `+expr+` AS v FROM `+qt+` ORDER BY id`)
			if len(got) != len(fx.Rows) {
				t.Fatalf("%d rows, want %d", len(got), len(fx.Rows))
			}
			ci := idx[c.col]
			for r, rec := range fx.Rows {
				want := rec[ci]
				g := got[r]
				id := string(rec[idx[fx.ChunkColumn]].Data)
				if want.Null || g == nil {
					if want.Null != (g == nil) {
						t.Errorf("id %s: NULL mismatch: source null=%v, postgres %v", id, want.Null, show(g))
					}
					continue
				}
				if ok, wantText := pgEqual(c.pg, pgTypes[c.col], want.Data, *g, fx.Columns[ci].Type); !ok {
					t.Errorf("id %s: postgres %q, source %q (%s)", id, *g, wantText, c.why)
				}
			}
		})
	}
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}

// pgEqual compares a PostgreSQL rendering with the source's text.
func pgEqual(eq equality, pgType string, src []byte, got, mysqlType string) (bool, string) {
	want := string(src)
	switch eq {
	case exact, bitDigits, dateText, timestamp6:
		return got == want, want
	case hexBytes:
		want = `\x` + hex.EncodeToString(src)
		return got == want, want
	case integer:
		a, err1 := strconv.ParseInt(got, 10, 64)
		b, err2 := strconv.ParseInt(want, 10, 64)
		return err1 == nil && err2 == nil && a == b, want
	case float32Val:
		a, err1 := strconv.ParseFloat(got, 32)
		b, err2 := strconv.ParseFloat(want, 32)
		return err1 == nil && err2 == nil && math.Float32bits(float32(a)) == math.Float32bits(float32(b)), want
	case float64Val:
		a, err1 := strconv.ParseFloat(got, 64)
		b, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && math.Float64bits(a) == math.Float64bits(b), want
	case mysqlTime:
		us, err := strconv.ParseInt(got, 10, 64)
		if err != nil {
			return false, want
		}
		return renderTime(us, fsp(mysqlType)) == want, want
	case jsonDoc:
		if pgType != "jsonb" {
			return got == want, want
		}
		var a, b any
		da, db := json.NewDecoder(strings.NewReader(got)), json.NewDecoder(strings.NewReader(want))
		da.UseNumber()
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil {
			return false, want
		}
		return reflect.DeepEqual(a, b), want
	}
	return false, want
}

// fsp is n of "time(n)", 0 for "time".
func fsp(mysqlType string) int {
	if i := strings.IndexByte(mysqlType, '('); i >= 0 {
		n, _ := strconv.Atoi(strings.TrimSuffix(mysqlType[i+1:], ")"))
		return n
	}
	return 0
}

// renderTime prints microseconds as MySQL prints a TIME(fsp).
func renderTime(us int64, fsp int) string {
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	s := fmt.Sprintf("%s%02d:%02d:%02d", sign, us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
	if fsp > 0 {
		s += "." + fmt.Sprintf("%06d", us%1_000_000)[:fsp]
	}
	return s
}

func queryColumn(t *testing.T, conn *pgx.Conn, sql string) []*string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	testdb.Must(t, sql, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*string, error) {
		var s *string
		return s, r.Scan(&s)
	})
	testdb.Must(t, sql, err)
	return out
}

// checkListed fails when the fixture has a column the table above does not
// list (or the other way round): every column must say what equality means.
func checkListed(t *testing.T, fx mysqltest.Fixture) {
	t.Helper()
	listed := map[string]bool{}
	for _, c := range fidelityColumns {
		listed[c.col] = true
	}
	for _, n := range fx.Names {
		if !listed[n] {
			t.Errorf("fixture column %s is not in fidelityColumns: add it with its equality", n)
		}
		delete(listed, n)
	}
	for n := range listed {
		t.Errorf("fidelityColumns lists %s, which the fixture lacks", n)
	}
}

func TestRenderTime(t *testing.T) {
	cases := []struct {
		us   int64
		fsp  int
		want string
	}{
		{0, 0, "00:00:00"},
		{-1_000_000, 0, "-00:00:01"},
		{3_020_399_000_000, 0, "838:59:59"},
		{-3_020_399_000_000, 0, "-838:59:59"},
		{86_400_000_000, 0, "24:00:00"},
		{45_296_789_000, 3, "12:34:56.789"},
		{-500_000, 6, "-00:00:00.500000"},
	}
	for _, c := range cases {
		if got := renderTime(c.us, c.fsp); got != c.want {
			t.Errorf("renderTime(%d, %d) = %q, want %q", c.us, c.fsp, got, c.want)
		}
	}
}

// TestFidelityMySQLToMySQL loads the fixture into another MariaDB database
// with the MySQL Target and compares the stored values with the source's
// byte for byte (text protocol, UTC sessions), then re-exports the target
// and compares the CSV with the source's export byte for byte.
func TestFidelityMySQLToMySQL(t *testing.T) {
	s := newSource(t)
	dbname, dsn := testdb.MySQL(t)
	db, err := mysql.Open(context.Background(), dsn)
	testdb.Must(t, "open target", err)
	t.Cleanup(func() { db.Close() })
	tg := mysql.NewTarget(db, mysql.WithLogger(quiet), mysql.WithSleep(func(context.Context, time.Duration) error { return nil }))
	s.copyTo(t, tg, dbname, "fidelity", fromBytes)
	checkListed(t, s.fx)

	cols := make([]string, len(s.fx.Names))
	for i, n := range s.fx.Names {
		cols[i] = "`" + n + "`"
	}
	sel := "SELECT " + strings.Join(cols, ", ") + " FROM "
	src := mysqlRows(t, s.db, sel+"`"+s.fx.Table+"` ORDER BY id")
	dst := mysqlRows(t, db, sel+"`"+dbname+"`.`fidelity` ORDER BY id")
	if len(dst) != len(src) {
		t.Fatalf("target has %d rows, source %d", len(dst), len(src))
	}
	idx := map[string]int{}
	for i, n := range s.fx.Names {
		idx[n] = i
	}
	for _, c := range fidelityColumns {
		t.Run(c.col, func(t *testing.T) {
			ci := idx[c.col]
			for r := range src {
				a, b := src[r][ci], dst[r][ci]
				if (a == nil) != (b == nil) || !bytes.Equal(a, b) {
					t.Errorf("id %s: target %q, source %q (%s)", src[r][0], b, a, c.mysqlWhy)
				}
			}
		})
	}

	// Re-export the target table: the CSV must be the source's, byte for byte.
	orig, _ := s.export(t, ferry.EngineMySQL, 1, int64(len(s.fx.Rows))+1)
	re := mysql.NewSource(db, mysql.WithLogger(quiet))
	var buf bytes.Buffer
	q := strings.Replace(s.fx.Query, "`"+s.fx.Table+"`", "`"+dbname+"`.`fidelity`", 1)
	_, err = re.Export(context.Background(), ferry.ExportRequest{Query: q, Params: s.fx.Params, ChunkColumn: s.fx.ChunkColumn,
		Lo: 1, Hi: int64(len(s.fx.Rows)) + 1, Target: ferry.EngineMySQL}, &buf)
	testdb.Must(t, "re-export", err)
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Errorf("re-export of the target differs from the source export (%d vs %d bytes)", buf.Len(), len(orig))
	}
}

// mysqlRows reads every value as the server's text-protocol bytes (the
// query has no arguments, so the driver uses the text protocol).
func mysqlRows(t *testing.T, db *sql.DB, q string) [][][]byte {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	testdb.Must(t, q, err)
	defer rows.Close()
	cols, err := rows.Columns()
	testdb.Must(t, "columns", err)
	var out [][][]byte
	for rows.Next() {
		raw := make([]sql.RawBytes, len(cols))
		dest := make([]any, len(cols))
		for i := range raw {
			dest[i] = &raw[i]
		}
		testdb.Must(t, "scan", rows.Scan(dest...))
		rec := make([][]byte, len(cols))
		for i, b := range raw {
			if b != nil {
				rec[i] = append([]byte{}, b...)
			}
		}
		out = append(out, rec)
	}
	testdb.Must(t, "rows", rows.Err())
	return out
}

// specialSource is a MariaDB table with values the fixture avoids: text
// holding 0x00, and zero or partial dates (inserted with a permissive
// sql_mode).
func specialSource(t *testing.T) (*mysql.Source, string) {
	t.Helper()
	_, dsn := testdb.MySQL(t)
	db, err := mysql.Open(context.Background(), dsn)
	testdb.Must(t, "open source", err)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	testdb.Must(t, "conn", err)
	defer conn.Close()
	for _, s := range []string{
		"SET SESSION sql_mode = ''",
		"CREATE TABLE special (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, d date NOT NULL, dtm datetime NULL)",
		"INSERT INTO special VALUES (1, 'fine', '2024-01-02', '2024-01-02 03:04:05'), " +
			"(2, CONCAT('a', CHAR(0), 'b'), '0000-00-00', '2024-00-15 00:00:00'), " +
			"(3, 'ok', '2024-05-00', NULL)",
	} {
		_, err := conn.ExecContext(ctx, s)
		testdb.Must(t, s, err)
	}
	return mysql.NewSource(db, mysql.WithLogger(quiet)), "SELECT id, note, d, dtm FROM special WHERE id >= :min_id"
}

// TestNULInTextRefusedForPostgres: PostgreSQL text cannot hold 0x00. The
// exporter refuses it for a PostgreSQL target, naming row and column; the
// PostgreSQL loader refuses it too, should such a CSV reach it.
func TestNULInTextRefusedForPostgres(t *testing.T) {
	src, q := specialSource(t)
	ctx := context.Background()
	params := map[string]ferry.Param{"min_id": 0}
	req := ferry.ExportRequest{Query: q, Params: params, ChunkColumn: "id", Lo: 1, Hi: 3, ZeroDates: ferry.ZeroDateNull, Target: ferry.EnginePostgres}
	_, err := src.Export(ctx, req, io.Discard)
	var de *ferry.DataError
	if !asErr(err, &de) || de.Row != "2" || de.Column != "note" {
		t.Fatalf("export for postgres: err = %v, want a DataError for row 2, column note", err)
	}
	// For MySQL the same value is fine; that CSV loaded into PostgreSQL is
	// refused by the loader with a DataError, and staging stays empty.
	req.Target = ferry.EngineMySQL
	var buf bytes.Buffer
	_, err = src.Export(ctx, req, &buf)
	testdb.Must(t, "export for mysql", err)
	tg, conn := newPostgres(t)
	cols, err := src.Columns(ctx, q, params)
	testdb.Must(t, "columns", err)
	testdb.Must(t, "schema", tg.EnsureSchema(ctx, "bi_acme"))
	stg := ferry.StagingName("special")
	testdb.Must(t, "prepare", tg.PrepareStaging(ctx, "bi_acme", "special", stg, cols, "id"))
	_, err = tg.Load(ctx, ferry.LoadRequest{Schema: "bi_acme", Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 3}, &buf)
	if !asErr(err, &de) || !strings.Contains(err.Error(), "0x00") {
		t.Fatalf("load into postgres: err = %v, want a DataError about 0x00", err)
	}
	if n := queryColumn(t, conn, `SELECT count(*)::text FROM bi_acme.`+pgx.Identifier{stg}.Sanitize()); *n[0] != "0" {
		t.Fatalf("staging has %s rows after a refused load", *n[0])
	}
}

// TestZeroDatePolicyOnPostgres: under "error" a zero date fails the export
// naming row and column; under "null" it arrives in PostgreSQL as NULL,
// also in a column that is NOT NULL in MySQL.
func TestZeroDatePolicyOnPostgres(t *testing.T) {
	src, q := specialSource(t)
	ctx := context.Background()
	q = strings.Replace(q, "SELECT id, note,", "SELECT id,", 1) // no NUL text here
	params, buf := exportZeroDates(t, src, q, ferry.EnginePostgres)
	tg, conn := newPostgres(t)
	cols, err := src.Columns(ctx, q, params)
	testdb.Must(t, "columns", err)
	testdb.Must(t, "schema", tg.EnsureSchema(ctx, "bi_acme"))
	stg := ferry.StagingName("special")
	testdb.Must(t, "prepare", tg.PrepareStaging(ctx, "bi_acme", "special", stg, cols, "id"))
	n, err := tg.Load(ctx, ferry.LoadRequest{Schema: "bi_acme", Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 4}, buf)
	testdb.Must(t, "load", err)
	if n != 3 {
		t.Fatalf("loaded %d rows, want 3", n)
	}
	got := queryColumn(t, conn, `SELECT concat_ws('|', id, coalesce(d::text, 'NULL'), coalesce(dtm::text, 'NULL')) FROM bi_acme.`+
		pgx.Identifier{stg}.Sanitize()+` ORDER BY id`)
	var lines []string
	for _, g := range got {
		lines = append(lines, *g)
	}
	want := "1|2024-01-02|2024-01-02 03:04:05 2|NULL|NULL 3|NULL|NULL"
	if strings.Join(lines, " ") != want {
		t.Fatalf("postgres rows %q, want %q", strings.Join(lines, " "), want)
	}
}

func asErr[T any](err error, target *T) bool {
	return err != nil && errors.As(err, target)
}

// TestZeroDatePolicyOnMySQL: the same policy for a MySQL target. Under
// "error" the export fails naming row and column; under "null" the zero
// dates arrive as NULL, also in a column that is NOT NULL in the source
// (staging derived from the query keeps date columns nullable for that).
func TestZeroDatePolicyOnMySQL(t *testing.T) {
	src, q := specialSource(t)
	ctx := context.Background()
	params, buf := exportZeroDates(t, src, q, ferry.EngineMySQL)
	dbname, dsn := testdb.MySQL(t)
	db, err := mysql.Open(ctx, dsn)
	testdb.Must(t, "open target", err)
	t.Cleanup(func() { db.Close() })
	tg := mysql.NewTarget(db, mysql.WithLogger(quiet))
	cols, err := src.Columns(ctx, q, params)
	testdb.Must(t, "columns", err)
	stg := ferry.StagingName("special")
	testdb.Must(t, "prepare", tg.PrepareStaging(ctx, dbname, "special", stg, cols, "id"))
	n, err := tg.Load(ctx, ferry.LoadRequest{Schema: dbname, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 4}, buf)
	testdb.Must(t, "load", err)
	if n != 3 {
		t.Fatalf("loaded %d rows, want 3", n)
	}
	var got string
	testdb.Must(t, "read back", db.QueryRowContext(ctx, "SELECT GROUP_CONCAT(CONCAT_WS('|', id, HEX(note), IFNULL(d, 'NULL'), IFNULL(dtm, 'NULL')) ORDER BY id SEPARATOR ' ') FROM `"+stg+"`").Scan(&got))
	want := "1|66696E65|2024-01-02|2024-01-02 03:04:05 2|610062|NULL|NULL 3|6F6B|NULL|NULL"
	if got != want {
		t.Fatalf("mysql rows %q, want %q", got, want)
	}
}

// exportZeroDates exports the special source's three rows with zero dates
// for target: under "error" the export fails naming row 2 and a date
// column; under "null" it succeeds, counting the three zero dates. It
// returns the query's parameters and the "null" export.
func exportZeroDates(t *testing.T, src *mysql.Source, q string, target ferry.Engine) (map[string]ferry.Param, *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	params := map[string]ferry.Param{"min_id": 0}
	req := ferry.ExportRequest{Query: q, Params: params, ChunkColumn: "id", Lo: 1, Hi: 4, Target: target}
	_, err := src.Export(ctx, req, io.Discard)
	var de *ferry.DataError
	if !asErr(err, &de) || de.Row != "2" || (de.Column != "d" && de.Column != "dtm") {
		t.Fatalf("zero_dates=error: err = %v, want a DataError for row 2, column d or dtm", err)
	}
	req.ZeroDates = ferry.ZeroDateNull
	var buf bytes.Buffer
	st, err := src.Export(ctx, req, &buf)
	testdb.Must(t, "export", err)
	if st.ZeroDates != 3 {
		t.Errorf("ZeroDates = %d, want 3 (0000-00-00, 2024-00-15, 2024-05-00)", st.ZeroDates)
	}
	return params, &buf
}
