package pgtest

import (
	"strings"

	"github.com/ferrydata/ferry"
)

// same is a value exported unchanged for both targets.
func same(v string) Cell { return Cell{In: v, PG: v, My: v} }

// out is a value PostgreSQL prints as pg and that reaches MySQL as my.
func out(in, pg, my string) Cell { return Cell{In: in, PG: pg, My: my} }

// unfit is a value MySQL cannot hold; PostgreSQL prints it as pg.
func unfit(in, pg string) Cell { return Cell{In: in, PG: pg, Unfit: true} }

var null = Cell{Null: true}

// awkward are text values with every trap of the CSV dialect and of the
// loaders (PostgreSQL text cannot hold 0x00: bytea carries it).
var awkward = []string{
	"", "plain", `a "quoted" value`, "comma,inside", "cr\rinside", "lf\ninside", "crlf\r\nline\r\n",
	"tab\tinside\t", `back\slash`, `trailing\`, `\`, "NULL", `\N`, "null", `"NULL"`, "emoji 😀🚀 and ü",
	`""`, `"`, `,`, `'single' quotes`, "  leading and trailing spaces  ", `\"\,\n`, "\n", "\r",
	`\.`, "line\n\\.\nnext", "\\.\n", "日本語テキスト", "\u00a0nbsp\u2028ls",
}

func texts(vs []string) []Cell {
	out := make([]Cell, 0, len(vs)+1)
	for _, v := range vs {
		out = append(out, same(v))
	}
	return append(out, null)
}

// thousand is a numeric with 1000 digits before the point and 3 after.
var thousand = "9" + strings.Repeat("8", 998) + "7.125"

// Matrix is the type-fidelity matrix: one column per PostgreSQL type,
// text and numbers first, then dates, times and the other types.
func Matrix() []Col {
	return append(textAndNumberCols(), timeAndOtherCols()...)
}

