package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/ferrydata/ferry"
)

// CheckSchema is the target's preflight for one company schema: in one
// transaction that is rolled back, so nothing is left whatever happens, it
// creates, fills, upserts into (the swap upserts ferry.FreshnessTable),
// reads, deletes from, renames and drops a scratch table
// _ferry_check_<hex>; when the schema does not exist it creates it first
// the same way, and willCreate is true. grantee is how a fix names the
// role. A missing privilege is a *ferry.ConfigError whose Fix is the
// GRANT; a failing server is another error.
func (t *Target) CheckSchema(ctx context.Context, schema, grantee string) (willCreate bool, err error) {
	if err := validIdents("postgres: check schema", schema); err != nil {
		return false, err
	}
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer rollback(tx)
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return false, fmt.Errorf("read schemas: %w", err)
	}
	grant := fmt.Sprintf("GRANT USAGE, CREATE ON SCHEMA %s TO %s (and make it the owner of the tables Ferry swaps)", quoteIdent(schema), grantee)
	b := make([]byte, 6)
	rand.Read(b)
	name := "_ferry_check_" + hex.EncodeToString(b)
	full := qualified(schema, name)
	type step struct{ what, priv, sql string }
	var steps []step
	if !exists {
		grant = "GRANT CREATE ON DATABASE the target database TO " + grantee + ", or create the schema first: CREATE SCHEMA " + quoteIdent(schema)
		steps = append(steps, step{"create the schema", "CREATE on the database", "CREATE SCHEMA " + quoteIdent(schema)})
	}
	steps = append(steps,
		step{"create a table", "USAGE and CREATE on the schema", "CREATE TABLE " + full + " (id bigint PRIMARY KEY)"},
		step{"insert into it", "INSERT", "INSERT INTO " + full + " (id) VALUES (1)"},
		step{"upsert into it", "UPDATE", "INSERT INTO " + full + " (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id"},
		step{"read it", "SELECT", "SELECT count(*) FROM " + full},
		step{"delete from it", "DELETE", "DELETE FROM " + full + " WHERE id >= 0"},
		step{"rename it", "ownership of the table", "ALTER TABLE " + full + " RENAME TO " + quoteIdent(name+"_r")},
		step{"drop it", "ownership of the table", "DROP TABLE " + qualified(schema, name+"_r")},
	)
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s.sql); err != nil {
			return false, &ferry.ConfigError{Msg: fmt.Sprintf("the target account may not %s (needs %s): %v", s.what, s.priv, err), Fix: grant}
		}
	}
	return !exists, nil
}

// Freshness reads schema's ferry.FreshnessTable, by table name. A schema
// or freshness table that does not exist yet gives an empty map.
func (t *Target) Freshness(ctx context.Context, schema string) (map[string]ferry.TableFreshness, error) {
	op := "postgres: read freshness of " + schema
	if err := validIdents(op, schema); err != nil {
		return nil, err
	}
	out := map[string]ferry.TableFreshness{}
	var exists bool
	if err := t.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", qualified(schema, ferry.FreshnessTable)).Scan(&exists); err != nil || !exists {
		return out, classify(ctx, op, err)
	}
	rows, err := t.pool.Query(ctx, "SELECT table_name, run_id, rows, swapped_at FROM "+qualified(schema, ferry.FreshnessTable))
	if err != nil {
		return nil, classify(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var f ferry.TableFreshness
		if err := rows.Scan(&name, &f.RunID, &f.Rows, &f.SwappedAt); err != nil {
			return nil, classify(ctx, op, err)
		}
		f.SwappedAt = f.SwappedAt.UTC()
		out[name] = f
	}
	return out, classify(ctx, op, rows.Err())
}
