package postgres

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// BenchmarkExportPaths compares, on the same 200,000 rows and in the same
// process, the two ways of exporting a chunk with its parameters bound:
//
//   - rows: Source.Export, a bound extended-protocol SELECT whose text
//     results are quoted into the CSV dialect by Ferry;
//   - copy: COPY (SELECT ...) TO STDOUT (FORMAT csv, FORCE_QUOTE *,
//     NULL 'NULL'), which writes the same bytes on the server. COPY takes
//     no parameters, so each value is bound to set_config('ferry.pN', $1,
//     true) and the query reads it back as
//     (SELECT current_setting('ferry.pN')::<type the server inferred>).
//
// It reports wall and client CPU nanoseconds per row of each, the server
// backend's CPU per row when /proc shows it, and the copy/rows ratios.
func BenchmarkExportPaths(b *testing.B) {
	// One connection, so that its backend's CPU can be read from /proc.
	url := testdb.Postgres(b) + "&pool_max_conns=1"
	ctx := context.Background()
	tg, err := Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	if _, err := tg.Pool().Exec(ctx, `CREATE TABLE big AS SELECT i::bigint AS id, (i % 20)::int AS company,
		'row "' || i || '", with, commas' AS s, round(i / 7.0, 6)::numeric(20,6) AS d, i / 3.0::float8 AS f,
		decode(md5(i::text), 'hex') AS b, timestamp '2024-01-02 03:04:05.123456' + i * interval '1 s' AS t
		FROM generate_series(1, 200000) i; ALTER TABLE big ADD PRIMARY KEY (id); ANALYZE big`); err != nil {
		b.Fatal(err)
	}
	src := NewSource(tg.Pool())
	req := ferry.ExportRequest{Query: "SELECT * FROM big WHERE company >= :c", Params: map[string]ferry.Param{"c": int64(0)},
		ChunkColumn: "id", Lo: 0, Hi: 1 << 40, Target: ferry.EnginePostgres}
	var pid uint32
	if err := tg.Pool().QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatal(err)
	}
	rows, copyRows := measure{pid: pid}, measure{pid: pid}
	b.ResetTimer()
	for b.Loop() {
		rows.run(func() int64 {
			st, err := src.Export(ctx, req, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			return st.Rows
		})
		copyRows.run(func() int64 { return copyExport(b, tg, req) })
	}
	b.StopTimer()
	rows.report(b, "rows")
	copyRows.report(b, "copy")
	b.ReportMetric(copyRows.wall.Seconds()/rows.wall.Seconds(), "copy/rows-wall")
	b.ReportMetric((copyRows.cpu+copyRows.server).Seconds()/(rows.cpu+rows.server).Seconds(), "copy/rows-cpu")
}

// measure sums one export path's rows, wall time, client CPU and the CPU
// of the server backend pid (when /proc shows it: same machine).
type measure struct {
	pid               uint32
	rows              int64
	wall, cpu, server time.Duration
}

func (m *measure) run(f func() int64) {
	start, c0, s0 := time.Now(), processCPU(), backendCPU(m.pid)
	m.rows += f()
	m.wall += time.Since(start)
	m.cpu += processCPU() - c0
	m.server += backendCPU(m.pid) - s0
}

func (m *measure) report(b *testing.B, name string) {
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(m.rows) }
	b.ReportMetric(per(m.wall), name+"-ns/row")
	b.ReportMetric(per(m.cpu), name+"-cpu-ns/row")
	b.ReportMetric(per(m.server), name+"-server-cpu-ns/row")
}

// backendCPU is the user+system CPU of process pid (0 if unreadable).
func backendCPU(pid uint32) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * (time.Second / 100) // USER_HZ
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// copyExport is the COPY path: values bound through set_config, the query
// reading them back with the types the server inferred for $n.
func copyExport(b *testing.B, tg *Target, req ferry.ExportRequest) int64 {
	ctx := context.Background()
	conn, err := tg.Pool().Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	bq, err := bindQuery("bench", req.Query, req.Params)
	if err != nil {
		b.Fatal(err)
	}
	bq, n := bq.with(req.Lo, req.Hi)
	c := chunkRef(req.ChunkColumn)
	sql := "SELECT * FROM " + derivedPG(bq.sql) + " WHERE " + c + " >= " + placeholder(n) + "::bigint AND " + c + " < " + placeholder(n+1) + "::bigint"
	if _, err := pc.Exec(ctx, "BEGIN READ ONLY").ReadAll(); err != nil {
		b.Fatal(err)
	}
	defer func() { pc.Exec(ctx, "ROLLBACK").ReadAll() }()
	sd, err := pc.Prepare(ctx, "", sql, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := len(sd.ParamOIDs); i >= 1; i-- {
		var typ [1][]byte
		if err := scanOne(pc.ExecParams(ctx, "SELECT format_type($1::oid, NULL), set_config('ferry.p'||$2, $3, true)",
			[][]byte{[]byte(strconv.Itoa(int(sd.ParamOIDs[i-1]))), []byte(strconv.Itoa(i)), bq.args[i-1]}, nil, nil, nil), typ[:]); err != nil {
			b.Fatal(err)
		}
		sql = strings.ReplaceAll(sql, placeholder(i), fmt.Sprintf("(SELECT current_setting('ferry.p%d')::%s)", i, typ[0]))
	}
	tag, err := pc.CopyTo(ctx, io.Discard, "COPY ("+sql+") TO STDOUT (FORMAT csv, FORCE_QUOTE *, NULL 'NULL')")
	if err != nil {
		b.Fatal(err)
	}
	return tag.RowsAffected()
}
