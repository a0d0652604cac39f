package ferry

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Engine names a database engine.
type Engine string

const (
	// EngineMySQL is MySQL, MariaDB or Aurora MySQL.
	EngineMySQL Engine = "mysql"
	// EnginePostgres is PostgreSQL or Aurora PostgreSQL.
	EnginePostgres Engine = "postgres"
)

// ParseEngine reads an engine name as configuration and RDS secrets spell
// it: mysql, mariadb, aurora-mysql, aurora; postgres, postgresql,
// aurora-postgresql (any case).
func ParseEngine(s string) (Engine, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mysql", "mariadb", "aurora-mysql", "aurora":
		return EngineMySQL, nil
	case "postgres", "postgresql", "aurora-postgresql":
		return EnginePostgres, nil
	case "":
		return "", fmt.Errorf("has no engine (want mysql or postgres)")
	}
	return "", fmt.Errorf("engine %q is not supported (want mysql or postgres)", strings.ToLower(s))
}

// Title is the engine's name in a sentence ("MySQL", "PostgreSQL").
func (e Engine) Title() string {
	switch e {
	case EngineMySQL:
		return "MySQL"
	case EnginePostgres:
		return "PostgreSQL"
	}
	return string(e)
}

// DefaultPort is the engine's usual TCP port (0 when unknown).
func (e Engine) DefaultPort() int {
	switch e {
	case EngineMySQL:
		return 3306
	case EnginePostgres:
		return 5432
	}
	return 0
}

// Credentials are a database's address and login, as an RDS secret holds
// them. Its String, GoString, LogValue and JSON encoding never show the
// password. Each engine's adapter turns them into its driver's connection
// string.
type Credentials struct {
	Engine   Engine `json:"engine"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"-"`
	DBName   string `json:"dbname"`
}

// String describes the credentials without the password (SafeDSN).
func (c Credentials) String() string {
	port := ""
	if c.Port != 0 {
		port = strconv.Itoa(c.Port)
	}
	return SafeDSN(string(c.Engine), c.Username, c.Host, port, c.DBName)
}

// SafeDSN is the one form in which a database address is shown anywhere
// (messages, errors, logs, ferry check): scheme://user@host:port/database,
// rebuilt from those parts only. Nothing else of a connection string (a
// password, query parameters such as ?password=... or sslkey=..., driver
// options) can appear in it. Empty parts are left out.
func SafeDSN(scheme, user, host, port, database string) string {
	u := url.URL{Scheme: scheme, Host: host, Path: "/" + database}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	}
	if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

// GoString keeps %#v redacted too.
func (c Credentials) GoString() string { return "ferry.Credentials(" + c.String() + ")" }

// LogValue makes slog print the redacted form.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// TLSVerifyFull prefixes the TLS setting an Engine's CredentialsDSN gets
// when server certificates must be verified against a CA bundle:
// "verify-full:" and the path of a PEM file. The engine must require TLS,
// verify the server's certificate against that file's certificates and
// check that it names the host (MySQL tls=custom, PostgreSQL
// sslmode=verify-full with sslrootcert).
const TLSVerifyFull = "verify-full:"
