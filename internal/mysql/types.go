package mysql

import (
	"database/sql"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry/internal/csvcodec"
)

var intWidthRe = regexp.MustCompile(`^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)(.*)$`)

// normalizeType turns a SHOW COLUMNS type into Ferry's spelling: lower
// case, integer display widths dropped except tinyint(1) (MySQL 8.0.19+
// already prints them so), "year(4)" as "year".
func normalizeType(t string) string {
	t = strings.TrimSpace(t)
	low := strings.ToLower(t)
	// enum/set values keep their case.
	if strings.HasPrefix(low, "enum(") || strings.HasPrefix(low, "set(") {
		i := strings.IndexByte(t, '(')
		return low[:i] + t[i:]
	}
	if m := intWidthRe.FindStringSubmatch(low); m != nil {
		if m[1] == "tinyint" && m[2] == "1" {
			return low
		}
		return m[1] + m[3]
	}
	if low == "year(4)" {
		return "year"
	}
	return low
}

// driverType maps the driver's result metadata to a MySQL type when SHOW
// COLUMNS is not available. Lengths the driver does not expose become the
// widest type of the family (longtext, longblob, bit(64)).
func driverType(ct *sql.ColumnType) string {
	name := strings.ToUpper(ct.DatabaseTypeName())
	unsigned := strings.HasPrefix(name, "UNSIGNED ")
	name = strings.TrimPrefix(name, "UNSIGNED ")
	suffix := ""
	if unsigned {
		suffix = " unsigned"
	}
	switch name {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT":
		return strings.ToLower(name) + suffix
	case "DECIMAL":
		if p, s, ok := ct.DecimalSize(); ok && p > 0 && p <= 65 && s >= 0 && s <= 30 {
			return "decimal(" + strconv.FormatInt(p, 10) + "," + strconv.FormatInt(s, 10) + ")"
		}
		return "decimal(65,30)"
	case "DATETIME", "TIMESTAMP", "TIME":
		if _, s, ok := ct.DecimalSize(); ok && s > 0 && s <= 6 {
			return strings.ToLower(name) + "(" + strconv.FormatInt(s, 10) + ")"
		}
		return strings.ToLower(name)
	case "FLOAT", "DOUBLE", "DATE", "YEAR", "JSON", "GEOMETRY",
		"TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB":
		return strings.ToLower(name)
	case "BIT":
		return "bit(64)"
	case "BINARY", "VARBINARY":
		return "longblob"
	default: // CHAR, VARCHAR, ENUM, SET, NULL, unknown
		return "longtext"
	}
}

// Column kinds that the exporter and the loaders treat specially.
type kind int

const (
	kindText kind = iota
	kindBinary
	kindBit
	kindFloat
	kindDouble
	kindYear
	kindDate // DATE, DATETIME, TIMESTAMP: zero-date policy applies
)

// exportKind classifies a result column by the driver's type name.
func exportKind(dbType string) kind {
	switch strings.ToUpper(dbType) {
	case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY":
		return kindBinary
	case "BIT":
		return kindBit
	case "FLOAT":
		return kindFloat
	case "DOUBLE":
		return kindDouble
	case "YEAR":
		return kindYear
	case "DATE", "DATETIME", "TIMESTAMP":
		return kindDate
	}
	return kindText
}

// loadKind classifies a target column by information_schema DATA_TYPE.
func loadKind(dataType string) kind {
	switch strings.ToLower(dataType) {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point",
		"linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return kindBinary
	case "bit":
		return kindBit
	}
	return kindText
}

// bitWidth reads n from "bit(n)"; 64 when absent.
func bitWidth(t string) int {
	t = strings.ToLower(t)
	if strings.HasPrefix(t, "bit(") && strings.HasSuffix(t, ")") {
		if n, err := strconv.Atoi(t[4 : len(t)-1]); err == nil && n >= 1 && n <= 64 {
			return n
		}
	}
	if t == "bit" {
		return 1
	}
	return 64
}

// quoteIdent quotes a validated identifier with backticks.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

func qualified(schema, table string) string {
	return quoteIdent(schema) + "." + quoteIdent(table)
}

// headerEncoding is how a column of kind k travels in the CSV dialect.
func headerEncoding(k kind) csvcodec.Encoding {
	switch k {
	case kindBinary:
		return csvcodec.Hex
	case kindBit:
		return csvcodec.Bits
	}
	return csvcodec.Text
}

// headerType is the source type a chunk's typed header names, from the
// result metadata the export already has (no extra query): decimals with
// their precision and scale, temporal types with their fractional
// seconds, the driver's type name otherwise ("varchar", "blob").
func headerType(ct *sql.ColumnType) string {
	switch strings.TrimPrefix(strings.ToUpper(ct.DatabaseTypeName()), "UNSIGNED ") {
	case "DECIMAL", "DATETIME", "TIMESTAMP", "TIME":
		return driverType(ct)
	}
	return strings.ToLower(ct.DatabaseTypeName())
}
