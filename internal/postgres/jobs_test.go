package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

func batchOf(t *testing.T, sql string, params map[string]ferry.Param, schema string, rows int) ferry.JobBatch {
	t.Helper()
	s, err := jobs.Analyze(ferry.Job{Name: "b", Kind: ferry.JobBatched, SQL: sql}, sqlparams.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	return ferry.JobBatch{JobSQL: ferry.JobSQL{SQL: sql, Params: params, Schema: schema, Timeout: 5 * time.Second}, Parts: *s.Batch, Rows: rows, LockTimeout: time.Second}
}

func TestJobsBatchDeleteAndUpdate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	j := NewJobs(e.tg.Pool())
	e.exec(`CREATE TABLE bi_acme."Events" (id bigint PRIMARY KEY, at date NOT NULL, done boolean NOT NULL DEFAULT false)`)
	e.exec(`INSERT INTO bi_acme."Events" SELECT g, DATE '2026-01-01' + (g % 100), false FROM generate_series(1, 1000) g`)
	b := batchOf(t, `DELETE FROM "Events" e WHERE e.at < :since`, map[string]ferry.Param{"since": "2026-02-01"}, testSchema, 70)
	want := e.int(`SELECT count(*) FROM bi_acme."Events" WHERE at < '2026-02-01'`)
	var total, batches int64
	for {
		n, err := j.BatchJob(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if n > 70 {
			t.Fatalf("a batch of %d rows, limit 70", n)
		}
		if n == 0 {
			break
		}
		total += n
		batches++
	}
	if total != want || batches != (want+69)/70 || e.int(`SELECT count(*) FROM bi_acme."Events" WHERE at < '2026-02-01'`) != 0 || e.int(`SELECT count(*) FROM bi_acme."Events"`) != 1000-want {
		t.Fatalf("deleted %d in %d batches, want %d", total, batches, want)
	}
	u := batchOf(t, `UPDATE "Events" SET done = true WHERE NOT done`, nil, testSchema, 300)
	for n, err := j.BatchJob(ctx, u); n > 0 || err != nil; n, err = j.BatchJob(ctx, u) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.int(`SELECT count(*) FROM bi_acme."Events" WHERE NOT done`) != 0 {
		t.Fatal("update left rows")
	}
}

func TestJobsBatchPartitionedUsesKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	j := NewJobs(e.tg.Pool())
	e.exec(`CREATE TABLE bi_acme.p (id bigint, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k)`)
	e.exec(`CREATE TABLE bi_acme.p1 PARTITION OF bi_acme.p FOR VALUES IN (1)`)
	e.exec(`CREATE TABLE bi_acme.p2 PARTITION OF bi_acme.p FOR VALUES IN (2)`)
	// Same ctids in both partitions: deleting k = 1 must not touch k = 2.
	e.exec(`INSERT INTO bi_acme.p SELECT g, 1 FROM generate_series(1, 50) g`)
	e.exec(`INSERT INTO bi_acme.p SELECT g, 2 FROM generate_series(1, 50) g`)
	b := batchOf(t, `DELETE FROM p WHERE k = 1`, nil, testSchema, 20)
	for n, err := j.BatchJob(ctx, b); n > 0 || err != nil; n, err = j.BatchJob(ctx, b) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.int(`SELECT count(*) FROM bi_acme.p WHERE k = 1`) != 0 || e.int(`SELECT count(*) FROM bi_acme.p WHERE k = 2`) != 50 {
		t.Fatal("the partitioned purge touched the wrong rows")
	}
	e.exec(`CREATE TABLE bi_acme.nokey (k int) PARTITION BY LIST (k)`)
	e.exec(`CREATE TABLE bi_acme.nokey1 PARTITION OF bi_acme.nokey FOR VALUES IN (1)`)
	_, err := j.BatchJob(ctx, batchOf(t, `DELETE FROM nokey`, nil, testSchema, 20))
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no primary key") {
		t.Fatalf("%v", err)
	}
}

