package admin

import (
	"context"
	"database/sql"
	"encoding/json"
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

// DefaultChunkRows is the chunk size of a table whose chunk_rows is NULL.
const DefaultChunkRows int64 = 200_000

// Querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

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

func inClause(ids []int64) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = "?"
		args[i] = id
	}
	return "(" + strings.Join(ph, ",") + ")", args
}

// ListCompanies returns every company, active or not, with its
// configuration, ordered by company_id. ids, when not empty, restricts the
// result to those ids; onlyActive keeps status 'active' rows only.
func listCompanies(ctx context.Context, q Querier, ids []int64, onlyActive bool) ([]CompanyRow, error) {
	query := "SELECT `company_id`, `alias`, `status`, `target_schema` FROM `companies`"
	var where []string
	var args []any
	if onlyActive {
		where = append(where, "`status` = ?")
		args = append(args, StatusActive)
	}
	if len(ids) > 0 {
		in, a := inClause(ids)
		where = append(where, "`company_id` IN "+in)
		args = append(args, a...)
	}
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY `company_id`"
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr("admin: read companies", err)
	}
	defer rows.Close()
	var out []CompanyRow
	byID := map[int64]int{}
	for rows.Next() {
		var c CompanyRow
		var schema sql.NullString
		if err := rows.Scan(&c.ID, &c.Alias, &c.Status, &schema); err != nil {
			return nil, dbErr("admin: read companies", err)
		}
		if schema.Valid && strings.TrimSpace(schema.String) != "" {
			c.Schema, c.SchemaSet = schema.String, true
		} else {
			c.Schema = ferry.DefaultSchema(c.Alias)
		}
		c.Config = map[string]string{}
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("admin: read companies", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	cids := make([]int64, len(out))
	for i, c := range out {
		cids[i] = c.ID
	}
	in, args2 := inClause(cids)
	crows, err := q.QueryContext(ctx, "SELECT `company`, `configuration`, `value` FROM `companies_configurations` WHERE `company` IN "+in, args2...)
	if err != nil {
		return nil, dbErr("admin: read companies_configurations", err)
	}
	defer crows.Close()
	for crows.Next() {
		var id int64
		var name string
		var value sql.NullString
		if err := crows.Scan(&id, &name, &value); err != nil {
			return nil, dbErr("admin: read companies_configurations", err)
		}
		if i, ok := byID[id]; ok && value.Valid {
			out[i].Config[name] = value.String
		}
	}
	if err := crows.Err(); err != nil {
		return nil, dbErr("admin: read companies_configurations", err)
	}
	return out, nil
}

// ListCompanies returns every company (any status) with its configuration,
// ordered by company_id.
func ListCompanies(ctx context.Context, q Querier) ([]CompanyRow, error) {
	return listCompanies(ctx, q, nil, false)
}

// ActiveCompanies returns the active companies with their configuration
// values, ordered by company_id. With ids, only those (that are active);
// ids that are missing or inactive are simply absent: the caller compares.
func ActiveCompanies(ctx context.Context, q Querier, ids []int64) ([]ferry.Company, error) {
	rows, err := listCompanies(ctx, q, ids, true)
	if err != nil {
		return nil, err
	}
	out := make([]ferry.Company, len(rows))
	for i, r := range rows {
		out[i] = r.Company
	}
	return out, nil
}

// GetCompany returns one company (any status); a missing id wraps
// ferry.ErrNotFound.
func GetCompany(ctx context.Context, q Querier, id int64) (CompanyRow, error) {
	rows, err := listCompanies(ctx, q, []int64{id}, false)
	if err != nil {
		return CompanyRow{}, err
	}
	if len(rows) == 0 {
		return CompanyRow{}, fmt.Errorf("admin: company %d: %w", id, ferry.ErrNotFound)
	}
	return rows[0], nil
}

func listTables(ctx context.Context, q Querier, onlyActive bool) ([]TableRow, error) {
	query := "SELECT `name`, `status`, `query_select`, `params_select`, `chunk_column`, `chunk_rows`, `zero_dates`, `max_shrink_pct` FROM `tables`"
	var args []any
	if onlyActive {
		query += " WHERE `status` = ?"
		args = append(args, StatusActive)
	}
	query += " ORDER BY `name`"
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr("admin: read tables", err)
	}
	defer rows.Close()
	var out []TableRow
	for rows.Next() {
		var t TableRow
		var params, col, zd sql.NullString
		var chunkRows, shrink sql.NullInt64
		if err := rows.Scan(&t.Name, &t.Status, &t.Query, &params, &col, &chunkRows, &zd, &shrink); err != nil {
			return nil, dbErr("admin: read tables", err)
		}
		p, err := ParseParams(params.String)
		if err != nil {
			// Kept as one unusable name so that planning reports it with
			// the table's name instead of failing the whole read.
			p = []string{params.String}
		}
		t.Params = p
		t.ChunkColumn = DefaultChunkColumn
		if col.Valid && strings.TrimSpace(col.String) != "" {
			t.ChunkColumn = strings.TrimSpace(col.String)
		}
		t.ChunkRows = DefaultChunkRows
		if chunkRows.Valid {
			t.ChunkRows = chunkRows.Int64
		}
		if zd.Valid && zd.String != "" {
			t.ZeroDates = ferry.ZeroDatePolicy(zd.String)
		}
		if shrink.Valid {
			t.MaxShrinkPct = int(shrink.Int64)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("admin: read tables", err)
	}
	return out, nil
}

// ListTables returns every configured table (any status), ordered by name.
func ListTables(ctx context.Context, q Querier) ([]TableRow, error) {
	return listTables(ctx, q, false)
}

// ActiveTables returns the active tables, ordered by name, with defaults
// applied (DefaultChunkColumn, DefaultChunkRows).
func ActiveTables(ctx context.Context, q Querier) ([]ferry.TableSpec, error) {
	rows, err := listTables(ctx, q, true)
	if err != nil {
		return nil, err
	}
	out := make([]ferry.TableSpec, len(rows))
	for i, r := range rows {
		out[i] = r.TableSpec
	}
	return out, nil
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

// AddCompany validates c and inserts the company and its configuration
// values. Run it in a transaction (q a *sql.Tx) to make the rows appear
// together. An existing company_id or alias is a *ferry.ConfigError; the
// configurations rows are created when missing.
func AddCompany(ctx context.Context, q Querier, c NewCompany) error {
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
	var n int
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM `companies` WHERE `company_id` = ? OR `alias` = ?", c.ID, c.Alias).Scan(&n); err != nil {
		return dbErr("admin: add company", err)
	}
	if n > 0 {
		return &ferry.ConfigError{Where: where, Msg: fmt.Sprintf("a company with id %d or alias %q already exists", c.ID, c.Alias), Fix: "use `ferry company list` to see it, or choose another id/alias"}
	}
	var schema any
	if c.Schema != "" {
		schema = c.Schema
	}
	if _, err := q.ExecContext(ctx, "INSERT INTO `companies` (`company_id`, `status`, `alias`, `target_schema`) VALUES (?, ?, ?, ?)",
		c.ID, validStatus(!c.Inactive), c.Alias, schema); err != nil {
		return dbErr("admin: add company "+c.Alias, err)
	}
	names := make([]string, 0, len(c.Config))
	for k := range c.Config {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := SetConfig(ctx, q, c.ID, k, c.Config[k]); err != nil {
			return err
		}
	}
	return nil
}

// SetConfig sets one configuration value of a company, creating the
// configurations row when missing. Idempotent.
func SetConfig(ctx context.Context, q Querier, companyID int64, name, value string) error {
	if strings.TrimSpace(name) == "" || len(name) > 64 {
		return &ferry.ConfigError{Where: ferry.Where{Company: fmt.Sprintf("%d", companyID)}, Msg: fmt.Sprintf("configuration name %q is empty or longer than 64 bytes", name), Fix: "use a short name such as days"}
	}
	if _, err := q.ExecContext(ctx, "INSERT IGNORE INTO `configurations` (`name`) VALUES (?)", name); err != nil {
		return dbErr("admin: add configuration "+name, err)
	}
	if _, err := q.ExecContext(ctx, "INSERT INTO `companies_configurations` (`company`, `configuration`, `value`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`)",
		companyID, name, value); err != nil {
		return dbErr("admin: set configuration "+name, err)
	}
	return nil
}

// SetCompanyStatus sets a company active or inactive. A missing company
// wraps ferry.ErrNotFound. Idempotent.
func SetCompanyStatus(ctx context.Context, q Querier, companyID int64, active bool) error {
	var n int
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM `companies` WHERE `company_id` = ?", companyID).Scan(&n); err != nil {
		return dbErr("admin: set company status", err)
	}
	if n == 0 {
		return fmt.Errorf("admin: company %d: %w", companyID, ferry.ErrNotFound)
	}
	if _, err := q.ExecContext(ctx, "UPDATE `companies` SET `status` = ? WHERE `company_id` = ?", validStatus(active), companyID); err != nil {
		return dbErr("admin: set company status", err)
	}
	return nil
}

