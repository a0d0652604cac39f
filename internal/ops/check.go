package ops

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
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
	var (
		companies []ferry.Company
		tables    []ferry.TableSpec
		haveCfg   bool
	)
	db, addr, err := OpenAdmin(ctx, dsns.Admin)
	if err != nil {
		r.fail("connect", AdminDB, err)
	} else {
		defer db.Close()
		r.add(Item{Status: StatusOK, Check: "connect", Database: string(AdminDB), Message: "connected to " + addr})
		if err := RequireSchema(ctx, db); err != nil {
			r.fail("schema", AdminDB, err)
		} else {
			r.add(Item{Status: StatusOK, Check: "schema", Database: string(AdminDB), Message: "admin schema is up to date"})
			r.add(checkAdminPrivileges(ctx, db))
			companies, tables, err = LoadConfig(ctx, db, nil)
			if err != nil {
				r.fail("configuration", AdminDB, err)
			} else {
				haveCfg = true
				it := Item{Status: StatusOK, Check: "configuration", Database: string(AdminDB),
					Message: fmt.Sprintf("%d active companies, %d active tables", len(companies), len(tables))}
				if len(companies) == 0 || len(tables) == 0 {
					it.Fix = "a run copies nothing until there are both: `ferry company add`, `ferry table add`"
				}
				r.add(it)
			}
		}
	}

	src, err := OpenSource(ctx, dsns.Source)
	if err != nil {
		r.fail("connect", SourceDB, err)
	} else {
		defer src.Close()
		r.add(Item{Status: StatusOK, Check: "connect", Database: string(SourceDB), Message: "connected to " + src.Addr})
		r.add(checkSourcePrivileges(ctx, src.DB))
	}

	tgt, err := OpenTarget(ctx, dsns.Target)
	if err != nil {
		r.fail("connect", TargetDB, err)
	} else {
		defer tgt.Close()
		r.add(Item{Status: StatusOK, Check: "connect", Database: string(TargetDB), Message: fmt.Sprintf("connected to %s (%s)", tgt.Addr, tgt.Engine())})
		if haveCfg {
			for _, c := range companies {
				r.add(checkTargetSchema(ctx, tgt, c))
			}
		}
	}

	switch {
	case !haveCfg:
		r.add(Item{Status: StatusSkip, Check: "queries", Message: "queries not validated: the admin database could not be read"})
	case src == nil:
		r.add(Item{Status: StatusSkip, Check: "queries", Message: "queries not validated: the source database is unreachable"})
	case len(tables) == 0 || len(companies) == 0:
	default:
		engine := ferry.Engine("")
		if tgt != nil {
			engine = tgt.Engine()
		}
		_, err := plan.Validate(ctx, src, companies, tables, plan.Options{RunID: "check", RunDate: opt.RunDate, Target: engine})
		if err == nil {
			r.add(Item{Status: StatusOK, Check: "queries", Database: string(SourceDB),
				Message: fmt.Sprintf("%d tables × %d companies: every query runs, parameters and chunk columns are right", len(tables), len(companies))})
			break
		}
		for _, p := range Problems(ImproveFixes(err)) {
			var ce *ferry.ConfigError
			if errors.As(p, &ce) {
				fix := ce.Fix
				if ce.Table != "" && strings.Contains(fix, "tables.query_select") {
					fix += fmt.Sprintf("; e.g. `ferry table add --name %s --replace --query '...'`", ce.Table)
				}
				check := "query"
				if IsPrivilegeProblem(ce) {
					check = "privileges"
				}
				r.add(Item{Status: StatusFail, Check: check, Database: string(SourceDB), Company: ce.Company, Table: ce.Table, Message: ce.Msg, Fix: fix})
			} else {
				r.add(Item{Status: StatusFail, Check: "query", Database: string(SourceDB), Message: p.Error(),
					Fix: "the source failed while validating: check it is up and rerun `ferry check`"})
			}
		}
	}
	r.OK = r.Problems == 0
	return r
}

func companyLabel(c ferry.Company) string { return fmt.Sprintf("%d (%s)", c.ID, c.Alias) }

func scratchName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "_ferry_check_" + hex.EncodeToString(b)
}

