package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/sqlparams"
	"github.com/ferrydata/ferry/internal/testdb"
)

func jobsEnv(t *testing.T) (*Jobs, *sql.DB, string) {
	t.Helper()
	name, dsn := testdb.MySQL(t)
	db, err := Open(context.Background(), dsn)
	testdb.Must(t, "open", err)
	t.Cleanup(func() { db.Close() })
	return NewJobs(db), db, name
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	_, err := db.Exec(q, args...)
	testdb.Must(t, q, err)
}

func mysqlBatch(t *testing.T, sql string, params map[string]ferry.Param, schema string, rows int) ferry.JobBatch {
	t.Helper()
	s, err := jobs.Analyze(ferry.Job{Name: "b", Kind: ferry.JobBatched, SQL: sql}, sqlparams.MySQL)
	if err != nil {
		t.Fatal(err)
	}
	return ferry.JobBatch{JobSQL: ferry.JobSQL{SQL: sql, Params: params, Schema: schema, Timeout: 5 * time.Second}, Parts: *s.Batch, Rows: rows, LockTimeout: time.Second}
}

func TestJobsBatchDeleteAndUpdate(t *testing.T) {
	j, db, schema := jobsEnv(t)
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE events (id BIGINT PRIMARY KEY, at DATE NOT NULL, done TINYINT NOT NULL DEFAULT 0, KEY (at))")
	mustExec(t, db, "INSERT INTO events SELECT seq, '2026-01-01' + INTERVAL (seq % 100) DAY, 0 FROM seq_1_to_1000")
	want := count(t, db, "SELECT COUNT(*) FROM events WHERE at < '2026-02-01'")
	b := mysqlBatch(t, "DELETE FROM events WHERE at < :since", map[string]ferry.Param{"since": "2026-02-01"}, schema, 70)
	var total, batches int64
	for {
		n, err := j.BatchJob(ctx, b)
		testdb.Must(t, "batch", err)
		if n > 70 {
			t.Fatalf("a batch of %d rows, limit 70", n)
		}
		if n == 0 {
			break
		}
		total, batches = total+n, batches+1
	}
	if total != want || batches != (want+69)/70 || count(t, db, "SELECT COUNT(*) FROM events") != 1000-want {
		t.Fatalf("deleted %d in %d batches, want %d", total, batches, want)
	}
	u := mysqlBatch(t, "UPDATE events SET done = 1 WHERE done = 0", nil, schema, 300)
	for n, err := j.BatchJob(ctx, u); n > 0 || err != nil; n, err = j.BatchJob(ctx, u) {
		testdb.Must(t, "update batch", err)
	}
	if count(t, db, "SELECT COUNT(*) FROM events WHERE done = 0") != 0 {
		t.Fatal("update left rows")
	}
}

func TestJobsExecStatements(t *testing.T) {
	j, db, schema := jobsEnv(t)
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE sales (id INT PRIMARY KEY, amount DECIMAL(10,2))")
	mustExec(t, db, "CREATE TABLE summary (total DECIMAL(12,2))")
	mustExec(t, db, "INSERT INTO sales VALUES (1, 10), (2, 20)")
	mustExec(t, db, "CREATE PROCEDURE rebuild(IN c INT) BEGIN DELETE FROM summary; INSERT INTO summary SELECT SUM(amount) + c FROM sales; END")
	for _, sql := range []string{"ANALYZE TABLE sales", "OPTIMIZE TABLE sales", "CALL rebuild(:company_id)"} {
		if _, err := j.ExecJob(ctx, ferry.JobSQL{SQL: sql, Params: map[string]ferry.Param{"company_id": 5}, Schema: schema, Timeout: time.Minute}); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if count(t, db, "SELECT CAST(total AS SIGNED) FROM summary") != 35 {
		t.Fatal("the procedure did not run")
	}
	n, err := j.ExecJob(ctx, ferry.JobSQL{SQL: "UPDATE sales SET amount = amount + 1 WHERE id >= :company_id", Params: map[string]ferry.Param{"company_id": 1}, Schema: schema})
	if err != nil || n != 2 {
		t.Fatalf("update: %d %v", n, err)
	}
	_, err = j.ExecJob(ctx, ferry.JobSQL{SQL: "INSERT INTO sales VALUES (1, 1)", Schema: schema})
	var de *ferry.DataError
	if !errors.As(err, &de) {
		t.Fatalf("duplicate key: %T %v", err, err)
	}
	_, err = j.ExecJob(ctx, ferry.JobSQL{SQL: "DELETE FROM nope", Schema: schema})
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Fix, "job's SQL") {
		t.Fatalf("missing table: %T %v", err, err)
	}
	if err := j.CheckJob(ctx, ferry.JobSQL{SQL: "DELETE FROM sales WHERE id = :company_id", Params: map[string]ferry.Param{"company_id": 1}, Schema: schema}, nil); err != nil {
		t.Fatal(err)
	}
	b := mysqlBatch(t, "DELETE FROM sales WHERE amount > :x", map[string]ferry.Param{"x": 1}, schema, 10)
	if err := j.CheckJob(ctx, b.JobSQL, &b.Parts); err != nil {
		t.Fatal(err)
	}
	if err := j.CheckJob(ctx, ferry.JobSQL{SQL: "DELETE FROM nope", Schema: schema}, nil); !errors.As(err, &ce) {
		t.Fatalf("check of a missing table: %v", err)
	}
	if count(t, db, "SELECT COUNT(*) FROM sales") != 2 {
		t.Fatal("CheckJob changed data")
	}
}

