package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// BenchmarkLoadCommit loads chunks of (id bigint, v varchar(50)) rows into
// two staging tables, alternating within each iteration (each first in
// every other one): one with the
// load's commit synchronous (the baseline, as before), one with
// synchronous_commit off (Load now). Each iteration loads a new range, as
// a run's chunks do. It reports the wall ns per chunk and per row of each
// and the off/on ratio.
func BenchmarkLoadCommit(b *testing.B) {
	for _, rows := range []int64{1000, 50000, 250000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) { benchLoadCommit(b, rows) })
	}
}

func benchLoadCommit(b *testing.B, rows int64) {
	ctx := context.Background()
	url := testdb.Postgres(b)
	modes := []struct {
		name string
		sync bool
		tg   *Target
		stg  string
	}{{name: "sync", sync: true}, {name: "async"}}
	for i := range modes {
		tg, err := Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer tg.Close()
		tg.Logger, tg.syncLoads = slog.New(slog.DiscardHandler), modes[i].sync
		testdb.Must(b, "ensure schema", tg.EnsureSchema(ctx, testSchema))
		modes[i].tg, modes[i].stg = tg, ferry.StagingName("orders_"+modes[i].name)
		testdb.Must(b, "prepare staging", tg.PrepareStaging(ctx, testSchema, "orders_"+modes[i].name, modes[i].stg, kvCols, "id"))
	}
	var took [2]time.Duration
	lo := int64(1)
	b.ResetTimer()
	for b.Loop() {
		data := kvCSV("v", lo, lo+rows)
		for k := range modes {
			// Each goes first every other iteration.
			i := (k + int(lo/rows)) % len(modes)
			m := modes[i]
			start := time.Now()
			if _, err := m.tg.Load(ctx, ferry.LoadRequest{Schema: testSchema, Staging: m.stg, ChunkColumn: "id", Lo: lo, Hi: lo + rows}, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
		}
		lo += rows
	}
	b.StopTimer()
	for i, m := range modes {
		b.ReportMetric(float64(took[i].Nanoseconds())/float64(b.N), m.name+"-ns/chunk")
		b.ReportMetric(float64(took[i].Nanoseconds())/float64(int64(b.N)*rows), m.name+"-ns/row")
	}
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "async/sync")
}
