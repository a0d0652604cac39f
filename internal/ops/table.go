package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/plan"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

// TableCheck is what CheckTable learned.
type TableCheck struct {
	// Spec is the table with Params (params_select) set to the parameters
	// the query uses, and the defaults applied.
	Spec ferry.TableSpec
	// Columns of the query's result.
	Columns []ferry.Column
	// Companies are the active companies the query was run for; empty
	// when there is none, and then Sample is true: the query ran with
	// sample values.
	Companies []ferry.Company
	Sample    bool
}

// sampleAlias names the made-up company used when no company is active.
const sampleAlias = "sample_company"

// CheckTable validates a table before it is written: the name, the query
// (it parses, is one read-only SELECT, every parameter is a built-in or a
// configuration that exists), then, on the source, a LIMIT 0 run for every
// active company (or with sample values when there is none), the chunk
// column is in the result and integer-typed. replace allows a table of the
// same name to exist. It returns every problem at once (errors.Join);
// only a database being down is returned alone.
func CheckTable(ctx context.Context, db *admin.DB, src ferry.Source, spec ferry.TableSpec, replace bool, runDate time.Time) (TableCheck, error) {
	if spec.ChunkColumn == "" {
		spec.ChunkColumn = admin.DefaultChunkColumn
	}
	if spec.ChunkRows == 0 {
		spec.ChunkRows = admin.DefaultChunkRows
	}
	probs := specProblems(spec)
	tables, err := db.ListTables(ctx)
	if err != nil {
		return TableCheck{}, err
	}
	probs = append(probs, clashes(spec, tables, replace)...)
	configs, err := db.ConfigurationNames(ctx)
	if err != nil {
		return TableCheck{}, err
	}
	used, qprobs := queryProblems(spec, configs, sqlparams.DialectOf(src.Engine()))
	probs = append(probs, qprobs...)
	spec.Params = used
	if len(probs) > 0 {
		return TableCheck{Spec: spec}, errors.Join(probs...)
	}

	companies, err := db.ActiveCompanies(ctx, nil)
	if err != nil {
		return TableCheck{}, err
	}
	tc := TableCheck{Spec: spec, Companies: companies}
	check := companies
	if len(companies) == 0 {
		tc.Sample = true
		cfg := map[string]string{plan.DaysConfig: "30"}
		for _, c := range configs {
			if c != plan.DaysConfig && c != plan.LastDaysConfig {
				cfg[c] = "0"
			}
		}
		check = []ferry.Company{{ID: 1, Alias: sampleAlias, Schema: ferry.DefaultSchema(sampleAlias), Config: cfg}}
	}
	p, err := plan.Validate(ctx, src, check, []ferry.TableSpec{spec}, plan.Options{RunID: "table-add", RunDate: runDate})
	if err != nil {
		if tc.Sample {
			err = relabelSample(err)
		}
		return tc, ImproveFixes(err)
	}
	for _, c := range p.Companies {
		if len(c.Tables) > 0 {
			tc.Columns = c.Tables[0].Columns
			break
		}
	}
	return tc, nil
}

// tableProblem is a ConfigError about the table being added.
func tableProblem(spec ferry.TableSpec, msg, fix string) error {
	return &ferry.ConfigError{Where: ferry.Where{Table: spec.Name}, Msg: msg, Fix: fix}
}

// specProblems checks the table's name, chunk column, chunk size and
// zero-date policy.
func specProblems(spec ferry.TableSpec) []error {
	var probs []error
	add := func(msg, fix string) { probs = append(probs, tableProblem(spec, msg, fix)) }
	if err := ferry.ValidIdent(spec.Name); err != nil {
		add("table name: "+err.Error(), "pass --name with letters, digits and _")
	} else if strings.HasPrefix(strings.ToLower(spec.Name), "_ferry_") {
		add("table names starting with _ferry_ are reserved for Ferry's staging tables", "choose another --name")
	}
	if err := ferry.ValidIdent(spec.ChunkColumn); err != nil {
		add("chunk column: "+err.Error(), "pass --chunk-column with an integer column of the query's result")
	}
	if spec.ChunkRows < 0 {
		add(fmt.Sprintf("chunk rows %d is negative", spec.ChunkRows), "pass --chunk-rows with a positive number such as 200000")
	}
	switch spec.ZeroDates {
	case "", ferry.ZeroDateError, ferry.ZeroDateNull:
	default:
		add(fmt.Sprintf("zero-dates policy %q is not one of error, null", spec.ZeroDates), "pass --zero-dates error or --zero-dates null")
	}
	return probs
}

