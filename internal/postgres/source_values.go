package postgres

import (
	"bytes"
	"strconv"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/postgres/pgcol"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// converter adapts one non-NULL value's text for the target. It returns
// the text to write (v itself, or bytes appended to *buf), or a reason
// when the target cannot hold the value.
type converter func(v []byte, buf *[]byte) (out []byte, why string)

// converters returns, per result column, the converter the target needs;
// nil means the value is written as PostgreSQL printed it. A PostgreSQL
// target reads every value back as printed; a MySQL target needs the
// adaptations of mysqlConverter.
func converters(fields []pgconn.FieldDescription, target ferry.Engine) []converter {
	out := make([]converter, len(fields))
	if target != ferry.EngineMySQL {
		return out
	}
	for i, f := range fields {
		out[i] = mysqlConverter(f)
	}
	return out
}

// mysqlConverter is the adaptation a MySQL target needs for a column:
//
//	boolean                    t, f → 1, 0 (tinyint(1))
//	real, double precision     Infinity, -Infinity, NaN and -0 (MariaDB stores 0)
//	                           cannot be held; a real is
//	                           written as the double of the same value (mysqlFloat4)
//	numeric                    NaN, ±Infinity cannot be held; a numeric wider than
//	                           decimal(65,30) (unconstrained, or declared wider) is
//	                           checked value by value: more than 35 integer digits or
//	                           30 significant fraction digits cannot be held; zeros
//	                           beyond the 30th fraction digit are dropped (same value)
//	date, timestamp            ±infinity, BC dates and years above 9999 cannot be held
//	timestamptz                the same, and the "+00" of UTC is dropped (datetime)
//
// Everything else is written as PostgreSQL prints it.
func mysqlConverter(f pgconn.FieldDescription) converter {
	switch f.DataTypeOID {
	case pgtype.BoolOID:
		return mysqlBool
	case pgtype.Float4OID:
		return mysqlFloat4
	case pgtype.Float8OID:
		return mysqlFloat
	case pgtype.NumericOID:
		p, s, _ := pgcol.NumericTypmod(f.TypeModifier)
		if _, wide := pgcol.MySQLDecimal(p, s); wide {
			return mysqlWideNumeric
		}
		return mysqlNumeric
	case pgtype.DateOID, pgtype.TimestampOID:
		return mysqlDate
	case pgtype.TimestamptzOID:
		return mysqlTimestamptz
	}
	return nil
}

func mysqlBool(v []byte, _ *[]byte) ([]byte, string) {
	switch string(v) {
	case "t":
		return []byte("1"), ""
	case "f":
		return []byte("0"), ""
	}
	return nil, "not a boolean"
}

func mysqlFloat(v []byte, _ *[]byte) ([]byte, string) {
	switch string(v) {
	case "Infinity", "-Infinity", "NaN":
		return nil, "MySQL floating-point columns hold neither infinities nor NaN"
	case "-0":
		return nil, "MySQL stores -0 as 0 (write col + 0 in the query to make it 0 on purpose)"
	}
	return v, ""
}

// mysqlFloat4 writes a real as the shortest text of the same value as a
// double: MySQL parses FLOAT input as a double and range-checks it before
// rounding to 32 bits, so real's own shortest text of its largest values
// (3.4028235e+38, above FLT_MAX as a double) would be refused.
func mysqlFloat4(v []byte, buf *[]byte) ([]byte, string) {
	if out, why := mysqlFloat(v, buf); why != "" {
		return out, why
	}
	f, err := strconv.ParseFloat(string(v), 32)
	if err != nil {
		return nil, "not a real"
	}
	start := len(*buf)
	*buf = strconv.AppendFloat(*buf, f, 'g', -1, 64)
	return (*buf)[start:], ""
}

func mysqlNumeric(v []byte, _ *[]byte) ([]byte, string) {
	switch string(v) {
	case "Infinity", "-Infinity", "NaN":
		return nil, "MySQL DECIMAL holds neither infinities nor NaN"
	}
	return v, ""
}

// mysqlWideNumeric checks a numeric that a decimal(65,30) column must hold.
func mysqlWideNumeric(v []byte, buf *[]byte) ([]byte, string) {
	if out, why := mysqlNumeric(v, buf); why != "" {
		return out, why
	}
	digits := bytes.TrimPrefix(v, []byte("-"))
	intPart, frac, _ := bytes.Cut(digits, []byte("."))
	intPart = bytes.TrimLeft(intPart, "0")
	sig := bytes.TrimRight(frac, "0")
	switch {
	case len(intPart) > pgcol.MySQLMaxPrecision-pgcol.MySQLMaxScale:
		return nil, "more than 35 digits before the point, beyond MySQL's DECIMAL(65,30)"
	case len(sig) > pgcol.MySQLMaxScale:
		return nil, "more than 30 significant digits after the point, beyond MySQL's DECIMAL(65,30)"
	case len(frac) > pgcol.MySQLMaxScale:
		// Only zeros beyond the 30th digit: the same value in 30 digits.
		return v[:len(v)-(len(frac)-pgcol.MySQLMaxScale)], ""
	}
	return v, ""
}

// mysqlDate checks a date or timestamp ("2024-02-29", "2024-02-29
// 13:14:15.5") against MySQL's DATE/DATETIME: years 0001 to 9999.
func mysqlDate(v []byte, _ *[]byte) ([]byte, string) {
	switch {
	case string(v) == "infinity" || string(v) == "-infinity":
		return nil, "MySQL dates hold no infinity"
	case bytes.HasSuffix(v, []byte(" BC")):
		return nil, "MySQL dates hold no year before 1 AD"
	case bytes.IndexByte(v, '-') != 4:
		return nil, "MySQL dates hold no year after 9999"
	}
	return v, ""
}

// mysqlTimestamptz is mysqlDate for a timestamptz printed in UTC, without
// its "+00".
func mysqlTimestamptz(v []byte, buf *[]byte) ([]byte, string) {
	if out, why := mysqlDate(v, buf); why != "" {
		return out, why
	}
	if !bytes.HasSuffix(v, []byte("+00")) {
		return nil, "not a UTC time (the session time zone is UTC)"
	}
	return v[:len(v)-3], ""
}