// AddTable validates the table's identifiers and policy and inserts it (or,
// when a table of that name exists, replaces its definition and status).
// Query validation against the source happens at planning time.
func AddTable(ctx context.Context, q Querier, t ferry.TableSpec, active bool) error {
	where := ferry.Where{Table: t.Name}
	if err := ferry.ValidIdent(t.Name); err != nil {
		return &ferry.ConfigError{Where: where, Msg: "table name: " + err.Error(), Fix: "choose a name of letters, digits and _"}
	}
	if strings.HasPrefix(strings.ToLower(t.Name), "_ferry_") {
		return &ferry.ConfigError{Where: where, Msg: "table names starting with _ferry_ are reserved for Ferry's staging tables", Fix: "rename the table"}
	}
	if strings.TrimSpace(t.Query) == "" {
		return &ferry.ConfigError{Where: where, Msg: "query_select is empty", Fix: "give the SELECT that produces the table's rows"}
	}
	if t.ChunkColumn != "" {
		if err := ferry.ValidIdent(t.ChunkColumn); err != nil {
			return &ferry.ConfigError{Where: where, Msg: "chunk column: " + err.Error(), Fix: "name an integer column of the query's result"}
		}
	}
	if t.ChunkRows < 0 {
		return &ferry.ConfigError{Where: where, Msg: "chunk rows must be positive", Fix: "use e.g. 200000"}
	}
	switch t.ZeroDates {
	case "", ferry.ZeroDateError, ferry.ZeroDateNull:
	default:
		return &ferry.ConfigError{Where: where, Msg: fmt.Sprintf("zero_dates %q is not a policy", t.ZeroDates), Fix: "use error or null"}
	}
	if t.MaxShrinkPct < 0 || t.MaxShrinkPct > 99 {
		return &ferry.ConfigError{Where: where, Msg: fmt.Sprintf("max_shrink_pct %d is not between 0 and 99", t.MaxShrinkPct), Fix: "use e.g. 50 to refuse publishing a table that lost more than half its rows, or 0 for no guard"}
	}
	var col, zd, rows, shrink any
	if t.MaxShrinkPct > 0 {
		shrink = t.MaxShrinkPct
	}
	if t.ChunkColumn != "" {
		col = t.ChunkColumn
	}
	if t.ZeroDates != "" {
		zd = string(t.ZeroDates)
	}
	if t.ChunkRows > 0 {
		rows = t.ChunkRows
	}
	_, err := q.ExecContext(ctx, "INSERT INTO `tables` (`name`, `status`, `query_select`, `params_select`, `chunk_column`, `chunk_rows`, `zero_dates`, `max_shrink_pct`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE `status` = VALUES(`status`), `query_select` = VALUES(`query_select`), `params_select` = VALUES(`params_select`), "+
		"`chunk_column` = VALUES(`chunk_column`), `chunk_rows` = VALUES(`chunk_rows`), `zero_dates` = VALUES(`zero_dates`), `max_shrink_pct` = VALUES(`max_shrink_pct`)",
		t.Name, validStatus(active), t.Query, FormatParams(t.Params), col, rows, zd, shrink)
	if err != nil {
		return dbErr("admin: add table "+t.Name, err)
	}
	return nil
}

// SetTableStatus sets a table active or inactive. A missing table wraps
// ferry.ErrNotFound. Idempotent.
func SetTableStatus(ctx context.Context, q Querier, name string, active bool) error {
	var n int
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM `tables` WHERE `name` = ?", name).Scan(&n); err != nil {
		return dbErr("admin: set table status", err)
	}
	if n == 0 {
		return fmt.Errorf("admin: table %s: %w", name, ferry.ErrNotFound)
	}
	if _, err := q.ExecContext(ctx, "UPDATE `tables` SET `status` = ? WHERE `name` = ?", validStatus(active), name); err != nil {
		return dbErr("admin: set table status", err)
	}
	return nil
}
