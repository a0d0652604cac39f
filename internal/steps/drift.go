package steps

import (
	"fmt"

	"github.com/ferrydata/ferry"
)

// checkDrift compares, for each table, the rows exported (the sum of its
// done markers) with the rows planned (TablePlan.EstRows, the query's
// count at planning time) before anything is swapped. A difference of
// more than MaxDriftPct (ferry.DefaultMaxDriftPct when the company does
// not set max_drift_pct) percent of the rows planned is a DataError: the
// chunk key is not stable (rows moved above the planned maximum by
// REPLACE INTO or an UPDATE of the key vanish, and a moved row can be
// exported twice), or the source changed in bulk during the run. The
// company fails; every live table of it stays as it is. The check reads
// only the plan and the markers, so a retry after a swap gives the same
// answer.
func checkDrift(companyID int64, company, runID string, tables []ferry.TablePlan, per map[string]*tableAgg) error {
	for _, t := range tables {
		planned, exported := t.EstRows, per[t.Table].rows
		if planned == exported {
			continue
		}
		limit, which := ferry.DefaultMaxDriftPct, "the default"
		if t.MaxDriftPct != nil {
			limit, which = *t.MaxDriftPct, "the company's max_drift_pct"
		}
		diff := exported - planned
		if diff < 0 {
			diff = -diff
		}
		pct := 100.0
		if planned > 0 {
			pct = float64(diff) * 100 / float64(planned)
		}
		if pct <= limit {
			continue
		}
		return &ferry.DataError{Where: ferry.Where{Company: company, Table: t.Table},
			Msg: fmt.Sprintf("run %s exported %d rows where planning counted %d (%.1f%% off; the limit is %g%%, %s): rows changed their chunk key %s or were written in bulk between planning and export; nothing of the company was swapped",
				runID, exported, planned, pct, limit, which, t.ChunkColumn),
			Fix: fmt.Sprintf("chunk on an immutable key (the source table's primary key, never updated or re-inserted with a new value: see docs/reliability.md) and run again; if the source really changes this much during a run, raise the limit (`ferry company config %d max_drift_pct=N`)", companyID)}
	}
	return nil
}