// textAndNumberCols are the matrix's text, bytes, numeric, float, integer
// and boolean columns.
func textAndNumberCols() []Col {
	return []Col{
		{Name: "t", Kind: ferry.KindText, DDL: "text", Type: "text", PGType: "text", MyType: "longtext", PGCompare: Text, MyCompare: Text, Cells: texts(awkward),
			Why: "NULL apart from '', quotes, commas, CR, LF, CRLF, tabs, backslashes, the strings NULL and \\N, COPY's \\., emoji"},
		{Name: "vc", Kind: ferry.KindVarchar, DDL: "varchar(12)", Type: "character varying(12)", PGType: "character varying(12)", MyType: "varchar(12)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("abc"), same("ü€😀日本語テキスト"), same(""), same(" x ")}, Why: "lengths count characters on both engines"},
		{Name: "ch", Kind: ferry.KindChar, DDL: "char(5)", Type: "character(5)", PGType: "character(5)", MyType: "varchar(5)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{out("ab", "ab   ", "ab   "), same("abcde"), out("", "     ", "     ")}, Why: "the padding PostgreSQL prints is kept (MySQL CHAR would strip it)"},
		{Name: "by", Kind: ferry.KindBlob, DDL: "bytea", Type: "bytea", PGType: "bytea", MyType: "longblob", PGCompare: Text, MyCompare: Bytes,
			Cells: []Cell{same(`\x00`), same(`\x0001ff00`), same(`\x`), same(`\x2c220a0d5c4e`)}, Why: "0x00 anywhere, empty, bytes that look like CSV syntax"},
		{Name: "n", Kind: ferry.KindDecimal, DDL: "numeric", Type: "numeric", PGType: "numeric", MyType: "decimal(65,30)", PGCompare: Text, MyCompare: Decimal,
			Cells: []Cell{unfit(thousand, thousand), unfit("NaN", "NaN"), unfit("Infinity", "Infinity"), unfit("-Infinity", "-Infinity"),
				same("-0.000000000000000000000000000001"), same("123.4500"), same("0"), unfit("1e-40", "0."+strings.Repeat("0", 39)+"1"),
				same("12345678901234567890123456789012345.123456789012345678901234567890")},
			Why: "unconstrained: 1000 digits, NaN and ±Infinity survive to PostgreSQL; MySQL's DECIMAL(65,30) holds 35+30 digits"},
		{Name: "n2", Kind: ferry.KindDecimal, DDL: "numeric(12,2)", Type: "numeric(12,2)", PGType: "numeric(12,2)", MyType: "decimal(12,2)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("1234567890.12"), same("-0.01"), out("0", "0.00", "0.00"), unfit("NaN", "NaN")}, Why: "declared precision and scale"},
		{Name: "f4", Kind: ferry.KindFloat, DDL: "real", Type: "real", PGType: "real", MyType: "float", PGCompare: Text, MyCompare: Float32,
			Cells: []Cell{out("3.4028235e+38", "3.4028235e+38", "3.4028234663852886e+38"), out("1.1754944e-38", "1.1754944e-38", "1.1754943508222875e-38"),
				out("1.4e-45", "1e-45", "1.401298464324817e-45"), unfit("-0", "-0"), out("0.1", "0.1", "0.10000000149011612"),
				out("16777216", "1.6777216e+07", "1.6777216e+07"), unfit("Infinity", "Infinity"), unfit("-Infinity", "-Infinity"), unfit("NaN", "NaN")},
			Why: "shortest text that round-trips the 32-bit value; -0 kept (MySQL stores 0: policy). For MySQL the same value written as a double: MySQL range-checks FLOAT input as a double, and 3.4028235e+38 is above FLT_MAX"},
		{Name: "f8", Kind: ferry.KindDouble, DDL: "double precision", Type: "double precision", PGType: "double precision", MyType: "double", PGCompare: Text, MyCompare: Float64,
			Cells: []Cell{same("1.7976931348623157e+308"), same("5e-324"), unfit("-0", "-0"), same("0.30000000000000004"),
				out("123456789012345680000", "1.2345678901234568e+20", "1.2345678901234568e+20"), same("1e+100"),
				unfit("Infinity", "Infinity"), unfit("-Infinity", "-Infinity"), unfit("NaN", "NaN")},
			Why: "shortest text that round-trips the 64-bit value; -0 kept (MySQL stores 0: policy)"},
		{Name: "i2", Kind: ferry.KindInteger, DDL: "smallint", Type: "smallint", PGType: "smallint", MyType: "smallint", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("-32768"), same("32767"), same("0")}},
		{Name: "i4", Kind: ferry.KindInteger, DDL: "integer", Type: "integer", PGType: "integer", MyType: "int", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("-2147483648"), same("2147483647"), same("0")}},
		{Name: "i8", Kind: ferry.KindInteger, DDL: "bigint", Type: "bigint", PGType: "bigint", MyType: "bigint", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("-9223372036854775808"), same("9223372036854775807"), same("0")}},
		{Name: "b", Kind: ferry.KindBoolean, DDL: "boolean", Type: "boolean", PGType: "boolean", MyType: "tinyint(1)", PGCompare: Text, MyCompare: Bool,
			Cells: []Cell{out("true", "t", "1"), out("false", "f", "0"), null}, Why: "t/f → 1/0 for MySQL"},
	}
}

