package secrets_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	ferrymysql "github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/secrets"
	"github.com/ferrydata/ferry/internal/secrets/smfake"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/go-sql-driver/mysql"
)

const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/source-AbCdEf"

// tricky is a password with every character that breaks naive DSN building.
const tricky = `p@ss:w/o?rd#1'"%20&=;\ é`

func secretJSON(t *testing.T, engine, host string, port any, user, pass, db string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"engine": engine, "host": host, "port": port, "username": user, "password": pass, "dbname": db})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    secrets.Credentials
		wantErr string
	}{
		{"mysql numeric port", `{"engine":"mysql","host":"db.example","port":3307,"username":"ferry","password":"pw1234","dbname":"prod"}`,
			secrets.Credentials{Engine: "mysql", Host: "db.example", Port: 3307, Username: "ferry", Password: "pw1234", DBName: "prod"}, ""},
		{"aurora postgres string port", `{"engine":"aurora-postgresql","host":"pg","port":"6432","username":"u","password":"pw1234","dbname":"bi"}`,
			secrets.Credentials{Engine: "postgres", Host: "pg", Port: 6432, Username: "u", Password: "pw1234", DBName: "bi"}, ""},
		{"default port", `{"engine":"postgres","host":"pg","username":"u","password":"pw1234"}`,
			secrets.Credentials{Engine: "postgres", Host: "pg", Port: 5432, Username: "u", Password: "pw1234"}, ""},
		{"mariadb", `{"engine":"mariadb","host":"h","username":"u","password":"pw1234"}`,
			secrets.Credentials{Engine: "mysql", Host: "h", Port: 3306, Username: "u", Password: "pw1234"}, ""},
		{"not json", `engine=mysql password=hunter2hunter2`, secrets.Credentials{}, "not the RDS JSON"},
		{"bad port", `{"engine":"mysql","host":"h","port":"x","username":"u","password":"hunter2hunter2"}`, secrets.Credentials{}, "not a TCP port"},
		{"RDS-managed: username and password only", `{"username":"admin","password":"pw1234"}`,
			secrets.Credentials{Username: "admin", Password: "pw1234"}, ""},
		{"oracle", `{"engine":"oracle","host":"h","username":"u","password":"hunter2hunter2"}`, secrets.Credentials{}, "not supported"},
		{"missing fields", `{"engine":"mysql","host":"h","port":3306,"password":"hunter2hunter2"}`, secrets.Credentials{}, "lacks username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secrets.ParseSecret(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCredentialsNeverPrintPassword(t *testing.T) {
	c := secrets.Credentials{Engine: "mysql", Host: "h", Port: 3306, Username: "u", Password: tricky, DBName: "d"}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "db", c)
	js, _ := json.Marshal(c)
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %s %+v %#v", c, c, c, c), buf.String(), string(js)} {
		if strings.Contains(s, "p@ss") {
			t.Fatalf("password printed: %s", s)
		}
	}
	if want := "mysql://u@h:3306/d"; c.String() != want {
		t.Fatalf("String() = %q, want %q", c.String(), want)
	}
}

func TestCacheTTLAndInvalidate(t *testing.T) {
	fake, client := smfake.Start(t)
	fake.Set(arn, secretJSON(t, "mysql", "h", 3306, "u", "first-password", "d"))
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	cache := secrets.New(client, time.Minute).WithClock(func() time.Time { return now })
	ctx := context.Background()

	steps := []struct {
		name      string
		advance   time.Duration
		set       string
		invalid   bool
		wantPass  string
		wantCalls int
	}{
		{name: "first read fetches", wantPass: "first-password", wantCalls: 1},
		{name: "within TTL is cached", advance: 59 * time.Second, set: "second-password", wantPass: "first-password", wantCalls: 1},
		{name: "after TTL re-reads", advance: 2 * time.Second, wantPass: "second-password", wantCalls: 2},
		{name: "cached again", advance: time.Second, set: "third-password", wantPass: "second-password", wantCalls: 2},
		{name: "invalidate re-reads", invalid: true, wantPass: "third-password", wantCalls: 3},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.set != "" {
			fake.Set(arn, secretJSON(t, "mysql", "h", 3306, "u", s.set, "d"))
		}
		if s.invalid {
			cache.Invalidate(arn)
		}
		got, err := cache.Get(ctx, arn)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got.Password != s.wantPass || fake.Count(arn) != s.wantCalls {
			t.Fatalf("%s: password %q after %d calls, want %q after %d", s.name, got.Password, fake.Count(arn), s.wantPass, s.wantCalls)
		}
	}
}

