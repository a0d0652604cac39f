package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/ops"
)

func init() {
	register("table", "add, list, enable or disable copied tables", dispatch("table", []subcommand{
		{"add", "add a table: its query, validated against the source", runTableAdd},
		{"list", "list tables", runTableList},
		{"disable", "stop copying a table", func(ctx context.Context, a []string, o, e io.Writer) int {
			return runTableStatus(ctx, a, o, e, false)
		}},
		{"enable", "copy a table again", func(ctx context.Context, a []string, o, e io.Writer) int {
			return runTableStatus(ctx, a, o, e, true)
		}},
	}, nil))
}

// tableAddResult is what `ferry table add --json` prints.
type tableAddResult struct {
	Table     ferry.TableSpec `json:"table"`
	Columns   []ferry.Column  `json:"columns"`
	Companies []int64         `json:"checked_companies"`
	Sample    bool            `json:"checked_with_sample_values"`
	Replaced  bool            `json:"replaced"`
}

func runTableAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("table add", "--name T --query 'SELECT ...' [--chunk-column id] [--chunk-rows N] [--zero-dates error|null]",
		"Add a table to copy. The query must be one SELECT; it may use :company_id, :alias,\n"+
			":run_date, :since (run date minus the company's `days`) and any configuration name.\n"+
			"Before writing, the query is run with LIMIT 0 on the source for every active company\n"+
			"(sample values when there is none): it must succeed and return the chunk column as an\n"+
			"integer. params_select is set to the parameters the query uses.",
		"ferry table add --name orders \\\n"+
			"  --query 'SELECT id, customer, total, updated_at FROM orders WHERE company = :company_id AND updated_at >= :since' \\\n"+
			"  --chunk-column id --chunk-rows 250000",
		stdout, stderr).dbs(ops.AdminDB, ops.SourceDB).withJSON().noArgs().
		withRunDate("date (YYYY-MM-DD) whose parameter values the check uses; default today")
	name := c.fs.String("name", "", "target table name (required)")
	query := c.fs.String("query", "", "the SELECT producing the rows, with named parameters (required)")
	col := c.fs.String("chunk-column", admin.DefaultChunkColumn, "integer column of the result used to cut chunks")
	rows := c.fs.Int64("chunk-rows", admin.DefaultChunkRows, "rows per chunk")
	zd := c.fs.String("zero-dates", string(ferry.ZeroDateError), "zero dates such as 0000-00-00: error (fail the chunk) or null (write NULL)")
	shrink := c.fs.Int("max-shrink-pct", 0, "refuse to publish the table if it lost more than this percentage of its live rows (1-99; 0: no guard)")
	schemaChanges := c.fs.String("schema-changes", string(ferry.SchemaEvolve), "when the query's columns differ from the live table's: evolve (publish the new shape with the swap) or refuse (fail the company, naming each difference)")
	replace := c.fs.Bool("replace", false, "replace the definition of an existing table of that name")
	inactive := c.fs.Bool("disabled", false, "add the table disabled (runs skip it until 'ferry table enable NAME')")
	if code, done := c.parse(args); done {
		return code
	}
	if *name == "" || strings.TrimSpace(*query) == "" {
		return c.usageErr("--name and --query are required")
	}
	if *rows <= 0 {
		return c.usageErr("--chunk-rows must be positive, got %d", *rows)
	}
	if *shrink < 0 || *shrink > 99 {
		return c.usageErr("--max-shrink-pct must be between 0 and 99, got %d", *shrink)
	}
	if !ferry.ValidSchemaChangePolicy(ferry.SchemaChangePolicy(*schemaChanges)) {
		return c.usageErr("--schema-changes must be evolve or refuse, got %q", *schemaChanges)
	}
	db, src, err := c.openAdminAndSource(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	defer src.Close()
	spec := ferry.TableSpec{Name: *name, Query: *query, ChunkColumn: *col, ChunkRows: *rows, ZeroDates: ferry.ZeroDatePolicy(*zd), MaxShrinkPct: *shrink,
		SchemaChanges: ferry.SchemaChangePolicy(*schemaChanges)}
	tc, existed, err := ops.AddTableChecked(ctx, db, src, spec, *replace, !*inactive, c.date)
	var nw *ops.NotWrittenError
	if errors.As(err, &nw) {
		fmt.Fprintf(stderr, "ferry table add: %s\n", nw.Why)
	}
	if err != nil {
		return c.fail(err)
	}
	res := tableAddResult{Table: tc.Spec, Columns: tc.Columns, Companies: []int64{}, Sample: tc.Sample, Replaced: existed}
	for _, co := range tc.Companies {
		res.Companies = append(res.Companies, co.ID)
	}
	if c.json() {
		return c.printJSON(res)
	}
	printTableAdded(stdout, tc, existed, *inactive)
	return exitOK
}

