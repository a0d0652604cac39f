package steps

import (
	"bufio"
	"bytes"
	"io"

	"github.com/ferrydata/ferry"
)

// DecodeObject returns the CSV inside a chunk object and the object's codec.
func DecodeObject(obj []byte) ([]byte, ferry.Codec, error) {
	codec := ferry.CodecNone
	switch {
	case bytes.HasPrefix(obj, gzipMagic):
		codec = ferry.CodecGzip
	case bytes.HasPrefix(obj, zstdMagic):
		codec = ferry.CodecZstd
	}
	r, closeDecoder, err := newDecoder(bufio.NewReader(bytes.NewReader(obj)))
	if err != nil {
		return nil, "", err
	}
	defer closeDecoder()
	csv, err := io.ReadAll(r)
	return csv, codec, err
}

// EncodeObject compresses csv as export-chunk does with c.
func EncodeObject(csv []byte, c ferry.Codec) ([]byte, error) {
	var b bytes.Buffer
	w, err := newEncoder(&b, ferry.Compression{Codec: c})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(csv); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Checksum is ExportChunkOutput.Checksum of csv.
func Checksum(csv []byte) string {
	h := newChecksum()
	h.Write(csv)
	return formatChecksum(h)
}
