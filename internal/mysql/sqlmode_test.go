package mysql

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/ferrydata/ferry/internal/testdb"
)

// TestSourceSQLModeForced: the source's sessions (export pool and metadata
// pool) run under SourceSQLMode whatever the DSN asks for, so a query that
// only parses under ANSI_QUOTES is refused deterministically and "..." is a
// string, as sqlparams scans it.
func TestSourceSQLModeForced(t *testing.T) {
	_, dsn := testdb.MySQL(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	dsn += sep + "sql_mode=%27ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PIPES_AS_CONCAT%27"
	db, err := Open(ctxT(t), dsn, withSourceMode)
	testdb.Must(t, "open", err)
	t.Cleanup(func() { db.Close() })
	meta, err := OpenMetadata(ctxT(t), dsn)
	testdb.Must(t, "metadata pool", err)
	t.Cleanup(func() { meta.Close() })
	for name, pool := range map[string]*sql.DB{"export": db, "metadata": meta} {
		var mode string
		testdb.Must(t, "sql_mode", pool.QueryRowContext(ctxT(t), "SELECT @@SESSION.sql_mode").Scan(&mode))
		if mode != SourceSQLMode {
			t.Errorf("%s pool: session sql_mode %q, want %q", name, mode, SourceSQLMode)
		}
	}
	exec(t, db, "CREATE TABLE modes (id INT PRIMARY KEY)")
	if _, err := db.ExecContext(ctxT(t), `SELECT id FROM "modes"`); err == nil || !strings.Contains(err.Error(), "1064") {
		t.Errorf(`a query that only parses under ANSI_QUOTES: %v, want a syntax error`, err)
	}
	// The target and admin pools keep the server's sql_mode (no opts).
	plain, err := Open(ctxT(t), dsn)
	testdb.Must(t, "open plain", err)
	t.Cleanup(func() { plain.Close() })
	var mode string
	testdb.Must(t, "sql_mode", plain.QueryRowContext(ctxT(t), "SELECT @@SESSION.sql_mode").Scan(&mode))
	if !strings.Contains(mode, "ANSI_QUOTES") {
		t.Errorf("Open without withSourceMode: sql_mode %q", mode)
	}
}
