package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5"
)

// tableProps is what defines a live table besides its columns, rows,
// indexes, grants and owner (copyGrants carries those two): the properties
// CREATE TABLE ... (LIKE live INCLUDING ALL) does not copy, or copies only
// as they were when staging was prepared.
type tableProps struct {
	rls, forceRLS bool
	replIdent     string // pg_class.relreplident: d, n, f or i
	replIndex     string // with i: the index's definition key (indexKey)
	comment       *string
	colComments   map[string]*string // every live column
	policies      []policy
	triggers      []trigger
	pubs          []pubMember
}

type policy struct {
	name, cmd, roles string
	permissive       bool
	qual, check      *string
}

type trigger struct {
	name, def, enabled string
}

// pubMember is the live table's explicit membership of a publication (not
// FOR ALL TABLES or TABLES IN SCHEMA, which a renamed table keeps): its
// column list and row filter, as ALTER PUBLICATION ... ADD TABLE spells them.
type pubMember struct {
	pub, cols, filter string
}

// keepProperties gives staging everything tableProps holds of live, inside
// the swap transaction and before the renames, so the table that becomes
// live is defined as the one it replaces: row-level security enabled and
// forced, policies, triggers (moved: dropped from live, created on staging
// with the same enabled state, so the outgoing table's TRUNCATE fires
// none), the table comment, the comment of every column staging still has,
// publication membership (moved likewise) and replica identity. It works
// whether staging was created LIKE live or from the query's columns:
// column comments of dropped columns are not carried. What cannot be
// carried (a policy, trigger or publication column list naming a column
// staging lacks, a replica identity index staging has no equal of, a
// missing privilege) is a ConfigError naming the table, the object and the
// fix; the transaction then rolls back and live is untouched.
func keepProperties(ctx context.Context, tx pgx.Tx, schema string, tb ferry.SwapTable, live, stg relation) error {
	p, err := captureProps(ctx, tx, live.oid)
	if err != nil {
		return fmt.Errorf("table %s: read the live table's properties: %w", tb.Table, err)
	}
	k := keeper{ctx: ctx, tx: tx, schema: schema, tb: tb, stg: qualified(schema, tb.Staging), live: qualified(schema, tb.Table), stgOID: stg.oid}
	steps := []func(tableProps) error{k.comments, k.rowSecurity, k.policies, k.triggers, k.publications}
	for _, step := range steps {
		if err := step(p); err != nil {
			return err
		}
	}
	return k.replicaIdentity(p)
}

// keeper applies captured properties to one staging table.
type keeper struct {
	ctx       context.Context
	tx        pgx.Tx
	schema    string
	tb        ferry.SwapTable
	stg, live string // qualified, quoted
	stgOID    uint32
}

