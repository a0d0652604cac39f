package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
)

// CheckRead is the source's preflight: the connection names a database,
// and the account sees a table there and may read it (LIMIT 0: no row is
// read). It returns the database's name. grantee is how a fix names the
// account ("the source account (...)"). A problem the operator fixes is a
// *ferry.ConfigError whose Fix is the GRANT; a failing server is another
// error. The configured queries are checked separately (plan.Validate).
func (s *Source) CheckRead(ctx context.Context, grantee string) (string, error) {
	var name sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		return "", fmt.Errorf("read the current database: %w", err)
	}
	if !name.Valid || name.String == "" {
		return "", &ferry.ConfigError{Msg: "the source URL names no database", Fix: "add the database to the source URL, e.g. mysql://ferry_ro:PASSWORD@prod-replica:3306/app"}
	}
	db := name.String
	grant := fmt.Sprintf("GRANT SELECT ON %s.* TO %s; read-only is enough", quoteIdent(db), grantee)
	var table string
	err := s.db.QueryRowContext(ctx, "SELECT `TABLE_NAME` FROM information_schema.TABLES WHERE `TABLE_SCHEMA` = ? ORDER BY `TABLE_NAME` LIMIT 1", db).Scan(&table)
	if errors.Is(err, sql.ErrNoRows) {
		return db, &ferry.ConfigError{Msg: fmt.Sprintf("the source account sees no table in database %s: it has no privilege there, or the database is empty", db),
			Fix: grant + "; or point the source URL at the database the queries read"}
	}
	if err == nil {
		var rows *sql.Rows
		if rows, err = s.db.QueryContext(ctx, "SELECT * FROM "+qualified(db, table)+" LIMIT 0"); err == nil {
			rows.Close()
		}
	}
	if err != nil {
		return db, &ferry.ConfigError{Msg: fmt.Sprintf("the source account may not read database %s: %v", db, err), Fix: grant}
	}
	return db, nil
}

// CheckSchema is the target's preflight for one company schema: it
// creates, fills, upserts into (the swap upserts ferry.FreshnessTable),
// reads, deletes from, alters, renames and drops a scratch table
// _ferry_check_<hex> there, leaving nothing behind. A schema that does not
// exist (or that the account cannot see) is checked for the CREATE
// privilege in the grants instead, and willCreate is true. grantee is how
// a fix names the account. A missing privilege is a *ferry.ConfigError
// whose Fix is the GRANT; a failing server is another error.
func (t *Target) CheckSchema(ctx context.Context, schema, grantee string) (willCreate bool, err error) {
	if err := validIdents("mysql: check schema", schema); err != nil {
		return false, err
	}
	var n int
	if err := t.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema).Scan(&n); err != nil {
		return false, fmt.Errorf("read schemata: %w", err)
	}
	grant := fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER ON %s.* TO %s", quoteIdent(schema), grantee)
	if n == 0 {
		return true, t.checkCreateSchema(ctx, schema, grant)
	}
	name := scratchName()
	full, renamed := qualified(schema, name), qualified(schema, name+"_r")
	steps := []struct{ what, priv, sql string }{
		{"create a table", "CREATE", "CREATE TABLE " + full + " (`id` BIGINT NOT NULL PRIMARY KEY)"},
		{"insert into it", "INSERT", "INSERT INTO " + full + " (`id`) VALUES (1)"},
		{"upsert into it", "UPDATE", "INSERT INTO " + full + " (`id`) VALUES (1) ON DUPLICATE KEY UPDATE `id` = VALUES(`id`)"},
		{"read it", "SELECT", "SELECT COUNT(*) FROM " + full},
		{"delete from it", "DELETE", "DELETE FROM " + full + " WHERE `id` >= 0"},
		{"alter it", "ALTER", "ALTER TABLE " + full + " COMMENT = 'ferry check'"},
		{"rename it", "ALTER, DROP and CREATE", "RENAME TABLE " + full + " TO " + renamed},
		{"drop it", "DROP", "DROP TABLE " + renamed},
	}
	for _, s := range steps {
		if _, err := t.db.ExecContext(ctx, s.sql); err != nil {
			// Leave nothing behind (under either name).
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			t.db.ExecContext(cctx, "DROP TABLE IF EXISTS "+full+", "+renamed)
			cancel()
			return false, &ferry.ConfigError{Msg: fmt.Sprintf("the target account may not %s (needs %s): %v", s.what, s.priv, err), Fix: grant}
		}
	}
	return false, nil
}

// checkCreateSchema looks for a global CREATE, or a database-level CREATE
// whose pattern matches schema, among the account's grants.
func (t *Target) checkCreateSchema(ctx context.Context, schema, grant string) error {
	const me = "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
	var ok int
	err := t.db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = "+me+" AND PRIVILEGE_TYPE = 'CREATE') + "+
		"(SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = "+me+" AND PRIVILEGE_TYPE = 'CREATE' AND ? LIKE TABLE_SCHEMA)", schema).Scan(&ok)
	if err != nil {
		return fmt.Errorf("read grants: %w", err)
	}
	if ok == 0 {
		return &ferry.ConfigError{Msg: "the database does not exist (or the target account has no privilege on it) and the account may not create it",
			Fix: "create it (CREATE DATABASE " + quoteIdent(schema) + "; `ferry company add` does it with an account that may) and " + grant}
	}
	return nil
}

// scratchName is a fresh name for a preflight's scratch table.
func scratchName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "_ferry_check_" + hex.EncodeToString(b)
}

// Freshness reads schema's ferry.FreshnessTable, by table name. A schema
// or freshness table that does not exist yet gives an empty map.
func (t *Target) Freshness(ctx context.Context, schema string) (map[string]ferry.TableFreshness, error) {
	op := "mysql: read freshness of " + schema
	if err := validIdents(op, schema); err != nil {
		return nil, err
	}
	out := map[string]ferry.TableFreshness{}
	if ok, err := tableExists(ctx, t.db, schema, ferry.FreshnessTable); err != nil || !ok {
		return out, classify(op, err)
	}
	rows, err := t.db.QueryContext(ctx, "SELECT `table_name`, `run_id`, `rows`, `swapped_at` FROM "+qualified(schema, ferry.FreshnessTable))
	if err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var f ferry.TableFreshness
		var at scanTime
		if err := rows.Scan(&name, &f.RunID, &f.Rows, &at); err != nil {
			return nil, classify(op, err)
		}
		f.SwappedAt = at.T
		out[name] = f
	}
	return out, classify(op, rows.Err())
}
