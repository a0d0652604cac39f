// Package wire is the one place where Ferry opens what it talks to: the
// admin, source and target databases (from URLs, or from Secrets Manager
// secrets with a TTL cache and a re-read after a refused login), the
// object store and the notifier. The Lambda functions (Handler) and the
// CLI (New, and the Engines' Open* for one database) both use it.
//
// Only the engines a binary is given are linked into it: each Lambda main
// passes the adapters its step uses (mysql.Engine{}, postgres.Engine{})
// and, for swap-tables, Notifier(events.Open). This package imports no
// engine adapter and no EventBridge client.
//
// On AWS (template.yaml) every database is a secret, in the RDS JSON format
// or as RDS manages it (username and password; EnvTargetHost and the like
// give the address), verified over TLS against EnvDBCABundle, and the
// store is the chunk bucket; locally, and for `sam local invoke`,
// databases are URLs and the store is a directory or any S3-compatible
// server. The environment variables are listed once, below (Env*
// constants); a DSN wins over a secret ARN for the same database.
//
// Connections are opened on first use in a container and reused by every
// later invocation; a failed open is not cached, so the next invocation
// tries again.
package wire

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/secrets"
)

// The environment variables Ferry reads. Each name is spelled here and
// nowhere else; the CLI's flags fall back to the same variables.
const (
	// Databases on AWS: Secrets Manager secrets (RDS JSON).
	EnvAdminSecretARN  = "FERRY_ADMIN_SECRET_ARN"
	EnvSourceSecretARN = "FERRY_SOURCE_SECRET_ARN"
	EnvTargetSecretARN = "FERRY_TARGET_SECRET_ARN"
	// Databases locally: mysql://user:pass@host:3306/db,
	// postgres://user:pass@host:5432/db.
	EnvAdminDSN  = "FERRY_ADMIN_DSN"
	EnvSourceDSN = "FERRY_SOURCE_DSN"
	EnvTargetDSN = "FERRY_TARGET_DSN"
	// EnvTargetEngine is mysql | postgres (else the target's own engine).
	EnvTargetEngine = "FERRY_TARGET_ENGINE"
	// EnvSourceEngine and EnvAdminEngine are mysql | postgres: the engine
	// of a source or admin secret that names none (a secret RDS manages
	// holds only username and password), and a check on one that does.
	// Empty: the secret's engine, else MySQL.
	EnvSourceEngine = "FERRY_SOURCE_ENGINE"
	EnvAdminEngine  = "FERRY_ADMIN_ENGINE"
	// The store: the chunk bucket (AWS), or file:///dir or s3://bucket,
	// and an S3-compatible endpoint (path-style addressing).
	EnvBucket     = "FERRY_BUCKET"
	EnvStore      = "FERRY_STORE"
	EnvS3Endpoint = "FERRY_S3_ENDPOINT"
	// EnvExtractBucket is the bucket extract jobs write to (on AWS the
	// template's ExtractBucket); empty: the store above.
	EnvExtractBucket = "FERRY_EXTRACT_BUCKET"
	// Optional tuning.
	EnvSecretsEndpoint = "FERRY_SECRETS_ENDPOINT" // Secrets Manager endpoint override (tests, LocalStack)
	EnvSecretTTL       = "FERRY_SECRET_TTL"       // how long a secret is cached (Go duration, default 5m)
	// EnvSwapLockTimeout: how long one swap attempt waits for a table lock
	// (Go duration; default 5s). Spelled in the root package, whose
	// LockWaitError names it.
	EnvSwapLockTimeout = ferry.EnvSwapLockTimeout
	EnvMySQLTLS        = "FERRY_MYSQL_TLS"       // go-sql-driver tls for secret-based MySQL (default "preferred")
	EnvPGSSLMode       = "FERRY_PG_SSLMODE"      // sslmode for secret-based PostgreSQL (default "prefer")
	EnvAdminMigrate    = "FERRY_ADMIN_MIGRATE"   // "false" to skip migrating the admin schema on first use
	EnvEventBus        = "FERRY_EVENT_BUS"       // EventBridge bus for "Ferry Tables Swapped" (empty: none)
	EnvEventsEndpoint  = "FERRY_EVENTS_ENDPOINT" // EventBridge endpoint override (tests)
	EnvMetrics         = "FERRY_METRICS"         // emf | off (default: emf inside Lambda, off elsewhere)
	// Addresses that complete or override a secret's (a secret RDS
	// manages holds only username and password): host, port, database.
	EnvAdminHost      = "FERRY_ADMIN_HOST"
	EnvAdminPort      = "FERRY_ADMIN_PORT"
	EnvAdminDatabase  = "FERRY_ADMIN_DATABASE"
	EnvSourceHost     = "FERRY_SOURCE_HOST"
	EnvSourcePort     = "FERRY_SOURCE_PORT"
	EnvSourceDatabase = "FERRY_SOURCE_DATABASE"
	EnvTargetHost     = "FERRY_TARGET_HOST"
	EnvTargetPort     = "FERRY_TARGET_PORT"
	EnvTargetDatabase = "FERRY_TARGET_DATABASE"
	// EnvDBCABundle is s3://bucket/key of the PEM bundle that secret-based
	// databases' server certificates are verified against (MySQL
	// tls=custom, PostgreSQL sslmode=verify-full; the host name must
	// match): the RDS global bundle. It wins over EnvMySQLTLS/EnvPGSSLMode.
	EnvDBCABundle = "FERRY_DB_CA_BUNDLE"
	// The connection budget: a run holds at most this many source and
	// target connections (list-tables lowers the concurrency to fit).
	EnvSourceConnections = "FERRY_SOURCE_CONNECTIONS"
	EnvTargetConnections = "FERRY_TARGET_CONNECTIONS"
	// EnvCompression is the chunk objects' codec: none, gzip[:1-9] or
	// zstd[:1-4] (default: none on a local directory, gzip:1 on S3; see
	// docs/performance.md). The loader reads every codec.
	EnvCompression = "FERRY_COMPRESSION"
	// Read, not set: whether this is a Lambda, and whether AWS
	// credentials are in the environment.
	EnvLambdaFunction = "AWS_LAMBDA_FUNCTION_NAME"
	EnvAWSAccessKey   = "AWS_ACCESS_KEY_ID"
)

