package ops

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// MigrationStatus is one embedded migration and whether it is applied.
type MigrationStatus struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Applied is true when the migration is in schema_migrations;
	// AppliedNow when this call applied it.
	Applied    bool `json:"applied"`
	AppliedNow bool `json:"applied_now"`
}

// appliedVersions reads schema_migrations; a missing table is no version.
func appliedVersions(ctx context.Context, db *sql.DB) (map[int]bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrations'").Scan(&n); err != nil {
		return nil, fmt.Errorf("ops: read schema_migrations: %w", err)
	}
	out := map[int]bool{}
	if n == 0 {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, "SELECT `version` FROM `schema_migrations`")
	if err != nil {
		return nil, fmt.Errorf("ops: read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("ops: read schema_migrations: %w", err)
		}
		out[v] = true
	}
	return out, rows.Err()
}

// Migrations lists the embedded migrations and which are applied.
func Migrations(ctx context.Context, db *sql.DB) ([]MigrationStatus, error) {
	migs, err := admin.Migrations()
	if err != nil {
		return nil, err
	}
	done, err := appliedVersions(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, len(migs))
	for i, m := range migs {
		out[i] = MigrationStatus{Version: m.Version, Name: m.Name, Applied: done[m.Version]}
	}
	return out, nil
}

// Migrate creates or upgrades the admin schema (admin.Migrate, idempotent)
// and returns every migration, marking those this call applied.
func Migrate(ctx context.Context, db *sql.DB) ([]MigrationStatus, error) {
	before, err := Migrations(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := admin.Migrate(ctx, db); err != nil {
		return nil, err
	}
	after, err := Migrations(ctx, db)
	if err != nil {
		return nil, err
	}
	for i := range after {
		after[i].AppliedNow = after[i].Applied && !before[i].Applied
	}
	return after, nil
}

// RequireSchema returns a *ferry.ConfigError saying to run `ferry admin
// migrate` when the admin schema lacks a migration this Ferry embeds.
func RequireSchema(ctx context.Context, db *sql.DB) error {
	st, err := Migrations(ctx, db)
	if err != nil {
		return err
	}
	var missing []string
	for _, m := range st {
		if !m.Applied {
			missing = append(missing, m.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	msg := fmt.Sprintf("the admin schema is missing migration(s) %v", missing)
	if len(missing) == len(st) {
		msg = "the admin database has no Ferry schema yet"
	}
	return &ferry.ConfigError{Msg: msg, Fix: "run `ferry admin migrate` (idempotent)"}
}
