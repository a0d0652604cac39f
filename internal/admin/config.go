package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ferrydata/ferry"
)

// Status values of companies.status and tables.status.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// DefaultChunkColumn is the chunk column of a table whose chunk_column is
// NULL (rows of the original tool).
const DefaultChunkColumn = "id"

// DefaultChunkRows is the chunk size of a table whose chunk_rows is NULL
// (250k rows: faster than 100k and 200k in docs/performance.md).
const DefaultChunkRows int64 = 250_000

// CompanyRow is a companies row with its configuration and status.
type CompanyRow struct {
	ferry.Company
	Status string `json:"status"`
	// SchemaSet is true when target_schema is set (not the default).
	SchemaSet bool `json:"schema_set"`
}

// TableRow is a tables row with its status.
type TableRow struct {
	ferry.TableSpec
	Status string `json:"status"`
}

// ParseParams reads a params_select value: a comma- or space-separated
// list, or a JSON array of strings. A leading ':' is dropped. Empty or NULL
// is no parameters.
func ParseParams(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var names []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &names); err != nil {
			return nil, fmt.Errorf("params_select %q is neither a comma-separated list nor a JSON array of strings: %v", s, err)
		}
	} else {
		names = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ';' })
	}
	out := names[:0]
	for _, n := range names {
		n = strings.TrimPrefix(strings.TrimSpace(n), ":")
		if n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// FormatParams is how Ferry writes params_select.
func FormatParams(names []string) string { return strings.Join(names, ",") }

// ListCompanies returns every company (any status) with its configuration,
// ordered by company_id.
func (db *DB) ListCompanies(ctx context.Context) ([]CompanyRow, error) {
	return db.b.Companies(ctx, nil, false)
}

// ActiveCompanies returns the active companies with their configuration
// values, ordered by company_id. With ids, only those (that are active);
// ids that are missing or inactive are simply absent: the caller compares.
// A status other than active or inactive (a row edited by hand) is a
// *ferry.ConfigError naming the company: a run does not guess.
func (db *DB) ActiveCompanies(ctx context.Context, ids []int64) ([]ferry.Company, error) {
	rows, err := db.b.Companies(ctx, ids, false)
	if err != nil {
		return nil, err
	}
	out := make([]ferry.Company, 0, len(rows))
	var probs []error
	for _, r := range rows {
		switch {
		case strings.EqualFold(r.Status, StatusActive):
			out = append(out, r.Company)
		case !strings.EqualFold(r.Status, StatusInactive):
			probs = append(probs, &ferry.ConfigError{Where: ferry.Where{Company: fmt.Sprintf("%d (%s)", r.ID, r.Alias)},
				Msg: fmt.Sprintf("status %q is neither active nor inactive", r.Status),
				Fix: fmt.Sprintf("set companies.status to active or inactive: `ferry company enable %d` or `ferry company disable %d`", r.ID, r.ID)})
		}
	}
	if len(probs) > 0 {
		return nil, errors.Join(probs...)
	}
	return out, nil
}

// GetCompany returns one company (any status); a missing id wraps
// ferry.ErrNotFound.
func (db *DB) GetCompany(ctx context.Context, id int64) (CompanyRow, error) {
	rows, err := db.b.Companies(ctx, []int64{id}, false)
	if err != nil {
		return CompanyRow{}, err
	}
	if len(rows) == 0 {
		return CompanyRow{}, fmt.Errorf("admin: company %d: %w", id, ferry.ErrNotFound)
	}
	return rows[0], nil
}

// ListTables returns every configured table (any status), ordered by name.
func (db *DB) ListTables(ctx context.Context) ([]TableRow, error) {
	return db.b.Tables(ctx, false)
}

// ActiveTables returns the active tables, ordered by name, with defaults
// applied (DefaultChunkColumn, DefaultChunkRows).
// A status other than active or inactive is a *ferry.ConfigError naming
// the table.
func (db *DB) ActiveTables(ctx context.Context) ([]ferry.TableSpec, error) {
	rows, err := db.b.Tables(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]ferry.TableSpec, 0, len(rows))
	var probs []error
	for _, r := range rows {
		switch {
		case strings.EqualFold(r.Status, StatusActive):
			out = append(out, r.TableSpec)
		case !strings.EqualFold(r.Status, StatusInactive):
			probs = append(probs, &ferry.ConfigError{Where: ferry.Where{Table: r.Name},
				Msg: fmt.Sprintf("status %q is neither active nor inactive", r.Status),
				Fix: fmt.Sprintf("set tables.status to active or inactive: `ferry table enable %s` or `ferry table disable %s`", r.Name, r.Name)})
		}
	}
	if len(probs) > 0 {
		return nil, errors.Join(probs...)
	}
	return out, nil
}

// ConfigurationNames lists the rows of `configurations`, sorted.
func (db *DB) ConfigurationNames(ctx context.Context) ([]string, error) {
	return db.b.ConfigurationNames(ctx)
}

// NewCompany is what AddCompany writes.
type NewCompany struct {
	ID    int64
	Alias string
	// Schema is the target schema; empty leaves target_schema NULL
	// (ferry.DefaultSchema(alias)).
	Schema string
	// Config values by configuration name (companies_configurations).
	Config map[string]string
	// Inactive adds the company with status 'inactive'.
	Inactive bool
}

func validStatus(active bool) string {
	if active {
		return StatusActive
	}
	return StatusInactive
}