// clashes are the existing tables spec may not be added beside: the same
// name (unless replace), or a name that differs only in case.
func clashes(spec ferry.TableSpec, tables []admin.TableRow, replace bool) []error {
	var probs []error
	for _, t := range tables {
		if t.Name == spec.Name && !replace {
			probs = append(probs, tableProblem(spec, fmt.Sprintf("table %s already exists (%s)", t.Name, t.Status), "pass --replace to change its definition, or choose another --name; see `ferry table list`"))
		} else if t.Name != spec.Name && strings.EqualFold(t.Name, spec.Name) {
			probs = append(probs, tableProblem(spec, fmt.Sprintf("table %s differs from the existing table %s only in case: %s", spec.Name, t.Name, ferry.CaseCollision),
				fmt.Sprintf("choose a --name that differs in more than case (the name is the target table's), or change table %s with --name %s --replace", t.Name, t.Name)))
		}
	}
	return probs
}

// queryProblems checks the query parses and binds, and that each parameter
// it uses is a built-in or a configuration; it returns the parameters.
func queryProblems(spec ferry.TableSpec, configs []string, d sqlparams.Dialect) ([]string, []error) {
	var probs []error
	used, err := d.Names(spec.Query)
	if err == nil {
		_, _, _, err = d.Bind(spec.Query, anyValues(used))
	}
	if strings.TrimSpace(spec.Query) == "" {
		probs = append(probs, tableProblem(spec, "the query is empty", "pass --query 'SELECT ... FROM ... WHERE company_id = :company_id'"))
	} else if err != nil {
		probs = append(probs, tableProblem(spec, "query refused: "+err.Error(), "make --query one read-only SELECT with named parameters such as :company_id"))
	}
	known := map[string]bool{}
	for _, b := range Builtins {
		known[b] = true
	}
	for _, c := range configs {
		known[c] = true
	}
	cfgList := "there is none yet"
	if len(configs) > 0 {
		cfgList = ":" + strings.Join(configs, ", :")
	}
	for _, u := range used {
		if !known[u] {
			probs = append(probs, tableProblem(spec, fmt.Sprintf("the query uses :%s, which is neither a built-in parameter (:%s) nor a configuration (%s)", u, strings.Join(Builtins, ", :"), cfgList),
				fmt.Sprintf("correct the query, or give each company a value: `ferry company config ID %s=VALUE`", u)))
		}
	}
	return used, probs
}

func anyValues(names []string) map[string]any {
	m := make(map[string]any, len(names))
	for _, n := range names {
		m[n] = 0
	}
	return m
}

// relabelSample names the sample company as what it is in problems.
func relabelSample(err error) error {
	ps := Problems(err)
	out := make([]error, 0, len(ps))
	for _, p := range ps {
		var ce *ferry.ConfigError
		if errors.As(p, &ce) && strings.Contains(ce.Company, sampleAlias) {
			c := *ce
			c.Company = "none active (sample values)"
			out = append(out, &c)
			continue
		}
		out = append(out, p)
	}
	return errors.Join(out...)
}

// AddTableChecked is `ferry table add` after its flags were read: it
// checks the table (CheckTable; a problem is a *NotWrittenError: nothing
// is written) and writes it, active or not. Replaced says a table of that
// name existed (with replace).
func AddTableChecked(ctx context.Context, db *admin.DB, src ferry.Source, spec ferry.TableSpec, replace, active bool, runDate time.Time) (tc TableCheck, replaced bool, err error) {
	if replace {
		all, err := db.ListTables(ctx)
		if err != nil {
			return tc, false, err
		}
		for _, t := range all {
			replaced = replaced || t.Name == spec.Name
		}
	}
	if tc, err = CheckTable(ctx, db, src, spec, replace, runDate); err != nil {
		return tc, replaced, &NotWrittenError{Why: fmt.Sprintf("table %s was not written.", spec.Name), Err: err}
	}
	return tc, replaced, db.AddTable(ctx, tc.Spec, active)
}
