package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/go-sql-driver/mysql"
)

// Engine is the MySQL adapter as internal/wire opens it: a Lambda main or
// the CLI passes Engine{} to be able to open MySQL databases (as the
// source, the target or the admin database). Everything the wiring needs
// to know about MySQL is here: its URL schemes, how a URL or a secret's
// credentials become a go-sql-driver DSN, and which error is a refused
// login.
type Engine struct{}

// Name is ferry.EngineMySQL.
func (Engine) Name() ferry.Engine { return ferry.EngineMySQL }

// Schemes are mysql:// and mariadb://.
func (Engine) Schemes() []string { return []string{"mysql", "mariadb"} }

// FromURL turns a mysql:// (or mariadb://) URL, which internal/wire has
// parsed and checked for a host, into a go-sql-driver DSN and its
// redacted form:
//
//	mysql://user:pass@host:3306/db?tls=preferred
//
// Percent-escapes in the user and password are decoded, and the DSN is
// rebuilt with the driver's Config so that any password survives. Query
// parameters are the driver's (tls, timeout, ...) or session variables, as
// in a go-sql-driver DSN. The port defaults to 3306. Errors never contain
// the URL or the password.
func (Engine) FromURL(u *url.URL) (driver, safe string, err error) {
	cfg, err := configFromURL(u)
	if err != nil {
		return "", "", err
	}
	return cfg.FormatDSN(), safeMySQL(cfg), nil
}

// FromNative accepts a go-sql-driver DSN (user:pass@tcp(host:3306)/db) as
// it is.
func (Engine) FromNative(raw string) (driver, safe string, err error) {
	cfg, err := mysql.ParseDSN(strings.TrimSpace(raw))
	if err != nil {
		return "", "", errors.New("mysql: database address is neither a URL (mysql://) nor a go-sql-driver DSN")
	}
	return cfg.FormatDSN(), safeMySQL(cfg), nil
}

func configFromURL(u *url.URL) (*mysql.Config, error) {
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if strings.Contains(cfg.DBName, "/") {
		return nil, fmt.Errorf("mysql: mysql:// URL path %q is not one database name", cfg.DBName)
	}
	if u.RawQuery == "" {
		return cfg, nil
	}
	// Let the driver interpret its own parameters (tls, timeout, ...)
	// exactly as in a DSN; the rest become session variables.
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("mysql: mysql:// URL has a malformed query string")
	}
	base := cfg.FormatDSN()
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	parsed, err := mysql.ParseDSN(base + sep + q.Encode())
	if err != nil {
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, fmt.Errorf("mysql: mysql:// URL parameters are not valid go-sql-driver parameters (%s)", strings.Join(keys, ", "))
	}
	return parsed, nil
}

// safeMySQL is the address for logs and errors (ferry.SafeDSN): user,
// host, port and database only.
func safeMySQL(cfg *mysql.Config) string {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host, port = cfg.Addr, ""
	}
	return ferry.SafeDSN("mysql", cfg.User, host, port, cfg.DBName)
}

// CredentialsDSN returns the go-sql-driver DSN for c, built with the
// driver's Config so that any character in the password is escaped. tls is
// the driver's tls parameter ("" for none, "preferred", "true",
// "skip-verify"), or ferry.TLSVerifyFull and a PEM file: TLS required, the
// server's certificate verified against the file and matched to the host
// (tls=custom). Open adds Ferry's session settings.
func (Engine) CredentialsDSN(c ferry.Credentials, tls string) string {
	cfg := mysql.NewConfig()
	cfg.User = c.Username
	cfg.Passwd = c.Password
	cfg.Net = "tcp"
	port := c.Port
	if port == 0 {
		port = ferry.EngineMySQL.DefaultPort()
	}
	cfg.Addr = net.JoinHostPort(c.Host, strconv.Itoa(port))
	cfg.DBName = c.DBName
	cfg.TLSConfig = tls
	if file, ok := strings.CutPrefix(tls, ferry.TLSVerifyFull); ok {
		cfg.TLSConfig = registerCA(file)
	}
	return cfg.FormatDSN()
}

// LoginRefused reports a refused login (1045, access denied for the user),
// also when err was flattened into a message (ferry.LambdaError keeps the
// driver's "Error 1045 (28000)").
func (Engine) LoginRefused(err error) bool {
	if err == nil {
		return false
	}
	if n := mysqlErrNo(err); n != 0 {
		return n == erAccessDeniedUser
	}
	return strings.Contains(err.Error(), "Error 1045 (28000)")
}

// OpenSource opens the source database at dsn (a go-sql-driver DSN) and
// returns the Source with the func that closes its pool. Its sessions run
// under SourceSQLMode and read their socket through a SourceReadBuffer.
func (Engine) OpenSource(ctx context.Context, dsn string, log *slog.Logger) (ferry.Source, func(), error) {
	db, err := Open(ctx, dsn, withSourceMode, withReadBuffer)
	if err != nil {
		return nil, nil, err
	}
	meta, err := OpenMetadata(ctx, dsn)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return NewSource(db, WithLogger(orDefault(log)), WithMetadataPool(meta)), func() { db.Close(); meta.Close() }, nil
}

// OpenTarget opens a reporting database at dsn. The target needs no
// database in its DSN (each company's schema is a database of its own, and
// every statement names it): a DSN naming a database the server does not
// have (mysql://host:3306/reports) connects without one.
func (Engine) OpenTarget(ctx context.Context, dsn string, log *slog.Logger) (ferry.Target, func(), error) {
	db, err := Open(ctx, dsn)
	if mysqlErrNo(err) == erBadDB {
		db, err = Open(ctx, dsn, func(c *mysql.Config) { c.DBName = "" })
	}
	if err != nil {
		return nil, nil, err
	}
	return NewTarget(db, WithLogger(orDefault(log))), func() { db.Close() }, nil
}

// OpenAdmin opens the admin database at dsn (not migrated).
func (Engine) OpenAdmin(ctx context.Context, dsn string, _ *slog.Logger) (*admin.DB, error) {
	db, err := Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return NewAdmin(db), nil
}

func orDefault(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.Default()
	}
	return log
}
