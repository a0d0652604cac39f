package steps

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/ferrydata/ferry"
)

// BenchmarkCodecs compresses and decompresses one real chunk's CSV with
// each codec and level (FERRY_BENCH_CSV=file, e.g. a chunk object of a
// `ferry run` on a local directory, which is uncompressed CSV), reporting
// the object's bytes and the ratio; ns/op is export plus load CPU per
// chunk. Skipped without the file (make bench runs it).
func BenchmarkCodecs(b *testing.B) {
	path := os.Getenv("FERRY_BENCH_CSV")
	if path == "" {
		b.Skip("FERRY_BENCH_CSV is not set")
	}
	csv, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []ferry.Compression{{Codec: ferry.CodecNone}, {Codec: ferry.CodecGzip, Level: 1}, {Codec: ferry.CodecGzip, Level: 3},
		{Codec: ferry.CodecGzip, Level: 6}, {Codec: ferry.CodecZstd, Level: 1}, {Codec: ferry.CodecZstd, Level: 2}} {
		b.Run(c.String(), func(b *testing.B) {
			var obj bytes.Buffer
			b.SetBytes(int64(len(csv)))
			for i := 0; i < b.N; i++ {
				obj.Reset()
				w, err := newEncoder(&obj, c)
				if err != nil {
					b.Fatal(err)
				}
				w.Write(csv)
				w.Close()
				r, closeDecoder, err := newDecoder(bufio.NewReaderSize(bytes.NewReader(obj.Bytes()), ioBuffer))
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(csv)) {
					b.Fatalf("round trip: %d bytes, %v", n, err)
				}
				closeDecoder()
			}
			b.ReportMetric(float64(obj.Len()), "object-bytes")
			b.ReportMetric(float64(len(csv))/float64(obj.Len()), "ratio")
		})
	}
}
