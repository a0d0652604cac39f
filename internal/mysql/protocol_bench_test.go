package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	gomysql "github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry/internal/testdb"
)

// mixedRowsSQL fills mixed(id, ...) with n rows shaped like the bench's
// orders table (quotes, commas, CR/LF, backslashes, 10% NULL notes, 1–2 KB
// notes, DECIMAL, DATETIME, TINYINT, JSON) plus the types whose encoding
// differs between the text and binary protocols: DOUBLE, FLOAT,
// VARBINARY and DATETIME(6). MariaDB only (the SEQUENCE engine).
func mixedRowsSQL(n int) []string {
	return []string{
		`CREATE TABLE mixed (id bigint PRIMARY KEY, company_id int NOT NULL, customer varchar(64) NOT NULL, note text NULL,
			amount decimal(12,2) NOT NULL, created_at datetime NULL, status tinyint NOT NULL, payload json NULL,
			f double NULL, fl float NULL, b varbinary(16) NULL, t6 datetime(6) NULL) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		`INSERT INTO mixed SELECT seq, 1 + seq % 20,
			CONCAT(ELT(1 + seq % 6, 'Acme, Inc.', 'O''Brien & Sons', '"Quoted" Ltd', 'CR\r\nLF Corp', 'Back\\slash Co', 'Ünïcödé 🚀 Labs'), ' #', seq % 9973),
			CASE WHEN seq % 10 = 0 THEN NULL WHEN seq % 10 = 1 THEN REPEAT('Lorem ipsum, "dolor" sit amet; ünïcödé ✓ ', 30)
				ELSE SUBSTRING('Customer asked to "expedite", twice.\nCall back; ref #A-17 \\ see ticket\tT-9. Bill, later.', 1 + seq % 40) END,
			(seq % 10000000) / 100, TIMESTAMP('2015-01-01') + INTERVAL (seq * 7919 % 315360000) SECOND, CAST(seq % 256 AS SIGNED) - 128,
			IF(seq % 4 = 0, NULL, JSON_OBJECT('k', seq, 's', 'a "q" \\ b', 'u', 'ü')),
			seq / 3, seq / 7, UNHEX(MD5(seq)), '2024-01-02 03:04:05.123456' + INTERVAL seq SECOND
			FROM seq_1_to_` + strconv.Itoa(n),
	}
}

// BenchmarkExportProtocols exports the same mixed rows (200,000, or
// FERRY_BENCH_ROWS) from MariaDB into a CRC-32C, alternating within each
// iteration between: "binary", Open's pool as it was (binary protocol:
// prepared statement; the driver reads its socket 4 KiB at a time), the
// baseline; "buffered", the same with withReadBuffer (OpenSource's pool);
// "text", the driver's text protocol (interpolateParams=true). It reports
// for each wall and client-CPU ns/row, allocs/row and B/row, and each
// case's ratio to the baseline; it fails if an export differs from the
// baseline's by a byte. The query leaves out FLOAT: the text protocol
// carries FLOAT as the server's 6-digit text, not its 32-bit value, so it
// differs there (0.142857 for 0.14285715) and cannot be Ferry's.
func BenchmarkExportProtocols(b *testing.B) {
	ctx := context.Background()
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	_, dsn := testdb.MySQL(b)
	cases := []struct {
		name string
		opt  func(*gomysql.Config)
		db   *sql.DB
	}{
		{name: "binary", opt: func(*gomysql.Config) {}},
		{name: "buffered", opt: withReadBuffer},
		{name: "text", opt: func(c *gomysql.Config) { c.InterpolateParams = true }},
	}
	for i := range cases {
		db, err := Open(ctx, dsn, cases[i].opt)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		cases[i].db = db
	}
	for _, q := range mixedRowsSQL(n) {
		if _, err := cases[0].db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	req := ferry.ExportRequest{Query: "SELECT id, company_id, customer, note, amount, created_at, status, payload, f, b, t6 FROM mixed",
		ChunkColumn: "id", Lo: 0, Hi: 1 << 40, Target: ferry.EnginePostgres}
	m := make([]exportMeasure, len(cases))
	b.ResetTimer()
	for b.Loop() {
		for i, c := range cases {
			m[i].run(b, NewSource(c.db), req)
		}
	}
	b.StopTimer()
	for i, c := range cases {
		if m[i].sum != m[0].sum {
			b.Errorf("%s: the export differs from the baseline's (CRC-32C %08x vs %08x)", c.name, m[i].sum, m[0].sum)
		}
		m[i].report(b, c.name)
		if i > 0 {
			b.ReportMetric(m[i].cpu.Seconds()/m[0].cpu.Seconds(), c.name+"/binary-cpu")
			b.ReportMetric(m[i].wall.Seconds()/m[0].wall.Seconds(), c.name+"/binary-wall")
		}
	}
}

// exportMeasure sums one export path's cost over the benchmark's iterations.
type exportMeasure struct {
	wall, cpu      time.Duration
	rows           int64
	mallocs, bytes uint64
	sum            uint32
}

// run exports req once from src into a CRC-32C and adds its cost.
func (m *exportMeasure) run(b *testing.B, src *Source, req ferry.ExportRequest) {
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start, c0 := time.Now(), benchCPU()
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	st, err := src.Export(context.Background(), req, h)
	if err != nil {
		b.Fatal(err)
	}
	m.wall += time.Since(start)
	m.cpu += benchCPU() - c0
	runtime.ReadMemStats(&ms1)
	m.rows += st.Rows
	m.mallocs += ms1.Mallocs - ms0.Mallocs
	m.bytes += ms1.TotalAlloc - ms0.TotalAlloc
	m.sum = h.Sum32()
}

func (m *exportMeasure) report(b *testing.B, name string) {
	r := float64(m.rows)
	b.ReportMetric(float64(m.wall.Nanoseconds())/r, name+"-ns/row")
	b.ReportMetric(float64(m.cpu.Nanoseconds())/r, name+"-cpu-ns/row")
	b.ReportMetric(float64(m.mallocs)/r, name+"-allocs/row")
	b.ReportMetric(float64(m.bytes)/r, name+"-B/row")
	fmt.Fprintf(os.Stderr, "%s: %d rows, CRC-32C %08x\n", name, m.rows/int64(b.N), m.sum)
}

func benchCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
