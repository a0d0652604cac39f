package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/ops"
)

func init() {
	register("company", "add, list, enable or disable customers", dispatch("company", []subcommand{
		{"add", "add a customer, create its target schema, show what it will copy", runCompanyAdd},
		{"list", "list customers", runCompanyList},
		{"disable", "stop copying a customer (runs skip it)", func(ctx context.Context, a []string, o, e io.Writer) int {
			return runCompanyStatus(ctx, a, o, e, false)
		}},
		{"enable", "copy a customer again", func(ctx context.Context, a []string, o, e io.Writer) int {
			return runCompanyStatus(ctx, a, o, e, true)
		}},
		{"config", "set configuration values of a customer", runCompanyConfig},
	}, nil))
}

func runCompanyAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("company add", "--company-id N --alias NAME [--schema S] [--config name=value ...]",
		"Add a customer: validate the input and the customer's queries, write the companies and\n"+
			"companies_configurations rows in one transaction, create the target schema, and print\n"+
			"what the next run will copy for it. Nothing is written when a check fails.",
		"ferry company add --company-id 42 --alias acme --config days=30\n"+
			"ferry company add --company-id 43 --alias globex --schema reporting_globex --config region=eu --config days=7",
		stdout, stderr).dbs(ops.AdminDB, ops.SourceDB, ops.TargetDB).withJSON().noArgs().
		withRunDate("date (YYYY-MM-DD) the preview plans for; default today")
	id := c.fs.Int64("company-id", 0, "the customer's company id (required, a positive integer)")
	alias := c.fs.String("alias", "", "short name [a-z][a-z0-9_]{0,39}, used in object keys and the default schema bi_<alias> (required)")
	schema := c.fs.String("schema", "", "target schema (PostgreSQL schema or MySQL database); default bi_<alias>")
	cfg := kvList{}
	c.fs.Var(cfg, "config", "a configuration value name=value, available to queries as :name (repeatable)")
	if code, done := c.parse(args); done {
		return code
	}
	if *id == 0 || *alias == "" {
		return c.usageErr("--company-id and --alias are required")
	}
	date := c.date
	in := ops.CompanyInput{ID: *id, Alias: *alias, Schema: *schema, Config: cfg}
	if err := ops.CheckCompany(ctx, nil, in, date); err != nil {
		return c.fail(err)
	}
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	if err := ops.CheckCompany(ctx, db, in, date); err != nil {
		return c.fail(err)
	}
	// Every database must answer before anything is written.
	src, err := ops.OpenSource(ctx, c.url(ops.SourceDB))
	if err != nil {
		return c.fail(err)
	}
	defer src.Close()
	tgt, err := ops.OpenTarget(ctx, c.url(ops.TargetDB))
	if err != nil {
		return c.fail(err)
	}
	defer tgt.Close()
	res, err := ops.AddCompanyChecked(ctx, db, src, tgt, in, date)
	var nw *ops.NotWrittenError
	if errors.As(err, &nw) {
		fmt.Fprintf(stderr, "ferry company add: %s\n", nw.Why)
	}
	if err != nil {
		return c.fail(err)
	}
	if c.json() {
		return c.printJSON(res)
	}
	fmt.Fprintf(stdout, "Added company %d (%s): target schema %s on the %s target", in.ID, in.Alias, res.Company.Schema, res.Engine)
	if n := len(in.Config); n > 0 {
		fmt.Fprintf(stdout, ", configuration %s", kvString(in.Config))
	}
	fmt.Fprintln(stdout, ".")
	if res.Tables == 0 {
		fmt.Fprintln(stdout, "\nNo active tables yet: the next run copies nothing for it. Add one with `ferry table add`.")
		return exitOK
	}
	fmt.Fprintln(stdout, "\nThe next run will copy:")
	printPlan(stdout, res.Plan, false)
	return exitOK
}

func kvString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

// printPlan prints plan rows and a total line.
func printPlan(w io.Writer, rows []ops.PlanRow, withCompany bool) {
	header := []string{"TABLE", "TARGET", "EST. ROWS", "CHUNKS", "CHUNK RANGE"}
	if withCompany {
		header = append([]string{"COMPANY", "ALIAS"}, header...)
	}
	var out [][]string
	var total int64
	chunks := 0
	companies := map[int64]bool{}
	for _, r := range rows {
		rng := "-"
		if r.Chunks > 0 {
			rng = fmt.Sprintf("%s [%d, %d]", r.ChunkColumn, r.Min, r.Max)
		}
		line := []string{r.Table, r.TargetTable, humanInt(r.EstRows), strconv.Itoa(r.Chunks), rng}
		if withCompany {
			line = append([]string{itoa(r.CompanyID), r.Alias}, line...)
		}
		out = append(out, line)
		total += r.EstRows
		chunks += r.Chunks
		companies[r.CompanyID] = true
	}
	writeTable(w, header, out)
	if withCompany {
		fmt.Fprintf(w, "\nTotal: %s, %s, %s rows, %s.\n", plural(len(companies), "company", "companies"), plural(len(rows), "table", "tables"), humanInt(total), plural(chunks, "chunk", "chunks"))
	} else {
		fmt.Fprintf(w, "\nTotal: %s, %s rows, %s.\n", plural(len(rows), "table", "tables"), humanInt(total), plural(chunks, "chunk", "chunks"))
	}
}

