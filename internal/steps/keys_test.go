package steps_test

import (
	"encoding/json"
	"fmt"
	"path"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestChunkKeysNameTheCodec: list-tables names each chunk's key after the
// codec export-chunk will write it with (the store's preference, or
// Deps.Compression): .csv.gz for S3's gzip, .csv for none (a local
// directory's default), .csv.zst for zstd.
func TestChunkKeysNameTheCodec(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	for _, tt := range []struct {
		comp ferry.Compression
		ext  string
	}{{ferry.Compression{}, ".csv.gz"}, {ferry.Compression{Codec: ferry.CodecNone}, ".csv"}, {ferry.Compression{Codec: ferry.CodecZstd, Level: 1}, ".csv.zst"}} {
		s := steps.New(steps.Deps{Config: e.adm, Ledger: e.adm, Source: mysql.NewSource(e.src), Target: e.target, Store: e.store, Compression: tt.comp})
		plan, err := invoke[ferry.ListTablesOutput](e, s.Function, steps.Request{RunID: "run-k", RunDate: "2026-03-01"})
		testdb.Must(t, "list tables", err)
		items := e.manifest(e.companies(plan)[0])
		if len(items) == 0 {
			t.Fatalf("%v: the manifest has no chunks", tt.comp)
		}
		for _, raw := range items {
			var task ferry.ChunkTask
			testdb.Must(t, "decode task", json.Unmarshal(raw, &task))
			want := path.Join(task.RunID, task.Alias, task.Table, fmt.Sprintf("%06d", task.Chunk.Index)) + tt.ext
			if task.Key != want {
				t.Errorf("%v: chunk key %s, want %s", tt.comp, task.Key, want)
			}
		}
	}
}
