package postgres

import (
	"context"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// Companies implements admin.Backend.
func (a *Admin) Companies(ctx context.Context, ids []int64, onlyActive bool) ([]admin.CompanyRow, error) {
	const op = "admin: read companies"
	rows, err := a.q.Query(ctx, `SELECT company_id, alias, status, target_schema FROM companies
		WHERE ($1::text IS NULL OR status = $1) AND (coalesce(cardinality($2::bigint[]), 0) = 0 OR company_id = ANY ($2))
		ORDER BY company_id`, nullIfZero(activeOnly(onlyActive)), ids)
	if err != nil {
		return nil, adminErr(ctx, op, err)
	}
	defer rows.Close()
	var out []admin.CompanyRow
	for rows.Next() {
		var c admin.CompanyRow
		var schema *string
		if err := rows.Scan(&c.ID, &c.Alias, &c.Status, &schema); err != nil {
			return nil, adminErr(ctx, op, err)
		}
		if schema != nil && strings.TrimSpace(*schema) != "" {
			c.Schema, c.SchemaSet = *schema, true
		} else {
			c.Schema = ferry.DefaultSchema(c.Alias)
		}
		c.Config = map[string]string{}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, adminErr(ctx, op, err)
	}
	return out, a.companyConfig(ctx, out)
}

// activeOnly is the status a read keeps ("" for every status).
func activeOnly(onlyActive bool) string {
	if onlyActive {
		return admin.StatusActive
	}
	return ""
}

// companyConfig fills the Config of cs from companies_configurations.
func (a *Admin) companyConfig(ctx context.Context, cs []admin.CompanyRow) error {
	const op = "admin: read companies_configurations"
	if len(cs) == 0 {
		return nil
	}
	byID := map[int64]int{}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i], byID[c.ID] = c.ID, i
	}
	rows, err := a.q.Query(ctx, `SELECT company, configuration, value FROM companies_configurations WHERE company = ANY ($1)`, ids)
	if err != nil {
		return adminErr(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		var value *string
		if err := rows.Scan(&id, &name, &value); err != nil {
			return adminErr(ctx, op, err)
		}
		if i, ok := byID[id]; ok && value != nil {
			cs[i].Config[name] = *value
		}
	}
	return adminErr(ctx, op, rows.Err())
}

// Tables implements admin.Backend.
func (a *Admin) Tables(ctx context.Context, onlyActive bool) ([]admin.TableRow, error) {
	const op = "admin: read tables"
	rows, err := a.q.Query(ctx, `SELECT name, status, query_select, params_select, chunk_column, chunk_rows, zero_dates, max_shrink_pct, schema_changes
		FROM "tables" WHERE $1::text IS NULL OR status = $1 ORDER BY name`, nullIfZero(activeOnly(onlyActive)))
	if err != nil {
		return nil, adminErr(ctx, op, err)
	}
	defer rows.Close()
	var out []admin.TableRow
	for rows.Next() {
		var t admin.TableRow
		var params, col, zd, sc *string
		var chunkRows *int64
		var shrink *int32
		if err := rows.Scan(&t.Name, &t.Status, &t.Query, &params, &col, &chunkRows, &zd, &shrink, &sc); err != nil {
			return nil, adminErr(ctx, op, err)
		}
		t.SchemaChanges = ferry.SchemaChangePolicy(deref(sc))
		out = append(out, tableRow(t, deref(params), deref(col), chunkRows, deref(zd), shrink))
	}
	return out, adminErr(ctx, op, rows.Err())
}