// Role is one of the three databases.
type Role string

// The three databases.
const (
	Admin  Role = "admin"
	Source Role = "source"
	Target Role = "target"
)

// DSNVar is the variable holding the role's URL; SecretVar its secret ARN.
func (r Role) DSNVar() string {
	return map[Role]string{Admin: EnvAdminDSN, Source: EnvSourceDSN, Target: EnvTargetDSN}[r]
}

// SecretVar is the variable holding the role's secret ARN.
func (r Role) SecretVar() string {
	return map[Role]string{Admin: EnvAdminSecretARN, Source: EnvSourceSecretARN, Target: EnvTargetSecretARN}[r]
}

// Env is the configuration read from the environment.
type Env struct {
	AdminSecretARN  string
	SourceSecretARN string
	TargetSecretARN string

	AdminDSN  string
	SourceDSN string
	TargetDSN string

	// TargetEngine is empty when it is to be taken from the target's DSN
	// or secret.
	TargetEngine ferry.Engine
	// SourceEngine and AdminEngine are EnvSourceEngine and EnvAdminEngine
	// (empty: the DSN's or the secret's engine, else MySQL).
	SourceEngine ferry.Engine
	AdminEngine  ferry.Engine

	Bucket        string
	Store         string
	S3Endpoint    string
	ExtractBucket string

	SecretsEndpoint string
	SecretTTL       time.Duration
	// SwapLockTimeout is EnvSwapLockTimeout (zero: the target's default).
	SwapLockTimeout time.Duration
	MySQLTLS        string
	PostgresSSLMode string
	MigrateAdmin    bool

	EventBus       string
	EventsEndpoint string
	Metrics        bool
	// Budget is the connection budget (zero: none).
	Budget ferry.Budget
	// Addr completes or overrides each role's secret (EnvAdminHost, ...).
	Addr map[Role]secrets.Address
	// CABundle is EnvDBCABundle's s3://bucket/key ("" for none).
	CABundle string
	// AWSCredentials is true when AWS_ACCESS_KEY_ID is set.
	AWSCredentials bool
	// Compression is EnvCompression (zero: the store's default).
	Compression ferry.Compression
}

