package csvcodec

import (
	"fmt"
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
