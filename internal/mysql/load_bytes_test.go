package mysql

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestInsertLoaderBatchesByBytes: the INSERT fallback flushes a batch at
// maxInsertBatchBytes, not only at its row count, so big rows (here six
// 3 MB values, 18 MB, more than the server's 16 MB max_allowed_packet in
// one statement) load within a bounded memory and packet size.
func TestInsertLoaderBatchesByBytes(t *testing.T) {
	db, schema := openDB(t)
	tgt := NewTarget(db, WithLogger(slog.New(slog.DiscardHandler)), WithInsertLoader(100))
	cols := []ferry.Column{{Name: "id", Type: "int"}, {Name: "v", Type: "longtext", Nullable: true}}
	stg := ferry.StagingName("blobs")
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "blobs", stg, cols, "id"))
	var b strings.Builder
	b.WriteString("\"id\",\"v\"\n")
	big := strings.Repeat("x", 3<<20)
	for i := 1; i <= 6; i++ {
		b.WriteString("\"" + string(rune('0'+i)) + "\",\"" + big + "\"\n")
	}
	n, err := tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 10}, strings.NewReader(b.String()))
	testdb.Must(t, "load", err)
	if n != 6 {
		t.Fatalf("loaded %d rows, want 6", n)
	}
	if got := count(t, db, "SELECT COUNT(*) FROM `"+schema+"`.`"+stg+"` WHERE LENGTH(v) = ?", 3<<20); got != 6 {
		t.Fatalf("%d full rows in staging, want 6", got)
	}
}
