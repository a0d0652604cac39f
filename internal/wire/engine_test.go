package wire

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fmt"
	"github.com/ferrydata/ferry"
	mysqladapter "github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"net/url"
)

// testEngines are the engines the CLI links.
var testEngines = Engines{mysqladapter.Engine{}, postgres.Engine{}}

func TestParseURLMySQL(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		user, pass string
		addr, db   string
		tls        string
		timeout    time.Duration
		params     map[string]string
		safe       string
	}{
		{name: "plain", in: "mysql://ferry:secret@db.internal:3307/prod",
			user: "ferry", pass: "secret", addr: "db.internal:3307", db: "prod", safe: "mysql://ferry@db.internal:3307/prod"},
		{name: "default port, no password", in: "mysql://root@127.0.0.1/ferry_admin",
			user: "root", addr: "127.0.0.1:3306", db: "ferry_admin", safe: "mysql://root@127.0.0.1:3306/ferry_admin"},
		{name: "escaped password", in: "mariadb://u:p%40ss%3Aw%2Fo%3Frd%23%27%22%25@h:3306/d",
			user: "u", pass: `p@ss:w/o?rd#'"%`, addr: "h:3306", db: "d", safe: "mysql://u@h:3306/d"},
		{name: "driver params and session variables", in: "mysql://u:p@h/d?tls=preferred&timeout=5s&sql_mode=%27ANSI%27",
			user: "u", pass: "p", addr: "h:3306", db: "d", tls: "preferred", timeout: 5 * time.Second,
			params: map[string]string{"sql_mode": "'ANSI'"}, safe: "mysql://u@h:3306/d"},
		{name: "ipv6", in: "mysql://u:p@[::1]:3306/d", user: "u", pass: "p", addr: "[::1]:3306", db: "d", safe: "mysql://u@[::1]:3306/d"},
		{name: "go-sql-driver DSN as is", in: "u:p@tcp(10.0.0.1:3306)/d?tls=skip-verify",
			user: "u", pass: "p", addr: "10.0.0.1:3306", db: "d", tls: "skip-verify", safe: "mysql://u@10.0.0.1:3306/d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := testEngines.ParseURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Engine != ferry.EngineMySQL {
				t.Fatalf("engine %s", d.Engine)
			}
			cfg, err := mysql.ParseDSN(d.Driver)
			if err != nil {
				t.Fatalf("Driver does not parse: %v", err)
			}
			if cfg.User != tt.user || cfg.Passwd != tt.pass || cfg.Addr != tt.addr || cfg.DBName != tt.db || cfg.Net != "tcp" {
				t.Fatalf("got user %q pass %q addr %q db %q net %q", cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName, cfg.Net)
			}
			if cfg.TLSConfig != tt.tls || cfg.Timeout != tt.timeout {
				t.Fatalf("tls %q timeout %v, want %q %v", cfg.TLSConfig, cfg.Timeout, tt.tls, tt.timeout)
			}
			for k, v := range tt.params {
				if cfg.Params[k] != v {
					t.Fatalf("param %s = %q, want %q", k, cfg.Params[k], v)
				}
			}
			if d.Safe != tt.safe || d.String() != tt.safe {
				t.Fatalf("Safe = %q, want %q", d.Safe, tt.safe)
			}
		})
	}
}

