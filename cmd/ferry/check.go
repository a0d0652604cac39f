package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ferrydata/ferry/internal/ops"
)

func init() { register("check", "preflight: connectivity, privileges and every query", runCheck) }

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("check", "[flags]",
		"Preflight over the whole configuration. It checks connectivity to the admin, source and\n"+
			"target databases; the admin schema; in every active company's target schema that the\n"+
			"target account may create, fill, upsert into, read, alter, rename and drop a table (a scratch table\n"+
			"_ferry_check_<random>, removed again), or create the schema if it does not exist yet;\n"+
			"and every active table's query for every active company. It lists EVERY problem with\n"+
			"its fix, and exits 1 if there is any.",
		"ferry check\nferry check --json | jq '.items[] | select(.status == \"fail\")'",
		stdout, stderr).dbs(ops.AdminDB, ops.SourceDB, ops.TargetDB).withJSON().noArgs().
		withRunDate("run date (YYYY-MM-DD) whose parameter values the queries are checked with; default today")
	if code, done := c.parse(args); done {
		return code
	}
	rep := ops.Check(ctx, ops.DSNs{Admin: c.url(ops.AdminDB), Source: c.url(ops.SourceDB), Target: c.url(ops.TargetDB)}, ops.CheckOptions{RunDate: c.date})
	if c.json() {
		if err := writeJSON(stdout, rep); err != nil {
			return c.fail(err)
		}
	} else {
		printCheck(stdout, rep)
	}
	if !rep.OK {
		if c.json() {
			fmt.Fprintf(stderr, "ferry check: %d problem(s)\n", rep.Problems)
		}
		return exitFail
	}
	return exitOK
}

// companyTable names an item's company and table ("company 42 (acme),
// table orders"); empty when it has neither.
func companyTable(it ops.Item) string {
	var parts []string
	if it.Company != "" {
		parts = append(parts, "company "+it.Company)
	}
	if it.Table != "" {
		parts = append(parts, "table "+it.Table)
	}
	return strings.Join(parts, ", ")
}

func printCheck(w io.Writer, rep ops.Report) {
	var rows [][]string
	for _, it := range rep.Items {
		where := it.Database
		if ct := companyTable(it); ct != "" {
			where += ": " + ct
		}
		msg := it.Message
		if it.Status == ops.StatusFail {
			msg = clip(msg, 100) // in full with its fix below
		}
		rows = append(rows, []string{strings.ToUpper(it.Status), it.Check, orDash(where), msg})
	}
	writeTable(w, []string{"STATUS", "CHECK", "WHERE", "RESULT"}, rows)
	if rep.OK {
		fmt.Fprintln(w, "\nAll checks passed.")
		return
	}
	fmt.Fprintf(w, "\n%d problem(s), each with its fix:\n", rep.Problems)
	n := 0
	for _, it := range rep.Items {
		if it.Status != ops.StatusFail {
			continue
		}
		n++
		var where []string
		if it.Database != "" {
			where = append(where, it.Database+" database")
		}
		if ct := companyTable(it); ct != "" {
			where = append(where, ct)
		}
		fmt.Fprintf(w, "%d. [%s] %s\n   fix: %s\n", n, strings.Join(where, ", "), it.Message, orDefault(it.Fix, "see the message"))
	}
}
