package awswire

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/go-sql-driver/mysql"
)

// DSN is a database address resolved from a URL: the engine and the
// string its driver takes (a go-sql-driver DSN for MySQL, a postgres://
// URL for PostgreSQL). It prints redacted.
type DSN struct {
	Engine ferry.Engine
	// Driver is what mysql.Open / postgres.Open take. It contains the
	// password: never log it.
	Driver string
	// Safe is the address without the password, for logs and errors.
	Safe string
}

// String is the redacted form.
func (d DSN) String() string { return d.Safe }

// ParseURL turns a database URL into a DSN:
//
//	mysql://user:pass@host:3306/db?tls=preferred   (also mariadb://)
//	postgres://user:pass@host:5432/db?sslmode=require   (also postgresql://)
//	user:pass@tcp(host:3306)/db                    (a go-sql-driver DSN, as is)
//
// Percent-escapes in the user and password are decoded, and the MySQL DSN
// is rebuilt with the driver's Config so that any password survives. For
// mysql:// the query parameters are the driver's (tls, timeout, ...) or
// session variables, as in a go-sql-driver DSN. The port defaults to 3306
// or 5432. Errors never contain the URL or the password.
func ParseURL(raw string) (DSN, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DSN{}, errors.New("awswire: empty database URL (fix: set e.g. mysql://user:password@host:3306/db)")
	}
	scheme, _, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		cfg, err := mysql.ParseDSN(raw)
		if err != nil {
			return DSN{}, errors.New("awswire: database address is neither a URL (mysql://, postgres://) nor a go-sql-driver DSN")
		}
		return DSN{Engine: ferry.EngineMySQL, Driver: cfg.FormatDSN(), Safe: safeMySQL(cfg)}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included: do not wrap.
		return DSN{}, fmt.Errorf("awswire: malformed %s:// URL (fix: percent-encode special characters in the user and password, e.g. @ as %%40)", strings.ToLower(scheme))
	}
	if u.Host == "" {
		return DSN{}, fmt.Errorf("awswire: %s:// URL has no host", u.Scheme)
	}
	switch strings.ToLower(u.Scheme) {
	case "mysql", "mariadb":
		return mysqlFromURL(u)
	case "postgres", "postgresql":
		if u.Port() == "" {
			u.Host = net.JoinHostPort(u.Hostname(), "5432")
		}
		u.Scheme = "postgres"
		return DSN{Engine: ferry.EnginePostgres, Driver: u.String(), Safe: u.Redacted()}, nil
	default:
		return DSN{}, fmt.Errorf("awswire: database URL scheme %q is not supported (want mysql:// or postgres://)", u.Scheme)
	}
}

func mysqlFromURL(u *url.URL) (DSN, error) {
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
		return DSN{}, fmt.Errorf("awswire: mysql:// URL path %q is not one database name", cfg.DBName)
	}
	base := cfg.FormatDSN()
	if u.RawQuery != "" {
		// Let the driver interpret its own parameters (tls, timeout, ...)
		// exactly as in a DSN; the rest become session variables.
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return DSN{}, errors.New("awswire: mysql:// URL has a malformed query string")
		}
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		parsed, err := mysql.ParseDSN(base + sep + q.Encode())
		if err != nil {
			return DSN{}, fmt.Errorf("awswire: mysql:// URL parameters are not valid go-sql-driver parameters (%s)", strings.Join(keys(q), ", "))
		}
		cfg = parsed
	}
	return DSN{Engine: ferry.EngineMySQL, Driver: cfg.FormatDSN(), Safe: safeMySQL(cfg)}, nil
}

func keys(q url.Values) []string {
	var ks []string
	for k := range q {
		ks = append(ks, k)
	}
	return ks
}

func safeMySQL(cfg *mysql.Config) string {
	s := "mysql://"
	if cfg.User != "" {
		s += cfg.User
		if cfg.Passwd != "" {
			s += ":***"
		}
		s += "@"
	}
	return s + cfg.Addr + "/" + cfg.DBName
}
