package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/plan"
)

// refusedChanges checks the tables whose policy is ferry.SchemaRefuse: the
// first whose query's columns differ from its live table gives a
// *ferry.ConfigError naming the company, the table, each column with its
// old and new type, and the fix; nil when nothing is refused. A policy
// Ferry does not know is refused too.
func (s *Steps) refusedChanges(ctx context.Context, company, schema string, tables []plan.TablePlan) (*ferry.ConfigError, error) {
	for _, t := range tables {
		where := ferry.Where{Company: company, Table: t.Spec.Name}
		switch t.Spec.SchemaChanges {
		case "", ferry.SchemaEvolve:
			continue
		case ferry.SchemaRefuse:
		default:
			return &ferry.ConfigError{Where: where, Msg: fmt.Sprintf("schema_changes %q is not a policy", t.Spec.SchemaChanges),
				Fix: "set tables.schema_changes to evolve or refuse (ferry table add --replace --schema-changes ...)"}, nil
		}
		changes, err := s.d.Target.SchemaChanges(ctx, schema, t.Spec.Name, t.Columns, t.Spec.ChunkColumn)
		if err != nil {
			return nil, fmt.Errorf("company %s, table %s: compare the query's columns with the live table: %w", company, t.Spec.Name, err)
		}
		if len(changes) > 0 {
			return RefuseChanges(where, schema, changes), nil
		}
	}
	return nil, nil
}

// RefuseChanges is the ConfigError of a table whose policy refuses
// schema changes: each change (column, old and new type) and the fix.
func RefuseChanges(where ferry.Where, schema string, changes []ferry.SchemaChange) *ferry.ConfigError {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return &ferry.ConfigError{Where: where,
		Msg: fmt.Sprintf("the query's columns differ from the live table %s.%s and its schema_changes policy is refuse: %s; nothing of this company was copied",
			schema, where.Table, strings.Join(parts, "; ")),
		Fix: fmt.Sprintf("ALTER TABLE %s.%s to the new shape (or change the query back), or let Ferry publish the new shape with `ferry table add --replace --name %s ... --schema-changes evolve`",
			schema, where.Table, where.Table)}
}
