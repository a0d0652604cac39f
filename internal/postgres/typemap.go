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
	base, args, unsigned, err := splitType(t, mysqlType)
	if err != nil {
		return "", err
	}
	if pg, ok := fixedTypes[base]; ok {
		return pg, nil
	}
	if f, ok := signedTypes[base]; ok {
		return f[unsigned], nil
	}
	sized, ok := sizedTypes[base]
	if !ok {
		return "", fmt.Errorf("unsupported MySQL type %q", mysqlType)
	}
	var n []int
	if args != "" {
		for _, a := range strings.Split(args, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(a))
			if err != nil || v < 0 {
				return "", fmt.Errorf("unsupported MySQL type %q: bad length %q", mysqlType, a)
			}
			n = append(n, v)
		}
	}
	pg, why := sized(base, n)
	if pg == "" {
		return "", fmt.Errorf("unsupported MySQL type %q%s", mysqlType, why)
	}
	return pg, nil
}

// splitType parses a lower-case type into its base name, the text between
// its parentheses and whether it is unsigned (signed and zerofill are
// dropped, "national" and trailing attributes such as "character set
// utf8mb4" ignored).
func splitType(t, orig string) (base, args string, unsigned bool, err error) {
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
	t = strings.TrimPrefix(strings.Join(kept, " "), "national ")
	base = t
	if i := strings.IndexByte(t, '('); i >= 0 {
		base = strings.TrimSpace(t[:i])
		j := strings.LastIndexByte(t, ')')
		if j < i {
			return "", "", false, fmt.Errorf("unsupported MySQL type %q: unbalanced parentheses", orig)
		}
		args = t[i+1 : j]
	} else if i := strings.IndexByte(t, ' '); i >= 0 && base != "double precision" && base != "character varying" {
		base = t[:i]
	}
	return base, args, unsigned, nil
}

// fixedTypes map MySQL types whose PostgreSQL type depends on nothing else.
var fixedTypes = map[string]string{
	"bool": "smallint", "boolean": "smallint", "tinyint": "smallint", "mediumint": "integer",
	"float": "real", "double": "double precision", "double precision": "double precision", "real": "double precision",
	"tinytext": "text", "text": "text", "mediumtext": "text", "longtext": "text", "long": "text",
	"binary": "bytea", "varbinary": "bytea", "tinyblob": "bytea", "blob": "bytea", "mediumblob": "bytea", "longblob": "bytea",
	"date": "date", "time": "interval", "year": "smallint", "enum": "text", "set": "text", "json": "jsonb",
	"geometry": "bytea", "point": "bytea", "linestring": "bytea", "polygon": "bytea", "multipoint": "bytea",
	"multilinestring": "bytea", "multipolygon": "bytea", "geometrycollection": "bytea", "geomcollection": "bytea",
	"uuid": "uuid", "inet4": "inet", "inet6": "inet",
}

// signedTypes map integer types by whether they are unsigned.
var signedTypes = map[string]map[bool]string{
	"smallint": {false: "smallint", true: "integer"},
	"int":      {false: "integer", true: "bigint"},
	"integer":  {false: "integer", true: "bigint"},
	"bigint":   {false: "bigint", true: "numeric(20,0)"},
}

// sizedTypes map types whose PostgreSQL type takes their lengths; an
// empty pg refuses the type, why saying what is wrong (may be empty).
var sizedTypes = map[string]func(base string, n []int) (pg, why string){
	"decimal": decimalType, "numeric": decimalType, "dec": decimalType, "fixed": decimalType,
	"bit":  bitType,
	"char": charType, "character": charType, "nchar": charType,
	"varchar": charType, "character varying": charType, "nvarchar": charType,
	"datetime": timestampType, "timestamp": timestampType,
}

func decimalType(_ string, n []int) (string, string) {
	switch {
	case len(n) == 0:
		return "numeric(10,0)", ""
	case len(n) == 1 && n[0] >= 1:
		return fmt.Sprintf("numeric(%d,0)", n[0]), ""
	case len(n) == 1:
		return "", ": precision must be at least 1"
	case len(n) == 2 && n[0] >= 1 && n[1] <= n[0]:
		return fmt.Sprintf("numeric(%d,%d)", n[0], n[1]), ""
	case len(n) == 2:
		return "", ": bad precision/scale"
	}
	return "", ""
}

func bitType(_ string, n []int) (string, string) {
	switch {
	case len(n) == 0:
		return "bit(1)", ""
	case len(n) != 1 || n[0] < 1 || n[0] > 64:
		return "", ": bit length must be 1..64"
	}
	return fmt.Sprintf("bit(%d)", n[0]), ""
}

func charType(base string, n []int) (string, string) {
	switch {
	case len(n) == 0 && (base == "char" || base == "character" || base == "nchar"):
		return "varchar(1)", ""
	case len(n) == 0 || len(n) == 1 && n[0] == 0:
		return "text", ""
	case len(n) != 1:
		return "", ""
	}
	return fmt.Sprintf("varchar(%d)", n[0]), ""
}

func timestampType(_ string, n []int) (string, string) {
	p := 0
	switch {
	case len(n) == 1:
		p = n[0]
	case len(n) > 1:
		return "", ""
	}
	if p > 6 {
		return "", ": fractional seconds precision above 6"
	}
	return fmt.Sprintf("timestamp(%d) without time zone", p), ""
}

// isTemporal reports whether a MySQL type can carry a zero date, which the
// ZeroDateNull policy turns into NULL: staging DDL never makes such a
// column NOT NULL.
func isTemporal(mysqlType string) bool {
	t := strings.ToLower(strings.TrimSpace(mysqlType))
	return strings.HasPrefix(t, "date") || strings.HasPrefix(t, "timestamp")
}
