package main

import (
	"strings"
	"testing"

	"github.com/ferrydata/ferry/internal/admin"
)

func TestAdminMigrate(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	// Before migrating, other commands say how to fix it.
	_, errs, code := ferryCLI(t, "company", "list", "--admin-dsn", e.adminURL)
	if code != 1 || !strings.Contains(errs, "ferry admin migrate") {
		t.Fatalf("company list before migrate: exit %d, stderr %q", code, errs)
	}
	out := mustFerry(t, "admin", "migrate", "--admin-dsn", e.adminURL)
	if !strings.Contains(out, "0001_original") || !strings.Contains(out, "applied now") || strings.Contains(out, "already applied") {
		t.Errorf("first migrate:\n%s", out)
	}
	for _, tbl := range []string{"companies", "tables", "configurations", "companies_configurations", "ferry_runs", "ferry_table_loads", "ferry_lease"} {
		if count(t, e.admin, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", tbl) != 1 {
			t.Errorf("table %s missing after migrate", tbl)
		}
	}
	// Empty lists say what to do; --json prints [] for scripts.
	if out := mustFerry(t, "company", "list", "--admin-dsn", e.adminURL); !strings.Contains(out, "No companies yet. Add one with `ferry company add") {
		t.Errorf("empty company list:\n%s", out)
	}
	if out := mustFerry(t, "table", "list", "--admin-dsn", e.adminURL); !strings.Contains(out, "No tables yet. Add one with `ferry table add") {
		t.Errorf("empty table list:\n%s", out)
	}
	for _, g := range []string{"company", "table"} {
		if out := mustFerry(t, g, "list", "--json", "--admin-dsn", e.adminURL); strings.TrimSpace(out) != "[]" {
			t.Errorf("empty %s list --json: %q", g, out)
		}
	}
	// Idempotent.
	out = mustFerry(t, "admin", "migrate", "--admin-dsn", e.adminURL)
	if strings.Contains(out, "applied now") || !strings.Contains(out, "already up to date") {
		t.Errorf("second migrate:\n%s", out)
	}
	var st []admin.MigrationStatus
	decode(t, mustFerry(t, "admin", "migrate", "--admin-dsn", e.adminURL, "--json"), &st)
	if len(st) < 2 || !st[0].Applied || st[0].AppliedNow {
		t.Errorf("--json: %+v", st)
	}
	// Unreachable admin database: exit 1, the fix names the flag.
	_, errs, code = ferryCLI(t, "admin", "migrate", "--admin-dsn", "mysql://root@127.0.0.1:1/x")
	if code != 1 || !strings.Contains(errs, "cannot connect") || !strings.Contains(errs, "--admin-dsn") {
		t.Errorf("unreachable: exit %d, stderr %q", code, errs)
	}
}
