// Package pgcol turns what PostgreSQL says about a result column (its
// RowDescription and the catalogs) into a ferry.Column: the exact type
// (format_type), its kind and attributes. It imports no driver, so targets
// and tools may use it.
package pgcol

import (
	"strings"

	"github.com/ferrydata/ferry"
)

// Desc is what the server reports for one result column.
type Desc struct {
	Name string
	// OID and Mod are the RowDescription's type OID and type modifier (a
	// domain is already reported as its base type).
	OID uint32
	Mod int32
	// Type is format_type(OID, Mod); Base is format_type of the type (the
	// element's for an array) without modifier.
	Type, Base string
	// TypType is pg_type.typtype of the type (the element's for an array):
	// 'b' base, 'e' enum, 'r' range, 'm' multirange, 'c' composite, 'p'
	// pseudo.
	TypType byte
	// Catalog is true when the type (the element's for an array) is one of
	// pg_catalog's, which every PostgreSQL has.
	Catalog bool
	// ElemOID is an array's element type OID (0: not an array); Dims its
	// dimensions when known (PostgreSQL does not enforce them: 1).
	ElemOID uint32
	// Table is the table the column is read from ("" for an expression) and
	// Key what kind of key its column is part of.
	Table string
	Key   ferry.KeyKind
	// MoneyScale is the number of fraction digits money has on the server
	// (lc_monetary), used when the column is money.
	MoneyScale int
}

// Type OIDs of pg_catalog (stable across versions).
const (
	oidBool        = 16
	oidBytea       = 17
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidMacaddr8    = 774
	oidMoney       = 790
	oidMacaddr     = 829
	oidCIDR        = 650
	oidInet        = 869
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidBit         = 1560
	oidVarbit      = 1562
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// Money is money's type OID: the source writes its values as numeric.
const Money = oidMoney

// Column is the ferry.Column for d, every column reported nullable (the
// result description carries no nullability, and a NOT NULL table column
// is NULL on the outer side of a join).
//
// Kinds: integer (smallint, integer, bigint), decimal (numeric, money),
// float (real), double (double precision), boolean, char (character(n)),
// varchar (character varying, name), text (text, and the pg_catalog types
// other engines have no kind for: their values travel as PostgreSQL's text
// — time with time zone, macaddr, ranges, geometric types, xml, tsvector,
// ...), blob (bytea, Binary), bit (bit, bit varying), date, datetime
// (timestamp), timestamp (timestamptz, an instant), time, interval, json
// (json, jsonb), uuid, inet (inet, cidr), enum (labels are the type's; Type
// names the enum) and other (a type outside pg_catalog that is not an
// enum: an extension's or a composite; only a PostgreSQL target that has
// the same type can hold it). Arrays have ArrayDims 1 and the element's
// Kind and Base.
func Column(d Desc) ferry.Column {
	c := ferry.Column{Name: d.Name, Type: d.Type, Nullable: true, Engine: ferry.EnginePostgres, Base: d.Base, Key: d.Key,
		Origin: ferry.OriginComputed}
	if d.Table != "" {
		c.Origin, c.Table = ferry.OriginTable, d.Table
	}
	oid := d.OID
	if d.ElemOID != 0 {
		// An array column's modifier is its element's.
		c.ArrayDims = 1
		oid = d.ElemOID
	}
	c.Kind = kind(oid, d.TypType, d.Catalog)
	attributes(&c, oid, d.Mod, d.MoneyScale)
	return c
}

// kind classifies a type OID.
func kind(oid uint32, typtype byte, catalog bool) ferry.ColumnKind {
	switch oid {
	case oidInt2, oidInt4, oidInt8:
		return ferry.KindInteger
	case oidNumeric, oidMoney:
		return ferry.KindDecimal
	case oidFloat4:
		return ferry.KindFloat
	case oidFloat8:
		return ferry.KindDouble
	case oidBool:
		return ferry.KindBoolean
	case oidBPChar:
		return ferry.KindChar
	case oidVarchar, oidName:
		return ferry.KindVarchar
	case oidBytea:
		return ferry.KindBlob
	case oidBit, oidVarbit:
		return ferry.KindBit
	case oidDate:
		return ferry.KindDate
	case oidTimestamp:
		return ferry.KindDateTime
	case oidTimestamptz:
		return ferry.KindTimestamp
	case oidTime:
		return ferry.KindTime
	case oidInterval:
		return ferry.KindInterval
	case oidJSON, oidJSONB:
		return ferry.KindJSON
	case oidUUID:
		return ferry.KindUUID
	case oidInet, oidCIDR:
		return ferry.KindInet
	}
	switch {
	case typtype == 'e':
		return ferry.KindEnum
	case catalog && typtype != 'p' && typtype != 'c':
		return ferry.KindText
	}
	return ferry.KindOther
}

// attributes fills precision, scale, lengths and fractional seconds from
// the type modifier.
func attributes(c *ferry.Column, oid uint32, mod int32, moneyScale int) {
	switch oid {
	case oidNumeric:
		if p, s, ok := NumericTypmod(mod); ok {
			c.Precision, c.Scale = p, s
		}
	case oidMoney:
		// money is a 64-bit count of the locale's smallest unit: 19 digits,
		// moneyScale of them after the point (±92233720368547758.07).
		c.Precision, c.Scale = 19, moneyScale
	case oidBPChar, oidVarchar:
		if mod >= 4 {
			c.Length = int64(mod - 4)
		}
	case oidName:
		c.Length = 63
	case oidBit, oidVarbit:
		if mod >= 0 {
			c.Precision = int(mod)
		}
	case oidBytea:
		c.Binary = true
	case oidTimestamp, oidTimestamptz, oidTime, oidTimetz:
		c.FracSeconds = 6
		if mod >= 0 && mod <= 6 {
			c.FracSeconds = int(mod)
		}
	case oidInterval:
		c.FracSeconds = 6
		if p := int(mod & 0xffff); mod >= 0 && p <= 6 {
			c.FracSeconds = p
		}
	}
}

// NumericTypmod decodes numeric's type modifier: precision and scale, and
// false when the column is unconstrained. Since PostgreSQL 15 the scale
// may be negative or above the precision (an 11-bit signed field).
func NumericTypmod(mod int32) (precision, scale int, ok bool) {
	if mod < 4 {
		return 0, 0, false
	}
	m := mod - 4
	precision = int(m>>16) & 0xffff
	scale = int(m & 0x7ff)
	if scale&0x400 != 0 {
		scale -= 0x800
	}
	return precision, scale, true
}

// IsVarbit reports whether c is a PostgreSQL bit varying column (Kind bit
// with a variable length).
func IsVarbit(c ferry.Column) bool { return strings.HasPrefix(c.Base, "bit varying") }
