// Package plan validates a run's configuration and cuts every company ×
// table into chunks. It only reads (the source, through ferry.Source): Build
// is what `ferry plan` prints and what list-tables executes.
//
// Parameters available to a company's queries (CompanyParams):
//
//	:company_id  the company id (integer)
//	:alias       the company alias
//	:run_date    the run date, YYYY-MM-DD
//	:since       run_date minus N days, YYYY-MM-DD, when the company has the
//	             configuration "days" (the original tool's "last N days";
//	             "last_days" is accepted as an alias of it)
//	:<name>      every configuration value of the company, as a string,
//	             whose name is a valid parameter name ([A-Za-z_][A-Za-z0-9_]*)
//
// The built-in names win over a configuration of the same name. Values are
// only ever bound by the driver; nothing is evaluated.
package plan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/sqlparams"
	"golang.org/x/sync/errgroup"
)

// DaysConfig is the configuration holding the "last N days" window;
// LastDaysConfig is accepted as its alias.
const (
	DaysConfig     = "days"
	LastDaysConfig = "last_days"
)

// DateLayout is the layout of :run_date and :since.
const DateLayout = "2006-01-02"

// Options say what run is planned.
type Options struct {
	RunID   string
	RunDate time.Time
	// Target is the engine chunks will be loaded into (ChunkTask.Target).
	Target ferry.Engine
	// Parallel bounds concurrent source queries (default 4).
	Parallel int
	// Isolate plans every company that can be planned: a company with a
	// problem (its own, or one of a table it would copy) is left out of
	// Companies and listed in Plan.Failed instead of failing the whole
	// plan. Transient source errors still fail it.
	Isolate bool
	// Codec is the codec export-chunk will write the chunks with; it
	// names their keys (ferry.ChunkKeyFor; empty: gzip's .csv.gz).
	Codec ferry.Codec
}

// Plan is a whole run: every company's tables and chunks.
type Plan struct {
	RunID   string       `json:"run_id"`
	RunDate string       `json:"run_date"`
	Target  ferry.Engine `json:"target"`
	// Codec names the chunk keys (Options.Codec).
	Codec     ferry.Codec   `json:"codec,omitempty"`
	Companies []CompanyPlan `json:"companies"`
	// Failed lists the companies that could not be planned (with
	// Options.Isolate), in company order.
	Failed []Failure `json:"failed,omitempty"`
}

// Failure is a company that could not be planned, and why.
type Failure struct {
	Company ferry.Company `json:"company"`
	// Err is every problem of the company (errors.Join of
	// *ferry.ConfigError, or the error that stopped its planning).
	Err error `json:"-"`
}

// CompanyPlan is one company's part of the plan.
type CompanyPlan struct {
	Company ferry.Company `json:"company"`
	Tables  []TablePlan   `json:"tables"`
}

// TablePlan is one table of one company.
type TablePlan struct {
	Spec    ferry.TableSpec `json:"spec"`
	Staging string          `json:"staging"`
	// Params holds the values of the parameters the query uses.
	Params  map[string]ferry.Param `json:"params,omitempty"`
	Columns []ferry.Column         `json:"columns"`
	Bounds  ferry.Bounds           `json:"bounds"`
	Chunks  []ferry.Chunk          `json:"chunks"`
}

// Chunks is the number of chunks of the company.
func (c CompanyPlan) Chunks() int {
	n := 0
	for _, t := range c.Tables {
		n += len(t.Chunks)
	}
	return n
}

// Chunks is the number of chunks of the run.
func (p Plan) Chunks() int {
	n := 0
	for _, c := range p.Companies {
		n += c.Chunks()
	}
	return n
}

// Tables is the number of company × table pairs of the run.
func (p Plan) Tables() int {
	n := 0
	for _, c := range p.Companies {
		n += len(c.Tables)
	}
	return n
}

// Tasks are the company's chunk tasks, in table then chunk order: the
// manifest the Distributed Map iterates over.
func (p Plan) Tasks(c CompanyPlan) []ferry.ChunkTask {
	out := make([]ferry.ChunkTask, 0, c.Chunks())
	for _, t := range c.Tables {
		for _, ch := range t.Chunks {
			out = append(out, ferry.ChunkTask{
				RunID:       p.RunID,
				CompanyID:   c.Company.ID,
				Alias:       c.Company.Alias,
				Schema:      c.Company.Schema,
				Table:       t.Spec.Name,
				Staging:     t.Staging,
				Target:      p.Target,
				Chunk:       ch,
				Chunks:      len(t.Chunks),
				Key:         ferry.ChunkKeyFor(p.RunID, c.Company.Alias, t.Spec.Name, ch.Index, p.Codec),
				Query:       t.Spec.Query,
				Params:      t.Params,
				ChunkColumn: t.Spec.ChunkColumn,
				ZeroDates:   t.Spec.ZeroDates,
			})
		}
	}
	return out
}

var paramNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func companyName(c ferry.Company) string {
	if c.Alias == "" {
		return strconv.FormatInt(c.ID, 10)
	}
	return fmt.Sprintf("%d (%s)", c.ID, c.Alias)
}

// CompanyParams returns every parameter available to c's queries on
// runDate (see the package doc). An invalid "days" or "max_drift_pct"
// value is a *ferry.ConfigError.
func CompanyParams(c ferry.Company, runDate time.Time) (map[string]ferry.Param, error) {
	if _, err := MaxDriftPct(c); err != nil {
		return nil, err
	}
	p := make(map[string]ferry.Param, len(c.Config)+4)
	for k, v := range c.Config {
		if paramNameRe.MatchString(k) {
			p[k] = v
		}
	}
	p["company_id"] = c.ID
	p["alias"] = c.Alias
	p["run_date"] = runDate.Format(DateLayout)
	name := DaysConfig
	v, ok := c.Config[DaysConfig]
	if !ok {
		name = LastDaysConfig
		v, ok = c.Config[LastDaysConfig]
	}
	if ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 36600 {
			return nil, &ferry.ConfigError{
				Where: ferry.Where{Company: companyName(c)},
				Msg:   fmt.Sprintf("configuration %s = %q is not a whole number of days", name, v),
				Fix:   fmt.Sprintf("set %s to a number such as 30 in companies_configurations", name),
			}
		}
		p["since"] = runDate.AddDate(0, 0, -n).Format(DateLayout)
	}
	return p, nil
}

// IsIntegerType reports whether a ferry.Column type is an integer type
// usable as a chunk column.
func IsIntegerType(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	for _, p := range []string{"tinyint", "smallint", "mediumint", "integer", "int", "bigint"} {
		if t == p || strings.HasPrefix(t, p+"(") || strings.HasPrefix(t, p+" ") {
			return true
		}
	}
	return false
}

type problems struct {
	mu   sync.Mutex
	errs []error
}

func (p *problems) add(where ferry.Where, msg, fix string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, &ferry.ConfigError{Where: where, Msg: msg, Fix: fix})
}

func (p *problems) err() error { return errors.Join(p.sorted()...) }

// sorted orders the problems by company, table and message.
func (p *problems) sorted() []error {
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i].(*ferry.ConfigError), p.errs[j].(*ferry.ConfigError)
		if a.Company != b.Company {
			return a.Company < b.Company
		}
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		return a.Msg < b.Msg
	})
	return p.errs
}

// checkTable validates what does not depend on a company.
func checkTable(t ferry.TableSpec, d sqlparams.Dialect, probs *problems) bool {
	n := len(probs.errs)
	w := ferry.Where{Table: t.Name}
	if err := ferry.ValidIdent(t.Name); err != nil {
		probs.add(w, "table name: "+err.Error(), "rename the table in the tables row")
	} else if strings.HasPrefix(strings.ToLower(t.Name), "_ferry_") {
		probs.add(w, "table names starting with _ferry_ are reserved for Ferry's staging tables", "rename the table")
	}
	if err := ferry.ValidIdent(t.ChunkColumn); err != nil {
		probs.add(w, "chunk column: "+err.Error(), "set tables.chunk_column to an integer column of the query's result")
	}
	if t.ChunkRows <= 0 {
		probs.add(w, fmt.Sprintf("chunk_rows is %d", t.ChunkRows), "set tables.chunk_rows to a positive number such as 200000, or NULL for the default")
	}
	switch t.ZeroDates {
	case "", ferry.ZeroDateError, ferry.ZeroDateNull:
	default:
		probs.add(w, fmt.Sprintf("zero_dates %q is not a policy", t.ZeroDates), "set tables.zero_dates to error, null or NULL")
	}
	if t.MaxShrinkPct < 0 || t.MaxShrinkPct > 99 {
		probs.add(w, fmt.Sprintf("max_shrink_pct is %d", t.MaxShrinkPct), "set tables.max_shrink_pct between 1 and 99, or NULL for no guard")
	}
	if strings.TrimSpace(t.Query) == "" {
		probs.add(w, "query_select is empty", "set tables.query_select to the SELECT that produces the table's rows")
	} else {
		// Statement checks come before parameter lookups in Bind: with no
		// values, a QueryError is about the query itself, for every company.
		_, _, _, err := d.Bind(t.Query, nil)
		var qe *sqlparams.QueryError
		if errors.As(err, &qe) {
			probs.add(w, "query refused: "+err.Error(), "make query_select one read-only SELECT with named parameters")
		}
	}
	return len(probs.errs) == n
}