// exec runs one statement; a failure is a ConfigError naming what could
// not be carried and fix.
func (k keeper) exec(what, fix, stmt string) error {
	sp, err := k.tx.Begin(k.ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(k.ctx, stmt); err != nil {
		if rerr := sp.Rollback(k.ctx); rerr != nil {
			return rerr
		}
		if pe := asPgError(err); pe != nil && (pe.Code == "55P03" || pe.Code == "40P01") {
			return err // lock timeout or deadlock: the swap retries
		}
		return &ferry.ConfigError{Where: ferry.Where{Table: k.tb.Table},
			Msg: fmt.Sprintf("the swap cannot carry %s of the live table %s.%s to the new table: %v; nothing was swapped", what, k.schema, k.tb.Table, err),
			Fix: fix}
	}
	return sp.Commit(k.ctx)
}

// quoteLiteral quotes s as a SQL string literal the way quote_literal
// does, valid whatever standard_conforming_strings is.
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

func literalOrNull(s *string) string {
	if s == nil {
		return "NULL"
	}
	return quoteLiteral(*s)
}

func sameText(a, b *string) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// comments sets staging's table comment and the comment of each of its
// columns that live has, when they differ from live's.
func (k keeper) comments(p tableProps) error {
	const fix = "check Ferry's role owns the tables it replaces"
	var stgComment *string
	if err := k.tx.QueryRow(k.ctx, `SELECT obj_description($1, 'pg_class')`, k.stgOID).Scan(&stgComment); err != nil {
		return err
	}
	if !sameText(stgComment, p.comment) {
		if err := k.exec("the table comment", fix, `COMMENT ON TABLE `+k.stg+` IS `+literalOrNull(p.comment)); err != nil {
			return err
		}
	}
	stgCols, err := columnComments(k.ctx, k.tx, k.stgOID)
	if err != nil {
		return err
	}
	for col, c := range stgCols {
		lc, ok := p.colComments[col]
		if !ok || sameText(c, lc) {
			continue // a column live lacks, or already the same comment
		}
		if err := k.exec("the comment of column "+col, fix, `COMMENT ON COLUMN `+k.stg+`.`+quoteIdent(col)+` IS `+literalOrNull(lc)); err != nil {
			return err
		}
	}
	return nil
}

func (k keeper) rowSecurity(p tableProps) error {
	const fix = "Ferry's role must own the tables it replaces (or be a member of their owner)"
	on, force := "DISABLE", "NO FORCE"
	if p.rls {
		on = "ENABLE"
	}
	if p.forceRLS {
		force = "FORCE"
	}
	return k.exec("row-level security", fix, `ALTER TABLE `+k.stg+` `+on+` ROW LEVEL SECURITY, `+force+` ROW LEVEL SECURITY`)
}

var policyCmds = map[string]string{"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}

func (k keeper) policies(p tableProps) error {
	for _, pol := range p.policies {
		as := "RESTRICTIVE"
		if pol.permissive {
			as = "PERMISSIVE"
		}
		s := `CREATE POLICY ` + quoteIdent(pol.name) + ` ON ` + k.stg + ` AS ` + as + ` FOR ` + policyCmds[pol.cmd] + ` TO ` + pol.roles
		if pol.qual != nil {
			s += ` USING (` + *pol.qual + `)`
		}
		if pol.check != nil {
			s += ` WITH CHECK (` + *pol.check + `)`
		}
		fix := "the policy must only name columns the query still returns: ALTER POLICY " + pol.name + " or drop it, then run again"
		if err := k.exec("policy "+pol.name, fix, `DROP POLICY IF EXISTS `+quoteIdent(pol.name)+` ON `+k.stg); err != nil {
			return err
		}
		if err := k.exec("policy "+pol.name, fix, s); err != nil {
			return err
		}
	}
	return nil
}

var triggerEnable = map[string]string{"D": "DISABLE TRIGGER ", "R": "ENABLE REPLICA TRIGGER ", "A": "ENABLE ALWAYS TRIGGER "}

// triggers moves each trigger from live to staging: the definition
// pg_get_triggerdef gives, with live's name (always schema-qualified
// there) replaced by staging's.
func (k keeper) triggers(p tableProps) error {
	var liveQ, stgQ string
	if err := k.tx.QueryRow(k.ctx, `SELECT format('%I.%I', $1::text, $2::text), format('%I.%I', $1::text, $3::text)`,
		k.schema, k.tb.Table, k.tb.Staging).Scan(&liveQ, &stgQ); err != nil {
		return err
	}
	for _, tr := range p.triggers {
		fix := "the trigger must only name columns the query still returns, and Ferry's role needs TRIGGER on the table and EXECUTE on its function: change or drop trigger " + tr.name + ", then run again"
		on := " ON " + liveQ + " "
		if strings.Count(tr.def, on) != 1 {
			return &ferry.ConfigError{Where: ferry.Where{Table: k.tb.Table},
				Msg: fmt.Sprintf("the swap cannot carry trigger %s of the live table %s.%s: its definition does not name the table once (%s); nothing was swapped", tr.name, k.schema, k.tb.Table, tr.def),
				Fix: fix}
		}
		name := quoteIdent(tr.name)
		stmts := []string{`DROP TRIGGER IF EXISTS ` + name + ` ON ` + k.stg, strings.Replace(tr.def, on, " ON "+stgQ+" ", 1)}
		if e, ok := triggerEnable[tr.enabled]; ok {
			stmts = append(stmts, `ALTER TABLE `+k.stg+` `+e+name)
		}
		stmts = append(stmts, `DROP TRIGGER `+name+` ON `+k.live)
		for _, s := range stmts {
			if err := k.exec("trigger "+tr.name, fix, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// publications moves live's explicit publication memberships to staging.
func (k keeper) publications(p tableProps) error {
	for _, m := range p.pubs {
		add := `ALTER PUBLICATION ` + quoteIdent(m.pub) + ` ADD TABLE ONLY ` + k.stg + m.cols
		if m.filter != "" {
			add += ` WHERE (` + m.filter + `)`
		}
		fix := "Ferry's role must own publication " + m.pub + " (or be a member of its owner), and its column list and row filter must only name columns the query still returns"
		for _, s := range []string{add, `ALTER PUBLICATION ` + quoteIdent(m.pub) + ` DROP TABLE ONLY ` + k.live} {
			if err := k.exec("membership of publication "+m.pub, fix, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// replicaIdentity sets staging's replica identity to live's; USING INDEX
// takes staging's index of the same definition (indexKey).
func (k keeper) replicaIdentity(p tableProps) error {
	var clause string
	switch p.replIdent {
	case "n":
		clause = "NOTHING"
	case "f":
		clause = "FULL"
	case "i":
		var idx string
		err := k.tx.QueryRow(k.ctx, `SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
			WHERE x.indrelid = $1 AND `+indexKeySQL+` = $2 ORDER BY 1 LIMIT 1`, k.stgOID, p.replIndex).Scan(&idx)
		if err == pgx.ErrNoRows {
			return &ferry.ConfigError{Where: ferry.Where{Table: k.tb.Table},
				Msg: fmt.Sprintf("the swap cannot carry the replica identity of the live table %s.%s: the new table has no index %s; nothing was swapped", k.schema, k.tb.Table, p.replIndex),
				Fix: "keep the columns of the replica identity index in the query, or set REPLICA IDENTITY DEFAULT or FULL on the live table"}
		}
		if err != nil {
			return err
		}
		clause = "USING INDEX " + quoteIdent(idx)
	default:
		clause = "DEFAULT"
	}
	return k.exec("the replica identity", "Ferry's role must own the tables it replaces", `ALTER TABLE `+k.stg+` REPLICA IDENTITY `+clause)
}

// indexKeySQL is an index's definition without its name and table
// (unique or not, method, keys, predicate): equal for live's index and
// its copy by LIKE ... INCLUDING INDEXES. x is pg_index.
const indexKeySQL = `(CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END || substring(pg_get_indexdef(x.indexrelid) from ' USING .*$'))`