// checkTargetSchema tries in the company's schema everything a run does.
func checkTargetSchema(ctx context.Context, tgt *Target, c ferry.Company) Item {
	it := Item{Check: "privileges", Database: string(TargetDB), Company: companyLabel(c)}
	if err := ferry.ValidIdent(c.Schema); err != nil {
		it.Status, it.Message, it.Fix = StatusFail, "target schema: "+err.Error(), "set companies.target_schema to a valid name, or NULL for bi_<alias>"
		return it
	}
	var err error
	var created bool
	if tgt.Engine() == ferry.EngineMySQL {
		created, err = mysqlPrivileges(ctx, tgt.MySQL, c.Schema)
	} else {
		created, err = pgPrivileges(ctx, tgt, c.Schema)
	}
	if err != nil {
		var pe *privError
		if errors.As(err, &pe) {
			it.Status = StatusFail
			it.Message = fmt.Sprintf("schema %s: %s", c.Schema, pe.msg)
			it.Fix = pe.fix
			return it
		}
		it.Status, it.Message = StatusFail, fmt.Sprintf("schema %s: %v", c.Schema, err)
		it.Fix = "check the target database is up and rerun `ferry check`"
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
// the workflow does: read the configuration, insert and update
// ferry_runs and ferry_table_loads, update ferry_lease. Each statement
// matches no row (WHERE 1 = 0) yet needs the privilege, so nothing is
// written.
func checkAdminPrivileges(ctx context.Context, db *sql.DB) Item {
	it := Item{Check: "privileges", Database: string(AdminDB)}
	steps := []struct{ what, sql string }{
		{"INSERT into ferry_runs", "INSERT INTO `ferry_runs` SELECT * FROM `ferry_runs` WHERE 1 = 0"},
		{"UPDATE ferry_runs", "UPDATE `ferry_runs` SET `status` = `status` WHERE 1 = 0"},
		{"INSERT into ferry_table_loads", "INSERT INTO `ferry_table_loads` SELECT * FROM `ferry_table_loads` WHERE 1 = 0"},
		{"UPDATE ferry_table_loads", "UPDATE `ferry_table_loads` SET `status` = `status` WHERE 1 = 0"},
		{"UPDATE ferry_lease", "UPDATE `ferry_lease` SET `holder` = `holder` WHERE 1 = 0"},
	}
	var denied []string
	for _, s := range steps {
		if _, err := db.ExecContext(ctx, s.sql); err != nil {
			denied = append(denied, fmt.Sprintf("may not %s (%v)", s.what, err))
		}
	}
	if len(denied) > 0 {
		it.Status = StatusFail
		it.Message = "the admin account " + strings.Join(denied, "; ")
		it.Fix = "GRANT SELECT, INSERT, UPDATE ON the admin database TO the admin account (the user of --admin-dsn / FERRY_ADMIN_DSN)"
		return it
	}
	it.Status = StatusOK
	it.Message = "the admin account may read the configuration and record runs (ferry_runs, ferry_table_loads, ferry_lease)"
	return it
}

// checkSourcePrivileges checks that the source account may SELECT in its
// database: it must see a table there and read it (LIMIT 0, no row).
// The configured queries are checked table by table afterwards.
func checkSourcePrivileges(ctx context.Context, db *sql.DB) Item {
	it := Item{Check: "privileges", Database: string(SourceDB)}
	var name sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		it.Status, it.Message, it.Fix = StatusFail, "read the current database: "+err.Error(), "check the source database is up and rerun `ferry check`"
		return it
	}
	if !name.Valid || name.String == "" {
		it.Status, it.Message, it.Fix = StatusFail, "the source URL names no database", "add the database to --source-dsn / FERRY_SOURCE_DSN, e.g. mysql://ferry_ro:PASSWORD@prod-replica:3306/app"
		return it
	}
	grant := fmt.Sprintf("GRANT SELECT ON %s.* TO the source account (the user of --source-dsn / FERRY_SOURCE_DSN); read-only is enough", quoteMy(name.String))
	var table string
	err := db.QueryRowContext(ctx, "SELECT `TABLE_NAME` FROM information_schema.TABLES WHERE `TABLE_SCHEMA` = ? ORDER BY `TABLE_NAME` LIMIT 1", name.String).Scan(&table)
	if errors.Is(err, sql.ErrNoRows) {
		it.Status = StatusFail
		it.Message = fmt.Sprintf("the source account sees no table in database %s: it has no privilege there, or the database is empty", name.String)
		it.Fix = grant + "; or point --source-dsn at the database the queries read"
		return it
	}
	if err == nil {
		var rows *sql.Rows
		rows, err = db.QueryContext(ctx, "SELECT * FROM "+quoteMy(name.String)+"."+quoteMy(table)+" LIMIT 0")
		if err == nil {
			rows.Close()
		}
	}
	if err != nil {
		it.Status, it.Message, it.Fix = StatusFail, fmt.Sprintf("the source account may not read database %s: %v", name.String, err), grant
		return it
	}
	it.Status = StatusOK
	it.Message = fmt.Sprintf("the source account may SELECT in database %s", name.String)
	return it
}

type privError struct{ msg, fix string }

func (e *privError) Error() string { return e.msg + " (fix: " + e.fix + ")" }

func quoteMy(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
func quotePG(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// mysqlPrivileges creates, fills, alters, renames and drops a scratch
// table in schema; a schema that does not exist (or that the account
// cannot see) is checked for the CREATE privilege in the grants instead.
func mysqlPrivileges(ctx context.Context, db *sql.DB, schema string) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema).Scan(&n); err != nil {
		return false, fmt.Errorf("read schemata: %w", err)
	}
	grant := fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER ON %s.* TO the target account (as in FERRY_TARGET_DSN)", quoteMy(schema))
	if n == 0 {
		// Global CREATE, or a database-level CREATE whose pattern matches.
		const me = "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
		var ok int
		err := db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = "+me+" AND PRIVILEGE_TYPE = 'CREATE') + "+
			"(SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = "+me+" AND PRIVILEGE_TYPE = 'CREATE' AND ? LIKE TABLE_SCHEMA)", schema).Scan(&ok)
		if err != nil {
			return false, fmt.Errorf("read grants: %w", err)
		}
		if ok == 0 {
			return false, &privError{msg: "the database does not exist (or the target account has no privilege on it) and the account may not create it",
				fix: "create it (CREATE DATABASE " + quoteMy(schema) + "; `ferry company add` does it with an account that may) and " + grant}
		}
		return true, nil
	}
	name := scratchName()
	full := quoteMy(schema) + "." + quoteMy(name)
	renamed := quoteMy(schema) + "." + quoteMy(name+"_r")
	steps := []struct{ what, priv, sql string }{
		{"create a table", "CREATE", "CREATE TABLE " + full + " (`id` BIGINT NOT NULL PRIMARY KEY)"},
		{"insert into it", "INSERT", "INSERT INTO " + full + " (`id`) VALUES (1)"},
		// The swap upserts _ferry_freshness: INSERT ... ON DUPLICATE KEY UPDATE.
		{"upsert into it", "UPDATE", "INSERT INTO " + full + " (`id`) VALUES (1) ON DUPLICATE KEY UPDATE `id` = VALUES(`id`)"},
		{"read it", "SELECT", "SELECT COUNT(*) FROM " + full},
		{"delete from it", "DELETE", "DELETE FROM " + full + " WHERE `id` >= 0"},
		{"alter it", "ALTER", "ALTER TABLE " + full + " COMMENT = 'ferry check'"},
		{"rename it", "ALTER, DROP and CREATE", "RENAME TABLE " + full + " TO " + renamed},
		{"drop it", "DROP", "DROP TABLE " + renamed},
	}
	for _, s := range steps {
		if _, err := db.ExecContext(ctx, s.sql); err != nil {
			// Leave nothing behind (under either name).
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			db.ExecContext(cctx, "DROP TABLE IF EXISTS "+full+", "+renamed)
			cancel()
			return false, &privError{msg: fmt.Sprintf("the target account may not %s (needs %s): %v", s.what, s.priv, err), fix: grant}
		}
	}
	return false, nil
}