// Validate checks the whole configuration: companies, tables, every query
// against every company (single read-only SELECT, parameters, the chunk
// column's presence and type, through src.Columns), and name collisions.
// It returns every problem at once, each a *ferry.ConfigError naming the
// company, the table and the fix, joined with errors.Join; a transient
// source error is returned alone, as it is. It writes nothing. On success
// it returns the plan without chunks.
func Validate(ctx context.Context, src ferry.Source, companies []ferry.Company, tables []ferry.TableSpec, opt Options) (Plan, error) {
	p := Plan{RunID: opt.RunID, RunDate: opt.RunDate.Format(DateLayout), Target: opt.Target, Codec: opt.Codec}
	probs := &problems{}
	okTable := checkTables(tables, sqlparams.DialectOf(src.Engine()), probs)
	params, okCompany := checkCompanies(companies, opt.RunDate, probs)

	// Every company × table against the source.
	p.Companies = make([]CompanyPlan, len(companies))
	for i, c := range companies {
		p.Companies[i] = CompanyPlan{Company: c, Tables: make([]TablePlan, len(tables))}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel(opt))
	for i, c := range companies {
		if !okCompany[i] {
			continue
		}
		for j, t := range tables {
			if !okTable[j] {
				continue
			}
			g.Go(func() error {
				tp, err := checkPair(gctx, src, c, t, params[i], probs)
				if err != nil {
					return err
				}
				p.Companies[i].Tables[j] = tp
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return Plan{}, err
	}
	if len(probs.errs) > 0 {
		if !opt.Isolate {
			return Plan{}, probs.err()
		}
		isolate(&p, probs)
	}
	return p, nil
}

// checkTables checks each table (checkTable, queries in dialect d) and the names they share: two
// tables differing only in case, two with one staging table, a table named
// like another's staging table. It reports which tables are usable.
func checkTables(tables []ferry.TableSpec, d sqlparams.Dialect, probs *problems) []bool {
	okTable := make([]bool, len(tables))
	byLower := map[string]string{}
	staging := map[string]string{}
	for i, t := range tables {
		okTable[i] = checkTable(t, d, probs)
		low := strings.ToLower(t.Name)
		if other, dup := byLower[low]; dup {
			probs.add(ferry.Where{Table: t.Name}, fmt.Sprintf("table %s and table %s differ only in case: %s", other, t.Name, ferry.CaseCollision),
				fmt.Sprintf("disable one of them (`ferry table disable %s`), or rename it so the names differ in more than case", t.Name))
			okTable[i] = false
		}
		byLower[low] = t.Name
		s := ferry.StagingName(t.Name)
		if other, dup := staging[strings.ToLower(s)]; dup {
			probs.add(ferry.Where{Table: t.Name}, fmt.Sprintf("tables %s and %s map to the same staging table %s", other, t.Name, s), "rename one of them")
			okTable[i] = false
		}
		staging[strings.ToLower(s)] = t.Name
	}
	for i, t := range tables {
		if other, ok := staging[strings.ToLower(t.Name)]; ok && other != t.Name {
			probs.add(ferry.Where{Table: t.Name}, fmt.Sprintf("table name %s is the staging table of table %s", t.Name, other), "rename the table")
			okTable[i] = false
		}
	}

	return okTable
}

// checkCompanies checks each company's alias, schema (both unique) and
// parameter values; it returns the parameters and which companies are
// usable.
func checkCompanies(companies []ferry.Company, runDate time.Time, probs *problems) ([]map[string]ferry.Param, []bool) {
	aliases := map[string]int64{}
	schemas := map[string]ferry.Company{} // by lower-case schema
	params := make([]map[string]ferry.Param, len(companies))
	okCompany := make([]bool, len(companies))
	for i, c := range companies {
		w := ferry.Where{Company: companyName(c)}
		ok := true
		if err := ferry.ValidAlias(c.Alias); err != nil {
			probs.add(w, err.Error(), "set companies.alias to lower-case letters, digits and _ (e.g. acme_eu)")
			ok = false
		} else if other, dup := aliases[c.Alias]; dup {
			probs.add(w, fmt.Sprintf("alias %s is also company %d's", c.Alias, other), "give every company its own alias")
			ok = false
		}
		aliases[c.Alias] = c.ID
		if err := ferry.ValidIdent(c.Schema); err != nil {
			probs.add(w, "target schema: "+err.Error(), "set companies.target_schema to a valid name, or NULL for bi_<alias>")
			ok = false
		} else if other, dup := schemas[strings.ToLower(c.Schema)]; dup {
			probs.add(w, schemaClash(c, other), "give every company its own target_schema, differing in more than case (companies.target_schema; NULL is bi_<alias>)")
			ok = false
		} else {
			schemas[strings.ToLower(c.Schema)] = c
		}
		pm, err := CompanyParams(c, runDate)
		if err != nil {
			var ce *ferry.ConfigError
			if errors.As(err, &ce) {
				probs.add(ce.Where, ce.Msg, ce.Fix)
			} else {
				probs.add(w, err.Error(), "")
			}
			ok = false
		}
		params[i], okCompany[i] = pm, ok
	}

	return params, okCompany
}

// schemaClash says how c's target schema collides with other's.
func schemaClash(c, other ferry.Company) string {
	if c.Schema == other.Schema {
		return fmt.Sprintf("target schema %s is also company %s's", c.Schema, companyName(other))
	}
	return fmt.Sprintf("target schema %s and company %s's target schema %s differ only in case: %s", c.Schema, companyName(other), other.Schema, ferry.CaseCollision)
}

func parallel(opt Options) int {
	if opt.Parallel > 0 {
		return opt.Parallel
	}
	return 4
}

func checkPair(ctx context.Context, src ferry.Source, c ferry.Company, t ferry.TableSpec, all map[string]ferry.Param, probs *problems) (TablePlan, error) {
	w := ferry.Where{Company: companyName(c), Table: t.Name}
	tp := TablePlan{Spec: t, Staging: ferry.StagingName(t.Name)}
	_, _, used, err := sqlparams.DialectOf(src.Engine()).Bind(t.Query, all)
	var unknown *sqlparams.UnknownParamError
	switch {
	case errors.As(err, &unknown):
		probs.add(w, fmt.Sprintf("query uses :%s, which has no value for this company (available: :%s)", unknown.Name, strings.Join(unknown.Known, ", :")),
			fmt.Sprintf("add a configuration %s for the company, or correct tables.query_select", unknown.Name))
		return tp, nil
	case err != nil:
		probs.add(w, "query refused: "+err.Error(), "make query_select one read-only SELECT with named parameters")
		return tp, nil
	}
	usedSet := map[string]bool{}
	for _, u := range used {
		usedSet[u] = true
	}
	bad := false
	for _, name := range t.Params {
		if _, known := all[name]; !known {
			probs.add(w, fmt.Sprintf("params_select lists :%s, which has no value for this company", name),
				fmt.Sprintf("remove %s from tables.params_select or add a configuration %s for the company", name, name))
			bad = true
		} else if !usedSet[name] {
			probs.add(w, fmt.Sprintf("params_select lists :%s, which the query does not use", name),
				fmt.Sprintf("remove %s from tables.params_select or use :%s in the query", name, name))
			bad = true
		}
	}
	if bad {
		return tp, nil
	}
	tp.Params = make(map[string]ferry.Param, len(used))
	for _, u := range used {
		tp.Params[u] = all[u]
	}
	cols, err := src.Columns(ctx, t.Query, tp.Params)
	if err != nil {
		var re *ferry.RetryableError
		if errors.As(err, &re) {
			return tp, fmt.Errorf("plan: company %s, table %s: read columns: %w", companyName(c), t.Name, err)
		}
		probs.add(w, "the query fails on the source: "+err.Error(), "correct tables.query_select (run it by hand with the company's parameters)")
		return tp, nil
	}
	tp.Columns = cols
	found := false
	seen := map[string]bool{}
	for _, col := range cols {
		if err := ferry.ValidIdent(col.Name); err != nil {
			probs.add(w, "result column: "+err.Error(), "give the column an alias (AS name) in query_select")
		}
		low := strings.ToLower(col.Name)
		if seen[low] {
			probs.add(w, fmt.Sprintf("the result has column %s twice", col.Name), "give the columns distinct aliases in query_select")
		}
		seen[low] = true
		if col.Name == t.ChunkColumn {
			found = true
			if msg := CheckChunkKey(col); msg != "" {
				probs.add(w, msg, ChunkKeyFix)
			}
		}
	}
	if !found {
		names := make([]string, len(cols))
		for i, col := range cols {
			names[i] = col.Name
		}
		probs.add(w, fmt.Sprintf("chunk column %s is not in the query's result (columns: %s)", t.ChunkColumn, strings.Join(names, ", ")),
			"set tables.chunk_column to an integer column the query selects, or add it to the SELECT")
	}
	return tp, nil
}

// Build validates the configuration (Validate) and, when it is valid, cuts
// every company × table into chunks (Chunk). It writes nothing.
func Build(ctx context.Context, src ferry.Source, companies []ferry.Company, tables []ferry.TableSpec, opt Options) (Plan, error) {
	p, err := Validate(ctx, src, companies, tables, opt)
	if err != nil {
		return Plan{}, err
	}
	failed := make([]error, len(p.Companies))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel(opt))
	for i := range p.Companies {
		for j := range p.Companies[i].Tables {
			tp := &p.Companies[i].Tables[j]
			c := p.Companies[i].Company
			g.Go(func() error {
				b, chunks, err := Chunk(gctx, src, tp.Spec.Query, tp.Params, tp.Spec.ChunkColumn, tp.Spec.ChunkRows)
				if err != nil {
					err = fmt.Errorf("plan: company %s, table %s: %w", companyName(c), tp.Spec.Name, err)
					var re *ferry.RetryableError
					if !opt.Isolate || errors.As(err, &re) || gctx.Err() != nil {
						return err
					}
					mu.Lock()
					failed[i] = errors.Join(failed[i], err)
					mu.Unlock()
					return nil
				}
				tp.Bounds, tp.Chunks = b, chunks
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return Plan{}, err
	}
	return dropFailed(p, failed), nil
}

// Chunk cuts a query's rows into chunks of about every rows, as half-open
// ranges [Lo, Hi) of the chunk column. The upper bound of the last chunk is
// the maximum at planning time + 1, so rows inserted later with larger keys
// are not half-copied. No rows: no chunks. Rows ≤ every: one chunk.
// A dense key (denseStarts) is cut by arithmetic from its bounds;
// otherwise the boundaries come from a keyset walk (Source.Boundaries), so
// sparse keys give few chunks, never empty ranges by the million.
func Chunk(ctx context.Context, src ferry.Source, query string, params map[string]ferry.Param, col string, every int64) (ferry.Bounds, []ferry.Chunk, error) {
	b, err := src.Bounds(ctx, query, params, col)
	if err != nil {
		return b, nil, fmt.Errorf("bounds: %w", err)
	}
	if b.Rows == 0 {
		return b, nil, nil
	}
	if b.Max == math.MaxInt64 {
		return b, nil, &ferry.DataError{Column: col, Msg: "the chunk column holds 9223372036854775807, which a half-open range cannot include", Fix: "use another chunk column"}
	}
	var starts []int64
	if starts = denseStarts(b, every); starts == nil && every > 0 && b.Rows > every {
		starts, err = src.Boundaries(ctx, query, params, col, b.Min, b.Max+1, every)
		if err != nil {
			return b, nil, fmt.Errorf("boundaries: %w", err)
		}
	}
	return b, Ranges(b, starts), nil
}

// Ranges turns bounds and chunk start values into chunks: the first starts
// at b.Min, the last ends at b.Max+1; starts outside (Min, Max] and
// duplicates are ignored, so the ranges never overlap and cover
// [Min, Max+1). EstRows spreads b.Rows evenly.
func Ranges(b ferry.Bounds, starts []int64) []ferry.Chunk {
	if b.Rows == 0 {
		return nil
	}
	s := append([]int64(nil), starts...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	pts := []int64{b.Min}
	for _, v := range s {
		if v > pts[len(pts)-1] && v <= b.Max {
			pts = append(pts, v)
		}
	}
	n := int64(len(pts))
	out := make([]ferry.Chunk, len(pts))
	for i, lo := range pts {
		hi := b.Max + 1
		if i+1 < len(pts) {
			hi = pts[i+1]
		}
		est := b.Rows / n
		if int64(i) < b.Rows%n {
			est++
		}
		out[i] = ferry.Chunk{Index: i, Lo: lo, Hi: hi, EstRows: est}
	}
	return out
}
