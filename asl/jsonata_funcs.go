package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"strings"

	jsonata "github.com/blues/jsonata-go"
	"github.com/blues/jsonata-go/jtypes"
)

// jsonataFunctions are the functions Step Functions adds to JSONata
// (transforming-data.html, "JSONata functions provided by Step
// Functions"), $random overridden to take an optional seed, and
// corrections to the library: $assert (JSONata 2.0) and
// $encodeUrlComponent / $encodeUrl with JavaScript's escaping.
var jsonataFunctions = map[string]jsonata.Extension{
	"partition":          {Func: jPartition},
	"range":              {Func: jRange},
	"hash":               {Func: jHash},
	"random":             {Func: jRandom},
	"uuid":               {Func: jUUID},
	"parse":              {Func: jParse},
	"assert":             {Func: jAssert},
	"encodeUrlComponent": {Func: func(s string) string { return jsEncode(s, "-_.!~*'()") }},
	"encodeUrl":          {Func: func(s string) string { return jsEncode(s, "-_.!~*'();/?:@&=+$,#") }},
}

// jPartition splits an array into chunks of size (the last may be smaller).
func jPartition(arr []any, size float64) ([]any, error) {
	if size < 1 || size != math.Trunc(size) {
		return nil, fmt.Errorf("$partition: the chunk size must be a positive integer, got %v", size)
	}
	n := int(size)
	out := []any{}
	for i := 0; i < len(arr); i += n {
		end := min(i+n, len(arr))
		out = append(out, append([]any(nil), arr[i:end]...))
	}
	return out, nil
}

// jRange is [start, start+step, ...] up to end inclusive (at most 1000
// items, as States.ArrayRange).
func jRange(start, end, step float64) ([]any, error) {
	if step == 0 || step != math.Trunc(step) || start != math.Trunc(start) || end != math.Trunc(end) {
		return nil, errors.New("$range: start, end and a non-zero step must be integers")
	}
	out := []any{}
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		if len(out) == 1000 {
			return nil, errors.New("$range: the result would have more than 1000 items")
		}
		out = append(out, v)
	}
	return out, nil
}

// jHash hashes a string with MD5, SHA-1, SHA-256, SHA-384 or SHA-512 and
// returns lowercase hex.
func jHash(data, algorithm string) (string, error) {
	var h hash.Hash
	switch algorithm {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return "", fmt.Errorf("$hash: algorithm %q is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", algorithm)
	}
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// jRandom is a number in [0, 1); with a seed the same seed gives the same
// number.
func jRandom(seed jtypes.OptionalFloat64) float64 {
	if !seed.IsSet() {
		return mrand.Float64()
	}
	s := math.Float64bits(seed.Float64)
	return mrand.New(mrand.NewPCG(s, s^0x9e3779b97f4a7c15)).Float64()
}

// jUUID is a random version 4 UUID.
func jUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// jParse parses a JSON string (AWS's replacement for $eval).
func jParse(s string) (any, error) {
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("$parse: %v", err)
	}
	return toJSONata(v), nil
}

// jAssert fails with message when cond is false.
func jAssert(cond bool, message jtypes.OptionalString) (any, error) {
	if cond {
		return nil, nil
	}
	if message.IsSet() {
		return nil, errors.New(message.String)
	}
	return nil, errors.New("$assert() statement failed")
}

// jsEncode percent-encodes s as JavaScript's encodeURIComponent (keep:
// the characters left as they are besides letters and digits).
func jsEncode(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
