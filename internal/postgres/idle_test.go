package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/ferrydata/ferry/internal/testdb"
)

// TestCloseIdle: after a statement the target's pool keeps a connection
// open; CloseIdle closes it (the server sees no session of the pool), and
// the next statement opens one again.
func TestCloseIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := testdb.Postgres(t)
	tgt, done, err := Engine{}.OpenTarget(ctx, url, nil)
	testdb.Must(t, "open target", err)
	defer done()
	pool := tgt.(*Target).pool
	db := pool.Config().ConnConfig.Database
	watch, _ := testdb.PostgresConn(t) // another database: its own session is not counted
	sessions := func() int {
		var n int
		testdb.Must(t, "count sessions", watch.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", db).Scan(&n))
		return n
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tgt.Count(ctx, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if sessions() == 0 {
		t.Fatal("no idle session after a statement: the test cannot tell CloseIdle works")
	}
	tgt.(*Target).CloseIdle()
	// pg_stat_activity is updated as the backends exit.
	for i := 0; sessions() != 0; i++ {
		if i == 50 {
			t.Fatalf("%d sessions left after CloseIdle", sessions())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := tgt.Count(ctx, "public", "t"); err != nil {
		t.Fatalf("count after CloseIdle: %v", err)
	}
}