func TestParseURLPostgres(t *testing.T) {
	tests := []struct{ in, driver, safe string }{
		{"postgres://u:p%40ss@pg:6432/bi?sslmode=require", "postgres://u:p%40ss@pg:6432/bi?sslmode=require", "postgres://u@pg:6432/bi"},
		{"postgres://u@h/db?password=s3cret", "postgres://u@h:5432/db?password=s3cret", "postgres://u@h:5432/db"},
		{"postgresql://u@pg/bi", "postgres://u@pg:5432/bi", "postgres://u@pg:5432/bi"},
	}
	for _, tt := range tests {
		d, err := testEngines.ParseURL(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if d.Engine != ferry.EnginePostgres || d.Driver != tt.driver || d.Safe != tt.safe {
			t.Fatalf("ParseURL(%s) = %s %q %q, want %q %q", tt.in, d.Engine, d.Driver, d.Safe, tt.driver, tt.safe)
		}
	}
}

func TestParseURLErrorsHidePassword(t *testing.T) {
	const pw = "Sup3rSecretPw"
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"mysql://u:" + pw + "@h:notaport/d", "malformed mysql:// URL"},
		{"oracle://u:" + pw + "@h/d", `scheme "oracle" is not supported`},
		{"mysql://u:" + pw + "@/d", "has no host"},
		{"mysql://u:" + pw + "@h/a/b", "not one database name"},
		{"mysql://u:" + pw + "@h/d?timeout=" + pw, "not valid go-sql-driver parameters (timeout)"},
		{"u:" + pw + "@nonsense(", "neither a URL"},
	}
	for _, tt := range tests {
		_, err := testEngines.ParseURL(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("ParseURL(%q) err = %v, want containing %q", tt.in, err, tt.want)
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("error leaks the password: %v", err)
		}
	}
}

func TestEnvFrom(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, e Env)
		wantErr string
	}{
		{name: "lambda", env: map[string]string{
			"FERRY_ADMIN_SECRET_ARN": "arn:a", "FERRY_SOURCE_SECRET_ARN": "arn:s", "FERRY_TARGET_SECRET_ARN": "arn:t",
			"FERRY_TARGET_ENGINE": "Postgres", "FERRY_BUCKET": "b",
		}, check: func(t *testing.T, e Env) {
			if e.AdminSecretARN != "arn:a" || e.TargetEngine != ferry.EnginePostgres || e.Bucket != "b" ||
				e.MySQLTLS != "preferred" || e.PostgresSSLMode != "prefer" || !e.MigrateAdmin || e.SecretTTL != 5*time.Minute {
				t.Fatalf("%+v", e)
			}
		}},
		{name: "local", env: map[string]string{
			"FERRY_ADMIN_DSN": "mysql://root@127.0.0.1/a", "FERRY_STORE": "file:///tmp/ferry", "FERRY_SECRET_TTL": "30s", "FERRY_SWAP_LOCK_TIMEOUT": "20s",
			"FERRY_MYSQL_TLS": "false", "FERRY_ADMIN_MIGRATE": "FALSE", "FERRY_TARGET_ENGINE": "aurora-mysql",
		}, check: func(t *testing.T, e Env) {
			if e.AdminDSN == "" || e.Store != "file:///tmp/ferry" || e.SecretTTL != 30*time.Second || e.SwapLockTimeout != 20*time.Second || e.MySQLTLS != "false" ||
				e.MigrateAdmin || e.TargetEngine != ferry.EngineMySQL {
				t.Fatalf("%+v", e)
			}
		}},
		{name: "compression", env: map[string]string{"FERRY_COMPRESSION": "Zstd:2"}, check: func(t *testing.T, e Env) {
			if e.Compression != (ferry.Compression{Codec: ferry.CodecZstd, Level: 2}) {
				t.Fatalf("%+v", e.Compression)
			}
		}},
		{name: "bad compression", env: map[string]string{"FERRY_COMPRESSION": "gzip:11"}, wantErr: "FERRY_COMPRESSION"},
		{name: "unknown codec", env: map[string]string{"FERRY_COMPRESSION": "lz4"}, wantErr: "unknown codec"},
		{name: "bad engine", env: map[string]string{"FERRY_TARGET_ENGINE": "oracle"}, wantErr: "FERRY_TARGET_ENGINE"},
		{name: "source and admin engines", env: map[string]string{"FERRY_SOURCE_ENGINE": "PostgreSQL", "FERRY_ADMIN_ENGINE": "postgres"},
			check: func(t *testing.T, e Env) {
				if e.SourceEngine != ferry.EnginePostgres || e.AdminEngine != ferry.EnginePostgres || e.TargetEngine != "" {
					t.Fatalf("%+v", e)
				}
			}},
		{name: "bad source engine", env: map[string]string{"FERRY_SOURCE_ENGINE": "oracle"}, wantErr: "FERRY_SOURCE_ENGINE"},
		{name: "bad ttl", env: map[string]string{"FERRY_SECRET_TTL": "soon"}, wantErr: "FERRY_SECRET_TTL"},
		{name: "bad swap lock timeout", env: map[string]string{"FERRY_SWAP_LOCK_TIMEOUT": "-1s"}, wantErr: "FERRY_SWAP_LOCK_TIMEOUT"},
		{name: "store with prefix", env: map[string]string{"FERRY_STORE": "s3://bucket/prefix"}, wantErr: "without a key prefix"},
		{name: "store scheme", env: map[string]string{"FERRY_STORE": "gs://bucket"}, wantErr: "not file:///dir or s3://bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := EnvFrom(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				var ce *ferry.ConfigError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !asConfig(err, &ce) {
					t.Fatalf("err = %v, want a ConfigError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, e)
		})
	}
}

