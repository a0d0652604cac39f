package pgcol

import (
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
)

// PostgresType is the column type a PostgreSQL target creates for a
// PostgreSQL source column c (Engine postgres) when it derives a staging
// table: c.Type as format_type printed it, except
//
//   - an enum (or enum array) becomes text (text[]): the enum type exists
//     only in the source database; the labels travel as text;
//   - a type outside pg_catalog that is not an enum (Kind other: an
//     extension's type such as citext or hstore, a composite) keeps its
//     name, and mustExist says the target must have a type of that name
//     (else the table is refused: cast the column in the query, or create
//     the live table by hand).
func PostgresType(c ferry.Column) (typ string, mustExist bool) {
	switch c.Kind {
	case ferry.KindEnum:
		return "text" + strings.Repeat("[]", c.ArrayDims), false
	case ferry.KindOther:
		return c.Type, true
	}
	return c.Type, false
}

// MySQL's DECIMAL holds at most 65 digits, 30 of them after the point.
const (
	MySQLMaxPrecision = 65
	MySQLMaxScale     = 30
)

// MySQLDecimal is the MySQL DECIMAL for a numeric of precision p and scale
// s (p 0: unconstrained), and whether its values must be checked one by
// one (wide: the declared numeric does not fit, so decimal(65,30) is used
// and a value that does not fit follows the policy for values MySQL cannot
// hold).
func MySQLDecimal(p, s int) (typ string, wide bool) {
	if p < 1 || p > MySQLMaxPrecision || s < 0 || s > MySQLMaxScale || s > p {
		return fmt.Sprintf("decimal(%d,%d)", MySQLMaxPrecision, MySQLMaxScale), true
	}
	return fmt.Sprintf("decimal(%d,%d)", p, s), false
}

// mysqlMaxVarchar is the longest text kept as varchar(n) rather than
// longtext: longer varchars would soon exceed MySQL's 65,535-byte row
// (4 bytes per utf8mb4 character).
const mysqlMaxVarchar = 255

// MySQLType is the column type a MySQL target creates for a PostgreSQL
// source column c when it derives a staging table (the PostgreSQL →
// MySQL type map of docs/types.md). Values that a type holds only in part
// (infinite dates, NaN, -0, numerics wider than decimal(65,30)) are
// adapted or refused by the source's export, never rewritten here.
func MySQLType(c ferry.Column) (string, error) {
	if c.ArrayDims > 0 {
		return "longtext", nil // PostgreSQL's array literal
	}
	switch c.Kind {
	case ferry.KindInteger:
		return map[string]string{"smallint": "smallint", "integer": "int", "bigint": "bigint"}[c.Base], nil
	case ferry.KindDecimal:
		typ, _ := MySQLDecimal(c.Precision, c.Scale)
		return typ, nil
	case ferry.KindFloat:
		return "float", nil
	case ferry.KindDouble:
		return "double", nil
	case ferry.KindBoolean:
		return "tinyint(1)", nil
	case ferry.KindChar, ferry.KindVarchar:
		// character(n) too becomes varchar(n): MySQL's CHAR strips the
		// trailing spaces PostgreSQL prints.
		return textType(c.Length), nil
	case ferry.KindBlob:
		return "longblob", nil
	case ferry.KindBit:
		if IsVarbit(c) || c.Precision < 1 || c.Precision > 64 {
			return textType(int64(c.Precision)), nil // the digits
		}
		return fmt.Sprintf("bit(%d)", c.Precision), nil
	case ferry.KindDate:
		return "date", nil
	case ferry.KindDateTime, ferry.KindTimestamp:
		return fmt.Sprintf("datetime(%d)", c.FracSeconds), nil
	case ferry.KindTime:
		return fmt.Sprintf("time(%d)", c.FracSeconds), nil
	}
	if typ, ok := mysqlText[c.Kind]; ok {
		return typ, nil
	}
	if c.Kind == ferry.KindText {
		if typ, ok := mysqlTextForm[c.Base]; ok {
			return typ, nil
		}
		return "longtext", nil
	}
	return "", fmt.Errorf("column %s: type %s exists only in PostgreSQL and MySQL has no type for it", c.Name, c.Type)
}

// mysqlText maps the kinds whose values a MySQL target holds as text.
var mysqlText = map[ferry.ColumnKind]string{
	ferry.KindInterval: "varchar(100)", // -178956970 years -8 mons -2147483648 days -2562047788:00:54.775808
	ferry.KindJSON:     "longtext",     // MySQL 8's JSON type reorders keys and rounds numbers to doubles
	ferry.KindUUID:     "char(36)",
	ferry.KindInet:     "varchar(43)", // an IPv6 address with a /128 mask
	ferry.KindEnum:     "varchar(63)", // a label is at most 63 bytes
}

// mysqlTextForm gives a bounded column to the types of Kind text whose
// text has a known maximum length.
var mysqlTextForm = map[string]string{
	"time with time zone": "varchar(32)", // 24:00:00.000000+15:59
	"macaddr":             "char(17)",
	"macaddr8":            "char(23)",
}

func textType(n int64) string {
	if n > 0 && n <= mysqlMaxVarchar {
		return fmt.Sprintf("varchar(%d)", n)
	}
	return "longtext"
}
