package faults

import (
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
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
	if !res.Failed() || !strings.Contains(res.Execution.Cause, "alpha") || !strings.Contains(res.Execution.Cause, "is full") {
		t.Fatalf("run %s %s: %s; want FAILED naming alpha with the server's message", res.Execution.Status, res.Execution.Error, res.Execution.Cause)
	}
	t.Logf("refused: %s", res.Execution.Cause)
	if d := diff(before["alpha"], w.liveRows(t, companies[0])); d != "" {
		t.Errorf("alpha's live table changed though its load failed: %s", d)
	}
	if d := diff(w.sourceRows(t, companies[1]), w.liveRows(t, companies[1])); d != "" {
		t.Errorf("beta's live table is not the new source: %s", d)
	}
}
