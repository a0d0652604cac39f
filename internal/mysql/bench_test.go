package mysql

import (
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// BenchmarkExport exports a 50,000-row chunk; allocations per op and the
// heap in use after it show that memory does not grow with the chunk.
func BenchmarkExport(b *testing.B) {
	_, dsn := testdb.MySQL(b)
	ctx := context.Background()
	db, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// MySQL and MariaDB name the recursion limit differently; one of
	// these fails harmlessly.
	db.Exec("SET SESSION cte_max_recursion_depth = 100000")
	db.Exec("SET SESSION max_recursive_iterations = 100000")
	for _, q := range []string{
		"CREATE TABLE big (id int PRIMARY KEY, s varchar(100), d decimal(20,6), f double, b varbinary(32), t datetime(6))",
		"INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 50000) " +
			"SELECT i, CONCAT('row \"', i, '\", with, commas'), i/7, i/3, UNHEX(MD5(i)), '2024-01-02 03:04:05.123456' FROM n",
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	src := NewSource(db)
	req := ferry.ExportRequest{Query: "SELECT * FROM big", ChunkColumn: "id", Lo: 0, Hi: 1 << 40}
	b.ReportAllocs()
	b.ResetTimer()
	var st ferry.ExportStats
	for b.Loop() {
		st, err = src.Export(ctx, req, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(st.Rows), "rows/op")
	b.ReportMetric(float64(st.RawBytes)/float64(st.Rows), "bytes/row")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}
