// Package mysqltest holds test fixtures shared by the engine adapters' tests:
// a MySQL source table full of awkward values whose exact export is known,
// so both the MySQL and the PostgreSQL loaders can be checked against it.
//
// The API is stable: Fixture's fields are only ever added to.
package mysqltest

import (
	"context"
	"database/sql"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
)

// FidelityTable is the name of the fixture's source table.
const FidelityTable = "ferry_fidelity"

// Fixture describes the awkward-values source table FidelityFixture creates.
type Fixture struct {
	// Table is the source table's name in the database given to
	// FidelityFixture.
	Table string
	// Query is the configured query to copy it: a SELECT of every column
	// with a named parameter (:min_id, bound from Params).
	Query string
	// Params are the query's parameter values.
	Params map[string]ferry.Param
	// ChunkColumn is the integer chunk column ("id", 1..len(Rows), dense).
	ChunkColumn string
	// Columns is what Source.Columns reports for Query. Column "j" is
	// "json" on MySQL and "longtext" on MariaDB (where JSON is an alias).
	Columns []ferry.Column
	// Names are the column names in result order (Columns' names).
	Names []string
	// Rows are the records Source.Export writes for the whole table, in id
	// order: Binary is set on binary columns (raw bytes in Data), Null on
	// NULLs, and Data holds the exact text otherwise.
	Rows [][]csvcodec.Field
	// Binary marks the columns whose values are exported as binary (hex).
	Binary map[string]bool
	// Bits gives the width n of each BIT(n) column; its values are
	// exported as n binary digits ("101").
	Bits map[string]int
	// Latin1 lists the columns stored as latin1 in the source (their text
	// arrives as UTF-8 through the connection character set).
	Latin1 map[string]bool
}

type fcol struct {
	name, ddl, typ string
	nullable       bool
}

var fixtureCols = []fcol{
	{"id", "int NOT NULL PRIMARY KEY", "int", false},
	{"s", "varchar(255) NULL", "varchar(255)", true},
	{"txt", "text NULL", "text", true},
	{"lat", "varchar(50) CHARACTER SET latin1 NULL", "varchar(50)", true},
	{"bin", "binary(4) NULL", "binary(4)", true},
	{"vbin", "varbinary(16) NULL", "varbinary(16)", true},
	{"blb", "blob NULL", "blob", true},
	{"amount", "decimal(65,30) NULL", "decimal(65,30)", true},
	{"f", "float NULL", "float", true},
	{"d", "double NULL", "double", true},
	{"ubig", "bigint unsigned NULL", "bigint unsigned", true},
	{"big", "bigint NULL", "bigint", true},
	{"flag", "tinyint(1) NULL", "tinyint(1)", true},
	{"b1", "bit(1) NULL", "bit(1)", true},
	{"b8", "bit(8) NULL", "bit(8)", true},
	{"dt", "date NULL", "date", true},
	{"dtm", "datetime(6) NULL", "datetime(6)", true},
	{"ts", "timestamp(6) NULL DEFAULT NULL", "timestamp(6)", true},
	{"tm", "time NULL", "time", true},
	{"yr", "year NULL", "year", true},
	{"en", "enum('small','medium','it''s') NULL", "enum('small','medium','it''s')", true},
	{"st", "set('x','y','z') NULL", "set('x','y','z')", true},
	{"j", "json NULL", "json", true},
	{"g", "geometry NULL", "geometry", true},
}

var fixtureBinary = map[string]bool{"bin": true, "vbin": true, "blb": true, "g": true}
var fixtureBits = map[string]int{"b1": 1, "b8": 8}

const nul = "\x00"

