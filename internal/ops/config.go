package ops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/plan"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

// Builtins are the parameters every company's queries may use besides its
// configuration values (see internal/plan).
var Builtins = []string{"company_id", "alias", "run_date", "since"}

var paramNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Problems splits an error returned by plan.Validate (or by the checks
// here) into its parts: errors.Join's list, or err alone.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []error{err}
}

// sinceFix is the fix for a query that uses :since for a company without
// the days configuration.
const sinceFix = ":since is the run date minus the company's days configuration: set it with `ferry company config %s days=30` (or --config days=30 on `ferry company add`), or correct the table's query"

var unknownParamRe = regexp.MustCompile(`uses :([A-Za-z_][A-Za-z0-9_]*), which has no value for this company`)

// deniedRe matches MySQL's "SELECT command denied" (1142) and "column
// denied" (1143) errors, as the source reports them for a query (MySQL
// names the table 't', MariaDB `db`.`t`).
var deniedRe = regexp.MustCompile(`Error 114[23] \(42000\): SELECT command denied to user '[^']*'@'[^']*' for (table|column) (\S+)`)

// sourceGrantFix is the fix for a source account that may not read %s.
var sourceGrantFix = "grant the source account (the user of " + where(SourceDB) + ") SELECT on %s %s, or on the whole source database; read-only is enough"

// IsPrivilegeProblem reports whether p is a query the source refused for
// lack of the SELECT privilege (not a mistake in the query).
func IsPrivilegeProblem(p error) bool { return deniedRe.MatchString(p.Error()) }

// ImproveFixes rewrites the fixes of the problems in err that have a more
// specific one here: :since without the days configuration, a parameter
// without a value, and a query the source refused for lack of SELECT.
func ImproveFixes(err error) error {
	ps := Problems(err)
	if len(ps) == 0 {
		return err
	}
	changed := false
	for i, p := range ps {
		var ce *ferry.ConfigError
		if !errors.As(p, &ce) {
			continue
		}
		if m := deniedRe.FindStringSubmatch(ce.Msg); m != nil {
			c := *ce
			c.Msg = fmt.Sprintf("the source account may not SELECT from %s %s: %s", m[1], m[2], ce.Msg)
			c.Fix = fmt.Sprintf(sourceGrantFix, m[1], m[2])
			ps[i] = &c
			changed = true
			continue
		}
		if m := unknownParamRe.FindStringSubmatch(ce.Msg); m != nil {
			c := *ce
			id, _, _ := strings.Cut(ce.Company, " ")
			if _, err := strconv.ParseInt(id, 10, 64); err != nil {
				id = "ID"
			}
			if m[1] == "since" {
				c.Fix = fmt.Sprintf(sinceFix, id)
			} else {
				c.Fix = fmt.Sprintf("give the company a value with `ferry company config %s %s=VALUE`, or correct the table's query", id, m[1])
			}
			ps[i] = &c
			changed = true
		}
	}
	if !changed {
		return err
	}
	return errors.Join(ps...)
}

// HasOnlyConfigProblems reports whether every part of err is a
// *ferry.ConfigError (the configuration is wrong, nothing is down).
func HasOnlyConfigProblems(err error) bool {
	ps := Problems(err)
	for _, p := range ps {
		var ce *ferry.ConfigError
		if !errors.As(p, &ce) {
			return false
		}
	}
	return len(ps) > 0
}

// CompanyInput is what `ferry company add` writes.
type CompanyInput struct {
	ID     int64
	Alias  string
	Schema string
	Config map[string]string
}

// Company is the company as runs will see it (schema defaulted).
func (in CompanyInput) Company() ferry.Company {
	c := ferry.Company{ID: in.ID, Alias: in.Alias, Schema: in.Schema, Config: map[string]string{}}
	if c.Schema == "" {
		c.Schema = ferry.DefaultSchema(in.Alias)
	}
	for k, v := range in.Config {
		c.Config[k] = v
	}
	return c
}