func runCompanyList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("company list", "[flags]", "List every customer, active or not, with its target schema and configuration.",
		"ferry company list\nferry company list --json | jq '.[] | select(.status == \"active\") | .alias'", stdout, stderr).
		dbs(ops.AdminDB).withJSON().noArgs()
	return runList(ctx, c, args, listing[admin.CompanyRow]{
		read:   (*admin.DB).ListCompanies,
		empty:  "No companies yet. Add one with `ferry company add --company-id N --alias NAME`.",
		header: []string{"ID", "ALIAS", "STATUS", "SCHEMA", "CONFIGURATION"},
		row: func(r admin.CompanyRow) []string {
			return []string{itoa(r.ID), r.Alias, r.Status, r.Schema, orDash(kvString(r.Config))}
		},
	})
}

// companyArg parses the ID argument of enable/disable/config.
func companyArg(c *opsCmd) (int64, int, bool) {
	if c.nArg() < 1 {
		return 0, c.usageErr("give the company id, e.g. ferry %s 42", c.name), false
	}
	id, err := strconv.ParseInt(c.arg(0), 10, 64)
	if err != nil || id <= 0 {
		return 0, c.usageErr("%q is not a company id (a positive integer)", c.arg(0)), false
	}
	return id, 0, true
}

func runCompanyStatus(ctx context.Context, args []string, stdout, stderr io.Writer, active bool) int {
	verb, desc := "disable", "Stop copying a customer: runs skip it from now on; its target schema and tables stay as they are."
	if active {
		verb, desc = "enable", "Copy a customer again from the next run on."
	}
	c := newOpsCmd("company "+verb, "ID [flags]", desc, "ferry company "+verb+" 42", stdout, stderr).dbs(ops.AdminDB).withJSON()
	if code, done := c.parse(args); done {
		return code
	}
	id, code, ok := companyArg(c)
	if !ok {
		return code
	}
	if c.nArg() > 1 {
		return c.usageErr("unexpected argument %q", c.arg(1))
	}
	return c.updateCompany(ctx, id, func(db *admin.DB) error { return db.SetCompanyStatus(ctx, id, active) }, func(row admin.CompanyRow) string {
		if active {
			return fmt.Sprintf("Company %d (%s) enabled: the next run copies it.", id, row.Alias)
		}
		return fmt.Sprintf("Company %d (%s) disabled: runs skip it; %s is left as it is.", id, row.Alias, row.Schema)
	})
}

func runCompanyConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("company config", "ID name=value [name=value ...] [flags]",
		"Set configuration values of a customer (companies_configurations), available to its\nqueries as :name. Creates the configurations rows when missing. One transaction.",
		"ferry company config 42 days=30 region=eu", stdout, stderr).dbs(ops.AdminDB).withJSON()
	if code, done := c.parse(args); done {
		return code
	}
	id, code, ok := companyArg(c)
	if !ok {
		return code
	}
	kv := kvList{}
	for _, a := range c.args[1:] {
		if err := kv.Set(a); err != nil {
			return c.usageErr("%v", err)
		}
	}
	if len(kv) == 0 {
		return c.usageErr("give at least one name=value")
	}
	return c.updateCompany(ctx, id, func(db *admin.DB) error { return ops.SetCompanyConfig(ctx, db, id, kv) }, func(row admin.CompanyRow) string {
		return fmt.Sprintf("Company %d (%s): configuration %s.", id, row.Alias, kvString(row.Config))
	})
}

// updateCompany applies change to company id in the admin database, then
// prints the company as JSON, or describe's sentence. A missing company is
// an error naming `ferry company list`.
func (c *opsCmd) updateCompany(ctx context.Context, id int64, change func(*admin.DB) error, describe func(admin.CompanyRow) string) int {
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	if err := change(db); err != nil {
		return c.fail(notFoundFix(err, fmt.Sprintf("company %d", id), "ferry company list"))
	}
	row, err := db.GetCompany(ctx, id)
	if err != nil {
		return c.fail(err)
	}
	if c.json() {
		return c.printJSON(row)
	}
	fmt.Fprintln(c.stdout, describe(row))
	return exitOK
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
