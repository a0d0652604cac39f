package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/plan"
)

// TableSchemaChanges is one company × table whose query's columns differ
// from its live table: what the next run publishes with the swap (policy
// evolve) or refuses (policy refuse).
type TableSchemaChanges struct {
	CompanyID int64                    `json:"company_id"`
	Alias     string                   `json:"alias"`
	Schema    string                   `json:"target_schema"`
	Table     string                   `json:"table"`
	Policy    ferry.SchemaChangePolicy `json:"policy"`
	Changes   []ferry.SchemaChange     `json:"changes"`
}

// Refused reports whether the next run fails the company for it.
func (c TableSchemaChanges) Refused() bool { return c.Policy == ferry.SchemaRefuse }

// Summary is the changes in one line.
func (c TableSchemaChanges) Summary() string {
	parts := make([]string, len(c.Changes))
	for i, ch := range c.Changes {
		parts[i] = ch.String()
	}
	return strings.Join(parts, "; ")
}

// PendingSchemaChanges compares every planned table's query columns with
// its live table on tgt (Target.SchemaChanges: nothing is changed) and
// returns the tables that differ, in plan order.
func PendingSchemaChanges(ctx context.Context, tgt ferry.Target, p plan.Plan) ([]TableSchemaChanges, error) {
	var out []TableSchemaChanges
	for _, cp := range p.Companies {
		for _, t := range cp.Tables {
			if len(t.Columns) == 0 {
				continue
			}
			changes, err := tgt.SchemaChanges(ctx, cp.Company.Schema, t.Spec.Name, t.Columns, t.Spec.ChunkColumn)
			if err != nil {
				return out, fmt.Errorf("company %d (%s), table %s: compare with the live table: %w", cp.Company.ID, cp.Company.Alias, t.Spec.Name, err)
			}
			if len(changes) == 0 {
				continue
			}
			policy := t.Spec.SchemaChanges
			if policy == "" {
				policy = ferry.SchemaEvolve
			}
			out = append(out, TableSchemaChanges{CompanyID: cp.Company.ID, Alias: cp.Company.Alias, Schema: cp.Company.Schema,
				Table: t.Spec.Name, Policy: policy, Changes: changes})
		}
	}
	return out, nil
}

// schemaItems are the check items of pending schema changes: a failure for
// each table whose policy refuses them, an ok naming what an evolving
// table's next swap publishes.
func schemaItems(pending []TableSchemaChanges) []Item {
	var items []Item
	for _, c := range pending {
		it := Item{Status: StatusOK, Check: "schema", Database: string(TargetDB), Company: fmt.Sprintf("%d (%s)", c.CompanyID, c.Alias), Table: c.Table,
			Message: fmt.Sprintf("the next run publishes the query's new shape of %s.%s with the swap: %s", c.Schema, c.Table, c.Summary())}
		if c.Refused() {
			it.Status = StatusFail
			it.Message = fmt.Sprintf("the query's columns differ from the live table %s.%s and the table's policy refuses schema changes: %s", c.Schema, c.Table, c.Summary())
			it.Fix = fmt.Sprintf("ALTER TABLE %s.%s to the new shape, or `ferry table add --replace --name %s ... --schema-changes evolve`", c.Schema, c.Table, c.Table)
		}
		items = append(items, it)
	}
	return items
}