// CheckCompany validates a new company on its own and against the admin
// database: id, alias, schema and configuration names and values, and that
// no company already has its id, alias or target schema. It returns every
// problem at once (errors.Join of *ferry.ConfigError).
func CheckCompany(ctx context.Context, db *admin.DB, in CompanyInput, runDate time.Time) error {
	where := ferry.Where{Company: strconv.FormatInt(in.ID, 10)}
	var probs []error
	add := func(msg, fix string) { probs = append(probs, &ferry.ConfigError{Where: where, Msg: msg, Fix: fix}) }
	if in.ID <= 0 {
		add("company id must be a positive integer", "pass --company-id with the customer's id, e.g. --company-id 42")
	}
	if err := ferry.ValidAlias(in.Alias); err != nil {
		add(err.Error(), "pass --alias with lower-case letters, digits and _, starting with a letter (e.g. acme_eu)")
	}
	if in.Schema != "" {
		if err := ferry.ValidIdent(in.Schema); err != nil {
			add("target schema: "+err.Error(), "pass --schema with letters, digits and _ only, or leave it out for bi_<alias>")
		} else if strings.HasPrefix(strings.ToLower(in.Schema), "_ferry_") {
			add("target schema names starting with _ferry_ are reserved", "choose another --schema")
		}
	}
	names := make([]string, 0, len(in.Config))
	for k := range in.Config {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !paramNameRe.MatchString(k) || len(k) > 64 {
			add(fmt.Sprintf("configuration name %q is not usable as a query parameter", k), "use letters, digits and _ (at most 64), e.g. --config days=30")
		}
		for _, b := range Builtins {
			if k == b && k != "since" {
				add(fmt.Sprintf("configuration %s would be shadowed by the built-in parameter :%s", k, b), "choose another configuration name")
			}
		}
	}
	if len(probs) == 0 {
		if _, err := plan.CompanyParams(in.Company(), runDate); err != nil {
			probs = append(probs, err)
		}
	}
	if db != nil && in.ID > 0 {
		rows, err := db.ListCompanies(ctx)
		if err != nil {
			return err
		}
		schema := in.Company().Schema
		for _, r := range rows {
			switch {
			case r.ID == in.ID:
				add(fmt.Sprintf("company %d already exists (alias %s, %s)", r.ID, r.Alias, r.Status),
					fmt.Sprintf("use another --company-id; see `ferry company list`; to turn it back on: `ferry company enable %d`", r.ID))
			case r.Alias == in.Alias:
				add(fmt.Sprintf("alias %s is already company %d's", r.Alias, r.ID), "choose another --alias; see `ferry company list`")
			case strings.EqualFold(r.Schema, schema):
				add(fmt.Sprintf("target schema %s is already company %d's (%s)", r.Schema, r.ID, r.Alias), "pass another --schema")
			}
		}
	}
	return errors.Join(probs...)
}

// AddCompany writes the company and its configuration values in ONE
// transaction (companies, configurations rows created as needed,
// companies_configurations). Nothing is written on error.
func AddCompany(ctx context.Context, db *admin.DB, in CompanyInput) error {
	return db.InTx(ctx, func(tx *admin.DB) error {
		return tx.AddCompany(ctx, admin.NewCompany{ID: in.ID, Alias: in.Alias, Schema: in.Schema, Config: in.Config})
	})
}

// SetCompanyConfig sets configuration values of an existing company in one
// transaction. A missing company wraps ferry.ErrNotFound.
func SetCompanyConfig(ctx context.Context, db *admin.DB, id int64, cfg map[string]string) error {
	names := make([]string, 0, len(cfg))
	for k := range cfg {
		names = append(names, k)
	}
	sort.Strings(names)
	return db.InTx(ctx, func(tx *admin.DB) error {
		if _, err := tx.GetCompany(ctx, id); err != nil {
			return err
		}
		for _, k := range names {
			if !paramNameRe.MatchString(k) || len(k) > 64 {
				return &ferry.ConfigError{Where: ferry.Where{Company: strconv.FormatInt(id, 10)}, Msg: fmt.Sprintf("configuration name %q is not usable as a query parameter", k), Fix: "use letters, digits and _ (at most 64)"}
			}
			if err := tx.SetConfig(ctx, id, k, cfg[k]); err != nil {
				return err
			}
		}
		return nil
	})
}

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
	used, qprobs := queryProblems(spec, configs)
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
			probs = append(probs, tableProblem(spec, fmt.Sprintf("table %s differs from the existing table %s only in case", spec.Name, t.Name), "choose another --name"))
		}
	}
	return probs
}

// queryProblems checks the query parses and binds, and that each parameter
// it uses is a built-in or a configuration; it returns the parameters.
func queryProblems(spec ferry.TableSpec, configs []string) ([]string, []error) {
	var probs []error
	used, err := sqlparams.Names(spec.Query)
	if err == nil {
		_, _, _, err = sqlparams.Bind(spec.Query, anyValues(used))
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
