// Package testdb gives tests a fresh, empty MariaDB database or PostgreSQL
// database on the machine's real servers, dropped when the test ends.
//
// Servers are found through FERRY_TEST_MYSQL_DSN (default
// "root@tcp(127.0.0.1:3306)/") and FERRY_TEST_POSTGRES_DSN (default
// "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"). When a
// server is unreachable the test is skipped, except under CI=true, where it
// fails: CI never passes by skipping a database test.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// MySQLServerDSN is the go-sql-driver DSN of the test server, no database.
func MySQLServerDSN() string {
	if v := os.Getenv("FERRY_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// PostgresServerURL is the URL of the test server's maintenance database.
func PostgresServerURL() string {
	if v := os.Getenv("FERRY_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %v", what, err)
	}
	t.Skipf("%s unavailable: %v", what, err)
}

func name(t testing.TB) string {
	b := make([]byte, 4)
	rand.Read(b)
	n := strings.ToLower(t.Name())
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, n)
	if len(n) > 30 {
		n = n[:30]
	}
	return "t_" + n + "_" + hex.EncodeToString(b)
}

// MySQL creates a fresh database and returns its name and a go-sql-driver
// DSN for it (utf8mb4, UTC session time zone). It is dropped at cleanup.
func MySQL(t testing.TB) (dbname, dsn string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(MySQLServerDSN())
	if err != nil {
		t.Fatalf("testdb: FERRY_TEST_MYSQL_DSN: %v", err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unavailable(t, "MariaDB at "+cfg.Addr, err)
	}
	dbname = name(t)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+dbname+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+dbname+"`")
	})
	cfg.DBName = dbname
	return dbname, cfg.FormatDSN()
}

// MySQLDB opens MySQL(t)'s database with database/sql.
func MySQLDB(t testing.TB) (*sql.DB, string) {
	t.Helper()
	dbname, dsn := MySQL(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dbname
}

// Postgres creates a fresh database and returns a postgres:// URL for it.
// It is dropped at cleanup.
func Postgres(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresServerURL())
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	defer conn.Close(context.Background())
	dbname := name(t)
	if _, err := conn.Exec(ctx, `CREATE DATABASE "`+dbname+`" ENCODING 'UTF8' TEMPLATE template0`); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, PostgresServerURL())
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, `DROP DATABASE IF EXISTS "`+dbname+`" WITH (FORCE)`)
	})
	u, err := url.Parse(PostgresServerURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbname
	return u.String()
}

// PostgresConn connects to Postgres(t)'s database.
func PostgresConn(t testing.TB) (*pgx.Conn, string) {
	t.Helper()
	u := Postgres(t)
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatalf("testdb: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn, u
}

// Must fails the test on err, naming what was being done.
func Must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, fmt.Errorf("%w", err))
	}
}

// MySQLUser creates a MariaDB user '<prefix><random>'@'%' with password and
// the given privileges (e.g. "SELECT" or "ALL") on database db, through the
// server of dsn, and drops it at cleanup. It returns the user and a func
// that changes its password (to test rotation). The password is bound by
// the driver (client-side interpolation, since CREATE/ALTER USER cannot be
// prepared), never pasted into SQL.
func MySQLUser(t testing.TB, dsn, db, privileges, prefix, password string) (string, func(newPassword string)) {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InterpolateParams = true
	root, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	b := make([]byte, 4)
	rand.Read(b)
	user := prefix + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := root.ExecContext(ctx, "CREATE USER ?@'%' IDENTIFIED BY ?", user, password); err != nil {
		t.Fatalf("testdb: create user: %v", err)
	}
	t.Cleanup(func() { root.ExecContext(context.Background(), "DROP USER IF EXISTS ?@'%'", user) })
	if _, err := root.ExecContext(ctx, "GRANT "+privileges+" ON `"+db+"`.* TO ?@'%'", user); err != nil {
		t.Fatalf("testdb: grant: %v", err)
	}
	return user, func(p string) {
		if _, err := root.ExecContext(ctx, "ALTER USER ?@'%' IDENTIFIED BY ?", user, p); err != nil {
			t.Fatalf("testdb: alter user: %v", err)
		}
	}
}
