package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/testdb"
)

// newSource is a fresh database with a Source on it (and the env to fill
// it).
func newSource(t *testing.T) (*env, *Source) {
	t.Helper()
	e := newEnv(t)
	src := NewSource(e.tg.Pool())
	src.Logger = e.tg.Logger
	return e, src
}

// readCSV parses an export into records (header first) as strings; NULL
// is nil.
func readCSV(t *testing.T, b []byte) [][]*string {
	t.Helper()
	r := csvcodec.NewReader(bytes.NewReader(b))
	var out [][]*string
	for {
		rec, err := r.Read()
		if err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("read CSV: %v\n%s", err, b)
		}
		row := make([]*string, len(rec))
		for i, f := range rec {
			if !f.Null {
				s := string(f.Data)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
}

func strs(rows [][]*string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for _, v := range r {
			if v == nil {
				out[i] = append(out[i], "<NULL>")
			} else {
				out[i] = append(out[i], *v)
			}
		}
	}
	return out
}

func TestSourceExportChunksAndParameters(t *testing.T) {
	e, src := newSource(t)
	e.exec(`CREATE TABLE orders (id bigint PRIMARY KEY, company int NOT NULL, note text, at timestamptz)`)
	e.exec(`INSERT INTO orders SELECT i, i % 3, CASE WHEN i = 4 THEN NULL WHEN i = 5 THEN '' ELSE 'n "' || i || '", x' END,
		timestamptz '2024-01-01 00:00:00+02' + i * interval '1 hour' FROM generate_series(1, 10) i`)
	ctx := context.Background()
	q := "SELECT id, note, at FROM orders WHERE company = :company_id AND note IS DISTINCT FROM :skip -- the end"
	params := map[string]ferry.Param{"company_id": int64(1), "skip": "n \"7\", x"}
	var buf bytes.Buffer
	st, err := src.Export(ctx, ferry.ExportRequest{Query: q, Params: params, ChunkColumn: "id", Lo: 1, Hi: 8, Target: ferry.EnginePostgres}, &buf)
	testdb.Must(t, "export", err)
	got := strs(readCSV(t, buf.Bytes()))
	want := [][]string{{"id:text:bigint", "note:text:text", "at:text:timestamp with time zone"}, {"1", `n "1", x`, "2023-12-31 23:00:00+00"}, {"4", "<NULL>", "2024-01-01 02:00:00+00"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("export = %q\nwant %q", got, want)
	}
	if st.Rows != 2 || st.RawBytes != int64(buf.Len()) {
		t.Errorf("stats = %+v (CSV %d bytes)", st, buf.Len())
	}
	buf.Reset()
	_, err = src.Export(ctx, ferry.ExportRequest{Query: q, Params: params, ChunkColumn: "id", Lo: 1, Hi: 8, Target: ferry.EngineMySQL}, &buf)
	testdb.Must(t, "export for mysql", err)
	if got := strs(readCSV(t, buf.Bytes())); got[1][2] != "2023-12-31 23:00:00" {
		t.Errorf("timestamptz for MySQL = %q, want UTC without offset", got[1][2])
	}

	b, err := src.Bounds(ctx, q, params, "id")
	testdb.Must(t, "bounds", err)
	if b != (ferry.Bounds{Rows: 3, Min: 1, Max: 10}) {
		t.Errorf("bounds = %+v", b)
	}
	bs, err := src.Boundaries(ctx, "SELECT id FROM orders", nil, "id", 1, 11, 3)
	testdb.Must(t, "boundaries", err)
	if !reflect.DeepEqual(bs, []int64{1, 4, 7, 10}) {
		t.Errorf("boundaries = %v", bs)
	}
	cols, err := src.Columns(ctx, q, params)
	testdb.Must(t, "columns", err)
	pgc := func(name, typ string, kind ferry.ColumnKind, key ferry.KeyKind) ferry.Column {
		return ferry.Column{Name: name, Type: typ, Nullable: true, Engine: ferry.EnginePostgres, Base: typ, Kind: kind,
			Origin: ferry.OriginTable, Table: "orders", Key: key}
	}
	wantCols := []ferry.Column{pgc("id", "bigint", ferry.KindInteger, ferry.KeyPrimary), pgc("note", "text", ferry.KindText, ""),
		pgc("at", "timestamp with time zone", ferry.KindTimestamp, "")}
	wantCols[2].FracSeconds = 6
	if !reflect.DeepEqual(cols, wantCols) {
		t.Errorf("columns = %+v\nwant %+v", cols, wantCols)
	}
}

func TestSourceRefusals(t *testing.T) {
	e, src := newSource(t)
	e.exec(`CREATE TABLE t (id int, f float8, n numeric, d date, k text)`)
	e.exec(`CREATE SEQUENCE s`)
	e.exec(`INSERT INTO t VALUES (1, 'Infinity', 1, '2024-01-01', 'a'), (2, 1, 'NaN', 'infinity', 'b'), (NULL, 1, 1, '2024-01-01', 'c')`)
	ctx := context.Background()
	tests := []struct {
		name  string
		req   ferry.ExportRequest
		check func(error) bool
		want  string
	}{
		{"not an integer chunk column", ferry.ExportRequest{Query: "SELECT * FROM t", ChunkColumn: "k", Lo: 0, Hi: 9},
			isConfig, "chunk column k is not an integer"},
		{"missing chunk column", ferry.ExportRequest{Query: "SELECT f FROM t", ChunkColumn: "id", Lo: 0, Hi: 9},
			isConfig, "not a column of the query's result"},
		{"a write", ferry.ExportRequest{Query: "SELECT id, nextval('s') AS n FROM t", ChunkColumn: "id", Lo: 0, Hi: 9},
			isConfig, "the query tried to write"},
		{"a data-modifying CTE", ferry.ExportRequest{Query: "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", ChunkColumn: "id", Lo: 0, Hi: 9},
			isConfig, "data-modifying"},
		{"unknown parameter", ferry.ExportRequest{Query: "SELECT * FROM t WHERE k = :nope", ChunkColumn: "id", Lo: 0, Hi: 9},
			isConfig, ":nope"},
		{"unnamed column", ferry.ExportRequest{Query: "SELECT id, 1 FROM t", ChunkColumn: "id", Lo: 0, Hi: 9},
			isConfig, "give the column a name"},
		{"infinity float for mysql", ferry.ExportRequest{Query: "SELECT * FROM t", ChunkColumn: "id", Lo: 0, Hi: 9, Target: ferry.EngineMySQL},
			isData, `row 1: column f: value "Infinity" cannot be stored in MySQL`},
		{"NaN numeric for mysql", ferry.ExportRequest{Query: "SELECT id, n FROM t", ChunkColumn: "id", Lo: 0, Hi: 9, Target: ferry.EngineMySQL},
			isData, `row 2: column n: value "NaN"`},
		{"infinity date for mysql", ferry.ExportRequest{Query: "SELECT id, d FROM t", ChunkColumn: "id", Lo: 0, Hi: 9, Target: ferry.EngineMySQL},
			isData, `row 2: column d: value "infinity"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := src.Export(ctx, tt.req, &bytes.Buffer{})
			if err == nil || !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Export = %v, want a typed error containing %q", err, tt.want)
			}
		})
	}
	if _, err := src.Bounds(ctx, "SELECT * FROM t", nil, "id"); !isConfig(err) || !strings.Contains(err.Error(), "NULL chunk column") {
		t.Errorf("Bounds with NULL keys = %v", err)
	}
	// The null policy writes NULL and counts it.
	var buf bytes.Buffer
	st, err := src.Export(ctx, ferry.ExportRequest{Query: "SELECT * FROM t", ChunkColumn: "id", Lo: 0, Hi: 9, Target: ferry.EngineMySQL, ZeroDates: ferry.ZeroDateNull}, &buf)
	testdb.Must(t, "export with null policy", err)
	if st.Rows != 2 || st.ZeroDates != 3 {
		t.Errorf("stats = %+v, want 2 rows, 3 values nulled\n%s", st, buf.Bytes())
	}
}

func TestSourceStatementTimeout(t *testing.T) {
	_, src := newSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := src.Export(ctx, ferry.ExportRequest{Query: "SELECT 1::int AS id FROM pg_sleep(30)", ChunkColumn: "id", Lo: 0, Hi: 9}, &bytes.Buffer{})
	var re *ferry.RetryableError
	if !errors.As(err, &re) {
		t.Fatalf("Export past the deadline = %v, want retryable", err)
	}
}

func isConfig(err error) bool {
	var ce *ferry.ConfigError
	return errors.As(err, &ce)
}

func isData(err error) bool {
	var de *ferry.DataError
	return errors.As(err, &de)
}

func TestSourceExportQuery(t *testing.T) {
	e, src := newSource(t)
	e.exec(`CREATE TABLE t (k text, v numeric)`)
	e.exec(`INSERT INTO t VALUES ('a', 'NaN'), ('b,"c"', NULL)`)
	var buf bytes.Buffer
	e.exec(`CREATE SCHEMA other; CREATE TABLE other.t (k text, v numeric); INSERT INTO other.t VALUES ('x', 1)`)
	st, err := src.ExportQuery(context.Background(), ferry.JobSQL{SQL: "SELECT k, v FROM t WHERE k <> :x ORDER BY k", Params: map[string]ferry.Param{"x": "z"}}, &buf)
	testdb.Must(t, "export query", err)
	if got, want := strs(readCSV(t, buf.Bytes())), [][]string{{"k", "v"}, {"a", "NaN"}, {`b,"c"`, "<NULL>"}}; !reflect.DeepEqual(got, want) || st.Rows != 2 {
		t.Fatalf("ExportQuery = %q (%d rows), want %q", got, st.Rows, want)
	}
	buf.Reset()
	_, err = src.ExportQuery(context.Background(), ferry.JobSQL{SQL: "SELECT k FROM t", Schema: "other"}, &buf)
	testdb.Must(t, "export query in a schema", err)
	if got := strs(readCSV(t, buf.Bytes())); len(got) != 2 || got[1][0] != "x" {
		t.Fatalf("ExportQuery in schema other = %q", got)
	}
}

// TestSourceExportStopsEarly: a refused value ends the export at once
// (the statement is cancelled, not read to its end) and the pool stays
// usable.
func TestSourceExportStopsEarly(t *testing.T) {
	e, src := newSource(t)
	e.exec(`CREATE TABLE big AS SELECT i AS id, CASE WHEN i = 1 THEN 'Infinity'::float8 ELSE i END AS f FROM generate_series(1, 200000) i`)
	ctx := context.Background()
	_, err := src.Export(ctx, ferry.ExportRequest{Query: "SELECT id, f FROM big", ChunkColumn: "id", Lo: 0, Hi: 1 << 40, Target: ferry.EngineMySQL}, io.Discard)
	if !isData(err) || !strings.Contains(err.Error(), "row 1: column f") {
		t.Fatalf("Export = %v, want a DataError for row 1", err)
	}
	for i := 0; i < 3; i++ {
		if _, err := src.Bounds(ctx, "SELECT id FROM big", nil, "id"); err != nil {
			t.Fatalf("the source after a stopped export: %v", err)
		}
	}
}

func TestSourceCheckRead(t *testing.T) {
	e, _ := newSource(t)
	e.exec(`CREATE TABLE t (id int)`)
	ctx := context.Background()
	check := func(url string) (string, error) {
		src, done, err := Engine{}.OpenSource(ctx, url, nil)
		testdb.Must(t, "open source", err)
		defer done()
		return src.(*Source).CheckRead(ctx, "ferry_ro")
	}
	_, noGrants := testdb.PostgresRole(t, e.url, "ferry_ro_", "pw")
	if _, err := check(noGrants); !isConfig(err) || !strings.Contains(err.Error(), "GRANT SELECT") {
		t.Fatalf("CheckRead without privileges = %v, want a ConfigError with the GRANT", err)
	}
	_, readOnly := testdb.PostgresRole(t, e.url, "ferry_ro_", "pw", "GRANT SELECT ON t TO %I")
	db, err := check(readOnly)
	testdb.Must(t, "check read", err)
	if db == "" {
		t.Fatal("no database name")
	}
}

// TestSourceSelectOnlyRole: a role with nothing but SELECT on the table
// gets the exact column types, plans chunks and exports them.
func TestSourceSelectOnlyRole(t *testing.T) {
	e, _ := newSource(t)
	e.exec(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,4), note varchar(40), at timestamp(3) with time zone, tags text[])`)
	e.exec(`INSERT INTO orders SELECT i, i / 3.0, 'n' || i, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 ms', ARRAY['a', i::text] FROM generate_series(1, 100) i`)
	_, url := testdb.PostgresRole(t, e.url, "ferry_ro_", "pw", "GRANT SELECT ON orders TO %I")
	ctx := context.Background()
	s, done, err := Engine{}.OpenSource(ctx, url, nil)
	testdb.Must(t, "open source", err)
	defer done()
	q := "SELECT id, amount, note, at, tags FROM orders WHERE id > :min"
	params := map[string]ferry.Param{"min": int64(0)}
	cols, err := s.Columns(ctx, q, params)
	testdb.Must(t, "columns", err)
	var got []string
	for _, c := range cols {
		got = append(got, fmt.Sprintf("%s %s %s p%d s%d l%d f%d a%d %s", c.Name, c.Type, c.Kind, c.Precision, c.Scale, c.Length, c.FracSeconds, c.ArrayDims, c.Key))
	}
	want := []string{"id bigint integer p0 s0 l0 f0 a0 primary", "amount numeric(12,4) decimal p12 s4 l0 f0 a0 ",
		"note character varying(40) varchar p0 s0 l40 f0 a0 ", "at timestamp(3) with time zone timestamp p0 s0 l0 f3 a0 ",
		"tags text[] text p0 s0 l0 f0 a1 "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("columns =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b, err := s.Bounds(ctx, q, params, "id")
	testdb.Must(t, "bounds", err)
	bs, err := s.Boundaries(ctx, q, params, "id", b.Min, b.Max+1, 30)
	testdb.Must(t, "boundaries", err)
	if b != (ferry.Bounds{Rows: 100, Min: 1, Max: 100}) || !reflect.DeepEqual(bs, []int64{1, 31, 61, 91}) {
		t.Errorf("bounds %+v, boundaries %v", b, bs)
	}
	var buf bytes.Buffer
	st, err := s.Export(ctx, ferry.ExportRequest{Query: q, Params: params, ChunkColumn: "id", Lo: 31, Hi: 61, Target: ferry.EnginePostgres}, &buf)
	testdb.Must(t, "export", err)
	if recs := readCSV(t, buf.Bytes()); st.Rows != 30 || len(recs) != 31 || *recs[1][1] != "10.3333" || *recs[1][4] != "{a,31}" {
		t.Errorf("export: %d rows, first %q", st.Rows, strs(recs[:2]))
	}
}
