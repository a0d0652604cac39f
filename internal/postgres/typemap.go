package postgres

import (
	"fmt"
	"strconv"
	"strings"
)

// MapType returns the PostgreSQL column type for a MySQL column type as
// SHOW COLUMNS prints it (ferry.Column.Type). It is used only when a
// staging table has no live table to copy (CREATE TABLE ... LIKE live is
// used otherwise). An unknown type returns an error; the caller reports it
// as a ConfigError whose fix is to create the live table by hand.
//
// The map (also in docs/types.md, section "MySQL → PostgreSQL"):
//
//	MySQL                               PostgreSQL                    why / CSV form
//	tinyint(1), bool, boolean           smallint                      0, 1 and 2 must all survive: not boolean
//	tinyint [unsigned], smallint        smallint
//	smallint unsigned, mediumint [u.]   integer
//	int, integer                        integer
//	int unsigned                        bigint
//	bigint                              bigint
//	bigint unsigned                     numeric(20,0)                 up to 18446744073709551615
//	decimal(p,s), numeric(p,s)          numeric(p,s)                  exact, written as text
//	decimal(p) / decimal                numeric(p,0) / numeric(10,0)
//	float                               real                          shortest round-trip text
//	double, real                        double precision              shortest round-trip text
//	bit(n)                              bit(n)                        the CSV carries n binary digits
//	char(n), varchar(n)                 varchar(n)                    n characters in both; n = 0 → text
//	tinytext, text, mediumtext, longtext text
//	binary, varbinary, *blob            bytea                         the CSV carries \x + hex, read natively
//	date                                date
//	datetime(n)                         timestamp(n) without time zone
//	timestamp(n)                        timestamp(n) without time zone holds UTC: Ferry reads MySQL in a UTC session
//	time(n)                             interval                      MySQL TIME spans -838:59:59..838:59:59
//	year                                smallint
//	enum(...), set(...)                 text                          the value's text
//	json                                jsonb
//	geometry, point, linestring, polygon,
//	multi*, geometrycollection          bytea                         MySQL's internal WKB bytes
//	uuid (MariaDB)                      uuid
//	inet4, inet6 (MariaDB)              inet
//
// Attributes such as zerofill are ignored; unsigned is honoured as above.
func MapType(mysqlType string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(mysqlType))
	if t == "" {
		return "", fmt.Errorf("empty column type")
	}
	unsigned := false
	fields := strings.Fields(t)
	kept := fields[:0]
	for _, f := range fields {
		switch f {
		case "unsigned":
			unsigned = true
		case "signed", "zerofill":
		default:
			kept = append(kept, f)
		}
	}
	t = strings.Join(kept, " ")
	t = strings.TrimPrefix(t, "national ")
	base, args := t, ""
	if i := strings.IndexByte(t, '('); i >= 0 {
		base = strings.TrimSpace(t[:i])
		j := strings.LastIndexByte(t, ')')
		if j < i {
			return "", fmt.Errorf("unsupported MySQL type %q: unbalanced parentheses", mysqlType)
		}
		args = t[i+1 : j]
	} else if i := strings.IndexByte(t, ' '); i >= 0 && base != "double precision" && base != "character varying" {
		// Trailing attributes such as "character set utf8mb4".
		base = t[:i]
	}
	nums := func() ([]int, error) {
		if args == "" {
			return nil, nil
		}
		var out []int
		for _, a := range strings.Split(args, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(a))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("unsupported MySQL type %q: bad length %q", mysqlType, a)
			}
			out = append(out, n)
		}
		return out, nil
	}
	switch base {
	case "bool", "boolean":
		return "smallint", nil
	case "tinyint":
		return "smallint", nil
	case "smallint":
		if unsigned {
			return "integer", nil
		}
		return "smallint", nil
	case "mediumint":
		return "integer", nil
	case "int", "integer":
		if unsigned {
			return "bigint", nil
		}
		return "integer", nil
	case "bigint":
		if unsigned {
			return "numeric(20,0)", nil
		}
		return "bigint", nil
	case "decimal", "numeric", "dec", "fixed":
		n, err := nums()
		if err != nil {
			return "", err
		}
		switch len(n) {
		case 0:
			return "numeric(10,0)", nil
		case 1:
			if n[0] < 1 {
				return "", fmt.Errorf("unsupported MySQL type %q: precision must be at least 1", mysqlType)
			}
			return fmt.Sprintf("numeric(%d,0)", n[0]), nil
		case 2:
			if n[0] < 1 || n[1] > n[0] {
				return "", fmt.Errorf("unsupported MySQL type %q: bad precision/scale", mysqlType)
			}
			return fmt.Sprintf("numeric(%d,%d)", n[0], n[1]), nil
		}
		return "", fmt.Errorf("unsupported MySQL type %q", mysqlType)
	case "float":
		return "real", nil
	case "double", "double precision", "real":
		return "double precision", nil
	case "bit":
		n, err := nums()
		if err != nil {
			return "", err
		}
		if len(n) == 0 {
			return "bit(1)", nil
		}
		if len(n) != 1 || n[0] < 1 || n[0] > 64 {
			return "", fmt.Errorf("unsupported MySQL type %q: bit length must be 1..64", mysqlType)
		}
		return fmt.Sprintf("bit(%d)", n[0]), nil
	case "char", "varchar", "character", "character varying", "nchar", "nvarchar":
		n, err := nums()
		if err != nil {
			return "", err
		}
		if len(n) == 0 {
			if base == "char" || base == "character" || base == "nchar" {
				return "varchar(1)", nil
			}
			return "text", nil
		}
		if len(n) != 1 {
			return "", fmt.Errorf("unsupported MySQL type %q", mysqlType)
		}
		if n[0] == 0 {
			return "text", nil
		}
		return fmt.Sprintf("varchar(%d)", n[0]), nil
	case "tinytext", "text", "mediumtext", "longtext", "long":
		return "text", nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return "bytea", nil
	case "date":
		return "date", nil
	case "datetime", "timestamp":
		n, err := nums()
		if err != nil {
			return "", err
		}
		p := 0
		if len(n) == 1 {
			p = n[0]
		} else if len(n) > 1 {
			return "", fmt.Errorf("unsupported MySQL type %q", mysqlType)
		}
		if p > 6 {
			return "", fmt.Errorf("unsupported MySQL type %q: fractional seconds precision above 6", mysqlType)
		}
		return fmt.Sprintf("timestamp(%d) without time zone", p), nil
	case "time":
		return "interval", nil
	case "year":
		return "smallint", nil
	case "enum", "set":
		return "text", nil
	case "json":
		return "jsonb", nil
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection":
		return "bytea", nil
	case "uuid":
		return "uuid", nil
	case "inet4", "inet6":
		return "inet", nil
	}
	return "", fmt.Errorf("unsupported MySQL type %q", mysqlType)
}

// isTemporal reports whether a MySQL type can carry a zero date, which the
// ZeroDateNull policy turns into NULL: staging DDL never makes such a
// column NOT NULL.
func isTemporal(mysqlType string) bool {
	t := strings.ToLower(strings.TrimSpace(mysqlType))
	return strings.HasPrefix(t, "date") || strings.HasPrefix(t, "timestamp")
}