// timeAndOtherCols are the matrix's date, time, interval, network, JSON,
// array, enum, domain, bit, money and other built-in columns.
func timeAndOtherCols() []Col {
	return []Col{
		{Name: "d", Kind: ferry.KindDate, DDL: "date", Type: "date", PGType: "date", MyType: "date", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("2024-02-29"), same("0001-01-01"), same("9999-12-31"), same("1970-01-01"), unfit("infinity", "infinity"),
				unfit("-infinity", "-infinity"), unfit("0044-03-15 BC", "0044-03-15 BC"), unfit("10000-01-01", "10000-01-01")},
			Why: "±infinity, BC and five-digit years exist only in PostgreSQL"},
		{Name: "ts", Kind: ferry.KindDateTime, DDL: "timestamp(6)", Type: "timestamp(6) without time zone", PGType: "timestamp(6) without time zone", MyType: "datetime(6)",
			PGCompare: Text, MyCompare: Datetime,
			Cells: []Cell{same("2024-02-29 23:59:59.999999"), same("0001-01-01 00:00:00"), same("1999-12-31 23:59:59.5"),
				unfit("infinity", "infinity"), unfit("-infinity", "-infinity"), unfit("0044-03-15 12:00:00 BC", "0044-03-15 12:00:00 BC"),
				unfit("294276-12-31 23:59:59.999999", "294276-12-31 23:59:59.999999")},
			Why: "no time zone shift, microseconds"},
		{Name: "tz", Kind: ferry.KindTimestamp, DDL: "timestamptz", Type: "timestamp with time zone", PGType: "timestamp with time zone", MyType: "datetime(6)",
			PGCompare: Text, MyCompare: Datetime,
			Cells: []Cell{out("2024-03-31 01:30:00+02", "2024-03-30 23:30:00+00", "2024-03-30 23:30:00"),
				out("2024-01-01 00:00:00.123456-08", "2024-01-01 08:00:00.123456+00", "2024-01-01 08:00:00.123456"),
				out("1900-01-01 00:00:00+00:19:32", "1899-12-31 23:40:28+00", "1899-12-31 23:40:28"),
				unfit("infinity", "infinity"), unfit("0044-03-15 12:00:00+00 BC", "0044-03-15 12:00:00+00 BC")},
			Why: "written in UTC; MySQL's DATETIME holds the UTC time"},
		{Name: "tm", Kind: ferry.KindTime, DDL: "time(6)", Type: "time(6) without time zone", PGType: "time(6) without time zone", MyType: "time(6)", PGCompare: Text, MyCompare: Datetime,
			Cells: []Cell{same("00:00:00"), same("23:59:59.999999"), same("24:00:00"), same("12:30:00.5")}},
		{Name: "ttz", Kind: ferry.KindText, DDL: "timetz", Type: "time with time zone", PGType: "time with time zone", MyType: "varchar(32)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("12:34:56.789+05:30"), same("00:00:00-15:59"), same("23:59:59+00")}, Why: "MySQL has no time with a zone: PostgreSQL's text"},
		{Name: "iv", Kind: ferry.KindInterval, DDL: "interval", Type: "interval", PGType: "interval", MyType: "varchar(100)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("1 year 2 mons 3 days 04:05:06.789"), same("-1 days +02:00:00"), same("-178000000 years"),
				same("1 mon -1 days"), same("-00:00:00.000001"), same("00:00:00")},
			Why: "months, days and microseconds apart; MySQL has no interval: PostgreSQL's text"},
		{Name: "u", Kind: ferry.KindUUID, DDL: "uuid", Type: "uuid", PGType: "uuid", MyType: "char(36)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), same("00000000-0000-0000-0000-000000000000")}},
		{Name: "ip", Kind: ferry.KindInet, DDL: "inet", Type: "inet", PGType: "inet", MyType: "varchar(43)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("192.168.0.1"), same("10.0.0.0/8"), same("::1"), same("2001:db8::ff00:42:8329/64"), same("::ffff:1.2.3.4")}},
		{Name: "cd", Kind: ferry.KindInet, DDL: "cidr", Type: "cidr", PGType: "cidr", MyType: "varchar(43)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("10.0.0.0/8"), out("10.1", "10.1.0.0/16", "10.1.0.0/16"), same("2001:db8::/32")}},
		{Name: "mac", Kind: ferry.KindText, DDL: "macaddr", Type: "macaddr", PGType: "macaddr", MyType: "char(17)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{out("08002b010203", "08:00:2b:01:02:03", "08:00:2b:01:02:03")}},
		{Name: "mac8", Kind: ferry.KindText, DDL: "macaddr8", Type: "macaddr8", PGType: "macaddr8", MyType: "char(23)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("08:00:2b:01:02:03:04:05")}},
		{Name: "j", Kind: ferry.KindJSON, DDL: "json", Type: "json", PGType: "json", MyType: "longtext", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same(`{"b": 1,  "a": [1, 2.50, "x\"y"], "a": 2}`), same("  [ ]"), same(`"😀"`), same("null"),
				same("123456789012345678901234567890.5")},
			Why: "json keeps its text: spaces, key order, duplicate keys, numbers beyond double"},
		{Name: "jb", Kind: ferry.KindJSON, DDL: "jsonb", Type: "jsonb", PGType: "jsonb", MyType: "longtext", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{out(`{"b": 1, "a": 12345678901234567890.000001, "c": "é\n"}`, `{"a": 12345678901234567890.000001, "b": 1, "c": "é\n"}`, `{"a": 12345678901234567890.000001, "b": 1, "c": "é\n"}`),
				same("{}"), same("null")},
			Why: "jsonb as PostgreSQL stores it; MySQL's JSON type would reorder keys and round big numbers: longtext"},
		{Name: "ai", Kind: ferry.KindInteger, DDL: "integer[]", Type: "integer[]", PGType: "integer[]", MyType: "longtext", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("{1,NULL,3}"), same("{}"), same("{{1,2},{3,4}}"), same("[0:1]={7,8}")}, Why: "MySQL has no arrays: PostgreSQL's array literal"},
		{Name: "at", Kind: ferry.KindText, DDL: "text[]", Type: "text[]", PGType: "text[]", MyType: "longtext", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same(`{"a,b","c\"d","NULL",NULL,"","back\\slash"," sp "}`), same("{}")}},
		{Name: "en", Kind: ferry.KindEnum, DDL: "ferry_mood", Type: "ferry_mood", PGType: "text", MyType: "varchar(63)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("sad"), same("it's, ok"), same(`happy "x"`)}, Why: "the label; the enum type exists only in the source database"},
		{Name: "dm", Kind: ferry.KindInteger, DDL: "ferry_posint", Type: "integer", PGType: "integer", MyType: "int", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("5"), same("2147483647")}, Why: "a domain is its base type"},
		{Name: "bt", Kind: ferry.KindBit, DDL: "bit(8)", Type: "bit(8)", PGType: "bit(8)", MyType: "bit(8)", PGCompare: Text, MyCompare: Bits,
			Cells: []Cell{same("00000101"), same("11111111"), same("00000000")}, Why: "n binary digits"},
		{Name: "vb", Kind: ferry.KindBit, DDL: "varbit(20)", Type: "bit varying(20)", PGType: "bit varying(20)", MyType: "varchar(20)", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same(""), same("1"), same("10101010101")}, Why: "MySQL's BIT has a fixed width: the digits as text"},
		{Name: "mo", Kind: ferry.KindDecimal, DDL: "money", Type: "money", PGType: "money", MyType: "decimal(19,2)", PGCompare: Decimal, MyCompare: Decimal,
			Cells: []Cell{out("1234.56", "1234.56", "1234.56"), out("-0.01", "-0.01", "-0.01"), out("92233720368547758.07", "92233720368547758.07", "92233720368547758.07")},
			Why:   "written as its numeric value (money's text depends on lc_monetary)"},
		{Name: "rg", Kind: ferry.KindText, DDL: "int4range", Type: "int4range", PGType: "int4range", MyType: "longtext", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("[1,10)"), same("empty"), out("(,5]", "(,6)", "(,6)")}, Why: "other built-in types travel as PostgreSQL's text"},
		{Name: "pt", Kind: ferry.KindText, DDL: "point", Type: "point", PGType: "point", MyType: "longtext", PGCompare: Text, MyCompare: Text,
			Cells: []Cell{same("(1.5,-2)")}},
	}
}
