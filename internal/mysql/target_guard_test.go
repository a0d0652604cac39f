package mysql

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestStagingLikeLiveGetsAChunkIndex: staging created LIKE a hand-made live
// table without an index led by the chunk column gets one (so a load's
// range DELETE does not scan the table); live is left as it is.
func TestStagingLikeLiveGetsAChunkIndex(t *testing.T) {
	tests := []struct {
		name, ddl string
		wantAdded bool
	}{
		{"no index at all", "CREATE TABLE `orders` (`id` BIGINT NOT NULL, `v` VARCHAR(10))", true},
		{"chunk column second in an index", "CREATE TABLE `orders` (`id` BIGINT NOT NULL, `v` VARCHAR(10), KEY `k` (`v`, `id`))", true},
		{"primary key on the chunk column", "CREATE TABLE `orders` (`id` BIGINT NOT NULL PRIMARY KEY, `v` VARCHAR(10))", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, schema := openDB(t)
			_, err := db.ExecContext(ctxT(t), strings.Replace(tt.ddl, "`orders`", "`"+schema+"`.`orders`", 1))
			testdb.Must(t, "create live", err)
			tgt := NewTarget(db, WithLogger(slog.New(slog.DiscardHandler)))
			stg := ferry.StagingName("orders")
			testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, nil, "id"))
			q := "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = 'id'"
			if n := count(t, db, q, schema, stg); n == 0 {
				t.Fatal("staging has no index led by the chunk column")
			}
			added := count(t, db, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'ferry_chunk'", schema, stg) > 0
			if added != tt.wantAdded {
				t.Fatalf("ferry_chunk added = %v, want %v", added, tt.wantAdded)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders' AND INDEX_NAME = 'ferry_chunk'", schema); n != 0 {
				t.Fatal("live was given an index")
			}
		})
	}
}

// TestLoadRefusesRowsOutsideTheRange: a CSV with rows outside the chunk's
// [lo, hi) is refused and nothing of it is committed.
func TestLoadRefusesRowsOutsideTheRange(t *testing.T) {
	for _, insert := range []bool{false, true} {
		name := "load data"
		opts := []Option{WithLogger(slog.New(slog.DiscardHandler))}
		if insert {
			name = "insert loader"
			opts = append(opts, WithInsertLoader(100))
		}
		t.Run(name, func(t *testing.T) {
			db, schema := openDB(t)
			tgt := NewTarget(db, opts...)
			cols := []ferry.Column{{Name: "id", Type: "int"}, {Name: "v", Type: "varchar(20)", Nullable: true}}
			stg := ferry.StagingName("orders")
			testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
			csv := "\"id\",\"v\"\n\"10\",\"in\"\n\"11\",\"in\"\n\"99\",\"out\"\n"
			_, err := tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: "id", Lo: 10, Hi: 20}, strings.NewReader(csv))
			var de *ferry.DataError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), "outside the chunk's range") {
				t.Fatalf("load = %v, want a DataError about the range", err)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM `"+schema+"`.`"+stg+"`"); n != 0 {
				t.Fatalf("staging has %d rows after a refused load", n)
			}
		})
	}
}