// point is MySQL's internal geometry format: SRID (LE uint32) + WKB.
func point(x, y float64) string {
	b := make([]byte, 4+1+4+16)
	b[4] = 1                                // little endian WKB
	binary.LittleEndian.PutUint32(b[5:], 1) // wkbPoint
	binary.LittleEndian.PutUint64(b[9:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(b[17:], math.Float64bits(y))
	return string(b)
}

// awkward are the text values that every row after the first three carries
// in s and txt (txt holds them reversed in order).
var awkward = []string{
	`a "quoted" value`,
	"comma,inside",
	"cr\rinside",
	"lf\ninside",
	"crlf\r\nline\r\n",
	"tab\tinside\t",
	`back\slash`,
	`trailing\`,
	`\`,
	"NULL",
	`\N`,
	"emoji 😀🚀 and ü",
	`""`,
	`"`,
	`,`,
	`'single' quotes`,
	"  leading and trailing spaces  ",
	`\"\,\n`,
	"\n",
	"\r",
	"null",
	`"NULL"`,
	`\.`,              // PostgreSQL COPY's end-of-data marker, as a value
	"line\n\\.\nnext", // and alone on a line inside a value
	"\\.\n",           // and at the start of a value
}

// fixtureRows returns the rows in column order; nil is NULL. Values are the
// exact exported text (raw bytes for binary columns).
func fixtureRows() [][]*string {
	p := func(s string) *string { return &s }
	var rows [][]*string
	// 1: typical values at the edges of each type.
	rows = append(rows, []*string{p("1"), p("hello"), p("plain text"), p("café naïve €"),
		p(nul + "\x01\x02\x03"), p(nul + "abc" + nul), p(nul + "\xff" + nul + "\n\r,\"\\"),
		p("12345678901234567890123456789012345.123456789012345678901234567890"),
		p("3.14"), p("0.1"), p("18446744073709551615"), p("-9223372036854775808"),
		p("0"), p("1"), p("10100101"),
		p("2024-02-29"), p("2024-02-29 23:59:59.123456"), p("2038-01-19 03:14:07.999999"),
		p("838:59:59"), p("2024"), p("small"), p("x,z"),
		p(`{"a": [1, 2.5, "x\"y"], "b": null, "c": "é"}`), p(point(1, 2))})
	// 2: all NULL.
	r := make([]*string, len(fixtureCols))
	r[0] = p("2")
	rows = append(rows, r)
	// 3: empty and opposite edges.
	rows = append(rows, []*string{p("3"), p(""), p(""), p(""),
		p(nul + nul + nul + nul), p(""), p(""),
		p("-0.000000000000000000000000000001"),
		p("1e+38"), p("1.7976931348623157e+308"), p("0"), p("9223372036854775807"),
		p("1"), p("0"), p("00000000"),
		p("1000-01-01"), p("1000-01-01 00:00:00.000000"), p("1970-01-01 00:00:01.000000"),
		p("-838:59:59"), p("1901"), p("it's"), p(""),
		p("[]"), p(point(-0.5, 1e300))})
	floats := []string{"-3.4028e+38", "1.1754944e-38", "1.6777216e+07", "0.3", "-2.5", "123.456"}
	doubles := []string{"2.5", "-1.2345678901234568e-300", "1.2345678912345679e+08", "0.30000000000000004", "1e+100", "-0.5"}
	flags := []string{"2", "-1", "127", "-128", "0", "1"}
	times := []string{"00:00:00", "-00:00:01", "100:00:00", "23:59:59", "-12:30:00", "24:00:00"}
	years := []string{"2155", "0000", "1970", "2000", "1999", "2069"}
	enums := []string{"medium", "small", "it's", "medium", "small", "medium"}
	sets := []string{"x,y,z", "y", "x", "z", "x,y", "y,z"}
	lat := []string{"Ärger", "ß©®", "plain", "€uro", "ÿ", "a\\b\"c"}
	for i, a := range awkward {
		id := strconv.Itoa(len(rows) + 1)
		k := i % 6
		rows = append(rows, []*string{p(id), p(a), p(awkward[len(awkward)-1-i]), p(lat[k]),
			p("ab" + nul + strconv.Itoa(k)), p(a[:min(len(a), 16)]), p(a + nul),
			p(strconv.Itoa(i) + ".500000000000000000000000000000"),
			p(floats[k]), p(doubles[k]), p(strconv.Itoa(i * 1000)), p(strconv.Itoa(-i)),
			p(flags[k]), p(strconv.Itoa(i % 2)), p(bits8(i * 37)),
			p("2000-01-" + twoDigits(1+i)), p("1999-12-31 23:59:59." + strings.Repeat(strconv.Itoa(k), 6)),
			p("2001-09-09 01:46:40.00000" + strconv.Itoa(k)),
			p(times[k]), p(years[k]), p(enums[k]), p(sets[k]),
			p(`{"s": ` + strconv.Quote(a) + `}`), nil})
	}
	return rows
}

func bits8(v int) string {
	s := strconv.FormatInt(int64(v%256), 2)
	return strings.Repeat("0", 8-len(s)) + s
}

func twoDigits(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

// insertFixtureRows inserts rows, binding BIT columns as numbers and
// binary ones as bytes.
func insertFixtureRows(t testing.TB, ctx context.Context, conn *sql.Conn, rows [][]*string) {
	t.Helper()
	marks := strings.TrimSuffix(strings.Repeat("?,", len(fixtureCols)), ",")
	ins := "INSERT INTO `" + FidelityTable + "` VALUES (" + marks + ")"
	for _, r := range rows {
		args := make([]any, len(r))
		for i, v := range r {
			c := fixtureCols[i]
			switch {
			case v == nil:
				args[i] = nil
			case fixtureBits[c.name] > 0:
				u, err := strconv.ParseUint(*v, 2, 64)
				if err != nil {
					t.Fatalf("mysqltest: bit value %q: %v", *v, err)
				}
				args[i] = u
			case fixtureBinary[c.name]:
				args[i] = []byte(*v)
			default:
				args[i] = *v
			}
		}
		if _, err := conn.ExecContext(ctx, ins, args...); err != nil {
			t.Fatalf("mysqltest: insert row %s: %v", *r[0], err)
		}
	}

}

// FidelityFixture creates and fills the awkward-values table in db (a
// fresh database, e.g. from testdb.MySQLDB) and describes it. Every type
// Ferry copies is there: NULL vs the empty string, quotes, commas, CR, LF, CRLF, tabs,
// backslashes (a lone trailing one too), the strings NULL and \N, COPY's
// end-of-data marker \. (alone and on a line of its own), emoji, a
// latin1 column, BINARY/VARBINARY/BLOB/GEOMETRY with 0x00, DECIMAL(65,30),
// FLOAT/DOUBLE, BIGINT UNSIGNED max, TINYINT(1) 0/1/2/NULL, BIT(1)/BIT(8),
// DATE, DATETIME(6), TIMESTAMP(6), TIME 838:59:59 and negative, YEAR, ENUM,
// SET and JSON. No value is a zero date and no text holds 0x00, so the
// table exports under the default policy for both targets.
func FidelityFixture(t testing.TB, db *sql.DB) Fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("mysqltest: conn: %v", err)
	}
	defer conn.Close()
	// TIMESTAMP values are given in UTC.
	if _, err := conn.ExecContext(ctx, "SET time_zone = '+00:00', NAMES utf8mb4"); err != nil {
		t.Fatalf("mysqltest: session: %v", err)
	}
	var ddl []string
	for _, c := range fixtureCols {
		ddl = append(ddl, "`"+c.name+"` "+c.ddl)
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE `"+FidelityTable+"` ("+strings.Join(ddl, ", ")+") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"); err != nil {
		t.Fatalf("mysqltest: create %s: %v", FidelityTable, err)
	}
	rows := fixtureRows()
	insertFixtureRows(t, ctx, conn, rows)

	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatalf("mysqltest: version: %v", err)
	}
	f := Fixture{
		Table:       FidelityTable,
		Params:      map[string]ferry.Param{"min_id": 0},
		ChunkColumn: "id",
		Binary:      fixtureBinary,
		Bits:        fixtureBits,
		Latin1:      map[string]bool{"lat": true},
	}
	var sel []string
	for _, c := range fixtureCols {
		typ := c.typ
		if c.name == "j" && strings.Contains(strings.ToLower(version), "mariadb") {
			typ = "longtext"
		}
		f.Columns = append(f.Columns, ferry.Column{Name: c.name, Type: typ, Nullable: c.nullable})
		f.Names = append(f.Names, c.name)
		sel = append(sel, "`"+c.name+"`")
	}
	f.Query = "SELECT " + strings.Join(sel, ", ") + " FROM `" + FidelityTable + "` WHERE `id` > :min_id"
	for _, r := range rows {
		rec := make([]csvcodec.Field, len(r))
		for i, v := range r {
			if v == nil {
				rec[i] = csvcodec.Field{Null: true}
				continue
			}
			rec[i] = csvcodec.Field{Data: []byte(*v), Binary: fixtureBinary[fixtureCols[i].name]}
		}
		f.Rows = append(f.Rows, rec)
	}
	return f
}

// Basic keeps each column's name, type and nullability: what the fixture
// states, without the attributes Source.Columns derives from them.
func Basic(cols []ferry.Column) []ferry.Column {
	out := make([]ferry.Column, len(cols))
	for i, c := range cols {
		out[i] = ferry.Column{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
	}
	return out
}
