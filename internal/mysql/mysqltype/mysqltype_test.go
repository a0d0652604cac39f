package mysqltype

import (
	"reflect"
	"testing"

	"github.com/ferrydata/ferry"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want ferry.Column
	}{
		{"INT(11)", ferry.Column{Type: "int", Base: "int", Kind: ferry.KindInteger}},
		{"int(10) unsigned zerofill", ferry.Column{Type: "int unsigned", Base: "int", Kind: ferry.KindInteger, Unsigned: true}},
		{"tinyint(1)", ferry.Column{Type: "tinyint(1)", Base: "tinyint", Kind: ferry.KindInteger, Length: 1}},
		{"boolean", ferry.Column{Type: "tinyint(1)", Base: "tinyint", Kind: ferry.KindInteger, Length: 1}},
		{"decimal(10,2) unsigned", ferry.Column{Type: "decimal(10,2) unsigned", Base: "decimal", Kind: ferry.KindDecimal, Precision: 10, Scale: 2, Unsigned: true}},
		{"numeric(12)", ferry.Column{Type: "decimal(12)", Base: "decimal", Kind: ferry.KindDecimal, Precision: 12}},
		{"decimal", ferry.Column{Type: "decimal", Base: "decimal", Kind: ferry.KindDecimal, Precision: 10}},
		{"double precision", ferry.Column{Type: "double", Base: "double", Kind: ferry.KindDouble}},
		{"bit(8)", ferry.Column{Type: "bit(8)", Base: "bit", Kind: ferry.KindBit, Precision: 8}},
		{"bit", ferry.Column{Type: "bit", Base: "bit", Kind: ferry.KindBit, Precision: 1}},
		{"varchar(40)", ferry.Column{Type: "varchar(40)", Base: "varchar", Kind: ferry.KindVarchar, Length: 40}},
		{"char(3)", ferry.Column{Type: "char(3)", Base: "char", Kind: ferry.KindChar, Length: 3}},
		{"tinytext", ferry.Column{Type: "tinytext", Base: "tinytext", Kind: ferry.KindText, Length: 255}},
		{"longblob", ferry.Column{Type: "longblob", Base: "longblob", Kind: ferry.KindBlob, Length: 4294967295, Binary: true}},
		{"varbinary(6)", ferry.Column{Type: "varbinary(6)", Base: "varbinary", Kind: ferry.KindVarbinary, Length: 6, Binary: true}},
		{"datetime(6)", ferry.Column{Type: "datetime(6)", Base: "datetime", Kind: ferry.KindDateTime, FracSeconds: 6}},
		{"timestamp", ferry.Column{Type: "timestamp", Base: "timestamp", Kind: ferry.KindTimestamp}},
		{"time(2)", ferry.Column{Type: "time(2)", Base: "time", Kind: ferry.KindTime, FracSeconds: 2}},
		{"year(4)", ferry.Column{Type: "year", Base: "year", Kind: ferry.KindYear}},
		{"enum('New','it''s','a,b')", ferry.Column{Type: "enum('New','it''s','a,b')", Base: "enum", Kind: ferry.KindEnum}},
		{"SET('x','y')", ferry.Column{Type: "set('x','y')", Base: "set", Kind: ferry.KindSet}},
		{"json", ferry.Column{Type: "json", Base: "json", Kind: ferry.KindJSON}},
		{"point", ferry.Column{Type: "point", Base: "point", Kind: ferry.KindGeometry, Binary: true}},
		{"uuid", ferry.Column{Type: "uuid", Base: "uuid", Kind: ferry.KindUUID}},
		{"inet4", ferry.Column{Type: "inet4", Base: "inet4", Kind: ferry.KindInet, Length: 4}},
		{"inet6", ferry.Column{Type: "inet6", Base: "inet6", Kind: ferry.KindInet, Length: 16}},
	}
	for _, c := range cases {
		got, err := Parse("c", c.in, true)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		c.want.Name, c.want.Nullable, c.want.Engine = "c", true, ferry.EngineMySQL
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", c.in, got, c.want)
		}
		if err := Valid(got.Type); err != nil {
			t.Errorf("Valid(%q): %v", got.Type, err)
		}
	}
	if got := Labels("enum('New','it''s','a,b')"); !reflect.DeepEqual(got, []string{"New", "it's", "a,b"}) {
		t.Errorf("Labels = %q", got)
	}
	for _, bad := range []string{"", "serial", "int; drop table x", "varchar(10) character set latin1", "enum('a'", "vector(3)"} {
		if _, err := Parse("c", bad, true); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
		if Valid(bad) == nil {
			t.Errorf("Valid(%q) accepted", bad)
		}
	}
}