func TestCacheConcurrentGetFetchesOnce(t *testing.T) {
	fake, client := smfake.Start(t)
	fake.Set(arn, secretJSON(t, "mysql", "h", 3306, "u", "pw-concurrent", "d"))
	cache := secrets.New(client, time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := cache.Get(context.Background(), arn); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := fake.Count(arn); n != 1 {
		t.Fatalf("GetSecretValue called %d times, want 1", n)
	}
}

func TestCacheErrors(t *testing.T) {
	fake, client := smfake.Start(t)
	fake.Set("bad", "password=hunter2hunter2")
	cache := secrets.New(client, time.Minute)
	tests := []struct{ id, want string }{
		{"arn:aws:secretsmanager:eu-west-1:1:secret:missing", "ResourceNotFoundException"},
		{"bad", "not the RDS JSON"},
	}
	for _, tt := range tests {
		_, err := cache.Get(context.Background(), tt.id)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.id) {
			t.Fatalf("Get(%s) = %v, want an error naming the secret and %q", tt.id, err, tt.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error leaks the secret: %v", err)
		}
		if malformed := tt.id == "bad"; errors.Is(err, secrets.ErrMalformed) != malformed {
			t.Fatalf("Get(%s): errors.Is(ErrMalformed) = %v, want %v", tt.id, !malformed, malformed)
		}
	}
}

func TestRedact(t *testing.T) {
	inner := &mysql.MySQLError{Number: 1045, Message: "bad login for pw " + tricky}
	err := secrets.Redact(fmt.Errorf("open: %w", inner), tricky)
	if strings.Contains(err.Error(), tricky) || !strings.Contains(err.Error(), "***") {
		t.Fatalf("not redacted: %v", err)
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		t.Fatal("redaction hid the driver error from errors.As")
	}
	if secrets.Redact(nil, "x") != nil {
		t.Fatal("Redact(nil) != nil")
	}
}

// refused is the MySQL adapter's refused-login classifier.
var refused = ferrymysql.Engine{}.LoginRefused

// openMySQL is the open func a MySQL adapter would pass to secrets.Open.
func openMySQL(ctx context.Context, c secrets.Credentials) (*sql.DB, error) {
	db, err := sql.Open("mysql", ferrymysql.Engine{}.CredentialsDSN(c, ""))
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("mysql: connect %s: %w", c, err)
	}
	return db, nil
}

