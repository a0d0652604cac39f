// Package mysqltype reads MySQL and MariaDB column types into Ferry's column
// model (ferry.Column): from the type text SHOW COLUMNS and
// information_schema print ("decimal(10,2) unsigned", "enum('a','b')"), and
// from a result set's protocol metadata when the text is not available
// (a SELECT-only account). It imports no driver, so a target that maps MySQL
// types (the PostgreSQL adapter) can use it without linking one.
package mysqltype

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
)

var (
	intWidthRe = regexp.MustCompile(`^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)(.*)$`)
	// typeRe is a base name (letters and digits: inet4, inet6), an
	// optional (n), (p,s) or quoted value list, and attributes.
	typeRe = regexp.MustCompile(`^([a-z][a-z0-9]*)(\((?:\d+(?:,\d+)?|'(?:[^'\\]|'')*'(?:,'(?:[^'\\]|'')*')*)\))?((?: (?:unsigned|signed|zerofill))*)$`)
)

// Normalize turns a type as SHOW COLUMNS or COLUMN_TYPE prints it into
// Ferry's spelling: lower case (enum and set labels keep their case),
// integer display widths dropped except tinyint(1) (MySQL 8.0.19+ prints
// them so already), "year(4)" as "year", "zerofill" dropped (it only pads
// the display), "double precision" as "double", "real" as "double",
// "integer" as "int", "numeric"/"dec"/"fixed" as "decimal", "bool"/"boolean" as
// "tinyint(1)".
func Normalize(t string) string {
	t = strings.TrimSpace(t)
	low := strings.ToLower(t)
	if strings.HasPrefix(low, "enum(") || strings.HasPrefix(low, "set(") {
		i := strings.IndexByte(t, '(')
		return low[:i] + t[i:]
	}
	low = strings.Join(strings.Fields(strings.ReplaceAll(low, "zerofill", "")), " ")
	switch {
	case low == "bool" || low == "boolean":
		return "tinyint(1)"
	case low == "double precision" || low == "real" || strings.HasPrefix(low, "double precision "):
		return "double" + strings.TrimPrefix(strings.TrimPrefix(low, "double precision"), "real")
	case strings.HasPrefix(low, "integer"):
		low = "int" + strings.TrimPrefix(low, "integer")
	}
	for _, alias := range []string{"numeric", "dec", "fixed"} {
		if low == alias || strings.HasPrefix(low, alias+"(") || strings.HasPrefix(low, alias+" ") {
			low = "decimal" + strings.TrimPrefix(low, alias)
		}
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

// Valid checks a type before it is written into DDL: a known base type, an
// optional (n), (p,s) or quoted value list, and the unsigned/signed
// attributes. Nothing else can reach a statement.
func Valid(t string) error {
	m := typeRe.FindStringSubmatch(t)
	if m == nil || kinds[m[1]] == "" {
		return fmt.Errorf("column type %q is not a MySQL type Ferry can create (expected e.g. int, bigint unsigned, varchar(255), decimal(10,2), enum('a','b'))", t)
	}
	return nil
}

// kinds maps each base type Ferry knows to its kind.
var kinds = map[string]ferry.ColumnKind{
	"tinyint": ferry.KindInteger, "smallint": ferry.KindInteger, "mediumint": ferry.KindInteger,
	"int": ferry.KindInteger, "bigint": ferry.KindInteger,
	"decimal": ferry.KindDecimal, "float": ferry.KindFloat, "double": ferry.KindDouble, "bit": ferry.KindBit,
	"date": ferry.KindDate, "datetime": ferry.KindDateTime, "timestamp": ferry.KindTimestamp,
	"time": ferry.KindTime, "year": ferry.KindYear,
	"char": ferry.KindChar, "varchar": ferry.KindVarchar,
	"tinytext": ferry.KindText, "text": ferry.KindText, "mediumtext": ferry.KindText, "longtext": ferry.KindText,
	"binary": ferry.KindBinary, "varbinary": ferry.KindVarbinary,
	"tinyblob": ferry.KindBlob, "blob": ferry.KindBlob, "mediumblob": ferry.KindBlob, "longblob": ferry.KindBlob,
	"enum": ferry.KindEnum, "set": ferry.KindSet, "json": ferry.KindJSON,
	"geometry": ferry.KindGeometry, "point": ferry.KindGeometry, "linestring": ferry.KindGeometry,
	"polygon": ferry.KindGeometry, "multipoint": ferry.KindGeometry, "multilinestring": ferry.KindGeometry,
	"multipolygon": ferry.KindGeometry, "geometrycollection": ferry.KindGeometry, "geomcollection": ferry.KindGeometry,
	"uuid": ferry.KindUUID, "inet4": ferry.KindInet, "inet6": ferry.KindInet,
}

// familyLength is the byte limit of the text and blob families.
var familyLength = map[string]int64{
	"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295,
	"tinyblob": 255, "blob": 65535, "mediumblob": 16777215, "longblob": 4294967295,
	"inet4": 4, "inet6": 16,
}

// Parse reads a MySQL type (as SHOW COLUMNS prints it) into a column named
// name: Type is Normalize(t); Base, Kind and the attributes are filled. A
// type Ferry does not know is an error (the caller refuses the column).
func Parse(name, t string, nullable bool) (ferry.Column, error) {
	typ := Normalize(t)
	c := ferry.Column{Name: name, Type: typ, Nullable: nullable, Engine: ferry.EngineMySQL}
	m := typeRe.FindStringSubmatch(typ)
	if m == nil || kinds[m[1]] == "" {
		return c, fmt.Errorf("column %s: unsupported MySQL type %q", name, t)
	}
	c.Base, c.Kind = m[1], kinds[m[1]]
	c.Unsigned = strings.Contains(m[3], "unsigned")
	args := strings.TrimSuffix(strings.TrimPrefix(m[2], "("), ")")
	if c.Kind == ferry.KindEnum || c.Kind == ferry.KindSet {
		return c, nil
	}
	var nums []int64
	if args != "" {
		for _, a := range strings.Split(args, ",") {
			n, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return c, fmt.Errorf("column %s: bad MySQL type %q", name, t)
			}
			nums = append(nums, n)
		}
	}
	arg := func(i int, def int64) int64 {
		if i < len(nums) {
			return nums[i]
		}
		return def
	}
	switch c.Kind {
	case ferry.KindInteger:
		c.Length = arg(0, 0) // display width: only tinyint(1) keeps one
	case ferry.KindDecimal:
		c.Precision, c.Scale = int(arg(0, 10)), int(arg(1, 0))
	case ferry.KindBit:
		c.Precision = int(arg(0, 1))
	case ferry.KindDateTime, ferry.KindTimestamp, ferry.KindTime:
		c.FracSeconds = int(arg(0, 0))
	case ferry.KindChar, ferry.KindBinary:
		c.Length = arg(0, 1)
	case ferry.KindVarchar, ferry.KindVarbinary:
		c.Length = arg(0, 0)
	case ferry.KindText, ferry.KindBlob, ferry.KindInet:
		c.Length = familyLength[c.Base]
	}
	switch c.Kind {
	case ferry.KindBinary, ferry.KindVarbinary, ferry.KindBlob, ferry.KindGeometry:
		c.Binary = true
	}
	return c, nil
}

// Labels returns the labels of an enum or set type ("enum('a','it”s')" →
// a, it's); nil for any other type.
func Labels(t string) []string {
	m := typeRe.FindStringSubmatch(Normalize(t))
	if m == nil || (m[1] != "enum" && m[1] != "set") {
		return nil
	}
	return labels(strings.TrimSuffix(strings.TrimPrefix(m[2], "("), ")"))
}

// labels splits an enum or set value list ('a','b”c') into its labels.
func labels(args string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(args); i++ {
		ch := args[i]
		switch {
		case ch == '\'' && in && i+1 < len(args) && args[i+1] == '\'':
			cur.WriteByte('\'')
			i++
		case ch == '\'':
			in = !in
			if !in {
				out = append(out, cur.String())
				cur.Reset()
			}
		case in:
			cur.WriteByte(ch)
		}
	}
	return out
}

// Charset returns the character set of a MySQL collation name
// ("utf8mb4_bin" → "utf8mb4"; "binary" → "binary").
func Charset(collation string) string {
	if i := strings.IndexByte(collation, '_'); i > 0 {
		return collation[:i]
	}
	return collation
}
