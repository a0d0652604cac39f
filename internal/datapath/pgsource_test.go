package datapath

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/mysql/mysqltype"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/postgres/pgtest"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// pgSource is a PostgreSQL database holding the fidelity matrix, and a
// Source on it.
type pgSource struct {
	src *postgres.Source
	fx  pgtest.Fixture
}

func newPGSource(t *testing.T) pgSource {
	t.Helper()
	conn, url := testdb.PostgresConn(t)
	fx := pgtest.FidelityFixture(t, conn)
	tg, err := postgres.Open(context.Background(), url)
	testdb.Must(t, "open source", err)
	t.Cleanup(tg.Close)
	src := postgres.NewSource(tg.Pool())
	src.Logger = quiet
	return pgSource{src: src, fx: fx}
}

// copyTo exports the matrix in three chunks for tg (values MySQL cannot
// hold become NULL) and loads them into a staging table of the matrix's
// column types, then swaps it live.
func (s pgSource) copyTo(t *testing.T, tg ferry.Target, schema, table string) {
	t.Helper()
	ctx := context.Background()
	cols, err := s.src.Columns(ctx, s.fx.Query, s.fx.Params)
	testdb.Must(t, "columns", err)
	testdb.Must(t, "ensure schema", tg.EnsureSchema(ctx, schema))
	stg := ferry.StagingName(table)
	testdb.Must(t, "prepare staging", tg.PrepareStaging(ctx, schema, table, stg, cols, s.fx.ChunkColumn))
	bounds := []int64{1, 4, 9, int64(s.fx.Rows) + 1}
	var total int64
	for i := 0; i+1 < len(bounds); i++ {
		var buf bytes.Buffer
		st, err := s.src.Export(ctx, ferry.ExportRequest{Query: s.fx.Query, Params: s.fx.Params, ChunkColumn: s.fx.ChunkColumn,
			Lo: bounds[i], Hi: bounds[i+1], Target: tg.Engine(), ZeroDates: ferry.ZeroDateNull}, &buf)
		testdb.Must(t, fmt.Sprintf("export chunk %d", i), err)
		n, err := tg.Load(ctx, ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: "id", Lo: bounds[i], Hi: bounds[i+1]}, &buf)
		testdb.Must(t, fmt.Sprintf("load chunk %d", i), err)
		if n != st.Rows {
			t.Fatalf("chunk %d: exported %d rows, loaded %d", i, st.Rows, n)
		}
		total += n
	}
	_, err = tg.Swap(ctx, ferry.SwapRequest{RunID: "run-pg-fidelity", Schema: schema, Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: total}}})
	testdb.Must(t, "swap", err)
}