// validCompany checks c's id, alias and schema.
func validCompany(c NewCompany) error {
	where := ferry.Where{Company: fmt.Sprintf("%d", c.ID)}
	if c.ID <= 0 {
		return &ferry.ConfigError{Where: where, Msg: "company id must be a positive integer", Fix: "pass --company-id with the customer's id"}
	}
	if err := ferry.ValidAlias(c.Alias); err != nil {
		return &ferry.ConfigError{Where: where, Msg: err.Error(), Fix: "choose a lower-case alias such as acme_eu"}
	}
	if c.Schema != "" {
		if err := ferry.ValidIdent(c.Schema); err != nil {
			return &ferry.ConfigError{Where: where, Msg: "target schema: " + err.Error(), Fix: "choose a schema name of letters, digits and _"}
		}
	}
	return nil
}

// AddCompany validates c and inserts the company and its configuration
// values. Run it in InTx to make the rows appear together. An existing
// company_id or alias is a *ferry.ConfigError; the configurations rows are
// created when missing.
func (db *DB) AddCompany(ctx context.Context, c NewCompany) error {
	if err := validCompany(c); err != nil {
		return err
	}
	existing, err := db.b.Companies(ctx, nil, false)
	if err != nil {
		return err
	}
	for _, r := range existing {
		if r.ID == c.ID || r.Alias == c.Alias {
			return &ferry.ConfigError{Where: ferry.Where{Company: fmt.Sprintf("%d", c.ID)}, Msg: fmt.Sprintf("a company with id %d or alias %q already exists", c.ID, c.Alias), Fix: "use `ferry company list` to see it, or choose another id/alias"}
		}
	}
	if err := db.b.InsertCompany(ctx, c, validStatus(!c.Inactive)); err != nil {
		return err
	}
	names := make([]string, 0, len(c.Config))
	for k := range c.Config {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := db.SetConfig(ctx, c.ID, k, c.Config[k]); err != nil {
			return err
		}
	}
	return nil
}

// SetConfig sets one configuration value of a company, creating the
// configurations row when missing. Idempotent.
func (db *DB) SetConfig(ctx context.Context, companyID int64, name, value string) error {
	if strings.TrimSpace(name) == "" || len(name) > 64 {
		return &ferry.ConfigError{Where: ferry.Where{Company: fmt.Sprintf("%d", companyID)}, Msg: fmt.Sprintf("configuration name %q is empty or longer than 64 bytes", name), Fix: "use a short name such as days"}
	}
	return db.b.SetConfig(ctx, companyID, name, value)
}

// SetCompanyStatus sets a company active or inactive. A missing company
// wraps ferry.ErrNotFound. Idempotent.
func (db *DB) SetCompanyStatus(ctx context.Context, companyID int64, active bool) error {
	found, err := db.b.SetCompanyStatus(ctx, companyID, validStatus(active))
	if err == nil && !found {
		err = fmt.Errorf("admin: company %d: %w", companyID, ferry.ErrNotFound)
	}
	return err
}

// validTable checks a table's identifiers, query and policies.
func validTable(t ferry.TableSpec) error {
	bad := func(msg, fix string) error {
		return &ferry.ConfigError{Where: ferry.Where{Table: t.Name}, Msg: msg, Fix: fix}
	}
	if err := ferry.ValidIdent(t.Name); err != nil {
		return bad("table name: "+err.Error(), "choose a name of letters, digits and _")
	}
	if strings.HasPrefix(strings.ToLower(t.Name), "_ferry_") {
		return bad("table names starting with _ferry_ are reserved for Ferry's staging tables", "rename the table")
	}
	if strings.TrimSpace(t.Query) == "" {
		return bad("query_select is empty", "give the SELECT that produces the table's rows")
	}
	if t.ChunkColumn != "" {
		if err := ferry.ValidIdent(t.ChunkColumn); err != nil {
			return bad("chunk column: "+err.Error(), "name an integer column of the query's result")
		}
	}
	if t.ChunkRows < 0 {
		return bad("chunk rows must be positive", "use e.g. 200000")
	}
	switch t.ZeroDates {
	case "", ferry.ZeroDateError, ferry.ZeroDateNull:
	default:
		return bad(fmt.Sprintf("zero_dates %q is not a policy", t.ZeroDates), "use error or null")
	}
	if t.MaxShrinkPct < 0 || t.MaxShrinkPct > 99 {
		return bad(fmt.Sprintf("max_shrink_pct %d is not between 0 and 99", t.MaxShrinkPct), "use e.g. 50 to refuse publishing a table that lost more than half its rows, or 0 for no guard")
	}
	if !ferry.ValidSchemaChangePolicy(t.SchemaChanges) {
		return bad(fmt.Sprintf("schema_changes %q is not a policy", t.SchemaChanges), "use evolve (publish the query's new shape with the swap) or refuse (fail the company until the live table is changed by hand)")
	}
	return nil
}

// AddTable validates the table's identifiers and policy and inserts it (or,
// when a table of that name exists, replaces its definition and status).
// Query validation against the source happens at planning time.
func (db *DB) AddTable(ctx context.Context, t ferry.TableSpec, active bool) error {
	if err := validTable(t); err != nil {
		return err
	}
	return db.b.UpsertTable(ctx, t, validStatus(active))
}

// SetTableStatus sets a table active or inactive. A missing table wraps
// ferry.ErrNotFound. Idempotent.
func (db *DB) SetTableStatus(ctx context.Context, name string, active bool) error {
	found, err := db.b.SetTableStatus(ctx, name, validStatus(active))
	if err == nil && !found {
		err = fmt.Errorf("admin: table %s: %w", name, ferry.ErrNotFound)
	}
	return err
}