func TestParseStore(t *testing.T) {
	tests := []struct{ in, kind, where string }{
		{"file:///var/ferry", "file", "/var/ferry"},
		{"file://localhost/var/ferry", "file", "/var/ferry"},
		{"s3://ferry-chunks", "s3", "ferry-chunks"},
		{"s3://ferry-chunks/", "s3", "ferry-chunks"},
	}
	for _, tt := range tests {
		k, w, err := parseStore(tt.in)
		if err != nil || k != tt.kind || w != tt.where {
			t.Fatalf("parseStore(%s) = %s %s %v", tt.in, k, w, err)
		}
	}
}

func asConfig(err error, target **ferry.ConfigError) bool { return errors.As(err, target) }

// tricky is a password with every character that breaks naive DSN building.
const tricky = `p@ss:w/o?rd#1'"%20&=;\ é`

func TestDSNsEscapePassword(t *testing.T) {
	c := ferry.Credentials{Engine: "mysql", Host: "db.internal", Port: 3306, Username: "ferry", Password: tricky, DBName: "prod"}
	cfg, err := mysql.ParseDSN(mysqladapter.Engine{}.CredentialsDSN(c, "preferred"))
	if err != nil {
		t.Fatalf("MySQLDSN does not parse back: %v", err)
	}
	if cfg.Passwd != tricky || cfg.User != "ferry" || cfg.Addr != "db.internal:3306" || cfg.DBName != "prod" || cfg.TLSConfig != "preferred" {
		t.Fatalf("MySQL round trip: %+v", cfg)
	}
	c.Engine, c.Port = "postgres", 5432
	u, err := url.Parse(postgres.Engine{}.CredentialsDSN(c, "require"))
	if err != nil {
		t.Fatalf("PostgresURL does not parse back: %v", err)
	}
	pw, _ := u.User.Password()
	if pw != tricky || u.User.Username() != "ferry" || u.Host != "db.internal:5432" || u.Path != "/prod" || u.Query().Get("sslmode") != "require" {
		t.Fatalf("Postgres round trip: %s", u.Redacted())
	}
	pc, err := pgconn.ParseConfig(postgres.Engine{}.CredentialsDSN(c, ""))
	if err != nil {
		t.Fatalf("pgconn.ParseConfig: %v", err)
	}
	if pc.Password != tricky || pc.Database != "prod" {
		t.Fatalf("pgconn config: user %q db %q", pc.User, pc.Database)
	}
}

func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"mysql 1045", fmt.Errorf("open: %w", &mysql.MySQLError{Number: 1045, Message: "Access denied"}), true},
		{"mysql 1044", &mysql.MySQLError{Number: 1044, Message: "Access denied to database"}, false},
		{"pg 28P01", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "28P01"}), true},
		{"pg 28000", &pgconn.PgError{Code: "28000"}, true},
		{"pg 3D000", &pgconn.PgError{Code: "3D000"}, false},
		{"other", errors.New("connection refused"), false},
		{"flattened mysql", errors.New("mysql: connect to u@tcp(h)/d: Error 1045 (28000): Access denied for user 'u'@'h' (using password: YES)"), true},
		{"flattened pg", errors.New(`postgres: connect: FATAL: password authentication failed for user "u" (SQLSTATE 28P01)`), true},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := testEngines.LoginRefused(tt.err); got != tt.want {
			t.Errorf("%s: LoginRefused = %v, want %v", tt.name, got, tt.want)
		}
	}
}