func TestJobsExtract(t *testing.T) {
	j, db, schema := jobsEnv(t)
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE partner (id INT PRIMARY KEY, note VARCHAR(50) NULL, amount DECIMAL(10,2), at DATETIME(6), d DATE, b VARBINARY(4)) ")
	mustExec(t, db, "SET SESSION sql_mode = ''")
	mustExec(t, db, `INSERT INTO partner VALUES (1, 'a "quoted", comma', 1.50, '2026-12-03 01:02:03.456789', '2026-12-03', 0x00FF), (2, NULL, -0.01, NULL, '0000-00-00', NULL), (3, 'NULL', 0, '2026-01-01 00:00:00', NULL, ''), (4, 'line1\r\nline2 \\ 😀', 100, NULL, NULL, 'ab')`)
	var buf strings.Builder
	st, err := j.ExtractJob(ctx, ferry.JobSQL{SQL: "SELECT id, note, amount, at, d, b FROM partner WHERE id >= :company_id ORDER BY id", Params: map[string]ferry.Param{"company_id": 1}, Schema: schema}, &buf)
	testdb.Must(t, "extract", err)
	// The export dialect, byte for byte: NULL apart from 'NULL', quotes
	// doubled, CR/LF and backslashes kept, DECIMAL as text, DATETIME(6)
	// without a time zone, a zero date as the server gives it, binary as
	// \x + hex.
	want := `"id","note","amount","at","d","b"` + "\n" +
		`"1","a ""quoted"", comma","1.50","2026-12-03 01:02:03.456789","2026-12-03","\x00ff"` + "\n" +
		`"2",NULL,"-0.01",NULL,"0000-00-00",NULL` + "\n" +
		`"3","NULL","0.00","2026-01-01 00:00:00.000000",NULL,"\x"` + "\n" +
		"\"4\",\"line1\r\nline2 \\ 😀\",\"100.00\",NULL,NULL,\"\\x6162\"\n"
	if buf.String() != want || st.Rows != 4 || st.RawBytes != int64(len(want)) {
		t.Fatalf("extract (%d rows, %d bytes):\n%q\nwant\n%q", st.Rows, st.RawBytes, buf.String(), want)
	}
	// A query that is not a read-only SELECT is refused.
	_, err = j.ExtractJob(ctx, ferry.JobSQL{SQL: "SELECT * FROM partner FOR UPDATE", Schema: schema}, &buf)
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("FOR UPDATE: %v", err)
	}
	// A value over max_allowed_packet, which the server turns into NULL
	// with warning 1301, is refused, not extracted as NULL.
	var packet int64
	testdb.Must(t, "max_allowed_packet", db.QueryRow("SELECT @@SESSION.max_allowed_packet").Scan(&packet))
	_, err = j.ExtractJob(ctx, ferry.JobSQL{SQL: fmt.Sprintf("SELECT id, REPEAT('x', %d) AS v FROM partner", packet+1), Schema: schema}, io.Discard)
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "1301") || !strings.Contains(ce.Fix, "raise max_allowed_packet on the job's database") {
		t.Fatalf("a value over max_allowed_packet: %v", err)
	}
}
