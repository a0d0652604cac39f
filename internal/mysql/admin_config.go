package mysql

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// inClause is "(?,?,...)" and its arguments.
func inClause(ids []int64) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = "?"
		args[i] = id
	}
	return "(" + strings.Join(ph, ",") + ")", args
}

// Companies implements admin.Backend.
func (a *Admin) Companies(ctx context.Context, ids []int64, onlyActive bool) ([]admin.CompanyRow, error) {
	query := "SELECT `company_id`, `alias`, `status`, `target_schema` FROM `companies`"
	var where []string
	var args []any
	if onlyActive {
		where = append(where, "`status` = ?")
		args = append(args, admin.StatusActive)
	}
	if len(ids) > 0 {
		in, a := inClause(ids)
		where = append(where, "`company_id` IN "+in)
		args = append(args, a...)
	}
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := a.q.QueryContext(ctx, query+" ORDER BY `company_id`", args...)
	if err != nil {
		return nil, dbErr("admin: read companies", err)
	}
	defer rows.Close()
	var out []admin.CompanyRow
	for rows.Next() {
		var c admin.CompanyRow
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
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("admin: read companies", err)
	}
	rows.Close()
	return out, a.companyConfig(ctx, out)
}

// companyConfig fills the Config of cs from companies_configurations.
func (a *Admin) companyConfig(ctx context.Context, cs []admin.CompanyRow) error {
	if len(cs) == 0 {
		return nil
	}
	byID := map[int64]int{}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i], byID[c.ID] = c.ID, i
	}
	in, args := inClause(ids)
	rows, err := a.q.QueryContext(ctx, "SELECT `company`, `configuration`, `value` FROM `companies_configurations` WHERE `company` IN "+in, args...)
	if err != nil {
		return dbErr("admin: read companies_configurations", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		var value sql.NullString
		if err := rows.Scan(&id, &name, &value); err != nil {
			return dbErr("admin: read companies_configurations", err)
		}
		if i, ok := byID[id]; ok && value.Valid {
			cs[i].Config[name] = value.String
		}
	}
	return dbErr("admin: read companies_configurations", rows.Err())
}

// Tables implements admin.Backend.
func (a *Admin) Tables(ctx context.Context, onlyActive bool) ([]admin.TableRow, error) {
	query := "SELECT `name`, `status`, `query_select`, `params_select`, `chunk_column`, `chunk_rows`, `zero_dates`, `max_shrink_pct`, `schema_changes` FROM `tables`"
	var args []any
	if onlyActive {
		query += " WHERE `status` = ?"
		args = append(args, admin.StatusActive)
	}
	rows, err := a.q.QueryContext(ctx, query+" ORDER BY `name`", args...)
	if err != nil {
		return nil, dbErr("admin: read tables", err)
	}
	defer rows.Close()
	var out []admin.TableRow
	for rows.Next() {
		var t admin.TableRow
		var params, col, zd, sc sql.NullString
		var chunkRows, shrink sql.NullInt64
		if err := rows.Scan(&t.Name, &t.Status, &t.Query, &params, &col, &chunkRows, &zd, &shrink, &sc); err != nil {
			return nil, dbErr("admin: read tables", err)
		}
		if t.Params, err = admin.ParseParams(params.String); err != nil {
			// Kept as one unusable name so that planning reports it with
			// the table's name instead of failing the whole read.
			t.Params = []string{params.String}
		}
		t.ChunkColumn = admin.DefaultChunkColumn
		if col.Valid && strings.TrimSpace(col.String) != "" {
			t.ChunkColumn = strings.TrimSpace(col.String)
		}
		t.ChunkRows = admin.DefaultChunkRows
		if chunkRows.Valid {
			t.ChunkRows = chunkRows.Int64
		}
		t.ZeroDates = ferry.ZeroDatePolicy(zd.String)
		t.MaxShrinkPct = int(shrink.Int64)
		t.SchemaChanges = ferry.SchemaChangePolicy(sc.String)
		out = append(out, t)
	}
	return out, dbErr("admin: read tables", rows.Err())
}

