package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresRole creates a login role '<prefix><random>' with password on
// the server of dbURL (a database from Postgres), runs grants (statements
// with %I for the role, e.g. "GRANT SELECT ON t TO %I") in that database,
// and drops the role at cleanup. It returns the role's name and a URL of
// dbURL's database for it. Statements are built by the server's format(),
// so the role's name and password are quoted by PostgreSQL.
func PostgresRole(t testing.TB, dbURL, prefix, password string, grants ...string) (string, string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("testdb: connect: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 4)
	rand.Read(b)
	role := prefix + hex.EncodeToString(b)
	run := func(tmpl string, args ...any) {
		t.Helper()
		var stmt string
		if err := conn.QueryRow(ctx, "SELECT format($1, VARIADIC $2::text[])", tmpl, args).Scan(&stmt); err != nil {
			t.Fatalf("testdb: format %q: %v", tmpl, err)
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("testdb: %s: %v", tmpl, err)
		}
	}
	run("CREATE ROLE %I LOGIN PASSWORD %L", role, password)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		var stmt string
		for _, tmpl := range []string{"DROP OWNED BY %I", "DROP ROLE IF EXISTS %I"} {
			if c.QueryRow(context.Background(), "SELECT format($1, $2::text)", tmpl, role).Scan(&stmt) == nil {
				c.Exec(context.Background(), stmt)
			}
		}
	})
	for _, g := range grants {
		run(g, role)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, password)
	return role, u.String()
}
