package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/ops"
)

func init() {
	register("admin", "manage the admin database (migrate)", dispatch("admin", []subcommand{
		{"migrate", "create or upgrade the admin schema (idempotent)", runAdminMigrate},
	}, nil))
}

// openAdminDB opens the admin database of c's --admin-dsn and, unless
// migrating, requires its schema to be current.
func (c *opsCmd) openAdminDB(ctx context.Context, requireSchema bool) (*admin.DB, error) {
	db, _, err := ops.OpenAdmin(ctx, c.url(ops.AdminDB))
	if err != nil {
		return nil, err
	}
	if requireSchema {
		if err := db.RequireSchema(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// openAdminAndSource opens the admin database (its schema current) and the
// source, for the commands that validate queries; the caller closes both.
func (c *opsCmd) openAdminAndSource(ctx context.Context) (*admin.DB, *ops.Source, error) {
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	src, err := ops.OpenSource(ctx, c.url(ops.SourceDB))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, src, nil
}

func runAdminMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("admin migrate", "[flags]",
		"Create the admin tables (companies, tables, configurations, companies_configurations,\n"+
			"ferry_runs, ferry_table_loads, ferry_lease) or upgrade them. Safe to run again:\n"+
			"an existing database of the original tool keeps its rows.",
		"ferry admin migrate --admin-dsn mysql://ferry:PASSWORD@db-host:3306/ferry_admin", stdout, stderr).
		dbs(ops.AdminDB).withJSON().noArgs()
	if code, done := c.parse(args); done {
		return code
	}
	db, err := c.openAdminDB(ctx, false)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	st, err := db.Migrate(ctx)
	if err != nil {
		return c.fail(fmt.Errorf("migrate: %w", err))
	}
	if c.json() {
		return c.printJSON(st)
	}
	rows := make([][]string, len(st))
	now := 0
	for i, m := range st {
		state := "already applied"
		if m.AppliedNow {
			state = "applied now"
			now++
		}
		rows[i] = []string{fmt.Sprint(m.Version), m.Name, state}
	}
	writeTable(stdout, []string{"VERSION", "MIGRATION", "STATUS"}, rows)
	if now == 0 {
		fmt.Fprintln(stdout, "\nThe admin schema was already up to date.")
	} else {
		fmt.Fprintf(stdout, "\nApplied %d migration(s); the admin schema is up to date.\n", now)
	}
	return exitOK
}
