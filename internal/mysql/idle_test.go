package mysql

import (
	"io"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestCloseIdle: after an export, the source's and target's pools keep a
// connection open; CloseIdle closes them (the server sees none of this
// database's sessions), and the next statement opens one again.
func TestCloseIdle(t *testing.T) {
	ctx := ctxT(t)
	name, dsn := testdb.MySQL(t)
	src, closeSrc, err := Engine{}.OpenSource(ctx, dsn, nil)
	testdb.Must(t, "open source", err)
	defer closeSrc()
	tgt, closeTgt, err := Engine{}.OpenTarget(ctx, dsn, nil)
	testdb.Must(t, "open target", err)
	defer closeTgt()
	watch, _ := testdb.MySQLDB(t) // another database: its own session is not counted
	sessions := func() int {
		var n int
		testdb.Must(t, "count sessions", watch.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?", name).Scan(&n))
		return n
	}
	db := src.(*Source).db
	exec(t, db, "CREATE TABLE t (id int PRIMARY KEY)")
	exec(t, db, "INSERT INTO t VALUES (1), (2)")
	if _, err := src.Export(ctx, ferry.ExportRequest{Query: "SELECT id FROM t", ChunkColumn: "id", Lo: 0, Hi: 10}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := tgt.Count(ctx, name, "t"); err != nil {
		t.Fatal(err)
	}
	if n := sessions(); n == 0 {
		t.Fatal("no idle session after the export: the test cannot tell CloseIdle works")
	}
	src.(*Source).CloseIdle()
	tgt.(*Target).CloseIdle()
	// The server drops a closed session's thread shortly after.
	for try := 0; sessions() != 0; try++ {
		if try == 50 {
			t.Fatalf("%d sessions left after CloseIdle", sessions())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := src.Export(ctx, ferry.ExportRequest{Query: "SELECT id FROM t", ChunkColumn: "id", Lo: 0, Hi: 10}, io.Discard); err != nil {
		t.Fatalf("export after CloseIdle: %v", err)
	}
}