// TestFromField: the metadata MariaDB sends for each type (recorded from a
// SELECT * of a table of every type, utf8mb4 connection) gives a type that
// holds every value of the source column.
func TestFromField(t *testing.T) {
	cases := []struct {
		source string
		f      Field
		want   string
	}{
		{"int unsigned primary key", Field{Table: "t", Type: typeLong, Length: 10, Flags: 16931, Charset: 63}, "int unsigned"},
		{"decimal(10,2) unsigned", Field{Table: "t", Type: typeNewDecimal, Length: 11, Flags: 32, Decimals: 2, Charset: 63}, "decimal(10,2) unsigned"},
		{"decimal(10,2)", Field{Table: "t", Type: typeNewDecimal, Length: 12, Decimals: 2, Charset: 63}, "decimal(10,2)"},
		{"decimal(10,0)", Field{Table: "t", Type: typeNewDecimal, Length: 11, Charset: 63}, "decimal(10,0)"},
		{"decimal(65,30) unsigned", Field{Table: "t", Type: typeNewDecimal, Length: 66, Flags: 32, Decimals: 30, Charset: 63}, "decimal(65,30) unsigned"},
		{"bit(8)", Field{Table: "t", Type: typeBit, Length: 8, Flags: 32, Charset: 63}, "bit(8)"},
		{"varchar(40)", Field{Table: "t", Type: typeVarString, Length: 160, Charset: 45}, "varchar(40)"},
		{"varchar(50) latin1", Field{Table: "t", Type: typeVarString, Length: 200, Charset: 45}, "varchar(50)"},
		{"enum('x','yy')", Field{Table: "t", Type: typeString, Length: 8, Flags: 256, Charset: 45}, "varchar(2)"},
		{"set('a','b')", Field{Table: "t", Type: typeString, Length: 12, Flags: 2048, Charset: 45}, "varchar(3)"},
		{"tinytext", Field{Table: "t", Type: typeBlob, Length: 1020, Flags: 16, Charset: 45}, "tinytext"},
		{"text", Field{Table: "t", Type: typeBlob, Length: 262140, Flags: 16, Charset: 45}, "text"},
		{"mediumtext", Field{Table: "t", Type: typeBlob, Length: 67108860, Flags: 16, Charset: 45}, "mediumtext"},
		{"longtext", Field{Table: "t", Type: typeBlob, Length: 4294967295, Flags: 16, Charset: 45}, "longtext"},
		{"binary(4)", Field{Table: "t", Type: typeString, Length: 4, Flags: 128, Charset: 63}, "binary(4)"},
		{"varbinary(20)", Field{Table: "t", Type: typeVarString, Length: 20, Flags: 128, Charset: 63}, "varbinary(20)"},
		{"blob", Field{Table: "t", Type: typeBlob, Length: 65535, Flags: 144, Charset: 63}, "blob"},
		{"datetime(3)", Field{Table: "t", Type: typeDateTime, Length: 23, Flags: 128, Decimals: 3, Charset: 63}, "datetime(3)"},
		{"timestamp(6)", Field{Table: "t", Type: typeTimestamp, Length: 26, Flags: 160, Decimals: 6, Charset: 63}, "timestamp(6)"},
		{"time(2)", Field{Table: "t", Type: typeTime, Length: 13, Flags: 128, Decimals: 2, Charset: 63}, "time(2)"},
		{"year", Field{Table: "t", Type: typeYear, Length: 4, Flags: 96, Charset: 63}, "year"},
		{"float", Field{Table: "t", Type: typeFloat, Length: 12, Decimals: 31, Charset: 63}, "float"},
		{"double", Field{Table: "t", Type: typeDouble, Length: 22, Decimals: 31, Charset: 63}, "double"},
		{"json (MariaDB)", Field{Table: "t", Type: typeBlob, Length: 4294967295, Flags: 144, Charset: 45}, "longtext"},
		{"uuid (MariaDB)", Field{Table: "t", Type: typeString, Length: 144, Flags: 160, Charset: 45}, "char(36)"},
		{"inet4 (MariaDB)", Field{Table: "t", Type: typeString, Length: 60, Flags: 160, Charset: 45}, "char(15)"},
		{"inet6 (MariaDB)", Field{Table: "t", Type: typeString, Length: 156, Flags: 160, Charset: 45}, "char(39)"},
		{"tinyint(1)", Field{Table: "t", Type: typeTiny, Length: 1, Charset: 63}, "tinyint(1)"},
		{"geometry", Field{Table: "t", Type: typeGeometry, Length: 4294967295, Flags: 144, Charset: 63}, "geometry"},
		{"char(3) utf8mb4_bin", Field{Table: "t", Type: typeString, Length: 12, Flags: 128, Charset: 45}, "char(3)"},
		{"ROW_NUMBER()", Field{Type: typeLongLong, Length: 21, Flags: 129, Charset: 63}, "bigint"},
	}
	for _, c := range cases {
		got := FromField(c.f)
		if got.Type != c.want {
			t.Errorf("%s: type %q, want %q", c.source, got.Type, c.want)
		}
	}
	pk := FromField(Field{Name: "id", Table: "t", Type: typeLong, Length: 10, Flags: 16931, Charset: 63})
	if pk.Origin != ferry.OriginTable || pk.Table != "t" || pk.Key != ferry.KeyPrimary || pk.Nullable || !pk.Unsigned {
		t.Errorf("primary key column: %+v", pk)
	}
	rn := FromField(Field{Name: "rn", Type: typeLongLong, Length: 21, Flags: 129, Charset: 63})
	if rn.Origin != ferry.OriginComputed || rn.Key != "" {
		t.Errorf("window function column: %+v", rn)
	}
}