// FromEnv reads Env from the process environment.
func FromEnv() (Env, error) { return EnvFrom(os.Getenv) }

// EnvFrom reads Env through getenv. It checks the values' form; whether a
// database is configured at all is checked when a step first needs it.
func EnvFrom(getenv func(string) string) (Env, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	e := Env{
		AdminSecretARN: get(EnvAdminSecretARN), SourceSecretARN: get(EnvSourceSecretARN), TargetSecretARN: get(EnvTargetSecretARN),
		AdminDSN: get(EnvAdminDSN), SourceDSN: get(EnvSourceDSN), TargetDSN: get(EnvTargetDSN),
		Bucket: get(EnvBucket), Store: get(EnvStore), S3Endpoint: get(EnvS3Endpoint), ExtractBucket: get(EnvExtractBucket),
		SecretsEndpoint: get(EnvSecretsEndpoint), SecretTTL: secrets.DefaultTTL,
		MySQLTLS: orDefault(get(EnvMySQLTLS), "preferred"), PostgresSSLMode: orDefault(get(EnvPGSSLMode), "prefer"),
		MigrateAdmin: !strings.EqualFold(get(EnvAdminMigrate), "false"),
		EventBus:     get(EnvEventBus), EventsEndpoint: get(EnvEventsEndpoint),
		AWSCredentials: get(EnvAWSAccessKey) != "",
	}
	switch m := strings.ToLower(get(EnvMetrics)); m {
	case "emf":
		e.Metrics = true
	case "off":
	case "":
		e.Metrics = get(EnvLambdaFunction) != ""
	default:
		return Env{}, &ferry.ConfigError{Msg: fmt.Sprintf("%s %q is not emf or off", EnvMetrics, m), Fix: "set " + EnvMetrics + " to emf or off"}
	}
	for _, v := range []struct {
		k   string
		dst *ferry.Engine
	}{{EnvTargetEngine, &e.TargetEngine}, {EnvSourceEngine, &e.SourceEngine}, {EnvAdminEngine, &e.AdminEngine}} {
		if raw := get(v.k); raw != "" {
			eng, err := ferry.ParseEngine(raw)
			if err != nil {
				return Env{}, &ferry.ConfigError{Msg: fmt.Sprintf("%s %q is not an engine", v.k, strings.ToLower(raw)), Fix: "set " + v.k + " to mysql or postgres"}
			}
			*v.dst = eng
		}
	}
	for _, b := range []struct {
		k string
		n *int
	}{{EnvSourceConnections, &e.Budget.Source}, {EnvTargetConnections, &e.Budget.Target}} {
		if v := get(b.k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Env{}, &ferry.ConfigError{Msg: fmt.Sprintf("%s %q is not a number of connections", b.k, v), Fix: "set " + b.k + " to a positive number (0: no limit)"}
			}
			*b.n = n
		}
	}
	if v := get(EnvCompression); v != "" {
		c, err := ferry.ParseCompression(v)
		if err != nil {
			return Env{}, &ferry.ConfigError{Msg: EnvCompression + ": " + err.Error(), Fix: "set " + EnvCompression + " to none, gzip:1 or zstd:1, or unset it"}
		}
		e.Compression = c
	}
	addr, err := addresses(get)
	if err != nil {
		return Env{}, err
	}
	e.Addr = addr
	if e.CABundle = get(EnvDBCABundle); e.CABundle != "" {
		if _, _, err := splitS3(e.CABundle); err != nil {
			return Env{}, err
		}
	}
	if err := durations(get, &e); err != nil {
		return Env{}, err
	}
	if e.Store != "" {
		if _, _, err := parseStore(e.Store); err != nil {
			return Env{}, err
		}
	}
	return e, nil
}

// durations reads EnvSecretTTL and EnvSwapLockTimeout into e.
func durations(get func(string) string, e *Env) error {
	for _, v := range []struct {
		k, example string
		dst        *time.Duration
	}{{EnvSecretTTL, "5m", &e.SecretTTL}, {EnvSwapLockTimeout, "30s", &e.SwapLockTimeout}} {
		if raw := get(v.k); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d <= 0 {
				return &ferry.ConfigError{Msg: fmt.Sprintf("%s %q is not a positive duration", v.k, raw), Fix: "use a Go duration such as " + v.example}
			}
			*v.dst = d
		}
	}
	return nil
}

