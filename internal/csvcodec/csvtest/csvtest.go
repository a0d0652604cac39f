// Package csvtest builds small CSVs in Ferry's dialect for tests.
package csvtest

import (
	"bytes"
	"strconv"

	"github.com/ferrydata/ferry/internal/csvcodec"
)

// KV is a CSV with header (id, v) and one row per id in [lo, hi), with
// v = prefix + id.
func KV(prefix string, lo, hi int64) []byte {
	var b bytes.Buffer
	w := csvcodec.NewWriter(&b)
	w.WriteHeader([]string{"id", "v"})
	for i := lo; i < hi; i++ {
		id := strconv.FormatInt(i, 10)
		w.Write([]csvcodec.Field{{Data: []byte(id)}, {Data: []byte(prefix + id)}})
	}
	w.Flush()
	return b.Bytes()
}