// TestOpenRereadsRotatedSecret rotates a real MariaDB user's password
// behind a warm cache: the first login is refused (1045), the secret is
// read again and the second login succeeds. A secret that stays wrong gives
// an error without the password.
func TestOpenRereadsRotatedSecret(t *testing.T) {
	dbname, dsn := testdb.MySQL(t)
	ctx := context.Background()
	rootCfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	oldPass, newPass := "old-"+tricky, "new-"+tricky
	user, setPassword := testdb.MySQLUser(t, dsn, dbname, "SELECT", "ferry_rot_", oldPass)
	host, port := "127.0.0.1", 3306
	if h, p, ok := strings.Cut(rootCfg.Addr, ":"); ok {
		host = h
		fmt.Sscan(p, &port)
	}

	fake, client := smfake.Start(t)
	fake.Set(arn, secretJSON(t, "mysql", host, port, user, oldPass, dbname))
	cache := secrets.New(client, time.Hour)

	db, err := secrets.Open(ctx, cache, arn, refused, openMySQL)
	if err != nil {
		t.Fatalf("first open: %v", err)
	}
	db.Close()

	// Rotation: the database and the secret change; the cache still holds
	// the old password for an hour.
	setPassword(newPass)
	fake.Set(arn, secretJSON(t, "mysql", host, port, user, newPass, dbname))
	if got, _ := cache.Get(ctx, arn); got.Password != oldPass {
		t.Fatal("cache should still hold the old password")
	}
	db, err = secrets.Open(ctx, cache, arn, refused, openMySQL)
	if err != nil {
		t.Fatalf("open after rotation: %v", err)
	}
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n := fake.Count(arn); n != 2 {
		t.Fatalf("GetSecretValue called %d times, want 2 (initial + re-read after 1045)", n)
	}

	// The database changes again but the secret is not updated: one
	// re-read, then an auth error that does not show any password.
	setPassword("third-" + tricky)
	_, err = secrets.Open(ctx, cache, arn, refused, openMySQL)
	if err == nil {
		t.Fatal("open with a stale secret succeeded")
	}
	if !refused(err) {
		t.Fatalf("want an auth error, got %v", err)
	}
	for _, p := range []string{oldPass, newPass, "third-" + tricky, "p@ss"} {
		if strings.Contains(err.Error(), p) {
			t.Fatalf("error contains a password: %v", err)
		}
	}
	if n := fake.Count(arn); n != 3 {
		t.Fatalf("GetSecretValue called %d times, want 3", n)
	}
}

// TestOpenErrorRedactsPassword: a driver error that quotes the password is
// scrubbed, and a non-auth error is not retried.
func TestOpenErrorRedactsPassword(t *testing.T) {
	fake, client := smfake.Start(t)
	fake.Set(arn, secretJSON(t, "postgres", "127.0.0.1", 5432, "u", tricky, "d"))
	cache := secrets.New(client, time.Hour)
	calls := 0
	_, err := secrets.Open(context.Background(), cache, arn, refused, func(ctx context.Context, c secrets.Credentials) (int, error) {
		calls++
		return 0, fmt.Errorf("dial %s with %s: refused", c.Host, c.Password)
	})
	if err == nil || strings.Contains(err.Error(), tricky) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
	if calls != 1 || fake.Count(arn) != 1 {
		t.Fatalf("non-auth error retried: %d opens, %d reads", calls, fake.Count(arn))
	}
}

// TestComplete: the template's address parameters complete a secret RDS
// manages and win over a full secret's fields; nothing usable is refused
// with the parameter to set.
func TestComplete(t *testing.T) {
	managed := secrets.Credentials{Username: "admin", Password: "pw1234"}
	full := secrets.Credentials{Engine: "mysql", Host: "old", Port: 3307, Username: "u", Password: "pw1234", DBName: "prod"}
	tests := []struct {
		name    string
		c       secrets.Credentials
		a       secrets.Address
		want    secrets.Credentials
		wantErr string
	}{
		{"managed secret, address from parameters", managed, secrets.Address{Engine: "postgres", Host: "bi.cluster-x.rds.amazonaws.com", Database: "bi"},
			secrets.Credentials{Engine: "postgres", Host: "bi.cluster-x.rds.amazonaws.com", Port: 5432, Username: "admin", Password: "pw1234", DBName: "bi"}, ""},
		{"parameters win", full, secrets.Address{Engine: "postgres", Host: "proxy", Port: 3306, Database: "other"},
			secrets.Credentials{Engine: "mysql", Host: "proxy", Port: 3306, Username: "u", Password: "pw1234", DBName: "other"}, ""},
		{"no parameters: the secret", full, secrets.Address{}, full, ""},
		{"managed secret without a host", managed, secrets.Address{Engine: "mysql"}, secrets.Credentials{}, "set TargetHost"},
		{"no engine anywhere", managed, secrets.Address{Host: "h"}, secrets.Credentials{}, "no engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secrets.Complete(tt.c, tt.a, "TargetHost")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, secrets.ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
