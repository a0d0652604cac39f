package deploytest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// newPGEventsWorld is eventsWorld with a PostgreSQL admin database and a
// PostgreSQL source seeded from sam/source-postgres.sql (the same company
// 42 and tables).
func newPGEventsWorld(t *testing.T) (*eventsWorld, *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	w := &eventsWorld{t: t, ctx: ctx}
	adminURL := testdb.Postgres(t)
	pool, err := postgres.OpenPool(ctx, adminURL)
	testdb.Must(t, "open admin", err)
	t.Cleanup(pool.Close)
	configureEvents(t, ctx, postgres.NewAdmin(pool))
	src, sourceURL := testdb.PostgresConn(t)
	for _, s := range sqlStatements(t, "sam/source-postgres.sql") {
		if _, err := src.Exec(ctx, s); err != nil {
			t.Fatalf("seed source: %s: %v", s, err)
		}
	}
	w.start(adminURL, sourceURL)
	return w, src
}

// TestSAMEventsInvokePostgres invokes the PostgreSQL-source sam/events
// (list-tables-postgres.json, export-chunk-postgres.json,
// load-chunk-postgres.json), unchanged, through lambda.NewHandler(fn).Invoke
// with the handlers the mains start, against a PostgreSQL admin database,
// a PostgreSQL source (sam/source-postgres.sql) and a PostgreSQL target:
// the payloads are what the real steps produce (with -update-events they
// are rewritten), the rest of the manifest's chunks and the company's swap
// go through the same handlers, and every published table equals its
// source query, row for row as PostgreSQL prints it.
func TestSAMEventsInvokePostgres(t *testing.T) {
	w, src := newPGEventsWorld(t)
	var listReq steps.Request
	listEvent := readEvent(t, "list-tables-postgres.json", &listReq)
	var plan ferry.ListTablesOutput
	w.invoke("list-tables", listEvent, &plan)
	companies, err := steps.Companies(w.ctx, w.store, plan)
	testdb.Must(t, "read the companies manifest", err)
	if plan.RunID != listReq.RunID || plan.Companies != 1 || len(companies) != 1 || plan.Tables != 3 || plan.Chunks != 9 {
		t.Fatalf("list-tables-postgres.json planned %+v, want 1 company, 3 tables, 9 chunks (as on MySQL)", plan)
	}
	loaded, _ := w.copyChunks(companies[0], "export-chunk-postgres.json", "load-chunk-postgres.json", func(task ferry.ChunkTask) bool {
		return task.Table == "orders" && task.Chunk.Index == 1
	})
	body, err := json.Marshal(companies[0])
	testdb.Must(t, "marshal company", err)
	var sw ferry.SwapTablesOutput
	w.invoke("swap-tables", body, &sw)
	if len(sw.Tables) != 3 {
		t.Fatalf("swap-tables: %+v", sw)
	}
	schema := ferry.DefaultSchema("acme")
	queries := map[string]string{
		"orders":    "SELECT id, customer_id, total, status, created_at FROM orders WHERE company_id = 42 AND created_at >= '2026-08-24' ORDER BY id",
		"customers": "SELECT id, name, email, country FROM customers WHERE company_id = 42 ORDER BY id",
		"products":  "SELECT id, sku, price FROM products WHERE company_id = 42 AND region = 'eu' ORDER BY id",
	}
	for _, tr := range sw.Tables {
		var want, got string
		testdb.Must(t, "source "+tr.Table, src.QueryRow(w.ctx, "SELECT count(*) || ':' || md5(string_agg(q::text, '|')) FROM ("+queries[tr.Table]+") q").Scan(&want))
		testdb.Must(t, "target "+tr.Table, w.pg.QueryRow(w.ctx, `SELECT count(*) || ':' || md5(string_agg(q::text, '|' ORDER BY id)) FROM "`+schema+`"."`+tr.Table+`" q`).Scan(&got))
		if got != want || tr.Rows != loaded[tr.Table] {
			t.Errorf("table %s: target %s, source %s (swapped %d rows, loaded %d)", tr.Table, got, want, tr.Rows, loaded[tr.Table])
		}
	}
}