// ConfigurationNames implements admin.Backend.
func (a *Admin) ConfigurationNames(ctx context.Context) ([]string, error) {
	rows, err := a.q.QueryContext(ctx, "SELECT `name` FROM `configurations` ORDER BY `name`")
	if err != nil {
		return nil, dbErr("admin: read configurations", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, dbErr("admin: read configurations", err)
		}
		out = append(out, n)
	}
	return out, dbErr("admin: read configurations", rows.Err())
}

// InsertCompany implements admin.Backend.
func (a *Admin) InsertCompany(ctx context.Context, c admin.NewCompany, status string) error {
	var schema any
	if c.Schema != "" {
		schema = c.Schema
	}
	_, err := a.q.ExecContext(ctx, "INSERT INTO `companies` (`company_id`, `status`, `alias`, `target_schema`) VALUES (?, ?, ?, ?)",
		c.ID, status, c.Alias, schema)
	return dbErr("admin: add company "+c.Alias, err)
}

// SetConfig implements admin.Backend.
func (a *Admin) SetConfig(ctx context.Context, companyID int64, name, value string) error {
	if _, err := a.q.ExecContext(ctx, "INSERT IGNORE INTO `configurations` (`name`) VALUES (?)", name); err != nil {
		return dbErr("admin: add configuration "+name, err)
	}
	_, err := a.q.ExecContext(ctx, "INSERT INTO `companies_configurations` (`company`, `configuration`, `value`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`)",
		companyID, name, value)
	return dbErr("admin: set configuration "+name, err)
}

// SetCompanyStatus implements admin.Backend.
func (a *Admin) SetCompanyStatus(ctx context.Context, companyID int64, status string) (bool, error) {
	return a.setStatus(ctx, "companies", "company_id", companyID, status)
}

// SetTableStatus implements admin.Backend.
func (a *Admin) SetTableStatus(ctx context.Context, name, status string) (bool, error) {
	return a.setStatus(ctx, "tables", "name", name, status)
}

// setStatus sets the status of the row of table whose key column is key;
// false when there is no such row.
func (a *Admin) setStatus(ctx context.Context, table, keyCol string, key any, status string) (bool, error) {
	op := "admin: set " + table + " status"
	var n int
	if err := a.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(table)+" WHERE "+quoteIdent(keyCol)+" = ?", key).Scan(&n); err != nil {
		return false, dbErr(op, err)
	}
	if n == 0 {
		return false, nil
	}
	_, err := a.q.ExecContext(ctx, "UPDATE "+quoteIdent(table)+" SET `status` = ? WHERE "+quoteIdent(keyCol)+" = ?", status, key)
	return true, dbErr(op, err)
}

// UpsertTable implements admin.Backend.
func (a *Admin) UpsertTable(ctx context.Context, t ferry.TableSpec, status string) error {
	_, err := a.q.ExecContext(ctx, "INSERT INTO `tables` (`name`, `status`, `query_select`, `params_select`, `chunk_column`, `chunk_rows`, `zero_dates`, `max_shrink_pct`, `schema_changes`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE `status` = VALUES(`status`), `query_select` = VALUES(`query_select`), `params_select` = VALUES(`params_select`), "+
		"`chunk_column` = VALUES(`chunk_column`), `chunk_rows` = VALUES(`chunk_rows`), `zero_dates` = VALUES(`zero_dates`), `max_shrink_pct` = VALUES(`max_shrink_pct`), `schema_changes` = VALUES(`schema_changes`)",
		t.Name, status, t.Query, admin.FormatParams(t.Params), nullIfZero(t.ChunkColumn), nullIfZero(t.ChunkRows), nullIfZero(string(t.ZeroDates)), nullIfZero(t.MaxShrinkPct), nullIfZero(string(t.SchemaChanges)))
	return dbErr("admin: add table "+t.Name, err)
}

// nullIfZero is v, or NULL for v's zero value.
func nullIfZero[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}
