// Package heaptest measures a test's heap high-water mark: what a piece
// of work held at most, for tests that bound or report memory (never
// time).
package heaptest

import (
	"runtime"
	"sync"
	"time"
)

// Peak collects garbage, then samples runtime.MemStats.HeapInuse every
// millisecond until the returned stop is called. stop returns the heap in
// use when Peak was called and the highest sample (bytes). Sampling stops
// the world briefly; a peak shorter than a millisecond can be missed.
func Peak() (stop func() (base, peak uint64)) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return base, peak
	}
}
