package mysql

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// migrationFS holds the admin schema's migrations on MySQL (the original
// tool's tables, then Ferry's columns and tables beside them).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Server errors that mean a migration statement's effect is already there.
const (
	erDupKeyName  = 1061
	erMultiplePKs = 1068
)

// Migrations implements admin.Backend.
func (a *Admin) Migrations() ([]admin.Migration, error) {
	return admin.ParseMigrations(migrationFS, "migrations")
}

// AppliedMigrations implements admin.Backend.
func (a *Admin) AppliedMigrations(ctx context.Context) (map[int]bool, error) {
	const op = "admin: read schema_migrations"
	var n int
	if err := a.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrations'").Scan(&n); err != nil {
		return nil, dbErr(op, err)
	}
	out := map[int]bool{}
	if n == 0 {
		return out, nil
	}
	return out, readVersions(ctx, a.q, out)
}

func readVersions(ctx context.Context, q querier, into map[int]bool) error {
	const op = "admin: read schema_migrations"
	rows, err := q.QueryContext(ctx, "SELECT `version` FROM `schema_migrations`")
	if err != nil {
		return dbErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return dbErr(op, err)
		}
		into[v] = true
	}
	return dbErr(op, rows.Err())
}

// alreadyApplied reports the MySQL errors that mean a DDL statement's effect
// is already there: table exists, duplicate column, duplicate key name.
func alreadyApplied(err error) bool {
	switch mysqlErrNo(err) {
	case erTableExists, erDupField, erDupKeyName, erMultiplePKs:
		return true
	}
	return false
}

// Migrate implements admin.Backend: a named lock (GET_LOCK) serializes
// concurrent runners, and statements whose effect already exists are
// skipped, so an interrupted migration is completed on the next call.
func (a *Admin) Migrate(ctx context.Context) error {
	migs, err := a.Migrations()
	if err != nil {
		return err
	}
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return dbErr("admin: migrate: connect", err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('ferry_admin_migrate', 60)").Scan(&got); err != nil {
		return dbErr("admin: migrate: lock", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return ferry.Retryable("admin: migrate: lock", errors.New("another migration holds the lock ferry_admin_migrate"))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK('ferry_admin_migrate')")

	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `schema_migrations` ("+
		"`version` INT NOT NULL, `name` VARCHAR(200) NOT NULL, `applied_at` DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "+
		"PRIMARY KEY (`version`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"); err != nil {
		return dbErr("admin: migrate: create schema_migrations", err)
	}
	applied := map[int]bool{}
	if err := readVersions(ctx, conn, applied); err != nil {
		return err
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range admin.Statements(m.SQL) {
			if _, err := conn.ExecContext(ctx, stmt); err != nil && !alreadyApplied(err) {
				return dbErr(fmt.Sprintf("admin: migrate: %s statement %d", m.Name, i+1), err)
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT IGNORE INTO `schema_migrations` (`version`, `name`) VALUES (?, ?)", m.Version, m.Name); err != nil {
			return dbErr("admin: migrate: record "+m.Name, err)
		}
	}
	return nil
}

// DeniedWrites implements admin.Backend. Each statement matches no row
// (WHERE 1 = 0) yet needs the privilege, so nothing is written.
func (a *Admin) DeniedWrites(ctx context.Context) []string {
	steps := []struct{ what, sql string }{
		{"INSERT into ferry_runs", "INSERT INTO `ferry_runs` SELECT * FROM `ferry_runs` WHERE 1 = 0"},
		{"UPDATE ferry_runs", "UPDATE `ferry_runs` SET `status` = `status` WHERE 1 = 0"},
		{"INSERT into ferry_table_loads", "INSERT INTO `ferry_table_loads` SELECT * FROM `ferry_table_loads` WHERE 1 = 0"},
		{"UPDATE ferry_table_loads", "UPDATE `ferry_table_loads` SET `status` = `status` WHERE 1 = 0"},
		{"UPDATE ferry_lease", "UPDATE `ferry_lease` SET `holder` = `holder` WHERE 1 = 0"},
	}
	var denied []string
	for _, s := range steps {
		if _, err := a.q.ExecContext(ctx, s.sql); err != nil {
			denied = append(denied, fmt.Sprintf("may not %s (%v)", s.what, err))
		}
	}
	return denied
}
