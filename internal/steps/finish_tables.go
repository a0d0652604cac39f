package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// maxRowError bounds the error a run-history row keeps.
const maxRowError = 4000

// tableLine is one table of a failed company's chunk manifest: its number
// of chunks and, when some were not loaded, the summary line naming them.
type tableLine struct {
	table  string
	chunks int
	line   string
}

// failedCompany is a failed company as finish-run sees it: its summary
// line and its tables (none when the store has no manifest for it, as for
// a company that failed at planning).
type failedCompany struct {
	id     int64
	line   string
	tables []tableLine
}

// rowError is the run-history error of table tl of failed company c: the
// table's unloaded-chunks line when it has one, then the company's failure.
func (c failedCompany) rowError(tl tableLine) string {
	msg := "not swapped: " + c.line
	if tl.line != "" {
		msg = tl.line + "; not swapped: " + c.line
	}
	return clip(msg, maxRowError)
}

// planTables are the tables of alias's plan (plan.json), then those of
// withChunks (the chunk manifest's, in order) the plan lacks; only
// withChunks when the plan cannot be read.
func (s *Steps) planTables(ctx context.Context, runID, alias string, withChunks []string) []string {
	var plan ferry.Manifest
	if err := getJSON(ctx, s.d.Store, ferry.PlanKey(runID, alias), &plan); err != nil {
		return withChunks
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range plan.Tables {
		out, seen[t.Table] = append(out, t.Table), true
	}
	for _, tb := range withChunks {
		if !seen[tb] {
			out = append(out, tb)
		}
	}
	return out
}

// unloadedLines are the summary's lines for tables: those with chunks not
// loaded, or the problem reading the store.
func unloadedLines(tables []tableLine, problem string) []string {
	if problem != "" {
		return []string{problem}
	}
	var out []string
	for _, tl := range tables {
		if tl.line != "" {
			out = append(out, tl.line)
		}
	}
	return out
}

type companyTable struct {
	company int64
	table   string
}

// recordUnswapped gives every table of a failed company that has no row
// in the run's history (swap-tables records a row per table, swapped or
// failed; a company whose chunk map failed never reaches it) a row with
// status failed and the cause (failedCompany.rowError). It returns the
// rows such a failure has, recorded now or by an earlier attempt of
// finish-run, by table and error, so that the summary does not list them
// again as "not swapped". Idempotent.
func (s *Steps) recordUnswapped(ctx context.Context, runID string, failed []failedCompany, loads []admin.TableLoad) (map[companyTable]string, error) {
	has := make(map[companyTable]bool, len(loads))
	for _, l := range loads {
		has[companyTable{l.CompanyID, l.Table}] = true
	}
	mine := map[companyTable]string{}
	for _, c := range failed {
		for _, tl := range c.tables {
			k, msg := companyTable{c.id, tl.table}, c.rowError(tl)
			mine[k] = msg
			if has[k] {
				continue
			}
			if err := s.d.Ledger.RecordTableLoad(ctx, admin.TableLoad{RunID: runID, CompanyID: c.id, Table: tl.table,
				Chunks: tl.chunks, Status: admin.LoadFailed, Error: msg}); err != nil {
				return nil, fmt.Errorf("record table %s of company %d as failed: %w", tl.table, c.id, err)
			}
		}
	}
	return mine, nil
}

// notSwappedLines are the summary's lines for the failed rows of loads
// that a failed swap wrote (every table of the company: none was
// swapped), one per company and error, naming the tables. Rows that
// recordUnswapped wrote (mine) are left out: the company's line says it.
func notSwappedLines(loads []admin.TableLoad, mine map[companyTable]string) []string {
	type key struct {
		company int64
		msg     string
	}
	var order []key
	tablesOf := map[key][]string{}
	for _, l := range loads {
		if l.Status != admin.LoadFailed {
			continue
		}
		if msg, ok := mine[companyTable{l.CompanyID, l.Table}]; ok && msg == l.Error {
			continue
		}
		k := key{l.CompanyID, l.Error}
		if _, seen := tablesOf[k]; !seen {
			order = append(order, k)
		}
		tablesOf[k] = append(tablesOf[k], l.Table)
	}
	var out []string
	for _, k := range order {
		out = append(out, fmt.Sprintf("company %d, tables %s: not swapped: %s", k.company, strings.Join(tablesOf[k], ", "), clip(k.msg, 500)))
	}
	return out
}
