package plan

import "github.com/ferrydata/ferry"

// denseGaps is how much larger than the row count a key span may be for
// the keys to count as dense (10%: a few deleted rows).
const denseGaps = 10

// denseStarts cuts a dense key (the span Max-Min+1 at most denseGaps%
// larger than the row count, as an auto-increment id with few deletes) into
// chunks of about every rows by arithmetic, with no keyset walk: the walk's
// ORDER BY ... LIMIT 1 OFFSET every probes read every row of the index
// again. Any starts are correct (Ranges covers [Min, Max+1) whatever they
// are); density only makes the chunks even. nil: not dense, or one chunk.
func denseStarts(b ferry.Bounds, every int64) []int64 {
	if every < 1 || b.Rows <= every {
		return nil
	}
	span := b.Max - b.Min + 1
	// A span beyond 2^40 is never dense here (and k*span must not overflow).
	if span <= 0 || span > 1<<40 || span > b.Rows+b.Rows/denseGaps {
		return nil
	}
	n := (b.Rows + every - 1) / every
	starts := make([]int64, 0, n-1)
	for k := int64(1); k < n; k++ {
		starts = append(starts, b.Min+k*span/n)
	}
	return starts
}
