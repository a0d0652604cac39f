package mysql

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// rangeCSV is the CSV of rows lo..hi-1 of (id, v), v tagged with tag.
func rangeCSV(lo, hi int, tag string) []byte {
	var b strings.Builder
	b.WriteString("\"id\",\"v\"\n")
	for i := lo; i < hi; i++ {
		fmt.Fprintf(&b, "\"%d\",\"%s%d\"\n", i, tag, i)
	}
	return []byte(b.String())
}

// TestLoadRangeNeighboursAndRetries: a first load into an empty range does
// not wait on a neighbouring chunk's uncommitted LOAD DATA (no range
// DELETE; the session's lock wait timeout is 2 s, so a wait fails the load
// with error 1205 instead of passing), and a retry of a chunk whose
// earlier attempt committed still replaces its rows: never duplicated,
// never stale.
func TestLoadRangeNeighboursAndRetries(t *testing.T) {
	_, dsn := testdb.MySQL(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := Open(ctxT(t), dsn+sep+"innodb_lock_wait_timeout=2")
	testdb.Must(t, "open", err)
	t.Cleanup(func() { db.Close() })
	var schema string
	testdb.Must(t, "schema", db.QueryRowContext(ctxT(t), "SELECT DATABASE()").Scan(&schema))
	tgt := NewTarget(db, WithLogger(slog.New(slog.DiscardHandler)))
	cols := []ferry.Column{{Name: "id", Type: "int", Nullable: false}, {Name: "v", Type: "varchar(20)", Nullable: true}}
	stg := ferry.StagingName("orders")
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
	req := func(lo, hi int64) ferry.LoadRequest {
		return ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: "id", Lo: lo, Hi: hi}
	}

	// The right-hand neighbour [101,201) stalls mid-stream with rows
	// inserted and not committed.
	data := rangeCSV(101, 201, "n")
	cut := bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1
	br := &blockingReader{first: data[:cut], rest: data[cut:], started: make(chan struct{}), release: make(chan struct{})}
	neighbour := make(chan error, 1)
	go func() { _, err := tgt.Load(ctxT(t), req(101, 201), br); neighbour <- err }()
	<-br.started
	for _, lo := range []int64{1, 201} {
		if n, err := tgt.Load(ctxT(t), req(lo, lo+100), bytes.NewReader(rangeCSV(int(lo), int(lo)+100, "a"))); err != nil || n != 100 {
			t.Fatalf("first load of [%d,%d) beside an uncommitted neighbour: %d rows, %v", lo, lo+100, n, err)
		}
	}
	close(br.release)
	testdb.Must(t, "neighbour", <-neighbour)

	// A retry after a committed attempt (say its marker was lost) with
	// fewer rows: the range holds the retry's rows only.
	if n, err := tgt.Load(ctxT(t), req(1, 101), bytes.NewReader(rangeCSV(1, 51, "b"))); err != nil || n != 50 {
		t.Fatalf("retry: %d rows, %v", n, err)
	}
	if got := count(t, db, "SELECT COUNT(*) FROM `"+stg+"` WHERE id >= 1 AND id < 101"); got != 50 {
		t.Fatalf("range [1,101) holds %d rows after the retry, want 50", got)
	}
	if got := count(t, db, "SELECT COUNT(*) FROM `"+stg+"` WHERE id < 101 AND v NOT LIKE 'b%'"); got != 0 {
		t.Fatalf("%d stale rows of the first attempt survived the retry", got)
	}
	if got := count(t, db, "SELECT COUNT(*) FROM `"+stg+"`"); got != 250 {
		t.Fatalf("staging holds %d rows, want 250", got)
	}

	// The export said 60 rows, the object holds 50: refused before the
	// commit, the range keeps the retry's rows.
	short := req(1, 101)
	short.Rows, short.RowsKnown = 60, true
	_, err = tgt.Load(ctxT(t), short, bytes.NewReader(rangeCSV(1, 51, "c")))
	var de *ferry.DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "the export wrote 60") {
		t.Fatalf("load of 50 rows the export counted as 60: %v, want a DataError", err)
	}
	if got := count(t, db, "SELECT COUNT(*) FROM `"+stg+"` WHERE id < 101 AND v LIKE 'b%'"); got != 50 {
		t.Fatalf("range [1,101) holds %d of the earlier rows after a refused load, want 50", got)
	}
}
