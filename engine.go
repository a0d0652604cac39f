package ferry

import (
	"fmt"
	"log/slog"
	"net"
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

// String describes the credentials without the password.
func (c Credentials) String() string {
	return fmt.Sprintf("%s://%s@%s/%s", c.Engine, c.Username, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.DBName)
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
