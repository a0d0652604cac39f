package asl

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// encodeJSON must give the bytes encoding/json gives (sorted keys, no HTML
// escaping), since payload sizes and history payloads depend on them.
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", "quote\" back\\slash", "\b\f\n\r\t\x00\x01\x1f\x7f", "<&>", "\u2028\u2029", "é 日本 🚀",
		"bad \xff utf8 \xc3", int64(0), int64(-42), int64(math.MaxInt64), 0.0, -0.0, 1.5, 1e21, 1e20, 1e-6, 1e-7, 123456789.125, -2.5e-10, math.MaxFloat64,
		map[string]any{"b": int64(1), "a": []any{nil, "x", map[string]any{}}, "é": 2.0},
		[]any{}, map[string]any{"k<": "v>"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		values = append(values, randomValue(rng, 3))
	}
	for _, v := range values {
		got, err := encodeJSON(v)
		if err != nil {
			t.Fatalf("encodeJSON(%#v): %v", v, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(buf.String(), "\n"); string(got) != want {
			t.Errorf("encodeJSON(%#v)\n got %s\nwant %s", v, got, want)
		}
	}
	if _, err := encodeJSON(math.NaN()); err == nil {
		t.Error("NaN encoded without error")
	}
}

func randomValue(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(8); {
	case depth > 0 && k == 0:
		m := map[string]any{}
		for range rng.IntN(4) {
			m[randomString(rng)] = randomValue(rng, depth-1)
		}
		return m
	case depth > 0 && k == 1:
		a := []any{}
		for range rng.IntN(4) {
			a = append(a, randomValue(rng, depth-1))
		}
		return a
	case k == 2:
		return rng.Int64() - rng.Int64()
	case k == 3:
		return math.Float64frombits(rng.Uint64()&^(0x7ff<<52) | uint64(rng.IntN(0x7fe))<<52)
	case k == 4:
		return rng.IntN(2) == 0
	case k == 5:
		return nil
	}
	return randomString(rng)
}

func randomString(rng *rand.Rand) string {
	b := make([]byte, rng.IntN(12))
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return string(b)
}
