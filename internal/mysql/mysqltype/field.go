package mysqltype

import (
	"strconv"

	"github.com/ferrydata/ferry"
)

// Field is a result column as the MySQL protocol describes it (a column
// definition packet): what a server says about a query's result without a
// privilege beyond SELECT.
type Field struct {
	Name string
	// Table is the table the column is read from as the query names it
	// (its alias); empty for an expression, aggregate, window function or
	// UNION result.
	Table string
	// Type is the protocol's field type byte (MYSQL_TYPE_*).
	Type uint8
	// Length is the column's maximum display length in bytes of the
	// result's character set (characters × 4 for utf8mb4 text).
	Length uint32
	// Flags are the column flags (NOT_NULL, PRI_KEY, UNSIGNED, ...).
	Flags uint16
	// Decimals is the scale of a decimal or the fsp of a temporal type.
	Decimals uint8
	// Charset is the result's collation id (63: binary).
	Charset uint8
	// MaxBytesPerChar is the width of the result's character set (4 for
	// utf8mb4, the connection character set Ferry uses).
	MaxBytesPerChar uint32
}

// Protocol field types and flags (include/mysql_com.h, field_types.h).
const (
	typeDecimal    = 0
	typeTiny       = 1
	typeShort      = 2
	typeLong       = 3
	typeFloat      = 4
	typeDouble     = 5
	typeNull       = 6
	typeTimestamp  = 7
	typeLongLong   = 8
	typeInt24      = 9
	typeDate       = 10
	typeTime       = 11
	typeDateTime   = 12
	typeYear       = 13
	typeNewDate    = 14
	typeVarchar    = 15
	typeBit        = 16
	typeJSON       = 245
	typeNewDecimal = 246
	typeEnum       = 247
	typeSet        = 248
	typeTinyBlob   = 249
	typeMediumBlob = 250
	typeLongBlob   = 251
	typeBlob       = 252
	typeVarString  = 253
	typeString     = 254
	typeGeometry   = 255

	flagNotNull     = 1
	flagPriKey      = 2
	flagUniqueKey   = 4
	flagMultipleKey = 8
	flagUnsigned    = 32
	flagEnum        = 256
	flagSet         = 2048
	flagPartKey     = 16384

	binaryCharset = 63
)

// FromField derives a column from result metadata, for a source account
// that may not create a temporary table to read the exact type text. The
// protocol's lengths are corrected into the type's own parameters: a
// decimal's precision is its length less the point and (when signed) the
// sign; a bit's width is its length; char and varchar lengths are divided
// by the character set's width; the text and blob families are told apart
// by their byte limit; tinyint(1) has display length 1. What the protocol
// does not carry becomes a type that holds every value: enum and set as
// varchar of their longest label, MariaDB uuid, inet4 and inet6 as
// char(n). Origin, Table and Key come from the table name and the key
// flags.
func FromField(f Field) ferry.Column {
	c, err := Parse(f.Name, fieldType(f), f.Flags&flagNotNull == 0)
	if err != nil {
		c = ferry.Column{Name: f.Name, Type: "longtext", Nullable: true, Engine: ferry.EngineMySQL, Base: "longtext", Kind: ferry.KindText, Length: familyLength["longtext"]}
	}
	if f.Table != "" {
		c.Origin, c.Table = ferry.OriginTable, f.Table
	} else {
		c.Origin = ferry.OriginComputed
	}
	switch {
	case f.Flags&flagPriKey != 0:
		c.Key = ferry.KeyPrimary
	case f.Flags&flagUniqueKey != 0:
		c.Key = ferry.KeyUnique
	case f.Flags&(flagMultipleKey|flagPartKey) != 0:
		c.Key = ferry.KeyIndex
	}
	return c
}

func chars(f Field) int64 {
	w := f.MaxBytesPerChar
	if w == 0 {
		w = 4
	}
	if f.Charset == binaryCharset {
		w = 1
	}
	return int64((f.Length + w - 1) / w)
}

// fieldType is the MySQL type text a field's metadata stands for.
func fieldType(f Field) string {
	unsigned := ""
	if f.Flags&flagUnsigned != 0 {
		unsigned = " unsigned"
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	fsp := ""
	if f.Decimals > 0 && f.Decimals <= 6 {
		fsp = "(" + n(int64(f.Decimals)) + ")"
	}
	switch f.Type {
	case typeTiny:
		if f.Length == 1 && unsigned == "" {
			return "tinyint(1)"
		}
		return "tinyint" + unsigned
	case typeShort:
		return "smallint" + unsigned
	case typeInt24:
		return "mediumint" + unsigned
	case typeLong:
		return "int" + unsigned
	case typeLongLong:
		return "bigint" + unsigned
	case typeDecimal, typeNewDecimal:
		p := int64(f.Length)
		if f.Decimals > 0 {
			p--
		}
		if unsigned == "" && p > 1 {
			p--
		}
		return "decimal(" + n(p) + "," + n(int64(f.Decimals)) + ")" + unsigned
	case typeFloat:
		return "float" + unsigned
	case typeDouble:
		return "double" + unsigned
	case typeBit:
		return "bit(" + n(int64(f.Length)) + ")"
	case typeDate, typeNewDate:
		return "date"
	case typeDateTime:
		return "datetime" + fsp
	case typeTimestamp:
		return "timestamp" + fsp
	case typeTime:
		return "time" + fsp
	case typeYear:
		return "year"
	case typeJSON:
		return "json"
	case typeGeometry:
		return "geometry"
	case typeNull:
		return "varchar(0)"
	case typeTinyBlob, typeMediumBlob, typeLongBlob, typeBlob:
		return blobFamily(f)
	case typeEnum, typeSet:
		return "varchar(" + n(chars(f)) + ")"
	case typeVarchar, typeVarString, typeString:
		return stringType(f)
	}
	return "longtext"
}

// blobFamily picks the smallest text or blob type whose limit holds the
// field's length.
func blobFamily(f Field) string {
	prefix, suffix := "", "text"
	if f.Charset == binaryCharset {
		suffix = "blob"
	}
	bytes := int64(f.Length)
	if suffix == "text" {
		w := int64(f.MaxBytesPerChar)
		if w == 0 {
			w = 4
		}
		bytes /= w
	}
	switch {
	case bytes <= 255:
		prefix = "tiny"
	case bytes <= 65535:
	case bytes <= 16777215:
		prefix = "medium"
	default:
		prefix = "long"
	}
	return prefix + suffix
}

func stringType(f Field) string {
	n := strconv.FormatInt(chars(f), 10)
	fixed := f.Type == typeString
	switch {
	case f.Flags&(flagEnum|flagSet) != 0:
		return "varchar(" + n + ")"
	case f.Charset == binaryCharset && fixed:
		return "binary(" + n + ")"
	case f.Charset == binaryCharset:
		return "varbinary(" + n + ")"
	case fixed:
		return "char(" + n + ")"
	}
	return "varchar(" + n + ")"
}
