package mysql

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/heaptest"
)

// TestExportMemoryBoundedByRow: exporting a chunk of big rows (15 MB
// BLOBs, under the server's default 16 MB max_allowed_packet so no server
// setting changes) holds a bounded number of rows, not the chunk: the
// heap's high-water mark for 8 such rows (120 MB of values, 240 MB of CSV)
// stays below the chunk's size, and is reported for 1, 2 and 8 rows.
func TestExportMemoryBoundedByRow(t *testing.T) {
	db, _ := openDB(t)
	const size = 15 << 20
	exec(t, db, "CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)")
	for id := 1; id <= 8; id++ {
		exec(t, db, "INSERT INTO big VALUES (?, REPEAT(UNHEX(SHA2(?, 256)), ?))", id, fmt.Sprint(id), size/32)
	}
	src := NewSource(db, WithLogger(slog.New(slog.DiscardHandler)))
	peaks := map[int]uint64{}
	for _, n := range []int{1, 2, 8} {
		stop := heaptest.Peak()
		st, err := src.Export(ctxT(t), ferry.ExportRequest{Query: "SELECT id, b FROM big", ChunkColumn: "id", Lo: 1, Hi: int64(n) + 1}, io.Discard)
		base, peak := stop()
		if err != nil || st.Rows != int64(n) {
			t.Fatalf("export of %d rows: %d rows, %v", n, st.Rows, err)
		}
		peaks[n] = peak - base
		t.Logf("%d rows of %d MB (%d MB of CSV): heap in use peak +%d MB", n, size>>20, st.RawBytes>>20, peaks[n]>>20)
	}
	if chunk := uint64(8 * size); peaks[8] >= chunk {
		t.Errorf("exporting 8 rows of %d MB raised the heap by %d MB, as much as the chunk's %d MB of values: memory grows with the chunk", size>>20, peaks[8]>>20, chunk>>20)
	}
}
