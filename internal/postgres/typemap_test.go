package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/testdb"
)

// typeCases is the MySQL → PostgreSQL map, each with a value carried
// through a real staging table: the CSV value, and what PostgreSQL's text
// form of the stored value must be.
var typeCases = []struct {
	mysql    string
	pg       string // MapType result
	format   string // format_type() of the created column
	csv      string // CSV value (hex-encoded by the writer when binary)
	binary   bool
	wantText string
	notNull  bool // the source column is NOT NULL
}{
	{"tinyint(1)", "smallint", "smallint", "2", false, "2", true},
	{"tinyint", "smallint", "smallint", "-128", false, "-128", false},
	{"tinyint unsigned", "smallint", "smallint", "255", false, "255", false},
	{"tinyint(3) unsigned zerofill", "smallint", "smallint", "7", false, "7", false},
	{"smallint", "smallint", "smallint", "-32768", false, "-32768", false},
	{"smallint unsigned", "integer", "integer", "65535", false, "65535", false},
	{"mediumint", "integer", "integer", "-8388608", false, "-8388608", false},
	{"mediumint unsigned", "integer", "integer", "16777215", false, "16777215", false},
	{"int", "integer", "integer", "-2147483648", false, "-2147483648", true},
	{"int(11)", "integer", "integer", "2147483647", false, "2147483647", false},
	{"int unsigned", "bigint", "bigint", "4294967295", false, "4294967295", false},
	{"bigint", "bigint", "bigint", "-9223372036854775808", false, "-9223372036854775808", false},
	{"bigint unsigned", "numeric(20,0)", "numeric(20,0)", "18446744073709551615", false, "18446744073709551615", false},
	{"decimal(65,30)", "numeric(65,30)", "numeric(65,30)", "-12345678901234567890123456789012345.123456789012345678901234567890", false, "-12345678901234567890123456789012345.123456789012345678901234567890", false},
	{"decimal(10,2) unsigned", "numeric(10,2)", "numeric(10,2)", "0.50", false, "0.50", false},
	{"decimal(5)", "numeric(5,0)", "numeric(5,0)", "99999", false, "99999", false},
	{"float", "real", "real", "3.4028235e+38", false, "3.4028235e+38", false},
	{"float(7,3)", "real", "real", "-1.5", false, "-1.5", false},
	{"double", "double precision", "double precision", "0.1", false, "0.1", false},
	{"double precision", "double precision", "double precision", "-1.7976931348623157e+308", false, "-1.7976931348623157e+308", false},
	{"bit(1)", "bit(1)", "bit(1)", "1", false, "1", false},
	{"bit(10)", "bit(10)", "bit(10)", "0000000101", false, "0000000101", false},
	{"char(3)", "varchar(3)", "character varying(3)", "ab ", false, "ab ", false},
	{"varchar(10)", "varchar(10)", "character varying(10)", "héllo\r\n\"x\"", false, "héllo\r\n\"x\"", true},
	{"varchar(0)", "text", "text", "", false, "", false},
	{"tinytext", "text", "text", "NULL", false, "NULL", false},
	{"text", "text", "text", `\N back\slash, comma`, false, `\N back\slash, comma`, false},
	{"mediumtext", "text", "text", "\t", false, "\t", false},
	{"longtext", "text", "text", "日本語", false, "日本語", false},
	{"binary(3)", "bytea", "bytea", "\x00\x01\xff", true, `\x0001ff`, false},
	{"varbinary(255)", "bytea", "bytea", "", true, `\x`, false},
	{"tinyblob", "bytea", "bytea", "\n", true, `\x0a`, false},
	{"blob", "bytea", "bytea", "\"", true, `\x22`, false},
	{"mediumblob", "bytea", "bytea", "\x80", true, `\x80`, false},
	{"longblob", "bytea", "bytea", "ab", true, `\x6162`, false},
	{"date", "date", "date", "2024-02-29", false, "2024-02-29", true},
	{"datetime", "timestamp(0) without time zone", "timestamp(0) without time zone", "1000-01-01 00:00:00", false, "1000-01-01 00:00:00", true},
	{"datetime(6)", "timestamp(6) without time zone", "timestamp(6) without time zone", "9999-12-31 23:59:59.999999", false, "9999-12-31 23:59:59.999999", false},
	{"timestamp", "timestamp(0) without time zone", "timestamp(0) without time zone", "2038-01-19 03:14:07", false, "2038-01-19 03:14:07", false},
	{"timestamp(3)", "timestamp(3) without time zone", "timestamp(3) without time zone", "1970-01-01 00:00:01.5", false, "1970-01-01 00:00:01.5", false},
	{"time", "interval", "interval", "-838:59:59", false, "-838:59:59", false},
	{"time(6)", "interval", "interval", "838:59:58.999999", false, "838:59:58.999999", false},
	{"time(3)", "interval", "interval", "-00:00:00.5", false, "-00:00:00.5", false},
	{"year", "smallint", "smallint", "2155", false, "2155", false},
	{"year(4)", "smallint", "smallint", "1901", false, "1901", false},
	{"enum('a','b,c')", "text", "text", "b,c", false, "b,c", false},
	{"set('x','y')", "text", "text", "x,y", false, "x,y", false},
	{"json", "jsonb", "jsonb", `{"b": 1, "a": [1, 2.5, "\u00e9"]}`, false, `{"a": [1, 2.5, "é"], "b": 1}`, false},
	{"geometry", "bytea", "bytea", "\x00\x00\x00\x00\x01\x01", true, `\x000000000101`, false},
	{"point", "bytea", "bytea", "\x01", true, `\x01`, false},
	{"multipolygon", "bytea", "bytea", "\x02", true, `\x02`, false},
	{"uuid", "uuid", "uuid", "123e4567-e89b-12d3-a456-426614174000", false, "123e4567-e89b-12d3-a456-426614174000", false},
	{"inet6", "inet", "inet", "::ffff:1.2.3.4", false, "::ffff:1.2.3.4/128", false},
	{"inet4", "inet", "inet", "10.0.0.1", false, "10.0.0.1/32", false},
	{"boolean", "smallint", "smallint", "1", false, "1", false},
}

