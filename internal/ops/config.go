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
			case r.Schema == schema:
				add(fmt.Sprintf("target schema %s is already company %d's (%s)", r.Schema, r.ID, r.Alias), "pass another --schema")
			case strings.EqualFold(r.Schema, schema):
				add(fmt.Sprintf("target schema %s differs from company %d (%s)'s target schema %s only in case: %s", schema, r.ID, r.Alias, r.Schema, ferry.CaseCollision),
					"pass a --schema that differs in more than case (or leave it out for bi_<alias>)")
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
// transaction. A missing company wraps ferry.ErrNotFound. The names and the
// values are checked as `ferry company add` checks them (a days value that
// is not a whole number, a name shadowing a built-in parameter): a refused
// value is a *ferry.ConfigError and nothing is written.
func SetCompanyConfig(ctx context.Context, db *admin.DB, id int64, cfg map[string]string) error {
	names := make([]string, 0, len(cfg))
	for k := range cfg {
		names = append(names, k)
	}
	sort.Strings(names)
	return db.InTx(ctx, func(tx *admin.DB) error {
		row, err := tx.GetCompany(ctx, id)
		if err != nil {
			return err
		}
		// The new values only: a name the original tool stored by hand
		// (not a parameter) does not block setting another one.
		if err := CheckCompany(ctx, nil, CompanyInput{ID: id, Alias: row.Alias, Config: cfg}, time.Now().UTC()); err != nil {
			return err
		}
		for _, k := range names {
			if err := tx.SetConfig(ctx, id, k, cfg[k]); err != nil {
				return err
			}
		}
		return nil
	})
}
