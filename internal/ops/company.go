package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/plan"
)

// CompanyAdded is what AddCompanyChecked did: the company, the target's
// engine, and what the next run will copy for it.
type CompanyAdded struct {
	Company       ferry.Company `json:"company"`
	Engine        ferry.Engine  `json:"target_engine"`
	SchemaCreated bool          `json:"schema_ensured"`
	Plan          []PlanRow     `json:"plan"`
	EstRows       int64         `json:"est_rows"`
	Chunks        int           `json:"chunks"`
	// Tables is the number of active tables (0: the next run copies
	// nothing for the company).
	Tables int `json:"-"`
}

// NotWrittenError is a check that failed before anything was written.
type NotWrittenError struct {
	Why string
	Err error
}

func (e *NotWrittenError) Error() string { return e.Err.Error() }
func (e *NotWrittenError) Unwrap() error { return e.Err }

// AddCompanyChecked is `ferry company add` after the input was checked
// (CheckCompany): with every database answering, it validates the active
// tables' queries for the company (a failure is a *NotWrittenError:
// nothing is written), writes the company in one transaction, creates its
// target schema and plans what the next run will copy.
func AddCompanyChecked(ctx context.Context, db *admin.DB, src ferry.Source, tgt ferry.Target, in CompanyInput, runDate time.Time) (CompanyAdded, error) {
	company := in.Company()
	res := CompanyAdded{Company: company, Engine: tgt.Engine(), Plan: []PlanRow{}}
	tables, err := db.ActiveTables(ctx)
	if err != nil {
		return res, err
	}
	res.Tables = len(tables)
	opt := plan.Options{RunID: DryRunID, RunDate: runDate, Target: tgt.Engine()}
	if len(tables) > 0 {
		if _, err := plan.Validate(ctx, src, []ferry.Company{company}, tables, opt); err != nil {
			return res, &NotWrittenError{Why: fmt.Sprintf("the next run would fail for company %d (%s); nothing was written.", in.ID, in.Alias), Err: ImproveFixes(err)}
		}
	}
	if err := AddCompany(ctx, db, in); err != nil {
		return res, err
	}
	if err := tgt.EnsureSchema(ctx, company.Schema); err != nil {
		return res, fmt.Errorf("company %d (%s) was added, but creating its target schema %s failed: %w (fix: grant the target account CREATE, then run `ferry check`; the next run also creates the schema)",
			in.ID, in.Alias, company.Schema, err)
	}
	res.SchemaCreated = true
	if len(tables) == 0 {
		return res, nil
	}
	p, err := plan.Build(ctx, src, []ferry.Company{company}, tables, opt)
	if err != nil {
		return res, fmt.Errorf("company %d (%s) was added and its schema created, but planning its tables failed: %w", in.ID, in.Alias, err)
	}
	res.Plan, res.Chunks = PlanRows(p), p.Chunks()
	for _, r := range res.Plan {
		res.EstRows += r.EstRows
	}
	return res, nil
}
