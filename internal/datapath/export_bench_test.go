package datapath

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/testdb"
)

// BenchmarkExportPerRow exports the same 200,000 rows (bigint, int,
// varchar, decimal(20,6), double, 16 bytes of binary, datetime(6)) from
// MariaDB and from PostgreSQL in each iteration, and reports each source's
// wall and client-CPU nanoseconds per row and the PostgreSQL/MySQL ratios
// (below 1: the PostgreSQL export is faster per row).
func BenchmarkExportPerRow(b *testing.B) {
	ctx := context.Background()
	const rows = "200000"
	myDB, _ := testdb.MySQLDB(b)
	for _, q := range []string{
		"CREATE TABLE big (id bigint PRIMARY KEY, company int, s varchar(100), d decimal(20,6), f double, b varbinary(16), t datetime(6))",
		"INSERT INTO big SELECT seq, seq % 20, CONCAT('row \"', seq, '\", with, commas'), seq / 7, seq / 3, UNHEX(MD5(seq)), '2024-01-02 03:04:05.123456' + INTERVAL seq SECOND FROM seq_1_to_" + rows,
	} {
		if _, err := myDB.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	pgURL := testdb.Postgres(b)
	tg, err := postgres.Open(ctx, pgURL)
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	if _, err := tg.Pool().Exec(ctx, `CREATE TABLE big AS SELECT i::bigint AS id, (i % 20)::int AS company,
		('row "' || i || '", with, commas')::varchar(100) AS s, round(i / 7.0, 6)::numeric(20,6) AS d, i / 3.0::float8 AS f,
		decode(md5(i::text), 'hex') AS b, timestamp '2024-01-02 03:04:05.123456' + i * interval '1 s' AS t
		FROM generate_series(1, `+rows+`) i; ALTER TABLE big ADD PRIMARY KEY (id); ANALYZE big`); err != nil {
		b.Fatal(err)
	}
	req := ferry.ExportRequest{Query: "SELECT * FROM big WHERE company >= :c", Params: map[string]ferry.Param{"c": int64(0)},
		ChunkColumn: "id", Lo: 0, Hi: 1 << 40, Target: ferry.EnginePostgres}
	sources := []struct {
		name string
		src  ferry.Source
	}{{"mysql", mysql.NewSource(myDB)}, {"postgres", postgres.NewSource(tg.Pool())}}
	var wall, cpu [2]time.Duration
	var n [2]int64
	b.ResetTimer()
	for b.Loop() {
		for i, s := range sources {
			start, c0 := time.Now(), clientCPU()
			st, err := s.src.Export(ctx, req, io.Discard)
			if err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			wall[i] += time.Since(start)
			cpu[i] += clientCPU() - c0
			n[i] += st.Rows
		}
	}
	b.StopTimer()
	for i, s := range sources {
		b.ReportMetric(float64(wall[i].Nanoseconds())/float64(n[i]), s.name+"-ns/row")
		b.ReportMetric(float64(cpu[i].Nanoseconds())/float64(n[i]), s.name+"-cpu-ns/row")
	}
	b.ReportMetric(wall[1].Seconds()/wall[0].Seconds(), "pg/mysql-wall")
	b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "pg/mysql-cpu")
}

func clientCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
