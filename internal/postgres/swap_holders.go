package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
)

// maxHolders is how many sessions a LockWaitError names at most.
const maxHolders = 5

// SetSwapLockTimeout sets LockTimeout (ferry.EnvSwapLockTimeout); call it
// before the first Swap.
func (t *Target) SetSwapLockTimeout(d time.Duration) { t.LockTimeout = d }

// lockWaitError is the error of a swap whose every attempt timed out on
// its locks (55P03): a *ferry.LockWaitError naming the sessions that hold
// a lock on one of req's live or staging tables (pg_locks, granted, with
// pg_stat_activity), longest first, and the fix. The query text, state and
// times of another role's session are visible only to a superuser or a
// member of pg_read_all_stats; without them a holder is named by its id
// and user, and the Note says so. When even that fails, the Note says why.
func (t *Target) lockWaitError(ctx context.Context, req ferry.SwapRequest, err error) error {
	lt := t.LockTimeout
	if lt <= 0 {
		lt = DefaultLockTimeout
	}
	lwe := &ferry.LockWaitError{Wait: lt, Knob: ferry.EnvSwapLockTimeout, Certain: true, Err: err}
	var rels []string
	for _, tb := range req.Tables {
		lwe.Tables = append(lwe.Tables, req.Schema+"."+tb.Table)
		rels = append(rels, qualified(req.Schema, tb.Table), qualified(req.Schema, tb.Staging))
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	holders, hidden, qerr := t.lockHolders(qctx, rels)
	switch {
	case qerr != nil:
		t.log().WarnContext(ctx, "postgres: cannot list the sessions holding the swap's tables", "schema", req.Schema, "error", qerr.Error())
		lwe.Note = "the sessions could not be listed: " + qerr.Error()
	case hidden:
		lwe.Note = "Ferry's role sees other roles' statements only as a member of pg_read_all_stats"
	}
	lwe.Holders = holders
	return lwe
}

// lockHolders lists the other sessions holding a granted lock on one of
// rels (quoted, schema-qualified names) in this database, longest first;
// hidden reports a session whose activity Ferry's role may not see.
func (t *Target) lockHolders(ctx context.Context, rels []string) (holders []ferry.LockHolder, hidden bool, err error) {
	rows, err := t.pool.Query(ctx, `SELECT a.pid, coalesce(a.usename, ''), coalesce(host(a.client_addr), ''), coalesce(a.state, ''),
			coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::float8, 0),
			coalesce(a.query, ''), min(n.nspname || '.' || c.relname)
		FROM pg_locks l
		JOIN pg_class c ON c.oid = l.relation
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.granted AND l.pid <> pg_backend_pid()
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.relation IN (SELECT to_regclass(r) FROM unnest($1::text[]) r)
		GROUP BY 1, 2, 3, 4, 5, 6
		ORDER BY 5 DESC, 1 LIMIT $2`, rels, maxHolders)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pid               int32
			user, addr, state string
			secs              float64
			query, table      string
		)
		if err := rows.Scan(&pid, &user, &addr, &state, &secs, &query, &table); err != nil {
			return nil, false, err
		}
		if query == "<insufficient privilege>" {
			query, hidden = "", true
		}
		holders = append(holders, ferry.LockHolder{Session: fmt.Sprint(pid), Table: table, User: user, Client: addr, State: state,
			For: time.Duration(secs * float64(time.Second)), Query: ferry.ShortQuery(query), End: fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid)})
	}
	return holders, hidden, rows.Err()
}