// printTableAdded says what `ferry table add` wrote and checked.
func printTableAdded(stdout io.Writer, tc ops.TableCheck, replaced, inactive bool) {
	verb := "Added"
	if replaced {
		verb = "Replaced"
	}
	fmt.Fprintf(stdout, "%s table %s: chunk column %s, %s rows per chunk, zero dates %s, schema changes %s, parameters %s.\n",
		verb, tc.Spec.Name, tc.Spec.ChunkColumn, humanInt(tc.Spec.ChunkRows), orDefault(string(tc.Spec.ZeroDates), "error"),
		orDefault(string(tc.Spec.SchemaChanges), string(ferry.SchemaEvolve)), orDash(paramList(tc.Spec.Params)))
	cols := make([]string, len(tc.Columns))
	for i, col := range tc.Columns {
		cols[i] = col.Name + " " + col.Type
	}
	fmt.Fprintf(stdout, "Columns: %s.\n", strings.Join(cols, ", "))
	if tc.Sample {
		fmt.Fprintln(stdout, "Checked with sample parameter values: there is no active company yet.")
	} else {
		fmt.Fprintf(stdout, "Checked on the source for %d active companies.", len(tc.Companies))
		fmt.Fprintln(stdout, " See what the next run copies with `ferry plan`.")
	}
	if inactive {
		fmt.Fprintf(stdout, "The table is disabled: `ferry table enable %s` turns it on.\n", tc.Spec.Name)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func paramList(ps []string) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = ":" + p
	}
	return strings.Join(out, ", ")
}

func runTableList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("table list", "[flags]", "List every configured table, active or not.",
		"ferry table list\nferry table list --json | jq -r '.[].query'", stdout, stderr).dbs(ops.AdminDB).withJSON().noArgs()
	return runList(ctx, c, args, listing[admin.TableRow]{
		read:   (*admin.DB).ListTables,
		empty:  "No tables yet. Add one with `ferry table add --name T --query 'SELECT ...'`.",
		header: []string{"NAME", "STATUS", "CHUNK COLUMN", "CHUNK ROWS", "ZERO DATES", "PARAMETERS", "QUERY"},
		row: func(r admin.TableRow) []string {
			return []string{r.Name, r.Status, r.ChunkColumn, strconv.FormatInt(r.ChunkRows, 10), orDefault(string(r.ZeroDates), "error"),
				orDash(paramList(r.Params)), clip(strings.Join(strings.Fields(r.Query), " "), 60)}
		},
	})
}

func runTableStatus(ctx context.Context, args []string, stdout, stderr io.Writer, active bool) int {
	verb, desc := "disable", "Stop copying a table: runs skip it; the live tables in the targets stay as they are."
	if active {
		verb, desc = "enable", "Copy a table again from the next run on."
	}
	c := newOpsCmd("table "+verb, "NAME [flags]", desc, "ferry table "+verb+" orders", stdout, stderr).dbs(ops.AdminDB).withJSON()
	if code, done := c.parse(args); done {
		return code
	}
	if c.nArg() != 1 {
		return c.usageErr("give exactly one table name, e.g. ferry table %s orders", verb)
	}
	name := c.arg(0)
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	if err := db.SetTableStatus(ctx, name, active); err != nil {
		return c.fail(notFoundFix(err, "table "+name, "ferry table list"))
	}
	if c.json() {
		st := admin.StatusInactive
		if active {
			st = admin.StatusActive
		}
		return c.printJSON(map[string]string{"name": name, "status": st})
	}
	if active {
		fmt.Fprintf(stdout, "Table %s enabled: the next run copies it.\n", name)
	} else {
		fmt.Fprintf(stdout, "Table %s disabled: runs skip it; the live tables are left as they are.\n", name)
	}
	return exitOK
}
