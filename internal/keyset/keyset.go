// Package keyset plans chunk boundaries by walking a chunk column's values
// in order, the same way on every engine: each adapter answers the three
// probes with its own SQL.
package keyset

import (
	"fmt"

	"github.com/ferrydata/ferry"
)

// Probe is a question about the chunk column's values in [from, hi) of the
// query's result.
type Probe int

const (
	// First is the smallest value >= from.
	First Probe = iota
	// Step is the value every rows after the first one >= from, in order
	// (ORDER BY col LIMIT 1 OFFSET every).
	Step
	// Next is the smallest value > from.
	Next
)

// Walk returns the values at which chunks of about every rows start in
// [lo, hi): the smallest value >= lo, then repeatedly the value every rows
// further on. When more than every rows share one value, it moves on to
// the next distinct value instead, so it always advances: it never loops
// and never returns more than rows/every+1 values, whatever the gaps
// between keys (ids 1 and 1.8e18 give two boundaries, not an empty-chunk
// storm). The values are strictly increasing; chunk i is [b[i], b[i+1]),
// the last one [b[last], hi). An empty range returns nil.
//
// probe answers p for values >= from (> from for Next) and < hi; ok is
// false when there is no such value. A chunk size below 1 is a
// *ferry.ConfigError prefixed with op.
func Walk(op string, lo, hi, every int64, probe func(p Probe, from int64) (v int64, ok bool, err error)) ([]int64, error) {
	if every < 1 {
		return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: chunk size %d", op, every), Fix: "set chunk_rows to a positive number"}
	}
	if lo >= hi {
		return nil, nil
	}
	cur, ok, err := probe(First, lo)
	if err != nil || !ok {
		return nil, err
	}
	out := []int64{cur}
	for {
		nxt, ok, err := probe(Step, cur)
		if err == nil && ok && nxt <= cur {
			nxt, ok, err = probe(Next, cur)
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, nxt)
		cur = nxt
	}
}