// pgPrivileges does the same in one transaction that is rolled back, so
// nothing is left whatever happens; CREATE SCHEMA is tried the same way
// when the schema does not exist.
func pgPrivileges(ctx context.Context, tgt *Target, schema string) (bool, error) {
	tx, err := tgt.PG.Pool().Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return false, fmt.Errorf("read schemas: %w", err)
	}
	grant := fmt.Sprintf("GRANT USAGE, CREATE ON SCHEMA %s TO the target role (and make it the owner of the tables Ferry swaps)", quotePG(schema))
	name := scratchName()
	full := quotePG(schema) + "." + quotePG(name)
	type step struct{ what, priv, sql string }
	var steps []step
	if !exists {
		grant = "GRANT CREATE ON DATABASE the target database TO the target role, or create the schema first: CREATE SCHEMA " + quotePG(schema)
		steps = append(steps, step{"create the schema", "CREATE on the database", "CREATE SCHEMA " + quotePG(schema)})
	}
	steps = append(steps,
		step{"create a table", "USAGE and CREATE on the schema", "CREATE TABLE " + full + " (id bigint PRIMARY KEY)"},
		step{"insert into it", "INSERT", "INSERT INTO " + full + " (id) VALUES (1)"},
		step{"upsert into it", "UPDATE", "INSERT INTO " + full + " (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id"},
		step{"read it", "SELECT", "SELECT count(*) FROM " + full},
		step{"delete from it", "DELETE", "DELETE FROM " + full + " WHERE id >= 0"},
		step{"rename it", "ownership of the table", "ALTER TABLE " + full + " RENAME TO " + quotePG(name+"_r")},
		step{"drop it", "ownership of the table", "DROP TABLE " + quotePG(schema) + "." + quotePG(name+"_r")},
	)
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s.sql); err != nil {
			return false, &privError{msg: fmt.Sprintf("the target account may not %s (needs %s): %v", s.what, s.priv, err), fix: grant}
		}
	}
	return !exists, nil
}