func TestMapType(t *testing.T) {
	for _, c := range typeCases {
		got, err := MapType(c.mysql)
		if err != nil || got != c.pg {
			t.Errorf("MapType(%q) = %q, %v; want %q", c.mysql, got, err, c.pg)
		}
	}
	for _, bad := range []string{"", "vector(3)", "decimal(x,2)", "bit(65)", "datetime(7)", "varchar(10", "decimal(3,5)", "hstore"} {
		if got, err := MapType(bad); err == nil {
			t.Errorf("MapType(%q) = %q, want an error", bad, got)
		}
	}
}

// TestTypeMapDDL derives a staging table from every MySQL type, checks the
// created column types and nullability in the catalog, and carries one
// value of each type through Load.
func TestTypeMapDDL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cols := []ferry.Column{{Name: "id", Type: "bigint", Nullable: false}}
	header := []string{"id"}
	rec := []csvcodec.Field{{Data: []byte("1")}}
	for i, c := range typeCases {
		name := fmt.Sprintf("c%02d", i)
		cols = append(cols, ferry.Column{Name: name, Type: c.mysql, Nullable: !c.notNull})
		header = append(header, name)
		rec = append(rec, csvcodec.Field{Data: []byte(c.csv), Binary: c.binary})
	}
	stg := ferry.StagingName("types")
	testdb.Must(t, "prepare", e.tg.PrepareStaging(ctx, testSchema, "types", stg, cols, "id"))
	var b bytes.Buffer
	w := csvcodec.NewWriter(&b)
	w.WriteHeader(header)
	w.Write(rec)
	w.Flush()
	e.load(stg, 1, 2, b.Bytes())

	for i, c := range typeCases {
		name := fmt.Sprintf("c%02d", i)
		t.Run(c.mysql, func(t *testing.T) {
			var format string
			var notNull bool
			err := e.conn.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
				WHERE attrelid = $1::regclass AND attname = $2`, qualified(testSchema, stg), name).Scan(&format, &notNull)
			testdb.Must(t, "catalog", err)
			if format != c.format {
				t.Errorf("column type %q, want %q", format, c.format)
			}
			wantNotNull := c.notNull && !isTemporal(c.mysql)
			if notNull != wantNotNull {
				t.Errorf("NOT NULL = %v, want %v", notNull, wantNotNull)
			}
			got := e.strings(`SELECT ` + quoteIdent(name) + `::text FROM ` + qualified(testSchema, stg))
			if len(got) != 1 || got[0] != c.wantText {
				t.Errorf("stored %q, want %q", got, c.wantText)
			}
		})
	}
	// Staging loads with no index (the load finds its earlier attempts in
	// the ledger, not by an index on the chunk column).
	if n := e.int(`SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass`, qualified(testSchema, stg)); n != 0 {
		t.Errorf("staging has %d indexes during the load, want none", n)
	}
}

func TestPrepareStagingErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		cols  []ferry.Column
		chunk string
		want  string
	}{
		{"unknown type", []ferry.Column{{Name: "id", Type: "int"}, {Name: "v", Type: "vector(3)"}}, "id", "unsupported MySQL type"},
		{"no chunk column", kvCols, "nope", "chunk column"},
		{"duplicate column", []ferry.Column{{Name: "id", Type: "int"}, {Name: "ID", Type: "int"}}, "id", "appears twice"},
		{"bad column name", []ferry.Column{{Name: "id", Type: "int"}, {Name: "a b", Type: "int"}}, "id", "identifier"},
		{"no columns", nil, "id", "no columns"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.tg.PrepareStaging(ctx, testSchema, "t", ferry.StagingName("t"), c.cols, c.chunk)
			var ce *ferry.ConfigError
			if !asErr(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a ConfigError containing %q", err, c.want)
			}
		})
	}
	// A live table without an index on the chunk column gets none on
	// staging either (nor on live after the swap); LIKE copies the live table
	// when the query's columns are its own.
	e.exec(`CREATE TABLE bi_acme.handmade (k integer NOT NULL, note text)`)
	stg := ferry.StagingName("handmade")
	handmade := []ferry.Column{{Name: "k", Type: "int"}, {Name: "note", Type: "text", Nullable: true}}
	testdb.Must(t, "prepare", e.tg.PrepareStaging(ctx, testSchema, "handmade", stg, handmade, "k"))
	if got := e.strings(`SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`, qualified(testSchema, stg)); strings.Join(got, ",") != "k,note" {
		t.Errorf("staging columns %v, want k,note (LIKE live)", got)
	}
	if n := e.int(`SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass`, qualified(testSchema, stg)); n != 0 {
		t.Errorf("staging has %d indexes, want none", n)
	}
	// Prepared twice: still one empty staging table.
	e.exec(`INSERT INTO bi_acme.` + quoteIdent(stg) + ` VALUES (1, 'x')`)
	testdb.Must(t, "prepare again", e.tg.PrepareStaging(ctx, testSchema, "handmade", stg, handmade, "k"))
	if n := e.int(`SELECT count(*) FROM bi_acme.` + quoteIdent(stg)); n != 0 {
		t.Errorf("staging has %d rows after PrepareStaging, want 0", n)
	}
	// A chunk column the query lacks.
	err := e.tg.PrepareStaging(ctx, testSchema, "handmade", stg, handmade, "id")
	var ce *ferry.ConfigError
	if !asErr(err, &ce) {
		t.Errorf("chunk column missing from live: err = %v, want ConfigError", err)
	}
}
