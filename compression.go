package ferry

import (
	"fmt"
	"strconv"
	"strings"
)

// Codec names how a chunk object's CSV is compressed. The loader tells the
// codecs apart by the object's first bytes (gzip and zstd magic numbers; a
// CSV header starts with a column name), so objects written with any codec,
// including those of older releases (always gzip), stay readable.
type Codec string

// The codecs.
const (
	// CodecNone stores the CSV as it is: for a local directory, where
	// compression costs CPU twice and saves nothing that matters.
	CodecNone Codec = "none"
	// CodecGzip is gzip (klauspost/compress), levels 1-9.
	CodecGzip Codec = "gzip"
	// CodecZstd is Zstandard (klauspost/compress/zstd), levels 1-4
	// (fastest, default, better, best).
	CodecZstd Codec = "zstd"
)

// ChunkExt is the extension of a chunk object written with c: ".csv" for
// none, ".csv.zst" for zstd, ".csv.gz" for gzip and for the empty Codec
// (gzip is what a store without a preference gets).
func (c Codec) ChunkExt() string {
	switch c {
	case CodecNone:
		return ".csv"
	case CodecZstd:
		return ".csv.zst"
	}
	return ".csv.gz"
}

// Compression is a codec and its level (0: the codec's default level).
type Compression struct {
	Codec Codec
	Level int
}

// String is the form ParseCompression reads.
func (c Compression) String() string {
	if c.Level == 0 || c.Codec == CodecNone {
		return string(c.Codec)
	}
	return string(c.Codec) + ":" + strconv.Itoa(c.Level)
}

// ParseCompression reads "none", "gzip", "gzip:6", "zstd" or "zstd:1".
func ParseCompression(s string) (Compression, error) {
	name, lvl, hasLevel := strings.Cut(strings.TrimSpace(strings.ToLower(s)), ":")
	c := Compression{Codec: Codec(name)}
	if hasLevel {
		n, err := strconv.Atoi(lvl)
		if err != nil {
			return Compression{}, fmt.Errorf("compression %q: level %q is not a number", s, lvl)
		}
		c.Level = n
	}
	maxLevel := map[Codec]int{CodecNone: 0, CodecGzip: 9, CodecZstd: 4}
	top, ok := maxLevel[c.Codec]
	switch {
	case !ok:
		return Compression{}, fmt.Errorf("compression %q: unknown codec (use none, gzip[:1-9] or zstd[:1-4])", s)
	case c.Level < 0 || c.Level > top:
		return Compression{}, fmt.Errorf("compression %q: level out of range 1-%d", s, top)
	}
	return c, nil
}

// CompressionPreferrer is implemented by a Store that has a better codec
// for its chunk objects than gzip (a local directory: none).
type CompressionPreferrer interface {
	PreferredCompression() Compression
}
