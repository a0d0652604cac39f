package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/retry"
	"github.com/jackc/pgx/v5"
)

// DefaultLockTimeout is the lock_timeout of a swap transaction.
const DefaultLockTimeout = 5 * time.Second

// DefaultSwapAttempts is how often a swap transaction is tried.
const DefaultSwapAttempts = 5

// privileges Swap may copy from a live table's ACL (aclexplode names).
var tablePrivileges = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true,
	"TRUNCATE": true, "REFERENCES": true, "TRIGGER": true, "MAINTAIN": true,
}

// Swap makes every staging table of req live at once.
//
//  1. A retry of a swap that already happened is detected first: when the
//     freshness table (<schema>._ferry_freshness) records req.RunID for
//     every table, Swap returns AlreadySwapped and touches nothing.
//  2. Every staging table is counted (ferry.SwapRequest.CheckCounts); a
//     count other than Expected, or a missing staging table, is a
//     *ferry.CountMismatchError and nothing is changed.
//  3. One transaction, with SET LOCAL lock_timeout (LockTimeout, 5s) and a
//     statement_timeout under ctx's deadline, serialized per schema by a
//     lock on the freshness table: re-check step 1; refuse live tables that
//     views or foreign keys depend on (ConfigError); give staging what
//     defines live (keepProperties: row-level security, policies,
//     triggers with their enabled state, table and column comments,
//     publication membership, replica identity); copy live's grants
//     (pg_class.relacl via aclexplode) and, if permitted, its owner onto
//     staging; hand live's OWNED BY sequences to staging (see
//     moveOwnedSequences); rename live → old, staging → live, old → staging (a table
//     without live only renames staging → live); TRUNCATE what was live,
//     now the next run's empty staging; upsert the freshness rows; commit.
//     The TRUNCATE runs inside the transaction because the renames already
//     hold its ACCESS EXCLUSIVE lock, so a retried swap never leaves the
//     old data behind. A lock timeout or deadlock retries the transaction
//     with retry.Backoff (SwapAttempts, Sleep); once they are spent the
//     error is retryable.
//
// Readers never see a missing or partial table: the renames commit
// together, and a query that waited on the old table's lock re-resolves
// the name to the new table. Readers in progress delay the swap (up to the
// lock timeout per attempt); the swap delays new readers only for the
// instant of the renames.
//
// Views: PostgreSQL binds a view (and a foreign key) to the table's OID,
// not its name, so a view defined on a live table would follow the renamed
// table into staging and show the previous data, then nothing. Swap and
// PrepareStaging therefore refuse such a table with a ConfigError naming
// the view; the fix is a SQL function (whose body is resolved at each call)
// or pointing BI tools at the table. Column-level grants are not copied.
func (t *Target) Swap(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	op := fmt.Sprintf("postgres: swap %s run %s", req.Schema, req.RunID)
	if err := req.Validate(); err != nil {
		return ferry.SwapResult{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := t.ensureFreshness(ctx, op, req.Schema, false); err != nil {
		return ferry.SwapResult{}, err
	}
	if done, at, err := t.swappedBefore(ctx, req); err != nil {
		return ferry.SwapResult{}, classify(ctx, op, err)
	} else if done {
		t.log().InfoContext(ctx, "postgres: swap already done", "schema", req.Schema, "run_id", req.RunID)
		return ferry.SwapResult{AlreadySwapped: true, SwappedAt: at}, nil
	}
	if err := req.CheckCounts(func(staging string) (int64, error) { return t.Count(ctx, req.Schema, staging) }); err != nil {
		return ferry.SwapResult{}, err
	}
	if err := t.BuildDeferred(ctx, req); err != nil {
		return ferry.SwapResult{}, err
	}
	attempts := t.SwapAttempts
	if attempts <= 0 {
		attempts = DefaultSwapAttempts
	}
	var res ferry.SwapResult
	how, err := retry.Do(ctx, retry.Policy{Attempts: attempts, Sleep: t.Sleep,
		Retryable: func(err error) bool { code := pgCode(err); return code == "55P03" || code == "40P01" },
		OnRetry: func(attempt int, wait time.Duration, err error) {
			t.log().WarnContext(ctx, "postgres: swap waits for locks, retrying", "schema", req.Schema, "run_id", req.RunID,
				"attempt", attempt, "sqlstate", pgCode(err), "backoff", wait)
		}}, func(attempt int) error {
		var err error
		if res, err = t.swapOnce(ctx, req); err == nil {
			t.log().InfoContext(ctx, "postgres: swapped", "schema", req.Schema, "run_id", req.RunID,
				"tables", len(req.Tables), "already_swapped", res.AlreadySwapped, "attempt", attempt)
		}
		return err
	})
	switch how {
	case retry.Done:
		return res, nil
	case retry.Interrupted:
		return ferry.SwapResult{}, ferry.Retryable(op, err)
	case retry.Exhausted:
		if pgCode(err) == "55P03" {
			err = t.lockWaitError(ctx, req, err)
		}
	}
	return ferry.SwapResult{}, wrapOp(ctx, op, err)
}

func tableNames(req ferry.SwapRequest) []string {
	names := make([]string, len(req.Tables))
	for i, tb := range req.Tables {
		names[i] = tb.Table
	}
	return names
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// swappedBefore reports whether the freshness table records req.RunID for
// every table of req, and when.
func (t *Target) swappedBefore(ctx context.Context, req ferry.SwapRequest) (bool, time.Time, error) {
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return false, time.Time{}, err
	}
	defer rollback(tx)
	return swappedIn(ctx, tx, req)
}

func swappedIn(ctx context.Context, q querier, req ferry.SwapRequest) (bool, time.Time, error) {
	var n int
	var at *time.Time
	err := q.QueryRow(ctx, `SELECT count(DISTINCT table_name), max(swapped_at) FROM `+qualified(req.Schema, ferry.FreshnessTable)+
		` WHERE run_id = $1 AND table_name = ANY($2)`, req.RunID, tableNames(req)).Scan(&n, &at)
	if err != nil {
		return false, time.Time{}, err
	}
	distinct := map[string]bool{}
	for _, tb := range req.Tables {
		distinct[tb.Table] = true
	}
	if n < len(distinct) || at == nil {
		return false, time.Time{}, nil
	}
	return true, at.UTC(), nil
}

func (t *Target) swapOnce(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	lt := t.LockTimeout
	if lt <= 0 {
		lt = DefaultLockTimeout
	}
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return ferry.SwapResult{}, err
	}
	defer rollback(tx)
	if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, fmt.Sprintf("%dms", lt.Milliseconds())); err != nil {
		return ferry.SwapResult{}, err
	}
	fresh := qualified(req.Schema, ferry.FreshnessTable)
	// Serialize swaps of one schema; SHARE ROW EXCLUSIVE conflicts with
	// itself but not with readers of the freshness table.
	if _, err := tx.Exec(ctx, `LOCK TABLE `+fresh+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return ferry.SwapResult{}, err
	}
	if done, at, err := swappedIn(ctx, tx, req); err != nil {
		return ferry.SwapResult{}, err
	} else if done {
		return ferry.SwapResult{AlreadySwapped: true, SwappedAt: at}, nil
	}
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return ferry.SwapResult{}, err
	}
	for _, tb := range req.Tables {
		if err := t.swapTable(ctx, tx, req.Schema, tb); err != nil {
			return ferry.SwapResult{}, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+fresh+` (table_name, run_id, rows, swapped_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (table_name) DO UPDATE SET run_id = EXCLUDED.run_id, rows = EXCLUDED.rows, swapped_at = EXCLUDED.swapped_at`,
			tb.Table, req.RunID, tb.Expected, now); err != nil {
			return ferry.SwapResult{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return ferry.SwapResult{}, err
	}
	return ferry.SwapResult{SwappedAt: now.UTC()}, nil
}

// swapTable exchanges one staging table with its live table inside tx.
func (t *Target) swapTable(ctx context.Context, tx pgx.Tx, schema string, tb ferry.SwapTable) error {
	stg, ok, err := lookup(ctx, tx, schema, tb.Staging)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("table %s: staging table %s.%s does not exist (rerun the workflow)", tb.Table, schema, tb.Staging)
	}
	live, exists, err := liveTable(ctx, tx, schema, tb.Table)
	if err != nil {
		return err
	}
	if !exists {
		_, err := tx.Exec(ctx, `ALTER TABLE `+qualified(schema, tb.Staging)+` RENAME TO `+quoteIdent(tb.Table))
		return err
	}
	// Take live's lock first, so that the catalog reads below are stable.
	if _, err := tx.Exec(ctx, `LOCK TABLE `+qualified(schema, tb.Table)+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		return err
	}
	if err := checkDependents(ctx, tx, schema, tb.Table, live.oid); err != nil {
		return err
	}
	if err := keepProperties(ctx, tx, schema, tb, live, stg); err != nil {
		return err
	}
	if err := t.copyGrants(ctx, tx, schema, tb, live, stg); err != nil {
		return err
	}
	if err := t.moveOwnedSequences(ctx, tx, schema, tb, live.oid, stg.oid); err != nil {
		return err
	}
	old := ferry.OldName(tb.Table)
	for _, s := range []string{
		`ALTER TABLE ` + qualified(schema, tb.Table) + ` RENAME TO ` + quoteIdent(old),
		`ALTER TABLE ` + qualified(schema, tb.Staging) + ` RENAME TO ` + quoteIdent(tb.Table),
		`ALTER TABLE ` + qualified(schema, old) + ` RENAME TO ` + quoteIdent(tb.Staging),
		`TRUNCATE TABLE ` + qualified(schema, tb.Staging),
	} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// copyGrants grants on staging every table privilege the live table's ACL
// holds, to the same grantees (PUBLIC included, WITH GRANT OPTION kept),
// and gives staging live's owner when that differs and the current role is
// permitted to (else it logs a warning and keeps its own ownership).
func (t *Target) copyGrants(ctx context.Context, tx pgx.Tx, schema string, tb ferry.SwapTable, live, stg relation) error {
	rows, err := tx.Query(ctx, `SELECT a.privilege_type, a.is_grantable, a.grantee = 0, coalesce(r.rolname, '')
		FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
		LEFT JOIN pg_roles r ON r.oid = a.grantee
		WHERE c.oid = $1
		ORDER BY 3, 4, 1`, live.oid)
	if err != nil {
		return err
	}
	type grant struct {
		priv      string
		grantable bool
		grantee   string
	}
	var grants []grant
	for rows.Next() {
		var g grant
		var public bool
		var role string
		if err := rows.Scan(&g.priv, &g.grantable, &public, &role); err != nil {
			rows.Close()
			return err
		}
		switch {
		case public:
			g.grantee = "PUBLIC"
		case role == "":
			continue // a dropped role's leftover entry
		default:
			g.grantee = quoteIdent(role)
		}
		if !tablePrivileges[g.priv] {
			continue
		}
		grants = append(grants, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	target := qualified(schema, tb.Staging)
	for _, g := range grants {
		s := `GRANT ` + g.priv + ` ON TABLE ` + target + ` TO ` + g.grantee
		if g.grantable {
			s += ` WITH GRANT OPTION`
		}
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("table %s: copy grant %s to %s: %w", tb.Table, g.priv, g.grantee, err)
		}
	}
	if live.owner != stg.owner {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := sp.Exec(ctx, `ALTER TABLE `+target+` OWNER TO `+quoteIdent(live.owner)); err != nil {
			if rerr := sp.Rollback(ctx); rerr != nil {
				return rerr
			}
			t.log().WarnContext(ctx, "postgres: cannot give the new live table its previous owner; it keeps Ferry's role as owner (grants were copied)",
				"schema", schema, "table", tb.Table, "owner", live.owner, "error", err)
		} else if err := sp.Commit(ctx); err != nil {
			return err
		}
	}
	if len(grants) > 0 {
		privs := make([]string, 0, len(grants))
		for _, g := range grants {
			privs = append(privs, g.priv+"→"+g.grantee)
		}
		t.log().DebugContext(ctx, "postgres: grants copied", "schema", schema, "table", tb.Table, "grants", strings.Join(privs, ","))
	}
	return nil
}

// moveOwnedSequences runs ALTER SEQUENCE s OWNED BY staging.col for every
// sequence s owned by a column col of the live table (pg_depend deptype
// 'a': serial, bigserial, or an explicit OWNED BY), so that the sequence
// follows the data that becomes live. It runs inside the swap transaction,
// before the renames (after copyGrants, which gives staging live's owner,
// as OWNED BY needs the same owner on both). Without it the sequence would
// stay with the previous live table, which becomes the next run's staging,
// and that run's PrepareStaging could not drop it: the live column's
// default (copied by LIKE ... INCLUDING ALL) depends on the sequence.
// Identity columns (deptype 'i') are left alone: LIKE INCLUDING IDENTITY
// gives staging its own identity sequence, dropped with its table. A
// sequence whose column staging lacks stays with the old table (nothing
// live then uses it through that column). Sequence names come from the
// catalog and are quoted, not validated.
func (t *Target) moveOwnedSequences(ctx context.Context, tx pgx.Tx, schema string, tb ferry.SwapTable, liveOID, stgOID uint32) error {
	rows, err := tx.Query(ctx, `SELECT sn.nspname, s.relname, a.attname,
			EXISTS (SELECT 1 FROM pg_attribute sa WHERE sa.attrelid = $2 AND sa.attname = a.attname AND sa.attnum > 0 AND NOT sa.attisdropped)
		FROM pg_depend d
		JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
		JOIN pg_namespace sn ON sn.oid = s.relnamespace
		JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
		WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
		  AND d.deptype = 'a' AND d.refobjid = $1 AND d.refobjsubid > 0
		ORDER BY 1, 2`, liveOID, stgOID)
	if err != nil {
		return err
	}
	type owned struct{ seqSchema, seq, col string }
	var move []owned
	for rows.Next() {
		var o owned
		var inStaging bool
		if err := rows.Scan(&o.seqSchema, &o.seq, &o.col, &inStaging); err != nil {
			rows.Close()
			return err
		}
		if !inStaging {
			t.log().WarnContext(ctx, "postgres: staging lacks the column that owns a sequence of the live table; the sequence stays with the previous table",
				"schema", schema, "table", tb.Table, "sequence", o.seqSchema+"."+o.seq, "column", o.col)
			continue
		}
		move = append(move, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range move {
		if _, err := tx.Exec(ctx, `ALTER SEQUENCE `+qualified(o.seqSchema, o.seq)+` OWNED BY `+qualified(schema, tb.Staging)+`.`+quoteIdent(o.col)); err != nil {
			return fmt.Errorf("table %s: give sequence %s.%s (owned by column %s) to the new live table: %w (the sequence and %s.%s must have the same owner as Ferry's role or one of its roles)",
				tb.Table, o.seqSchema, o.seq, o.col, err, schema, tb.Table)
		}
		t.log().DebugContext(ctx, "postgres: sequence follows the data", "schema", schema, "table", tb.Table, "sequence", o.seqSchema+"."+o.seq, "column", o.col)
	}
	return nil
}
