package datapath

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestLoadRefusesShapeMismatch: staging is prepared from a query's
// columns; the query then changes shape before its chunk is exported (a
// text column re-cast to bytes, a BLOB to text, a decimal widened). Each
// target's loader compares the export's typed header with staging and
// fails the chunk (a ConfigError naming the column) instead of publishing
// hex digits, NULL or rounded numbers; nothing is loaded. On MySQL a
// header without types still cannot round a decimal silently: the
// server's "Data truncated" note fails the load.
func TestLoadRefusesShapeMismatch(t *testing.T) {
	_, dsn := testdb.MySQL(t)
	srcDB, err := mysql.Open(context.Background(), dsn)
	testdb.Must(t, "open source", err)
	t.Cleanup(func() { srcDB.Close() })
	for _, q := range []string{
		"CREATE TABLE shape (id BIGINT PRIMARY KEY, amount DECIMAL(12,4) NOT NULL, note TEXT NULL, data BLOB NULL)",
		"INSERT INTO shape VALUES (1, 1.2349, 'hello', 'bytes'), (2, 2.5, NULL, NULL)",
	} {
		if _, err := srcDB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	src := mysql.NewSource(srcDB, mysql.WithLogger(quiet))
	const planned = "SELECT id, CAST(amount AS DECIMAL(10,2)) AS amount, note, data FROM shape"
	cases := []struct{ name, query, column string }{
		{"text re-cast to bytes", "SELECT id, CAST(amount AS DECIMAL(10,2)) AS amount, CAST(note AS BINARY) AS note, data FROM shape", "note"},
		{"blob re-cast to text", "SELECT id, CAST(amount AS DECIMAL(10,2)) AS amount, note, CONVERT(data USING utf8mb4) AS data FROM shape", "data"},
		{"decimal widened", "SELECT id, amount, note, data FROM shape", "amount"},
	}
	ctx := context.Background()
	cols, err := src.Columns(ctx, planned, nil)
	testdb.Must(t, "columns", err)

	pg, conn := newPostgres(t)
	dbname, tdsn := testdb.MySQL(t)
	tdb, err := mysql.Open(ctx, tdsn)
	testdb.Must(t, "open target", err)
	t.Cleanup(func() { tdb.Close() })
	targets := map[ferry.Engine]struct {
		tg     ferry.Target
		schema string
		count  func(string) int64
	}{
		ferry.EnginePostgres: {pg, "bi_shape", func(q string) (n int64) { testdb.Must(t, q, conn.QueryRow(ctx, q).Scan(&n)); return n }},
		ferry.EngineMySQL:    {mysql.NewTarget(tdb, mysql.WithLogger(quiet)), dbname, func(q string) (n int64) { testdb.Must(t, q, tdb.QueryRow(q).Scan(&n)); return n }},
	}
	for engine, tt := range targets {
		testdb.Must(t, "schema", tt.tg.EnsureSchema(ctx, tt.schema))
		stg := ferry.StagingName("shape")
		testdb.Must(t, "prepare", tt.tg.PrepareStaging(ctx, tt.schema, "shape", stg, cols, "id"))
		for _, c := range cases {
			t.Run(string(engine)+"/"+c.name, func(t *testing.T) {
				var buf bytes.Buffer
				_, err := src.Export(ctx, ferry.ExportRequest{Query: c.query, ChunkColumn: "id", Lo: 1, Hi: 3, Target: engine}, &buf)
				testdb.Must(t, "export", err)
				n, err := tt.tg.Load(ctx, ferry.LoadRequest{Schema: tt.schema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 3}, &buf)
				var ce *ferry.ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "column "+c.column) {
					t.Fatalf("load = %d rows, %v; want a ConfigError naming column %s", n, err, c.column)
				}
				if got := tt.count("SELECT COUNT(*) FROM " + tt.schema + "." + stg); got != 0 {
					t.Fatalf("staging has %d rows after a refused load", got)
				}
			})
		}
	}
	t.Run("mysql/untyped header, decimal rounded", func(t *testing.T) {
		tt := targets[ferry.EngineMySQL]
		var csv bytes.Buffer
		w := csvcodec.NewWriter(&csv)
		testdb.Must(t, "header", w.WriteHeader([]string{"id", "amount", "note", "data"}))
		testdb.Must(t, "row", w.Write([]csvcodec.Field{{Data: []byte("1")}, {Data: []byte("1.2349")}, {Data: []byte("hello")}, {Data: []byte("bytes"), Binary: true}}))
		testdb.Must(t, "flush", w.Flush())
		stg := ferry.StagingName("shape")
		_, err := tt.tg.Load(ctx, ferry.LoadRequest{Schema: tt.schema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 3}, &csv)
		var de *ferry.DataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("load err = %v; want a DataError quoting the server's truncation note", err)
		}
	})
}
