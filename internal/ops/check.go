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
)

// Check statuses.
const (
	StatusOK   = "ok"
	StatusFail = "fail"
	StatusSkip = "skip"
)

// Item is one line of a preflight report.
type Item struct {
	Status   string `json:"status"`
	Check    string `json:"check"`
	Database string `json:"database,omitempty"`
	Company  string `json:"company,omitempty"`
	Table    string `json:"table,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// Report is the whole preflight.
type Report struct {
	OK       bool   `json:"ok"`
	Problems int    `json:"problems"`
	Items    []Item `json:"items"`
}

// oneLine collapses whitespace (server messages quote SQL over several
// lines) and, when the item has its own fix, drops a fix a wrapped error
// already carried, so that each problem names one fix.
func oneLine(msg string, hasFix bool) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if hasFix {
		if i := strings.LastIndex(msg, " (fix: "); i > 0 && strings.HasSuffix(msg, ")") {
			msg = msg[:i]
		}
	}
	return msg
}

func (r *Report) add(it Item) {
	it.Message = oneLine(it.Message, it.Fix != "")
	it.Fix = oneLine(it.Fix, false)
	r.Items = append(r.Items, it)
	if it.Status == StatusFail {
		r.Problems++
	}
}

func (r *Report) fail(check string, db Database, err error) {
	it := Item{Status: StatusFail, Check: check, Database: string(db), Message: err.Error()}
	var ce *ConnectError
	var cfg *ferry.ConfigError
	switch {
	case errors.As(err, &ce):
		it.Message = fmt.Sprintf("the %s database", ce.DB)
		if ce.Addr != "" {
			it.Message += " (" + ce.Addr + ")"
		}
		it.Message += ": " + ce.Msg
		it.Fix = ce.Fix
	case errors.As(err, &cfg):
		it.Company, it.Table, it.Message, it.Fix = cfg.Company, cfg.Table, cfg.Msg, cfg.Fix
	}
	r.add(it)
}

// DSNs are the three database URLs.
type DSNs struct {
	Admin, Source, Target string
}

// CheckOptions tune Check.
type CheckOptions struct {
	RunDate time.Time
}

// Check is the preflight over the whole configuration. It never stops at
// the first problem: it reports connectivity to the admin, source and
// target databases; the admin schema's version; for every active
// company's target schema, that the target account may create, fill,
// upsert into (the swap upserts _ferry_freshness), read, alter, rename and
// drop a table there (a scratch table _ferry_check_<hex> that it removes
// again; on PostgreSQL inside a rolled-back transaction),
// or create the schema when it does not exist yet; and every active
// table's query validated for every active company (as `ferry table add`
// does). Each failed Item names the database, company or table and the fix.
func Check(ctx context.Context, dsns DSNs, opt CheckOptions) Report {
	if opt.RunDate.IsZero() {
		y, m, d := time.Now().UTC().Date()
		opt.RunDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	var r Report
	cfg := r.checkAdmin(ctx, dsns.Admin)
	src, err := OpenSource(ctx, dsns.Source)
	if err != nil {
		r.fail("connect", SourceDB, err)
	} else {
		defer src.Close()
		r.add(Item{Status: StatusOK, Check: "connect", Database: string(SourceDB), Message: "connected to " + src.Addr})
		r.add(checkSourcePrivileges(ctx, src))
	}
	tgt, err := OpenTarget(ctx, dsns.Target)
	engine := ferry.Engine("")
	if err != nil {
		r.fail("connect", TargetDB, err)
	} else {
		defer tgt.Close()
		engine = tgt.Engine()
		r.add(Item{Status: StatusOK, Check: "connect", Database: string(TargetDB), Message: fmt.Sprintf("connected to %s (%s)", tgt.Addr, engine)})
		if cfg != nil {
			for _, c := range cfg.companies {
				r.add(checkTargetSchema(ctx, tgt, c))
			}
		}
	}
	switch {
	case cfg == nil:
		r.add(Item{Status: StatusSkip, Check: "queries", Message: "queries not validated: the admin database could not be read"})
	case src == nil:
		r.add(Item{Status: StatusSkip, Check: "queries", Message: "queries not validated: the source database is unreachable"})
	case len(cfg.tables) == 0 || len(cfg.companies) == 0:
	default:
		if p, ok := r.checkQueries(ctx, src, cfg, engine, opt.RunDate); ok && tgt != nil {
			r.checkSchemaChanges(ctx, tgt, p)
		}
	}
	r.OK = r.Problems == 0
	return r
}

// checkConfig is the configuration the preflight read.
type checkConfig struct {
	companies []ferry.Company
	tables    []ferry.TableSpec
}

// checkAdmin checks the admin database (connection, schema, privileges)
// and reads the configuration; nil when it could not be read.
func (r *Report) checkAdmin(ctx context.Context, dsn string) *checkConfig {
	db, addr, err := OpenAdmin(ctx, dsn)
	if err != nil {
		r.fail("connect", AdminDB, err)
		return nil
	}
	defer db.Close()
	r.add(Item{Status: StatusOK, Check: "connect", Database: string(AdminDB), Message: "connected to " + addr})
	if err := db.RequireSchema(ctx); err != nil {
		r.fail("schema", AdminDB, err)
		return nil
	}
	r.add(Item{Status: StatusOK, Check: "schema", Database: string(AdminDB), Message: "admin schema is up to date"})
	r.add(checkAdminPrivileges(ctx, db))
	companies, tables, err := LoadConfig(ctx, db, nil)
	if err != nil {
		r.fail("configuration", AdminDB, err)
		return nil
	}
	it := Item{Status: StatusOK, Check: "configuration", Database: string(AdminDB),
		Message: fmt.Sprintf("%d active companies, %d active tables", len(companies), len(tables))}
	if len(companies) == 0 || len(tables) == 0 {
		it.Fix = "a run copies nothing until there are both: `ferry company add`, `ferry table add`"
	}
	r.add(it)
	return &checkConfig{companies: companies, tables: tables}
}

// checkQueries validates every active table's query for every active
// company, as a run would plan them.
func (r *Report) checkQueries(ctx context.Context, src *Source, cfg *checkConfig, engine ferry.Engine, runDate time.Time) (plan.Plan, bool) {
	p, err := plan.Validate(ctx, src, cfg.companies, cfg.tables, plan.Options{RunID: "check", RunDate: runDate, Target: engine})
	if err == nil {
		r.add(Item{Status: StatusOK, Check: "queries", Database: string(SourceDB),
			Message: fmt.Sprintf("%d tables × %d companies: every query runs, parameters and chunk columns are right", len(cfg.tables), len(cfg.companies))})
		return p, true
	}
	for _, p := range Problems(ImproveFixes(err)) {
		var ce *ferry.ConfigError
		if !errors.As(p, &ce) {
			r.add(Item{Status: StatusFail, Check: "query", Database: string(SourceDB), Message: p.Error(),
				Fix: "the source failed while validating: check it is up and rerun `ferry check`"})
			continue
		}
		fix := ce.Fix
		if ce.Table != "" && strings.Contains(fix, "tables.query_select") {
			fix += fmt.Sprintf("; e.g. `ferry table add --name %s --replace --query '...'`", ce.Table)
		}
		check := "query"
		if IsPrivilegeProblem(ce) {
			check = "privileges"
		}
		r.add(Item{Status: StatusFail, Check: check, Database: string(SourceDB), Company: ce.Company, Table: ce.Table, Message: ce.Msg, Fix: fix})
	}
	return p, false
}

// checkSchemaChanges reports each table whose query's columns differ from
// its live table (see PendingSchemaChanges).
func (r *Report) checkSchemaChanges(ctx context.Context, tgt *Target, p plan.Plan) {
	pending, err := PendingSchemaChanges(ctx, tgt, p)
	if err != nil {
		r.add(Item{Status: StatusFail, Check: "schema", Database: string(TargetDB), Message: err.Error(),
			Fix: "check the target is up and its account may create temporary tables, then rerun `ferry check`"})
		return
	}
	for _, it := range schemaItems(pending) {
		r.add(it)
	}
}

func companyLabel(c ferry.Company) string { return fmt.Sprintf("%d (%s)", c.ID, c.Alias) }

// checkTargetSchema tries in the company's schema everything a run does.
func checkTargetSchema(ctx context.Context, tgt *Target, c ferry.Company) Item {
	it := Item{Check: "privileges", Database: string(TargetDB), Company: companyLabel(c)}
	if err := ferry.ValidIdent(c.Schema); err != nil {
		it.Status, it.Message, it.Fix = StatusFail, "target schema: "+err.Error(), "set companies.target_schema to a valid name, or NULL for bi_<alias>"
		return it
	}
	created, err := tgt.CheckSchema(ctx, c.Schema, "the target account (as in "+TargetDB.DSNVar()+")")
	if err != nil {
		var ce *ferry.ConfigError
		it.Status, it.Message = StatusFail, fmt.Sprintf("schema %s: %v", c.Schema, err)
		it.Fix = "check the target database is up and rerun `ferry check`"
		if errors.As(err, &ce) {
			it.Message, it.Fix = fmt.Sprintf("schema %s: %s", c.Schema, ce.Msg), ce.Fix
		}
		return it
	}
	it.Status = StatusOK
	if created {
		it.Message = fmt.Sprintf("schema %s does not exist yet; the target account may create it", c.Schema)
	} else {
		it.Message = fmt.Sprintf("schema %s: CREATE, INSERT, UPDATE, SELECT, DELETE, ALTER, RENAME and DROP of a scratch table work", c.Schema)
	}
	return it
}

// checkAdminPrivileges checks that the admin account may record runs as
// the workflow does (admin.DB's DeniedWrites: nothing is written).
func checkAdminPrivileges(ctx context.Context, db *admin.DB) Item {
	it := Item{Check: "privileges", Database: string(AdminDB)}
	if denied := db.DeniedWrites(ctx); len(denied) > 0 {
		it.Status = StatusFail
		it.Message = "the admin account " + strings.Join(denied, "; ")
		it.Fix = "GRANT SELECT, INSERT, UPDATE ON the admin database TO the admin account (the user of " + where(AdminDB) + ")"
		return it
	}
	it.Status = StatusOK
	it.Message = "the admin account may read the configuration and record runs (ferry_runs, ferry_table_loads, ferry_lease)"
	return it
}

// checkSourcePrivileges checks that the source account may SELECT in its
// database (the adapter's CheckRead). The configured queries are checked
// table by table afterwards.
func checkSourcePrivileges(ctx context.Context, src *Source) Item {
	it := Item{Check: "privileges", Database: string(SourceDB)}
	name, err := src.CheckRead(ctx, "the source account (the user of "+where(SourceDB)+")")
	var ce *ferry.ConfigError
	switch {
	case errors.As(err, &ce):
		it.Status, it.Message, it.Fix = StatusFail, ce.Msg, ce.Fix
	case err != nil:
		it.Status, it.Message, it.Fix = StatusFail, err.Error(), "check the source database is up and rerun `ferry check`"
	default:
		it.Status, it.Message = StatusOK, fmt.Sprintf("the source account may SELECT in database %s", name)
	}
	return it
}
