// Package awswire builds the steps' dependencies (admin database, Source,
// Target, Store) from the environment, for the Lambda functions and for
// local runs.
//
// On AWS (template.yaml) every database is a Secrets Manager secret in the
// RDS JSON format and the store is the chunk bucket:
//
//	FERRY_ADMIN_SECRET_ARN, FERRY_SOURCE_SECRET_ARN, FERRY_TARGET_SECRET_ARN
//	FERRY_TARGET_ENGINE   mysql | postgres (else the target secret's engine)
//	FERRY_BUCKET          the chunk bucket
//
// Locally, and for `sam local invoke`, databases are URLs and the store is a
// directory or any S3-compatible server:
//
//	FERRY_ADMIN_DSN, FERRY_SOURCE_DSN, FERRY_TARGET_DSN
//	                      mysql://user:pass@host:3306/db, postgres://user:pass@host:5432/db
//	FERRY_STORE           file:///var/ferry or s3://bucket (else FERRY_BUCKET)
//	FERRY_S3_ENDPOINT     e.g. http://127.0.0.1:9000 (path-style addressing)
//
// A DSN wins over a secret ARN for the same database. Optional:
//
//	FERRY_SECRETS_ENDPOINT  Secrets Manager endpoint override (tests, LocalStack)
//	FERRY_SECRET_TTL        how long a secret is cached (Go duration, default 5m)
//	FERRY_MYSQL_TLS         go-sql-driver tls for secret-based MySQL (default "preferred")
//	FERRY_PG_SSLMODE        sslmode for secret-based PostgreSQL (default "prefer")
//	FERRY_ADMIN_MIGRATE     "false" to skip migrating the admin schema on first use
//	FERRY_EVENT_BUS         EventBridge bus for "Ferry Tables Swapped" (empty: no event)
//	FERRY_EVENTS_ENDPOINT   EventBridge endpoint override (tests)
//	FERRY_METRICS           "emf" to write CloudWatch EMF metrics to stdout, "off" not to
//	                        (default: emf inside Lambda, off elsewhere)
//
// Connections are opened on first use in a container and reused by every
// later invocation; a failed open is not cached, so the next invocation
// tries again.
package awswire

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/secrets"
)

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

	Bucket     string
	Store      string
	S3Endpoint string

	SecretsEndpoint string
	SecretTTL       time.Duration
	MySQLTLS        string
	PostgresSSLMode string
	MigrateAdmin    bool

	EventBus       string
	EventsEndpoint string
	Metrics        bool
}

// FromEnv reads Env from the process environment.
func FromEnv() (Env, error) { return EnvFrom(os.Getenv) }

// EnvFrom reads Env through getenv. It checks the values' form; whether a
// database is configured at all is checked when a step first needs it.
func EnvFrom(getenv func(string) string) (Env, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	e := Env{
		AdminSecretARN:  get("FERRY_ADMIN_SECRET_ARN"),
		SourceSecretARN: get("FERRY_SOURCE_SECRET_ARN"),
		TargetSecretARN: get("FERRY_TARGET_SECRET_ARN"),
		AdminDSN:        get("FERRY_ADMIN_DSN"),
		SourceDSN:       get("FERRY_SOURCE_DSN"),
		TargetDSN:       get("FERRY_TARGET_DSN"),
		Bucket:          get("FERRY_BUCKET"),
		Store:           get("FERRY_STORE"),
		S3Endpoint:      get("FERRY_S3_ENDPOINT"),
		SecretsEndpoint: get("FERRY_SECRETS_ENDPOINT"),
		SecretTTL:       secrets.DefaultTTL,
		MySQLTLS:        "preferred",
		PostgresSSLMode: "prefer",
		MigrateAdmin:    !strings.EqualFold(get("FERRY_ADMIN_MIGRATE"), "false"),
		EventBus:        get("FERRY_EVENT_BUS"),
		EventsEndpoint:  get("FERRY_EVENTS_ENDPOINT"),
	}
	switch m := strings.ToLower(get("FERRY_METRICS")); m {
	case "emf":
		e.Metrics = true
	case "off":
	case "":
		e.Metrics = get("AWS_LAMBDA_FUNCTION_NAME") != ""
	default:
		return Env{}, &ferry.ConfigError{Msg: fmt.Sprintf("FERRY_METRICS %q is not emf or off", m), Fix: "set FERRY_METRICS to emf or off"}
	}
	switch eng := strings.ToLower(get("FERRY_TARGET_ENGINE")); eng {
	case "":
	case "mysql", "mariadb", "aurora-mysql":
		e.TargetEngine = ferry.EngineMySQL
	case "postgres", "postgresql", "aurora-postgresql":
		e.TargetEngine = ferry.EnginePostgres
	default:
		return Env{}, &ferry.ConfigError{Msg: fmt.Sprintf("FERRY_TARGET_ENGINE %q is not an engine", eng), Fix: "set FERRY_TARGET_ENGINE to mysql or postgres"}
	}
	if v := get("FERRY_SECRET_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Env{}, &ferry.ConfigError{Msg: fmt.Sprintf("FERRY_SECRET_TTL %q is not a positive duration", v), Fix: "use a Go duration such as 5m"}
		}
		e.SecretTTL = d
	}
	if v, ok := lookup(getenv, "FERRY_MYSQL_TLS"); ok {
		e.MySQLTLS = v
	}
	if v, ok := lookup(getenv, "FERRY_PG_SSLMODE"); ok {
		e.PostgresSSLMode = v
	}
	if e.Store != "" {
		if _, _, err := parseStore(e.Store); err != nil {
			return Env{}, err
		}
	}
	return e, nil
}

func lookup(getenv func(string) string, k string) (string, bool) {
	v := strings.TrimSpace(getenv(k))
	return v, v != ""
}

// parseStore splits FERRY_STORE into its kind ("file" or "s3") and the
// directory or bucket.
func parseStore(s string) (kind, where string, err error) {
	u, perr := url.Parse(s)
	bad := &ferry.ConfigError{Msg: fmt.Sprintf("FERRY_STORE %q is not file:///dir or s3://bucket", s), Fix: "set FERRY_STORE to file:///path/to/dir or s3://bucket"}
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
			return "", "", &ferry.ConfigError{Msg: fmt.Sprintf("FERRY_STORE %q: want s3://bucket, without a key prefix", s), Fix: "use a bucket of its own for Ferry"}
		}
		return "s3", u.Host, nil
	}
	return "", "", bad
}
