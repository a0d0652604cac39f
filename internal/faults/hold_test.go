package faults

import (
	"context"
	"database/sql/driver"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
)

// holdKind is how a reader holds alpha's live table during its swap.
type holdKind string

const (
	holdLockTables  holdKind = "lock_tables" // MariaDB: LOCK TABLES … READ, the session then idle
	holdTransaction holdKind = "transaction" // an open REPEATABLE READ transaction that read the table
	holdLongSelect  holdKind = "long_select" // a SELECT on the table still running
)

// hold makes a new session hold alpha's live table as kind says and
// returns the func that lets it go (call it once) and the session's id
// (MySQL CONNECTION_ID(), PostgreSQL pg_backend_pid()). The transaction's
// session works in alpha's schema, as a BI tool's session does.
func (w *world) hold(t *testing.T, kind holdKind) (release func(), session string) {
	t.Helper()
	if w.engine == ferry.EngineMySQL {
		return w.holdMySQL(t, kind)
	}
	return w.holdPostgres(t, kind)
}

func (w *world) holdMySQL(t *testing.T, kind holdKind) (func(), string) {
	ctx := context.Background()
	schema := w.schema["alpha"]
	conn, err := w.tdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	discard := func() { conn.Raw(func(any) error { return driver.ErrBadConn }); conn.Close() }
	var stmts []string
	switch kind {
	case holdLockTables:
		stmts = []string{"LOCK TABLES `" + schema + "`.orders READ"}
	case holdTransaction:
		stmts = []string{"USE `" + schema + "`", "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION", "SELECT COUNT(*) FROM orders"}
	case holdLongSelect:
		done := make(chan struct{})
		go func() { defer close(done); conn.ExecContext(ctx, "SELECT SLEEP(300) FROM `"+schema+"`.orders LIMIT 1") }()
		w.waitFor(t, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND STATE = 'User sleep'", id)
		return func() { exec(t, w.tdb, fmt.Sprintf("KILL QUERY %d", id)); <-done; discard() }, fmt.Sprint(id)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return discard, fmt.Sprint(id)
}

// waitFor polls the MySQL target until q (a COUNT) answers 1.
func (w *world) waitFor(t *testing.T, q string, args ...any) {
	t.Helper()
	for n := 0; n != 1; time.Sleep(10 * time.Millisecond) {
		if err := w.tdb.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) holdPostgres(t *testing.T, kind holdKind) (func(), string) {
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, w.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	var pid int32
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	table := `"` + w.schema["alpha"] + `".orders`
	if kind == holdLongSelect {
		done := make(chan struct{})
		go func() { defer close(done); conn.Exec(ctx, "SELECT pg_sleep(300) FROM "+table+" LIMIT 1") }()
		watch, err := pgx.Connect(context.Background(), w.pgURL)
		if err != nil {
			t.Fatal(err)
		}
		defer watch.Close(context.Background())
		for n := 0; n != 1; time.Sleep(10 * time.Millisecond) {
			if err := watch.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'", pid).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		return func() { cancel(); <-done; conn.Close(context.Background()) }, fmt.Sprint(pid)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT count(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback(ctx); conn.Close(ctx); cancel() }, fmt.Sprint(pid)
}
