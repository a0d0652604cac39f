package wire

import (
	"context"
	"testing"
	"time"

	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestHandlerClosesIdleConnections: when an invocation ends, the Lambda
// handler leaves no connection open on the source or the target (a frozen
// environment would hold it against the connection budget); the pools and
// secrets stay, and the next invocation connects again.
func TestHandlerClosesIdleConnections(t *testing.T) {
	ctx := context.Background()
	name, dsn := testdb.MySQL(t)
	env := map[string]string{EnvSourceDSN: mysqlURL(t, dsn), EnvTargetDSN: mysqlURL(t, dsn)}
	var calls int
	step := func(s *steps.Steps, ctx context.Context, in string) (string, error) {
		calls++
		return in, nil
	}
	h := handlerFrom(func(k string) string { return env[k] }, steps.NeedSource|steps.NeedTarget, step, all...)
	watch, _ := testdb.MySQLDB(t) // another database: its own session is not counted
	sessions := func() int {
		var n int
		testdb.Must(t, "count sessions", watch.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?", name).Scan(&n))
		return n
	}
	for i := range 2 {
		if _, err := h(ctx, "x"); err != nil {
			t.Fatalf("invocation %d: %v", i+1, err)
		}
		// The server drops a closed session's thread shortly after.
		for try := 0; sessions() != 0; try++ {
			if try == 50 {
				t.Fatalf("after invocation %d, %d connections are still open", i+1, sessions())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if calls != 2 {
		t.Fatalf("step ran %d times", calls)
	}
}
