// Package admin is Ferry's admin database (MySQL): the original tool's
// configuration tables (companies, tables, configurations,
// companies_configurations), Ferry's own columns beside them, the run
// history (ferry_runs, ferry_table_loads) and the run lease (ferry_lease).
//
// Conventions:
//   - status columns hold 'active' or 'inactive' (StatusActive,
//     StatusInactive); only 'active' rows are read as active. Ferry writes
//     exactly these two values.
//   - tables.params_select is a comma-separated list of parameter names
//     ("company_id, since"); a JSON array (["company_id","since"]) and a
//     leading ':' on a name are accepted on read.
//   - tables.chunk_column NULL means DefaultChunkColumn ("id");
//     tables.chunk_rows NULL means DefaultChunkRows; tables.zero_dates NULL
//     means ferry.ZeroDateError.
//   - companies.target_schema NULL means ferry.DefaultSchema(alias).
//   - query_insert and params_insert are kept for the original tool and
//     ignored by Ferry.
//
// Every function takes a Querier, so it runs on a *sql.DB or inside a
// *sql.Tx the caller owns. Transient database errors are returned wrapped
// by ferry.Retryable.
package admin

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one embedded schema migration.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order. A file is
// named NNNN_name.sql; its statements are separated by a ';' at the end of
// a line.
func Migrations() ([]Migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("admin: migration %s: name must start with a number and '_'", base)
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(base, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("admin: two migrations with version %d", out[i].Version)
		}
	}
	return out, nil
}

// statements splits a migration into statements: a line ending in ';'
// ends a statement; lines starting with "--" are comments.
func statements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, s)
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// alreadyApplied reports the MySQL errors that mean a DDL statement's effect
// is already there: table exists, duplicate column, duplicate key name.
func alreadyApplied(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1050, 1060, 1061, 1068:
			return true
		}
	}
	return false
}

// Migrate applies every embedded migration not yet recorded in
// schema_migrations, in order, each once. It is idempotent and safe to run
// concurrently (a named lock serializes runners); an existing admin
// database of the original tool keeps its tables and rows. A migration
// interrupted halfway is completed on the next call: statements whose
// effect already exists are skipped.
func Migrate(ctx context.Context, db *sql.DB) error {
	migs, err := Migrations()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return dbErr("admin: migrate: connect", err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('ferry_admin_migrate', 60)").Scan(&got); err != nil {
		return dbErr("admin: migrate: lock", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return ferryRetryable("admin: migrate: lock", errors.New("another migration holds the lock ferry_admin_migrate"))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK('ferry_admin_migrate')")

	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `schema_migrations` ("+
		"`version` INT NOT NULL, `name` VARCHAR(200) NOT NULL, `applied_at` DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "+
		"PRIMARY KEY (`version`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"); err != nil {
		return dbErr("admin: migrate: create schema_migrations", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT `version` FROM `schema_migrations`")
	if err != nil {
		return dbErr("admin: migrate: read schema_migrations", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return dbErr("admin: migrate: read schema_migrations", err)
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return dbErr("admin: migrate: read schema_migrations", err)
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range statements(m.SQL) {
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
