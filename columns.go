package ferry

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Column is one column of a source query's result (or of a live table), as
// the source engine defines it. It carries the source's exact type text and
// the attributes a target needs to create a column that holds every value
// exactly, whatever the engines:
//
//   - same engine (MySQL → MySQL, PostgreSQL → PostgreSQL): a target may
//     use Type as it is (MySQL COLUMN_TYPE, PostgreSQL format_type);
//   - another engine: a target derives its type from Kind and the
//     attributes (Precision, Scale, FracSeconds, Length, Unsigned, ...).
//
// Sources fill every attribute they know; zero values mean "none" or "not
// known" (Length 0 on a varchar: no limit known). Name, Type and Nullable
// keep their JSON names from before the model grew, so older plans still
// decode.
type Column struct {
	Name string `json:"name"`
	// Type is the exact type as the source engine spells it, lower case:
	// MySQL "decimal(10,2) unsigned", "varchar(40)", "enum('a','b')",
	// "bit(8)", "datetime(6)", "tinyint(1)", "inet6"; PostgreSQL (format_type)
	// "numeric(12,4)", "timestamp(3) without time zone", "integer[]".
	Type string `json:"type"`
	// Nullable is false when the source guarantees no NULL (NOT NULL).
	Nullable bool `json:"nullable"`

	// Engine is the engine whose type system Type belongs to (the source's).
	// Empty means EngineMySQL (plans written before the field existed).
	Engine Engine `json:"engine,omitempty"`
	// Base is Type's name without parameters or attributes: "decimal",
	// "varchar", "bigint", "timestamp without time zone", "character varying".
	// For an array it is the element's.
	Base string `json:"base,omitempty"`
	// Kind classifies the values, independent of the engine.
	Kind ColumnKind `json:"kind,omitempty"`
	// Precision is the number of decimal digits of a decimal (0 with Kind
	// KindDecimal: unconstrained), or the number of bits of a bit column.
	Precision int `json:"precision,omitempty"`
	// Scale is the number of digits after the point of a decimal.
	Scale int `json:"scale,omitempty"`
	// FracSeconds is the fractional-second digits (0..6) of a datetime,
	// timestamp or time.
	FracSeconds int `json:"frac_seconds,omitempty"`
	// Length is the maximum length: characters for char and varchar, bytes
	// for binary, varbinary and the text and blob families (tinytext 255,
	// text 65535, mediumtext 16777215, longtext 4294967295). 0: unbounded or
	// not known.
	Length int64 `json:"length,omitempty"`
	// Charset and Collation of a text column, when known (MySQL "utf8mb4",
	// "utf8mb4_bin"; PostgreSQL collations such as "C").
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"`
	// Binary is true when the values are bytes, not text: they travel in
	// the CSV dialect as \x + hex.
	Binary bool `json:"binary,omitempty"`
	// Unsigned is MySQL's UNSIGNED attribute of a numeric column.
	Unsigned bool `json:"unsigned,omitempty"`
	// ArrayDims is the number of array dimensions (PostgreSQL arrays); Kind
	// and Base then describe the element.
	ArrayDims int `json:"array_dims,omitempty"`

	// Origin says where the value comes from in the source query:
	// OriginTable (a column of a table the query reads), OriginComputed (an
	// expression, aggregate, window function or UNION result), or "" (not
	// known: the source could not tell).
	Origin ColumnOrigin `json:"origin,omitempty"`
	// Table is the table the column is read from, as the query names it
	// (its alias when it has one); empty when computed or not known.
	Table string `json:"table,omitempty"`
	// Key says whether the source column is part of a key: KeyPrimary,
	// KeyUnique, KeyIndex, or "" (none, or not known).
	Key KeyKind `json:"key,omitempty"`
}

// ColumnKind is an engine-neutral classification of a column's values.
type ColumnKind string

// The kinds. Each names what a value is, not how an engine stores it.
const (
	KindInteger   ColumnKind = "integer"   // whole numbers; Unsigned, Length = display width (tinyint(1))
	KindDecimal   ColumnKind = "decimal"   // exact numbers: Precision, Scale
	KindFloat     ColumnKind = "float"     // 32-bit IEEE
	KindDouble    ColumnKind = "double"    // 64-bit IEEE
	KindBoolean   ColumnKind = "boolean"   // true/false (PostgreSQL boolean; MySQL tinyint(1) is KindInteger)
	KindChar      ColumnKind = "char"      // fixed-length text: Length characters
	KindVarchar   ColumnKind = "varchar"   // text of at most Length characters
	KindText      ColumnKind = "text"      // long text: Length bytes at most (0: unbounded)
	KindBinary    ColumnKind = "binary"    // fixed-length bytes: Length
	KindVarbinary ColumnKind = "varbinary" // bytes, at most Length
	KindBlob      ColumnKind = "blob"      // long bytes: Length bytes at most (0: unbounded)
	KindBit       ColumnKind = "bit"       // Precision bits
	KindDate      ColumnKind = "date"
	KindDateTime  ColumnKind = "datetime"  // date and time without a time zone: FracSeconds
	KindTimestamp ColumnKind = "timestamp" // an instant (MySQL timestamp, read in UTC): FracSeconds
	KindTime      ColumnKind = "time"      // MySQL TIME (-838:59:59..838:59:59) or a time of day: FracSeconds
	KindInterval  ColumnKind = "interval"
	KindYear      ColumnKind = "year"
	KindEnum      ColumnKind = "enum" // one of the labels listed in Type
	KindSet       ColumnKind = "set"  // a subset of the labels listed in Type
	KindJSON      ColumnKind = "json"
	KindUUID      ColumnKind = "uuid"
	KindInet      ColumnKind = "inet"     // an IPv4 or IPv6 address (MariaDB inet4: Length 4; inet6: 16)
	KindGeometry  ColumnKind = "geometry" // spatial values, as the source's binary form
	KindOther     ColumnKind = "other"    // a type only its engine knows; targets refuse it across engines
)

