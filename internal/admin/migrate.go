package admin

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
)

// Migration is one schema migration of an engine's admin database.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// ParseMigrations reads the migrations in dir of fsys (an engine's
// embedded files) in version order. A file is named NNNN_name.sql; its
// statements are separated by a ';' at the end of a line (Statements).
func ParseMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, f := range files {
		base := path.Base(f)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("admin: migration %s: name must start with a number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, f)
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

// Statements splits a migration into statements: a line ending in ';'
// ends a statement; lines starting with "--" are comments.
func Statements(src string) []string {
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
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Applied is true when the migration is recorded as applied;
	// AppliedNow when this call applied it.
	Applied    bool `json:"applied"`
	AppliedNow bool `json:"applied_now"`
}

// Migrations lists the engine's migrations and which are applied.
func (db *DB) Migrations(ctx context.Context) ([]MigrationStatus, error) {
	migs, err := db.b.Migrations()
	if err != nil {
		return nil, err
	}
	done, err := db.b.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, len(migs))
	for i, m := range migs {
		out[i] = MigrationStatus{Version: m.Version, Name: m.Name, Applied: done[m.Version]}
	}
	return out, nil
}

// Migrate creates or upgrades the admin schema (idempotent; an existing
// database of the original tool keeps its tables and rows) and returns
// every migration, marking those this call applied.
func (db *DB) Migrate(ctx context.Context) ([]MigrationStatus, error) {
	before, err := db.Migrations(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.b.Migrate(ctx); err != nil {
		return nil, err
	}
	after, err := db.Migrations(ctx)
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
func (db *DB) RequireSchema(ctx context.Context) error {
	st, err := db.Migrations(ctx)
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

// DeniedWrites describes the writes a run makes that the admin account may
// not do (nothing is changed); nil when all are allowed.
func (db *DB) DeniedWrites(ctx context.Context) []string { return db.b.DeniedWrites(ctx) }
