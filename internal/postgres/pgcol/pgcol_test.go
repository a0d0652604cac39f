package pgcol

import (
	"reflect"
	"testing"

	"github.com/ferrydata/ferry"
)

func TestColumn(t *testing.T) {
	num := func(p, s int) int32 { return int32(p<<16|s) + 4 }
	pg := func(c ferry.Column) ferry.Column {
		c.Nullable, c.Engine = true, ferry.EnginePostgres
		if c.Origin == "" {
			c.Origin = ferry.OriginComputed
		}
		return c
	}
	tests := []struct {
		name string
		d    Desc
		want ferry.Column
	}{
		{"numeric(12,2) key", Desc{Name: "a", OID: oidNumeric, Mod: num(12, 2), Type: "numeric(12,2)", Base: "numeric", TypType: 'b', Catalog: true, Table: "t", Key: ferry.KeyPrimary},
			pg(ferry.Column{Name: "a", Type: "numeric(12,2)", Base: "numeric", Kind: ferry.KindDecimal, Precision: 12, Scale: 2, Origin: ferry.OriginTable, Table: "t", Key: ferry.KeyPrimary})},
		{"numeric negative scale", Desc{Name: "a", OID: oidNumeric, Mod: int32(2<<16|(0x800-3)) + 4, Type: "numeric(2,-3)", Base: "numeric", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "a", Type: "numeric(2,-3)", Base: "numeric", Kind: ferry.KindDecimal, Precision: 2, Scale: -3})},
		{"unconstrained numeric", Desc{Name: "a", OID: oidNumeric, Mod: -1, Type: "numeric", Base: "numeric", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "a", Type: "numeric", Base: "numeric", Kind: ferry.KindDecimal})},
		{"money", Desc{Name: "m", OID: oidMoney, Mod: -1, Type: "money", Base: "money", TypType: 'b', Catalog: true, MoneyScale: 2},
			pg(ferry.Column{Name: "m", Type: "money", Base: "money", Kind: ferry.KindDecimal, Precision: 19, Scale: 2})},
		{"varchar(40)", Desc{Name: "v", OID: oidVarchar, Mod: 44, Type: "character varying(40)", Base: "character varying", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "v", Type: "character varying(40)", Base: "character varying", Kind: ferry.KindVarchar, Length: 40})},
		{"timestamptz(3)", Desc{Name: "z", OID: oidTimestamptz, Mod: 3, Type: "timestamp(3) with time zone", Base: "timestamp with time zone", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "z", Type: "timestamp(3) with time zone", Base: "timestamp with time zone", Kind: ferry.KindTimestamp, FracSeconds: 3})},
		{"timestamp", Desc{Name: "z", OID: oidTimestamp, Mod: -1, Type: "timestamp without time zone", Base: "timestamp without time zone", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "z", Type: "timestamp without time zone", Base: "timestamp without time zone", Kind: ferry.KindDateTime, FracSeconds: 6})},
		{"interval second(2)", Desc{Name: "i", OID: oidInterval, Mod: int32(0x1000<<16 | 2), Type: "interval second(2)", Base: "interval", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "i", Type: "interval second(2)", Base: "interval", Kind: ferry.KindInterval, FracSeconds: 2})},
		{"bytea", Desc{Name: "b", OID: oidBytea, Mod: -1, Type: "bytea", Base: "bytea", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "b", Type: "bytea", Base: "bytea", Kind: ferry.KindBlob, Binary: true})},
		{"bit(8)", Desc{Name: "b", OID: oidBit, Mod: 8, Type: "bit(8)", Base: "bit", TypType: 'b', Catalog: true},
			pg(ferry.Column{Name: "b", Type: "bit(8)", Base: "bit", Kind: ferry.KindBit, Precision: 8})},
		{"varchar(10)[]", Desc{Name: "a", OID: 1015, Mod: 14, Type: "character varying(10)[]", Base: "character varying", TypType: 'b', Catalog: true, ElemOID: oidVarchar},
			pg(ferry.Column{Name: "a", Type: "character varying(10)[]", Base: "character varying", Kind: ferry.KindVarchar, Length: 10, ArrayDims: 1})},
		{"enum", Desc{Name: "e", OID: 90000, Mod: -1, Type: "mood", Base: "mood", TypType: 'e'},
			pg(ferry.Column{Name: "e", Type: "mood", Base: "mood", Kind: ferry.KindEnum})},
		{"range", Desc{Name: "r", OID: 3904, Mod: -1, Type: "int4range", Base: "int4range", TypType: 'r', Catalog: true},
			pg(ferry.Column{Name: "r", Type: "int4range", Base: "int4range", Kind: ferry.KindText})},
		{"extension type", Desc{Name: "c", OID: 90001, Mod: -1, Type: "citext", Base: "citext", TypType: 'b'},
			pg(ferry.Column{Name: "c", Type: "citext", Base: "citext", Kind: ferry.KindOther})},
		{"record", Desc{Name: "r", OID: 2249, Mod: -1, Type: "record", Base: "record", TypType: 'p', Catalog: true},
			pg(ferry.Column{Name: "r", Type: "record", Base: "record", Kind: ferry.KindOther})},
	}
	for _, tt := range tests {
		if got := Column(tt.d); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Column = %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestTargetTypes(t *testing.T) {
	tests := []struct {
		c             ferry.Column
		pg, my        string
		mustExist, ok bool
	}{
		{ferry.Column{Type: "numeric(70,2)", Base: "numeric", Kind: ferry.KindDecimal, Precision: 70, Scale: 2}, "numeric(70,2)", "decimal(65,30)", false, true},
		{ferry.Column{Type: "numeric(5,7)", Base: "numeric", Kind: ferry.KindDecimal, Precision: 5, Scale: 7}, "numeric(5,7)", "decimal(65,30)", false, true},
		{ferry.Column{Type: "numeric(65,30)", Base: "numeric", Kind: ferry.KindDecimal, Precision: 65, Scale: 30}, "numeric(65,30)", "decimal(65,30)", false, true},
		{ferry.Column{Type: "character varying(300)", Base: "character varying", Kind: ferry.KindVarchar, Length: 300}, "character varying(300)", "longtext", false, true},
		{ferry.Column{Type: "character varying", Base: "character varying", Kind: ferry.KindVarchar}, "character varying", "longtext", false, true},
		{ferry.Column{Type: "character(3)", Base: "character", Kind: ferry.KindChar, Length: 3}, "character(3)", "varchar(3)", false, true},
		{ferry.Column{Type: "bit(70)", Base: "bit", Kind: ferry.KindBit, Precision: 70}, "bit(70)", "varchar(70)", false, true},
		{ferry.Column{Type: "bit varying", Base: "bit varying", Kind: ferry.KindBit}, "bit varying", "longtext", false, true},
		{ferry.Column{Type: "time(3) with time zone", Base: "time with time zone", Kind: ferry.KindText}, "time(3) with time zone", "varchar(32)", false, true},
		{ferry.Column{Type: "mood[]", Base: "mood", Kind: ferry.KindEnum, ArrayDims: 1}, "text[]", "longtext", false, true},
		{ferry.Column{Type: "smallint", Base: "smallint", Kind: ferry.KindInteger}, "smallint", "smallint", false, true},
		{ferry.Column{Name: "c", Type: "citext", Base: "citext", Kind: ferry.KindOther}, "citext", "", true, false},
	}
	for _, tt := range tests {
		pg, must := PostgresType(tt.c)
		my, err := MySQLType(tt.c)
		if pg != tt.pg || must != tt.mustExist || my != tt.my || (err == nil) != tt.ok {
			t.Errorf("%s: PostgresType = %q, %v; MySQLType = %q, %v; want %q, %v, %q (ok %v)", tt.c.Type, pg, must, my, err, tt.pg, tt.mustExist, tt.my, tt.ok)
		}
	}
}
