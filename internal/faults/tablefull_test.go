package faults

import (
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/local"
)

// TestTableFullDuringLoad: the target refuses a load's rows as a full
// disk does. MariaDB answers a full InnoDB tablespace with error 1114 "The
// table ... is full"; a MEMORY table past its MAX_ROWS gives the same
// error, so alpha's live table is made one (staging is created like it).
// Alpha fails with the server's message and its live table as it was;
// beta is published.
func TestTableFullDuringLoad(t *testing.T) {
	t.Parallel()
	w := newWorld(t, ferry.EngineMySQL)
	succeeded(t, w.run(t, "published"))
	exec(t, w.tdb, "ALTER TABLE `"+w.schema["alpha"]+"`.orders ENGINE = MEMORY MAX_ROWS = 100")
	before := w.snapshot(t)
	w.changeSource(t)
	w.addOrders(t, w.next, w.next+299) // 150 more rows each: far past MAX_ROWS
	res := w.run(t, "full")
	w.alphaFailedBetaPublished(t, res, before, "is full", "free space")
}

// alphaFailedBetaPublished checks a run in which alpha's load failed: the
// run failed naming alpha and quoting want (the server's message, the
// fix), alpha's live table is as in before, beta's is the source.
func (w *world) alphaFailedBetaPublished(t *testing.T, res *local.Result, before map[string][]string, want ...string) {
	t.Helper()
	cause := res.Execution.Cause
	ok := res.Failed() && strings.Contains(cause, "alpha")
	for _, s := range want {
		ok = ok && strings.Contains(cause, s)
	}
	if !ok {
		t.Fatalf("run %s %s: %s; want FAILED naming alpha with %q", res.Execution.Status, res.Execution.Error, cause, want)
	}
	t.Logf("refused: %s", cause)
	if d := diff(before["alpha"], w.liveRows(t, companies[0])); d != "" {
		t.Errorf("alpha's live table changed though its load failed: %s", d)
	}
	if d := diff(w.sourceRows(t, companies[1]), w.liveRows(t, companies[1])); d != "" {
		t.Errorf("beta's live table is not the new source: %s", d)
	}
}
