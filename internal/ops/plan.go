package ops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/plan"
)

// DryRunID is the run id of a plan that is only printed.
const DryRunID = "dry-run"

// LoadConfig reads the active companies (only ids, when given) and the
// active tables. An id that is missing or inactive is a
// *ferry.ConfigError naming it.
func LoadConfig(ctx context.Context, db *admin.DB, ids []int64) ([]ferry.Company, []ferry.TableSpec, error) {
	companies, err := db.ActiveCompanies(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	if len(ids) > 0 {
		got := map[int64]bool{}
		for _, c := range companies {
			got[c.ID] = true
		}
		var missing []string
		for _, id := range ids {
			if !got[id] {
				missing = append(missing, fmt.Sprint(id))
			}
		}
		if len(missing) > 0 {
			return nil, nil, &ferry.ConfigError{Where: ferry.Where{Company: strings.Join(missing, ", ")},
				Msg: "no active company with this id", Fix: "see `ferry company list`; enable one with `ferry company enable ID`"}
		}
	}
	tables, err := db.ActiveTables(ctx)
	if err != nil {
		return nil, nil, err
	}
	return companies, tables, nil
}

// BuildPlan plans a run like list-tables does, without writing anything:
// no lease, no run row, no staging table, no object.
func BuildPlan(ctx context.Context, db *admin.DB, src ferry.Source, engine ferry.Engine, ids []int64, runDate time.Time) (plan.Plan, error) {
	companies, tables, err := LoadConfig(ctx, db, ids)
	if err != nil {
		return plan.Plan{}, err
	}
	p, err := plan.Build(ctx, src, companies, tables, plan.Options{RunID: DryRunID, RunDate: runDate, Target: engine})
	return p, ImproveFixes(err)
}

// PlanRow is one company × table of a plan, as `ferry plan` prints it.
type PlanRow struct {
	CompanyID   int64  `json:"company_id"`
	Alias       string `json:"alias"`
	Table       string `json:"table"`
	Schema      string `json:"target_schema"`
	TargetTable string `json:"target_table"`
	Staging     string `json:"staging_table"`
	EstRows     int64  `json:"est_rows"`
	Chunks      int    `json:"chunks"`
	ChunkColumn string `json:"chunk_column"`
	Min         int64  `json:"min"`
	Max         int64  `json:"max"`
}

// PlanRows flattens p in company then table order.
func PlanRows(p plan.Plan) []PlanRow {
	var out []PlanRow
	for _, c := range p.Companies {
		for _, t := range c.Tables {
			out = append(out, PlanRow{
				CompanyID: c.Company.ID, Alias: c.Company.Alias, Table: t.Spec.Name,
				Schema: c.Company.Schema, TargetTable: c.Company.Schema + "." + t.Spec.Name, Staging: t.Staging,
				EstRows: t.Bounds.Rows, Chunks: len(t.Chunks), ChunkColumn: t.Spec.ChunkColumn,
				Min: t.Bounds.Min, Max: t.Bounds.Max,
			})
		}
	}
	return out
}