// tableRow applies the NULL defaults of the package comment of admin.
func tableRow(t admin.TableRow, params, col string, chunkRows *int64, zeroDates string, shrink *int32) admin.TableRow {
	var err error
	if t.Params, err = admin.ParseParams(params); err != nil {
		// Kept as one unusable name so that planning reports it with the
		// table's name instead of failing the whole read.
		t.Params = []string{params}
	}
	t.ChunkColumn = admin.DefaultChunkColumn
	if strings.TrimSpace(col) != "" {
		t.ChunkColumn = strings.TrimSpace(col)
	}
	t.ChunkRows = admin.DefaultChunkRows
	if chunkRows != nil {
		t.ChunkRows = *chunkRows
	}
	t.ZeroDates = ferry.ZeroDatePolicy(zeroDates)
	if shrink != nil {
		t.MaxShrinkPct = int(*shrink)
	}
	return t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ConfigurationNames implements admin.Backend.
func (a *Admin) ConfigurationNames(ctx context.Context) ([]string, error) {
	const op = "admin: read configurations"
	rows, err := a.q.Query(ctx, `SELECT name FROM configurations ORDER BY name`)
	if err != nil {
		return nil, adminErr(ctx, op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, adminErr(ctx, op, err)
		}
		out = append(out, n)
	}
	return out, adminErr(ctx, op, rows.Err())
}

// InsertCompany implements admin.Backend.
func (a *Admin) InsertCompany(ctx context.Context, c admin.NewCompany, status string) error {
	_, err := a.q.Exec(ctx, `INSERT INTO companies (company_id, status, alias, target_schema) VALUES ($1, $2, $3, $4)`,
		c.ID, status, c.Alias, nullIfZero(c.Schema))
	return adminErr(ctx, "admin: add company "+c.Alias, err)
}

// SetConfig implements admin.Backend.
func (a *Admin) SetConfig(ctx context.Context, companyID int64, name, value string) error {
	if _, err := a.q.Exec(ctx, `INSERT INTO configurations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return adminErr(ctx, "admin: add configuration "+name, err)
	}
	_, err := a.q.Exec(ctx, `INSERT INTO companies_configurations (company, configuration, value) VALUES ($1, $2, $3)
		ON CONFLICT (company, configuration) DO UPDATE SET value = EXCLUDED.value`, companyID, name, value)
	return adminErr(ctx, "admin: set configuration "+name, err)
}

// SetCompanyStatus implements admin.Backend.
func (a *Admin) SetCompanyStatus(ctx context.Context, companyID int64, status string) (bool, error) {
	tag, err := a.q.Exec(ctx, `UPDATE companies SET status = $1 WHERE company_id = $2`, status, companyID)
	return tag.RowsAffected() > 0, adminErr(ctx, "admin: set companies status", err)
}

// SetTableStatus implements admin.Backend.
func (a *Admin) SetTableStatus(ctx context.Context, name, status string) (bool, error) {
	tag, err := a.q.Exec(ctx, `UPDATE "tables" SET status = $1 WHERE name = $2`, status, name)
	return tag.RowsAffected() > 0, adminErr(ctx, "admin: set tables status", err)
}

// UpsertTable implements admin.Backend.
func (a *Admin) UpsertTable(ctx context.Context, t ferry.TableSpec, status string) error {
	_, err := a.q.Exec(ctx, `INSERT INTO "tables" (name, status, query_select, params_select, chunk_column, chunk_rows, zero_dates, max_shrink_pct, schema_changes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (name) DO UPDATE SET status = EXCLUDED.status, query_select = EXCLUDED.query_select, params_select = EXCLUDED.params_select,
		chunk_column = EXCLUDED.chunk_column, chunk_rows = EXCLUDED.chunk_rows, zero_dates = EXCLUDED.zero_dates, max_shrink_pct = EXCLUDED.max_shrink_pct, schema_changes = EXCLUDED.schema_changes`,
		t.Name, status, t.Query, admin.FormatParams(t.Params), nullIfZero(t.ChunkColumn), nullIfZero(t.ChunkRows),
		nullIfZero(string(t.ZeroDates)), nullIfZero(t.MaxShrinkPct), nullIfZero(string(t.SchemaChanges)))
	return adminErr(ctx, "admin: add table "+t.Name, err)
}
