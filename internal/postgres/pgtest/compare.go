package pgtest

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrydata/ferry/internal/csvcodec"
)

// Same reports whether got, a value read back from a target as text,
// equals want, the text the source exported, as m says.
func (m Compare) Same(want, got string) bool {
	switch m {
	case Float32, Float64:
		bits := 64
		if m == Float32 {
			bits = 32
		}
		w, err1 := strconv.ParseFloat(want, bits)
		g, err2 := strconv.ParseFloat(got, bits)
		return err1 == nil && err2 == nil && math.Float64bits(w) == math.Float64bits(g)
	case Decimal:
		w, ok1 := new(big.Rat).SetString(want)
		g, ok2 := new(big.Rat).SetString(got)
		return ok1 && ok2 && w.Cmp(g) == 0
	case Datetime:
		return trimFraction(want) == trimFraction(got)
	case Bits:
		w, err := strconv.ParseUint(want, 2, 64)
		var g uint64
		for _, b := range []byte(got) {
			g = g<<8 | uint64(b)
		}
		return err == nil && w == g
	case Bytes:
		b, err := csvcodec.DecodeBinary([]byte(want))
		return err == nil && string(b) == got
	}
	return want == got
}

// trimFraction drops the trailing zeros of a time's fraction of a second
// (MySQL prints the declared digits: 12:30:00.500000).
func trimFraction(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 && !strings.ContainsAny(s[i:], " :-") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// CheckValue compares a value read back from a target (nil: NULL) with
// the exported one, as m says, reporting a difference on t.
func CheckValue(t testing.TB, col string, id int, m Compare, wantNull bool, want string, got *string) {
	t.Helper()
	if wantNull || got == nil {
		if wantNull != (got == nil) {
			shown := "NULL"
			if got != nil {
				shown = strconv.Quote(*got)
			}
			t.Errorf("%s row %d: NULL mismatch: want NULL %v, got %s", col, id, wantNull, shown)
		}
		return
	}
	if !m.Same(want, *got) {
		t.Errorf("%s row %d (%s): target has %q, the source exported %q", col, id, m, *got, want)
	}
}