// addresses reads the Host/Port/Database variables of each role.
func addresses(get func(string) string) (map[Role]secrets.Address, error) {
	out := map[Role]secrets.Address{}
	for _, r := range []Role{Admin, Source, Target} {
		host, port, db := r.AddrVars()
		a := secrets.Address{Host: get(host), Database: get(db)}
		if v := get(port); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 65535 {
				return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s %q is not a TCP port", port, v), Fix: "set " + port + " to the database's port, or leave it empty (the secret's, else the engine's default)"}
			}
			a.Port = n
		}
		out[r] = a
	}
	return out, nil
}

// AddrVars are the role's host, port and database variables.
func (r Role) AddrVars() (host, port, database string) {
	switch r {
	case Admin:
		return EnvAdminHost, EnvAdminPort, EnvAdminDatabase
	case Source:
		return EnvSourceHost, EnvSourcePort, EnvSourceDatabase
	}
	return EnvTargetHost, EnvTargetPort, EnvTargetDatabase
}

// address is where role's database is beyond its secret: the Addr
// variables, and the engine a secret without one has (the target's
// EnvTargetEngine; the admin's and source's EnvAdminEngine and
// EnvSourceEngine, else MySQL).
func (e Env) address(r Role) secrets.Address {
	a := e.Addr[r]
	a.Engine = e.Engine(r)
	if a.Engine == "" && r != Target {
		a.Engine = ferry.EngineMySQL
	}
	return a
}

// Engine is the engine the environment says role's database has
// (EnvAdminEngine, EnvSourceEngine, EnvTargetEngine); empty when unset.
func (e Env) Engine(r Role) ferry.Engine {
	switch r {
	case Admin:
		return e.AdminEngine
	case Source:
		return e.SourceEngine
	}
	return e.TargetEngine
}

// EngineVar is the variable naming role's engine.
func (r Role) EngineVar() string {
	return map[Role]string{Admin: EnvAdminEngine, Source: EnvSourceEngine, Target: EnvTargetEngine}[r]
}

// splitS3 splits s3://bucket/key.
func splitS3(uri string) (bucket, key string, err error) {
	u, perr := url.Parse(uri)
	if perr != nil || u.Scheme != "s3" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return "", "", &ferry.ConfigError{Msg: fmt.Sprintf("%s %q is not s3://bucket/key", EnvDBCABundle, uri),
			Fix: "set the template's DatabaseCABundle to bucket/key of the PEM bundle (the RDS global bundle)"}
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// TLS is the TLS setting for a secret-based database of engine eng
// (EnvMySQLTLS or EnvPGSSLMode).
func (e Env) TLS(eng ferry.Engine) string {
	if eng == ferry.EnginePostgres {
		return e.PostgresSSLMode
	}
	return e.MySQLTLS
}

// dsnAndSecret are role's URL and secret ARN.
func (e Env) dsnAndSecret(r Role) (string, string) {
	switch r {
	case Admin:
		return e.AdminDSN, e.AdminSecretARN
	case Source:
		return e.SourceDSN, e.SourceSecretARN
	}
	return e.TargetDSN, e.TargetSecretARN
}

// parseStore splits EnvStore into its kind ("file" or "s3") and the
// directory or bucket.
func parseStore(s string) (kind, where string, err error) {
	u, perr := url.Parse(s)
	bad := &ferry.ConfigError{Msg: fmt.Sprintf("%s %q is not file:///dir or s3://bucket", EnvStore, s), Fix: "set " + EnvStore + " to file:///path/to/dir or s3://bucket"}
	if perr != nil {
		return "", "", bad
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" || u.Path == "" {
			return "", "", bad
		}
		return "file", u.Path, nil
	case "s3":
		if u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return "", "", &ferry.ConfigError{Msg: fmt.Sprintf("%s %q: want s3://bucket, without a key prefix", EnvStore, s), Fix: "use a bucket of its own for Ferry"}
		}
		return "s3", u.Host, nil
	}
	return "", "", bad
}
