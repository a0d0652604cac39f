package steps

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/ferrydata/ferry"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ioBuffer is the buffer between the codec and the store, on both paths:
// large store writes and reads (one syscall or one pipe hand-off per
// buffer), small enough that chunks in flight keep the process flat.
const ioBuffer = 256 << 10

// castagnoli is CRC-32C, hardware-accelerated on amd64 (SSE4.2) and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksumPrefix starts ExportChunkOutput.Checksum.
const checksumPrefix = "crc32c:"

// newChecksum returns the end-to-end chunk checksum's hash.
func newChecksum() hash.Hash32 { return crc32.New(castagnoli) }

func formatChecksum(h hash.Hash32) string { return fmt.Sprintf("%s%08x", checksumPrefix, h.Sum32()) }

// compression is the codec export-chunk writes with: Deps.Compression when
// set, else the store's preference (ferry.CompressionPreferrer), else gzip
// at its fastest level.
func (s *Steps) compression() ferry.Compression {
	if s.d.Compression.Codec != "" {
		return s.d.Compression
	}
	if p, ok := s.d.Store.(ferry.CompressionPreferrer); ok {
		return p.PreferredCompression()
	}
	return ferry.Compression{Codec: ferry.CodecGzip, Level: gzip.BestSpeed}
}

// nopCloser is an io.WriteCloser whose Close does nothing.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// newEncoder returns a writer compressing into w with c; Close flushes the
// codec's last block (not w).
func newEncoder(w io.Writer, c ferry.Compression) (io.WriteCloser, error) {
	switch c.Codec {
	case ferry.CodecNone:
		return nopCloser{w}, nil
	case ferry.CodecGzip:
		lvl := c.Level
		if lvl == 0 {
			lvl = gzip.BestSpeed
		}
		return gzip.NewWriterLevel(w, lvl)
	case ferry.CodecZstd:
		lvl := zstd.SpeedFastest
		if c.Level > 0 {
			lvl = zstd.EncoderLevel(c.Level)
		}
		// One goroutine and a 1 MiB window: memory per chunk stays small
		// and flat, as many chunks run at once.
		return zstd.NewWriter(w, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	}
	return nil, fmt.Errorf("unknown codec %q", c.Codec)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// newDecoder returns the CSV inside the object r, whatever its codec: gzip
// and zstd by their magic numbers, else the object is the CSV itself (its
// header starts with a column name, never with those bytes). close
// releases the decoder.
func newDecoder(r *bufio.Reader) (csv io.Reader, close func(), err error) {
	head, _ := r.Peek(len(zstdMagic))
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	}
	return r, func() {}, nil
}

// verifyReader hashes and counts what is read. Reaching the end of a stream
// whose checksum or size differs from the export's returns a
// *ferry.DataError instead of io.EOF, so the loader fails and its
// transaction rolls back: a corrupt or tampered object is never committed
// to staging.
type verifyReader struct {
	r        io.Reader
	h        hash.Hash
	n        int64
	want     string
	wantSize int64
	format   func(hash.Hash) string
	mismatch func(got string, n int64) error
}

// newVerifyReader verifies r against in's Checksum (CRC-32C), or against
// its SHA256 for an export of an earlier release; ok is false when in
// carries neither.
func newVerifyReader(r io.Reader, in ferry.ExportChunkOutput, mismatch func(got string, n int64) error) (*verifyReader, bool) {
	v := &verifyReader{r: r, wantSize: in.RawBytes, mismatch: mismatch}
	switch {
	case len(in.Checksum) == len(checksumPrefix)+8 && in.Checksum[:len(checksumPrefix)] == checksumPrefix:
		v.h, v.want = newChecksum(), in.Checksum
		v.format = func(h hash.Hash) string { return formatChecksum(h.(hash.Hash32)) }
	case in.Checksum == "" && len(in.SHA256) == 64:
		v.h, v.want = sha256.New(), in.SHA256
		v.format = func(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
	default:
		return nil, false
	}
	return v, true
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if got := v.format(v.h); got != v.want || v.n != v.wantSize {
			return n, v.mismatch(got, v.n)
		}
	}
	return n, err
}
