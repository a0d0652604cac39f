package csvcodec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Encoding says how a column's values are written in the dialect.
type Encoding string

const (
	// Text values are written as they are.
	Text Encoding = "text"
	// Hex values are bytes written as \x + lower-case hex (binary, blob).
	Hex Encoding = "hex"
	// Bits values are bit(n) columns written as n binary digits.
	Bits Encoding = "bits"
)

// HeaderColumn is one field of a typed header: the column's name, how its
// values are encoded, and the source type they come from (the source
// engine's type text, e.g. "decimal(12,4)"). A loader compares them with
// the staging table, so that bytes are never loaded as text (nor text as
// bytes) and a source whose shape changed after planning is refused.
type HeaderColumn struct {
	Name     string
	Encoding Encoding
	Type     string
}

// String is the header field: "name:encoding:type", or the bare name.
func (c HeaderColumn) String() string {
	if c.Encoding == "" && c.Type == "" {
		return c.Name
	}
	return c.Name + ":" + string(c.Encoding) + ":" + c.Type
}

// parseHeaderColumn reads a header field. The type is the rest of the
// field after the second ':' (an enum's labels may contain ':').
func parseHeaderColumn(s string) (HeaderColumn, error) {
	name, rest, typed := strings.Cut(s, ":")
	if !typed {
		return HeaderColumn{Name: s}, nil
	}
	enc, typ, ok := strings.Cut(rest, ":")
	if name == "" || !ok {
		return HeaderColumn{}, fmt.Errorf("%q is neither a name nor name:encoding:type", s)
	}
	switch e := Encoding(enc); e {
	case Text, Hex, Bits:
		return HeaderColumn{Name: name, Encoding: e, Type: typ}, nil
	}
	return HeaderColumn{}, fmt.Errorf("%q: unknown encoding %q (want text, hex or bits)", s, enc)
}

var (
	decimalTypeRe  = regexp.MustCompile(`^(?:decimal|numeric)\((\d+)(?:,\s*(\d+))?\)`)
	temporalTypeRe = regexp.MustCompile(`^(?:datetime|timestamp|time)\((\d)\)`)
	temporalBaseRe = regexp.MustCompile(`^(?:datetime|timestamp|time)\b`)
)

// Narrower says why a target column of type target cannot hold every value
// of a source column of type source ("" when it can, or when either type
// is not one it compares): a decimal with fewer integer or fraction
// digits, or a datetime, timestamp or time with fewer fractional seconds
// digits. Both engines' spellings are read ("decimal(12,4)",
// "numeric(12,4)", "datetime(6)", "timestamp(3) without time zone").
func Narrower(source, target string) string {
	source, target = strings.ToLower(strings.TrimSpace(source)), strings.ToLower(strings.TrimSpace(target))
	if s := decimalTypeRe.FindStringSubmatch(source); s != nil {
		t := decimalTypeRe.FindStringSubmatch(target)
		if t == nil {
			return ""
		}
		sp, ss := atoi(s[1]), atoi(s[2])
		tp, ts := atoi(t[1]), atoi(t[2])
		if ss > ts || sp-ss > tp-ts {
			return fmt.Sprintf("%s holds fewer digits than the source's %s", target, source)
		}
		return ""
	}
	if !temporalBaseRe.MatchString(source) || !temporalBaseRe.MatchString(target) {
		return ""
	}
	fsp := func(t string) int {
		if m := temporalTypeRe.FindStringSubmatch(t); m != nil {
			return atoi(m[1])
		}
		if strings.Contains(t, " time zone") {
			return 6 // PostgreSQL's default precision: microseconds
		}
		return 0
	}
	if fsp(source) > fsp(target) {
		return fmt.Sprintf("%s keeps fewer fractional-second digits than the source's %s", target, source)
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Mismatch says why a column exported as h cannot be loaded into a
// staging column of type target whose values travel as enc ("" when it
// can): bytes (hex) into a text column or text into a bytes or bit column
// would publish the hex digits or NULL, and a narrower decimal or datetime
// would round. Bits into a text column are the digits as text (how a
// PostgreSQL bit varying is published on MySQL). A bare header name (no
// encoding) is not checked.
func Mismatch(h HeaderColumn, target string, enc Encoding) string {
	if h.Encoding == "" {
		return ""
	}
	if h.Encoding != enc && (h.Encoding != Bits || enc != Text) {
		return fmt.Sprintf("the export carries it as %s (%s) but staging column %s is %s, which loads %s", h.Encoding, h.Type, h.Name, target, enc)
	}
	return Narrower(h.Type, target)
}
