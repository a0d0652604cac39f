package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
)

// maxHolders is how many sessions a LockWaitError names at most.
const maxHolders = 5

// holderColumns are the columns every holder query returns, from
// information_schema.PROCESSLIST p and INNODB_TRX x (LEFT JOIN).
const holderColumns = `p.ID, p.USER, p.HOST, p.COMMAND, p.TIME, COALESCE(p.INFO, ''), x.trx_mysql_thread_id IS NOT NULL,
	COALESCE(TIMESTAMPDIFF(SECOND, x.trx_started, NOW()), 0)`

// lockWaitError is the error of a RENAME that timed out on its locks
// (lock_wait_timeout) on every attempt: a *ferry.LockWaitError naming the
// sessions that hold a metadata lock on the live or staging tables of
// infos, and the fix. With MariaDB's
// METADATA_LOCK_INFO plugin loaded the holders are exact; without it they
// are the sessions with an InnoDB transaction or a statement older than
// the wait (a session that only holds LOCK TABLES cannot be seen then,
// and the Note says how to name it). When the sessions cannot be listed at
// all (Ferry's user lacks the PROCESS privilege), the Note says so.
func (t *Target) lockWaitError(ctx context.Context, conn *sql.Conn, schema string, infos []swapInfo, err error) error {
	lwe := &ferry.LockWaitError{Wait: time.Duration(t.opts.lockWait) * time.Second, Knob: ferry.EnvSwapLockTimeout, Err: err}
	var tables []string
	for _, in := range infos {
		lwe.Tables = append(lwe.Tables, schema+"."+in.tbl.Table)
		tables = append(tables, strings.ToLower(in.tbl.Table), strings.ToLower(in.tbl.Staging))
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	exact, qerr := metadataLockInfo(qctx, conn)
	if qerr == nil && exact {
		lwe.Certain = true
		lwe.Holders, qerr = mdlHolders(qctx, conn, schema, tables)
	} else if qerr == nil {
		lwe.Holders, qerr = trxHolders(qctx, conn, schema, t.opts.lockWait)
		lwe.Note = "a session that only holds LOCK TABLES is named once the metadata_lock_info plugin is loaded: INSTALL SONAME 'metadata_lock_info'"
	}
	if qerr != nil {
		t.opts.log.WarnContext(ctx, "mysql: cannot list the sessions holding the swap's tables", "schema", schema, "error", qerr.Error())
		lwe.Holders, lwe.Note = nil, "Ferry's user cannot list the server's sessions (it needs the PROCESS privilege); SHOW PROCESSLIST as an administrator shows them"
	}
	return lwe
}

// metadataLockInfo reports whether MariaDB's METADATA_LOCK_INFO plugin
// is loaded.
func metadataLockInfo(ctx context.Context, conn *sql.Conn) (bool, error) {
	var n int
	err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.PLUGINS
		WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'`).Scan(&n)
	return n > 0, err
}

// mdlHolders lists the other sessions holding a metadata lock on one of
// tables of schema (METADATA_LOCK_INFO), longest first, each with the
// first such table.
func mdlHolders(ctx context.Context, conn *sql.Conn, schema string, tables []string) ([]ferry.LockHolder, error) {
	args := []any{schema}
	marks := make([]string, len(tables))
	for i, tb := range tables {
		marks[i], args = "?", append(args, tb)
	}
	args = append(args, maxHolders)
	return scanHolders(ctx, conn, `SELECT `+holderColumns+`, m.tbl
		FROM (SELECT THREAD_ID, MIN(CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)) AS tbl FROM information_schema.METADATA_LOCK_INFO
			WHERE TABLE_SCHEMA = ? AND LOWER(TABLE_NAME) IN (`+strings.Join(marks, ", ")+`) AND THREAD_ID <> CONNECTION_ID()
			GROUP BY THREAD_ID) m
		JOIN information_schema.PROCESSLIST p ON p.ID = m.THREAD_ID
		LEFT JOIN information_schema.INNODB_TRX x ON x.trx_mysql_thread_id = p.ID
		ORDER BY GREATEST(p.TIME, COALESCE(TIMESTAMPDIFF(SECOND, x.trx_started, NOW()), 0)) DESC LIMIT ?`, args...)
}

// trxHolders lists the other sessions with an InnoDB transaction open, or
// a statement running, for at least wait seconds: first those whose
// current database is schema or whose statement names it, then the
// others, each longest first.
func trxHolders(ctx context.Context, conn *sql.Conn, schema string, wait int) ([]ferry.LockHolder, error) {
	return scanHolders(ctx, conn, `SELECT `+holderColumns+`, ''
		FROM information_schema.PROCESSLIST p
		LEFT JOIN information_schema.INNODB_TRX x ON x.trx_mysql_thread_id = p.ID
		WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Connect', 'Killed')
		  AND (x.trx_started <= NOW() - INTERVAL ? SECOND OR (p.COMMAND = 'Query' AND p.TIME >= ?))
		ORDER BY p.DB <=> ? OR LOCATE(?, COALESCE(p.INFO, '')) > 0 DESC,
			GREATEST(p.TIME, COALESCE(TIMESTAMPDIFF(SECOND, x.trx_started, NOW()), 0)) DESC LIMIT ?`, wait, wait, schema, schema, maxHolders)
}

// scanHolders runs q (holderColumns, then the table held or ”) and
// describes each session.
func scanHolders(ctx context.Context, conn *sql.Conn, q string, args ...any) ([]ferry.LockHolder, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ferry.LockHolder
	for rows.Next() {
		var (
			id            int64
			user, host    string
			command, info string
			secs, trxSecs int64
			inTrx         bool
			table         string
		)
		if err := rows.Scan(&id, &user, &host, &command, &secs, &info, &inTrx, &trxSecs, &table); err != nil {
			return nil, err
		}
		h := ferry.LockHolder{Session: fmt.Sprint(id), Table: table, User: user, Client: clientHost(host),
			State: "idle", For: time.Duration(secs) * time.Second, Query: ferry.ShortQuery(info), End: fmt.Sprintf("KILL %d", id)}
		switch {
		case command == "Query":
			h.State = "running a statement"
		case inTrx:
			h.State = "idle in transaction"
		}
		if inTrx {
			h.For = time.Duration(max(secs, trxSecs)) * time.Second
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// clientHost is PROCESSLIST.HOST without its port ("" for a local socket).
func clientHost(host string) string {
	if host == "localhost" {
		return ""
	}
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.Trim(host[i+1:], "0123456789") != "" {
		return host
	}
	return strings.Trim(host[:i], "[]")
}