// ColumnOrigin says whether a result column is a table's column.
type ColumnOrigin string

// Origins.
const (
	OriginTable    ColumnOrigin = "table"
	OriginComputed ColumnOrigin = "computed"
)

// KeyKind says what kind of key a source column is part of.
type KeyKind string

// Keys.
const (
	KeyPrimary KeyKind = "primary"
	KeyUnique  KeyKind = "unique"
	KeyIndex   KeyKind = "index"
)

// SourceEngine is c.Engine, EngineMySQL when unset.
func (c Column) SourceEngine() Engine {
	if c.Engine == "" {
		return EngineMySQL
	}
	return c.Engine
}

// IsInteger reports whether c holds whole numbers (a chunk column must).
func (c Column) IsInteger() bool { return c.Kind == KindInteger }

// ColumnsHash is a short, stable digest of the columns' names and types in
// order: the plan puts it in every chunk task, and the loader compares it
// with the exported header's, so a source whose shape changed after
// planning fails the chunk instead of loading into the planned table.
func ColumnsHash(cols []Column) string {
	h := sha256.New()
	for _, c := range cols {
		h.Write([]byte(strings.ToLower(c.Name)))
		h.Write([]byte{0})
		h.Write([]byte(c.Type))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// SchemaChangePolicy says what a run does when the query's columns differ
// from the live table's (tables.schema_changes).
type SchemaChangePolicy string

const (
	// SchemaEvolve (the default) derives staging from the query's columns,
	// keeping the live table's indexes, keys, comments and grants for the
	// columns that still exist; the new shape goes live with the swap.
	SchemaEvolve SchemaChangePolicy = "evolve"
	// SchemaRefuse fails the company with a ConfigError naming each
	// difference and the fix; the live table stays as it is.
	SchemaRefuse SchemaChangePolicy = "refuse"
)

// ValidSchemaChangePolicy reports whether p is a policy ("" is evolve).
func ValidSchemaChangePolicy(p SchemaChangePolicy) bool {
	return p == "" || p == SchemaEvolve || p == SchemaRefuse
}

// ChangeKind is what a SchemaChange does to a column.
type ChangeKind string

// Change kinds.
const (
	ColumnAdded   ChangeKind = "added"
	ColumnDropped ChangeKind = "dropped"
	ColumnChanged ChangeKind = "changed"
)

// SchemaChange is one difference between the live table and the table the
// query's columns define on a target: Old and New are the target's column
// definitions ("numeric(10,2) NOT NULL"), empty for an added (Old) or a
// dropped (New) column.
type SchemaChange struct {
	Column string     `json:"column"`
	Kind   ChangeKind `json:"change"`
	Old    string     `json:"old,omitempty"`
	New    string     `json:"new,omitempty"`
}

func (c SchemaChange) String() string {
	switch c.Kind {
	case ColumnAdded:
		return "column " + c.Column + " added (" + c.New + ")"
	case ColumnDropped:
		return "column " + c.Column + " dropped (was " + c.Old + ")"
	}
	return "column " + c.Column + ": " + c.Old + " → " + c.New
}

// ColumnDef is one column of a table on a target: its name and its
// definition as the target's catalog spells it ("numeric(12,4) NOT NULL").
type ColumnDef struct {
	Name string
	Def  string
}

// DiffColumns lists how now differs from old: columns changed or added in
// now's order, then columns dropped in old's order. Names compare without
// regard to case; definitions exactly.
func DiffColumns(old, now []ColumnDef) []SchemaChange {
	was := make(map[string]ColumnDef, len(old))
	for _, c := range old {
		was[strings.ToLower(c.Name)] = c
	}
	var out []SchemaChange
	kept := map[string]bool{}
	for _, c := range now {
		k := strings.ToLower(c.Name)
		o, ok := was[k]
		switch {
		case !ok:
			out = append(out, SchemaChange{Column: c.Name, Kind: ColumnAdded, New: c.Def})
		case o.Def != c.Def:
			out = append(out, SchemaChange{Column: c.Name, Kind: ColumnChanged, Old: o.Def, New: c.Def})
		}
		kept[k] = true
	}
	for _, c := range old {
		if !kept[strings.ToLower(c.Name)] {
			out = append(out, SchemaChange{Column: c.Name, Kind: ColumnDropped, Old: c.Def})
		}
	}
	return out
}