func TestFidelityPostgresToPostgres(t *testing.T) {
	s := newPGSource(t)
	tg, conn := newPostgres(t)
	s.copyTo(t, tg, "bi_pg", "matrix")
	types := map[string]string{}
	for _, r := range pgTextRows(t, conn, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'bi_pg.matrix'::regclass AND attnum > 0 AND NOT attisdropped`) {
		types[r[0]] = r[1]
	}
	checkTypes(t, s.fx, types, func(c pgtest.Col) string { return c.PGType })
	_, err := conn.Exec(context.Background(), "SET TimeZone = 'UTC'; SET extra_float_digits = 3")
	testdb.Must(t, "session", err)
	for _, c := range s.fx.Cols {
		// The text protocol gives each type's output text, as the export
		// read it; money is compared as its numeric value.
		expr := pgx.Identifier{c.Name}.Sanitize()
		if c.PGCompare == pgtest.Decimal {
			expr += "::numeric"
		}
		got := pgTextColumn(t, conn, "SELECT "+expr+" FROM bi_pg.matrix ORDER BY id")
		for id := 1; id <= s.fx.Rows; id++ {
			cell := c.Cell(id)
			checkValue(t, c.Name, id, pgtest.Text, cell.Null, cell.PG, got[id-1])
		}
	}
}

func TestFidelityPostgresToMySQL(t *testing.T) {
	s := newPGSource(t)
	_, dsn := testdb.MySQL(t)
	db, err := mysql.Open(context.Background(), dsn)
	testdb.Must(t, "open mysql", err)
	t.Cleanup(func() { db.Close() })
	tg := mysql.NewTarget(db, mysql.WithLogger(quiet))
	s.copyTo(t, tg, "bi_pg_"+strings.ToLower(t.Name()[len(t.Name())-5:]), "matrix")
	schema := "bi_pg_" + strings.ToLower(t.Name()[len(t.Name())-5:])
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
	types := map[string]string{}
	rows, err := db.Query("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'matrix'", schema)
	testdb.Must(t, "columns", err)
	for rows.Next() {
		var n, ty string
		testdb.Must(t, "scan", rows.Scan(&n, &ty))
		types[n] = mysqltype.Normalize(ty) // MariaDB prints display widths: int(11)
	}
	rows.Close()
	checkTypes(t, s.fx, types, func(c pgtest.Col) string { return c.MyType })
	for _, c := range s.fx.Cols {
		expr := "`" + c.Name + "`"
		if c.MyCompare == pgtest.Float32 {
			expr = "CAST(" + expr + " AS DOUBLE)" // the text protocol prints FLOAT with 6 digits
		}
		got := mysqlColumn(t, db, "SELECT "+expr+" FROM `"+schema+"`.matrix ORDER BY id")
		for id := 1; id <= s.fx.Rows; id++ {
			cell := c.Cell(id)
			checkValue(t, c.Name, id, c.MyCompare, cell.Null || cell.Unfit, cell.My, got[id-1])
		}
	}
}

// checkTypes compares the derived staging table's column types with the
// matrix's.
func checkTypes(t *testing.T, fx pgtest.Fixture, got map[string]string, want func(pgtest.Col) string) {
	t.Helper()
	for _, c := range fx.Cols {
		if got[c.Name] != want(c) {
			t.Errorf("column %s (%s): the target created %q, the matrix says %q", c.Name, c.Type, got[c.Name], want(c))
		}
	}
}

// pgTextRows reads a query's rows in the text format (no NULLs expected).
func pgTextRows(t *testing.T, conn *pgx.Conn, q string) [][]string {
	t.Helper()
	rr := conn.PgConn().ExecParams(context.Background(), q, nil, nil, nil, nil)
	var out [][]string
	for rr.NextRow() {
		var row []string
		for _, v := range rr.Values() {
			row = append(row, string(v))
		}
		out = append(out, row)
	}
	_, err := rr.Close()
	testdb.Must(t, q, err)
	return out
}

// pgTextColumn reads the first column of a query in the text format;
// NULL is nil.
func pgTextColumn(t *testing.T, conn *pgx.Conn, q string) []*string {
	t.Helper()
	rr := conn.PgConn().ExecParams(context.Background(), q, nil, nil, nil, nil)
	var out []*string
	for rr.NextRow() {
		if v := rr.Values()[0]; v != nil {
			s := string(v)
			out = append(out, &s)
		} else {
			out = append(out, nil)
		}
	}
	_, err := rr.Close()
	testdb.Must(t, q, err)
	return out
}

// mysqlColumn reads the first column of a text-protocol query; NULL is nil.
func mysqlColumn(t *testing.T, db *sql.DB, q string) []*string {
	t.Helper()
	rows, err := db.Query(q)
	testdb.Must(t, q, err)
	defer rows.Close()
	var out []*string
	for rows.Next() {
		var v sql.RawBytes
		testdb.Must(t, "scan", rows.Scan(&v))
		if v == nil {
			out = append(out, nil)
			continue
		}
		s := string(v)
		out = append(out, &s)
	}
	testdb.Must(t, q, rows.Err())
	return out
}

// checkValue compares a value read back from a target with the exported
// one, as mode says.
func checkValue(t *testing.T, col string, id int, mode pgtest.Compare, wantNull bool, want string, got *string) {
	t.Helper()
	if wantNull || got == nil {
		if wantNull != (got == nil) {
			t.Errorf("%s row %d: NULL mismatch: want NULL %v, got %v", col, id, wantNull, show(got))
		}
		return
	}
	if !sameValue(mode, want, *got) {
		t.Errorf("%s row %d (%s): target has %q, the source exported %q", col, id, mode, *got, want)
	}
}

func sameValue(mode pgtest.Compare, want, got string) bool {
	switch mode {
	case pgtest.Float32, pgtest.Float64:
		bits := 64
		if mode == pgtest.Float32 {
			bits = 32
		}
		w, err1 := strconv.ParseFloat(want, bits)
		g, err2 := strconv.ParseFloat(got, bits)
		return err1 == nil && err2 == nil && math.Float64bits(w) == math.Float64bits(g)
	case pgtest.Decimal:
		w, ok1 := new(big.Rat).SetString(want)
		g, ok2 := new(big.Rat).SetString(got)
		return ok1 && ok2 && w.Cmp(g) == 0
	case pgtest.Datetime:
		return trimFraction(want) == trimFraction(got)
	case pgtest.Bits:
		w, err := strconv.ParseUint(want, 2, 64)
		var g uint64
		for _, b := range []byte(got) {
			g = g<<8 | uint64(b)
		}
		return err == nil && w == g
	case pgtest.Bytes:
		b, err := csvcodec.DecodeBinary([]byte(want))
		return err == nil && string(b) == got
	}
	return want == got
}

// trimFraction drops the trailing zeros of a time's fraction of a second
// (MySQL prints the declared digits: 12:30:00.500000).
func trimFraction(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 && !strings.ContainsAny(s[i:], " :-") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
