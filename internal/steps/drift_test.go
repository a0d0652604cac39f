package steps_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// planThenExport plans runID for company 1, runs between (the source
// changing while the run is under way), exports and loads every chunk
// and returns the swap's result.
func (e *env) planThenExport(runID string, between func()) (ferry.SwapTablesOutput, error) {
	e.t.Helper()
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: runID, RunDate: "2026-03-01", Companies: []int64{1}})
	testdb.Must(e.t, "list tables", err)
	c := e.companies(plan)[0]
	between()
	for _, item := range e.manifest(c) {
		exp, err := invoke[json.RawMessage](e, e.steps.ExportChunk, item)
		testdb.Must(e.t, "export", err)
		_, err = invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp)
		testdb.Must(e.t, "load", err)
	}
	return invoke[ferry.SwapTablesOutput](e, e.steps.SwapTables, c)
}

// TestChunkKeyDrift: a REPLACE INTO between planning and export moves a
// row of items above the planned maximum (its unique sku conflicts, so
// the row with id 3 is deleted and re-inserted as id 13): the export
// misses it, the counts of staging and markers still agree, and before
// the drift check the swap published 11 of 12 rows. Now the swap refuses
// the company naming the default 5% limit and live stays as it was; with
// the company's max_drift_pct at 10 the same kind of change publishes.
func TestChunkKeyDrift(t *testing.T) {
	e := newEnv(t, ferry.EngineMySQL)
	e.seed()
	e.exec(e.src, "ALTER TABLE items ADD UNIQUE KEY (sku)")
	e.runChain("run-1", golden{})
	acme := e.schemaOf("acme")
	before := e.targetRows(acme, "items", []string{"id", "sku"})

	_, err := e.planThenExport("run-2", func() {
		e.exec(e.src, "REPLACE INTO items VALUES (13, 1, 'SKU-3', 3, NULL)")
	})
	if err == nil || errorType(err) != "DataError" || !strings.Contains(err.Error(), "table items") ||
		!strings.Contains(err.Error(), "exported 11 rows where planning counted 12") || !strings.Contains(err.Error(), "5%, the default") || !strings.Contains(err.Error(), "ferry company config 1 max_drift_pct=") {
		t.Fatalf("swap after a row moved above the planned maximum: %v, want a DataError naming items, the counts and the default limit", err)
	}
	if after := e.targetRows(acme, "items", []string{"id", "sku"}); !reflect.DeepEqual(after, before) {
		t.Fatalf("live items changed although the swap was refused: %v, had %v", after, before)
	}

	_, err = invoke[ferry.FinishRunOutput](e, e.steps.Function, steps.Request{Action: steps.ActionFinish, RunID: "run-2",
		Outcomes: []ferry.CompanyOutcome{{CompanyID: 1, Alias: "acme", Failed: true, Error: "DataError"}}})
	testdb.Must(t, "finish", err)
	e.exec(e.admin, "INSERT INTO companies_configurations VALUES (1, 'max_drift_pct', '10')")
	_, err = e.planThenExport("run-3", func() {
		e.exec(e.src, "REPLACE INTO items VALUES (14, 1, 'SKU-4', 4, NULL)")
	})
	testdb.Must(t, "swap within the company's max_drift_pct", err)
}
