package datapath

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/postgres/pgtest"
	"github.com/ferrydata/ferry/internal/testdb"
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
	pgtest.CheckPostgresTarget(t, s.fx, conn, "bi_pg.matrix")
}

func TestFidelityPostgresToMySQL(t *testing.T) {
	s := newPGSource(t)
	_, dsn := testdb.MySQL(t)
	db, err := mysql.Open(context.Background(), dsn)
	testdb.Must(t, "open mysql", err)
	t.Cleanup(func() { db.Close() })
	tg := mysql.NewTarget(db, mysql.WithLogger(quiet))
	schema := "bi_pg_" + strings.ToLower(t.Name()[len(t.Name())-5:])
	s.copyTo(t, tg, schema, "matrix")
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
	pgtest.CheckMySQLTarget(t, s.fx, db, schema, "matrix")
}