func TestJobsExecStatements(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	j := NewJobs(e.tg.Pool())
	e.exec(`CREATE TABLE bi_acme.sales (id int PRIMARY KEY, amount numeric)`)
	e.exec(`INSERT INTO bi_acme.sales VALUES (1, 10), (2, 20)`)
	e.exec(`CREATE MATERIALIZED VIEW bi_acme.sales_summary AS SELECT sum(amount) AS total FROM bi_acme.sales`)
	e.exec(`CREATE UNIQUE INDEX ON bi_acme.sales_summary (total)`)
	e.exec(`INSERT INTO bi_acme.sales VALUES (3, 30)`)
	for _, sql := range []string{
		"REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary", // cannot run in a transaction
		"VACUUM (ANALYZE) sales",
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS sales_amount ON sales (amount)",
		"ANALYZE sales",
	} {
		if _, err := j.ExecJob(ctx, ferry.JobSQL{SQL: sql, Schema: testSchema, Timeout: time.Minute}); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if e.int(`SELECT total FROM bi_acme.sales_summary`) != 60 {
		t.Fatal("the materialized view was not refreshed")
	}
	n, err := j.ExecJob(ctx, ferry.JobSQL{SQL: "UPDATE sales SET amount = amount + 1 WHERE id >= :company_id", Params: map[string]ferry.Param{"company_id": 2}, Schema: testSchema})
	if err != nil || n != 2 {
		t.Fatalf("update: %d %v", n, err)
	}
	// The session settings of a statement that ran outside a transaction
	// do not leak into the pool.
	var path string
	if err := e.tg.Pool().QueryRow(ctx, "SHOW search_path").Scan(&path); err != nil || strings.Contains(path, "bi_acme") {
		t.Fatalf("search_path %q %v", path, err)
	}
	_, err = j.ExecJob(ctx, ferry.JobSQL{SQL: "REFRESH MATERIALIZED VIEW nope", Schema: testSchema})
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("missing view: %T %v", err, err)
	}
	_, err = j.ExecJob(ctx, ferry.JobSQL{SQL: "INSERT INTO sales VALUES (1, 1)", Schema: testSchema})
	var de *ferry.DataError
	if !errors.As(err, &de) {
		t.Fatalf("duplicate key: %T %v", err, err)
	}
	if err := j.CheckJob(ctx, ferry.JobSQL{SQL: "DELETE FROM sales WHERE id = :company_id", Params: map[string]ferry.Param{"company_id": 1}, Schema: testSchema}, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.CheckJob(ctx, ferry.JobSQL{SQL: "DELETE FROM nope", Schema: testSchema}, nil); !errors.As(err, &ce) {
		t.Fatalf("check of a missing table: %v", err)
	}
	if e.int(`SELECT count(*) FROM bi_acme.sales`) != 3 {
		t.Fatal("CheckJob changed data")
	}
}

func TestJobsExtract(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	j := NewJobs(e.tg.Pool())
	e.exec(`CREATE TABLE bi_acme.partner (id int PRIMARY KEY, note text, amount numeric(10,2), at timestamptz, b bytea, ok boolean, f float8)`)
	e.exec(`INSERT INTO bi_acme.partner VALUES (1, 'a "quoted", comma', 1.50, '2026-12-03 01:02:03.456789+02', '\x00ff', true, 0.1),
		(2, NULL, -0.01, NULL, NULL, NULL, NULL), (3, 'NULL', 0, '2026-01-01 00:00:00+00', '', false, '-0'::float8), (4, E'line1\r\nline2 \\ 😀', 100, NULL, 'ab', NULL, 1e300)`)
	var buf strings.Builder
	st, err := j.ExtractJob(ctx, ferry.JobSQL{SQL: "SELECT id, note, amount, at, b, ok, f FROM partner WHERE id >= :company_id ORDER BY id",
		Params: map[string]ferry.Param{"company_id": int64(1)}, Schema: testSchema}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	want := `"id","note","amount","at","b","ok","f"` + "\n" +
		`"1","a ""quoted"", comma","1.50","2026-12-02 23:02:03.456789+00","\x00ff","t","0.1"` + "\n" +
		`"2",NULL,"-0.01",NULL,NULL,NULL,NULL` + "\n" +
		`"3","NULL","0.00","2026-01-01 00:00:00+00","\x","f","-0"` + "\n" +
		"\"4\",\"line1\r\nline2 \\ 😀\",\"100.00\",NULL,\"\\x6162\",NULL,\"1e+300\"\n"
	if buf.String() != want || st.Rows != 4 || st.RawBytes != int64(len(want)) {
		t.Fatalf("extract (%d rows):\n%q\nwant\n%q", st.Rows, buf.String(), want)
	}
	// Read-only: a data-modifying CTE is refused by the parser or the server.
	_, err = j.ExtractJob(ctx, ferry.JobSQL{SQL: "WITH d AS (DELETE FROM partner RETURNING id) SELECT * FROM d", Schema: testSchema}, &buf)
	if err == nil || e.int(`SELECT count(*) FROM bi_acme.partner`) != 4 {
		t.Fatalf("a writing extract ran: %v", err)
	}
}
