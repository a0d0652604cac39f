package postgres

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5/pgconn"
)

// Engine is the PostgreSQL adapter as internal/wire opens it: a Lambda
// main or the CLI passes Engine{} to be able to open PostgreSQL targets.
// Everything the wiring needs to know about PostgreSQL is here: its URL
// schemes, how a URL or a secret's credentials become a pgx connection
// URL, and which error is a refused login.
type Engine struct{}

// Name is ferry.EnginePostgres.
func (Engine) Name() ferry.Engine { return ferry.EnginePostgres }

// Schemes are postgres:// and postgresql://.
func (Engine) Schemes() []string { return []string{"postgres", "postgresql"} }

// FromURL returns a postgres:// (or postgresql://) URL, which
// internal/wire has parsed and checked for a host, for pgx with the port
// defaulted to 5432, and its redacted form (Redact: nothing of the query
// string).
func (Engine) FromURL(u *url.URL) (driver, safe string, err error) {
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "5432")
	}
	u.Scheme = "postgres"
	return u.String(), Redact(u.String()), nil
}

// CredentialsDSN returns the pgx connection URL for c; the password is
// escaped by url.UserPassword. sslmode "" leaves pgx's default (prefer);
// ferry.TLSVerifyFull and a PEM file is sslmode=verify-full with that file
// as sslrootcert (the server's certificate verified and matched to the
// host).
func (Engine) CredentialsDSN(c ferry.Credentials, sslmode string) string {
	port := c.Port
	if port == 0 {
		port = ferry.EnginePostgres.DefaultPort()
	}
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(c.Username, c.Password),
		Host:   net.JoinHostPort(c.Host, strconv.Itoa(port)),
		Path:   "/" + c.DBName,
	}
	if file, ok := strings.CutPrefix(sslmode, ferry.TLSVerifyFull); ok {
		u.RawQuery = url.Values{"sslmode": {"verify-full"}, "sslrootcert": {file}}.Encode()
	} else if sslmode != "" {
		u.RawQuery = url.Values{"sslmode": {sslmode}}.Encode()
	}
	return u.String()
}

// LoginRefused reports a refused login (SQLSTATE 28P01 invalid password,
// 28000 invalid authorization), also when err was flattened into a message
// (pgx writes "(SQLSTATE 28P01)").
func (Engine) LoginRefused(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "28P01" || pe.Code == "28000"
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 28P01") || strings.Contains(msg, "SQLSTATE 28000")
}

// OpenTarget opens a reporting database at dsn (a postgres:// URL).
func (Engine) OpenTarget(ctx context.Context, dsn string, log *slog.Logger) (ferry.Target, func(), error) {
	t, err := Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	t.Logger = log
	return t, t.Close, nil
}
