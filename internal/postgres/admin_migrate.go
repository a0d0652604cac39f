package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/ferrydata/ferry/internal/admin"
)

// migrationFS holds the admin schema's migrations on PostgreSQL: the same
// versions, names, tables and columns as MySQL's (internal/mysql/migrations).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations implements admin.Backend.
func (a *Admin) Migrations() ([]admin.Migration, error) {
	return admin.ParseMigrations(migrationFS, "migrations")
}

// AppliedMigrations implements admin.Backend.
func (a *Admin) AppliedMigrations(ctx context.Context) (map[int]bool, error) {
	const op = "admin: read schema_migrations"
	var exists bool
	if err := a.q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, adminErr(ctx, op, err)
	}
	out := map[int]bool{}
	if !exists {
		return out, nil
	}
	return out, readVersions(ctx, a.q, out)
}

func readVersions(ctx context.Context, q adminQuerier, into map[int]bool) error {
	const op = "admin: read schema_migrations"
	rows, err := q.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return adminErr(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return adminErr(ctx, op, err)
		}
		into[v] = true
	}
	return adminErr(ctx, op, rows.Err())
}

// Migrate implements admin.Backend. Each migration is one transaction
// (PostgreSQL's DDL is transactional: a migration is applied whole or not
// at all) that first takes a transaction-level advisory lock, so
// concurrent runners take turns and the second finds it applied.
func (a *Admin) Migrate(ctx context.Context) error {
	migs, err := a.Migrations()
	if err != nil {
		return err
	}
	if _, err := a.q.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY,
		name VARCHAR(200) NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil && pgCode(err) != "23505" {
		return adminErr(ctx, "admin: migrate: create schema_migrations", err)
	}
	for _, m := range migs {
		if err := a.InTx(ctx, func(b admin.Backend) error { return applyMigration(ctx, b.(*Admin).q, m) }); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration applies m in the transaction q unless it is recorded.
func applyMigration(ctx context.Context, q adminQuerier, m admin.Migration) error {
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('ferry_admin_migrate', 0))`); err != nil {
		return adminErr(ctx, "admin: migrate: lock", err)
	}
	var done bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil || done {
		return adminErr(ctx, "admin: migrate: read schema_migrations", err)
	}
	for i, stmt := range admin.Statements(m.SQL) {
		if _, err := q.Exec(ctx, stmt); err != nil {
			return adminErr(ctx, fmt.Sprintf("admin: migrate: %s statement %d", m.Name, i+1), err)
		}
	}
	_, err := q.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
	return adminErr(ctx, "admin: migrate: record "+m.Name, err)
}

// DeniedWrites implements admin.Backend. Each statement matches no row
// (WHERE false) yet needs the privilege, so nothing is written; each runs
// on its own, so one refusal does not abort the others.
func (a *Admin) DeniedWrites(ctx context.Context) []string {
	steps := []struct{ what, sql string }{
		{"INSERT into ferry_runs", `INSERT INTO ferry_runs SELECT * FROM ferry_runs WHERE false`},
		{"UPDATE ferry_runs", `UPDATE ferry_runs SET status = status WHERE false`},
		{"INSERT into ferry_table_loads", `INSERT INTO ferry_table_loads SELECT * FROM ferry_table_loads WHERE false`},
		{"UPDATE ferry_table_loads", `UPDATE ferry_table_loads SET status = status WHERE false`},
		{"UPDATE ferry_lease", `UPDATE ferry_lease SET holder = holder WHERE false`},
	}
	var denied []string
	for _, s := range steps {
		if _, err := a.q.Exec(ctx, s.sql); err != nil {
			denied = append(denied, fmt.Sprintf("may not %s (%v)", s.what, err))
		}
	}
	return denied
}
