package s3store_test

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/storetest"
)

func TestMain(m *testing.M) {
	s3test.ServeIfChild()
	os.Exit(m.Run())
}

// peakHeap samples HeapInuse while fn runs and returns the peak above the
// heap in use before it started.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
			peak.Store(ms.HeapInuse - base)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	sample()
	return peak.Load()
}

// BenchmarkCreateStreaming writes a 64 MiB object through Create to an S3
// in a child process (so only the client's memory is in this heap) and
// fails if the heap grew by more than half the object: the writer streams
// parts, it never holds the object. Reports MB/s and the peak heap growth.
func BenchmarkCreateStreaming(b *testing.B) {
	const size = 64 << 20
	fake := s3test.StartProcess(b)
	s := s3store.New(fake.Client, fake.Bucket, s3store.WithPartSize(s3store.MinPartSize), s3store.WithConcurrency(2))
	chunk := storetest.Data(1, 1<<20)
	b.SetBytes(size)
	var worst uint64
	for b.Loop() {
		peak := peakHeap(func() {
			w, err := s.Create(context.Background(), "big")
			if err != nil {
				b.Fatal(err)
			}
			for written := 0; written < size; written += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Commit(); err != nil {
				b.Fatal(err)
			}
		})
		worst = max(worst, peak)
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MiB")
	if worst > size/2 {
		b.Fatalf("heap grew by %d MiB writing a %d MiB object: the writer is buffering it", worst>>20, size>>20)
	}
}
