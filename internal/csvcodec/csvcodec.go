// Package csvcodec is Ferry's one CSV dialect, shared by the exporter and
// both loaders. It round-trips byte-exact through MySQL's LOAD DATA and
// PostgreSQL's COPY:
//
//   - fields are separated by ',' and records end with '\n';
//   - every non-NULL value is enclosed in '"', with an embedded '"' doubled;
//     nothing else is escaped: CR, LF, tabs and backslashes are literal;
//   - NULL is the bare word NULL, never enclosed; the string "NULL" is
//     written enclosed, so the two never meet;
//   - binary values (BINARY, VARBINARY, BLOB) are written as \x followed by
//     lower-case hex, which PostgreSQL's bytea reads natively and the MySQL
//     loader turns back into bytes with UNHEX;
//   - the first record is a header: one field per column, either the bare
//     name or "name:encoding:type" (see HeaderColumn), which tells the
//     loader how each value was written and from what source type.
//
// The matching load options are MySQLLoadOptions and PostgresCopyOptions.
//
// Why not encoding/csv: it cannot enclose every field (it writes "" and
// NULL alike, unenclosed) and its reader does not report whether a field was
// enclosed, which is exactly what separates NULL from the string "NULL".
package csvcodec

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MySQLLoadOptions are the LOAD DATA clauses that read this dialect.
// An empty ESCAPED BY keeps backslashes literal; an unenclosed NULL is NULL.
const MySQLLoadOptions = `CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\n'`

// PostgresCopyOptions are the COPY options that read this dialect (the
// loader strips the header itself). An unquoted NULL is NULL; a quoted one
// is the string.
const PostgresCopyOptions = `(FORMAT csv, DELIMITER ',', QUOTE '"', ESCAPE '"', NULL 'NULL', ENCODING 'UTF8')`

// Field is one value of a record.
type Field struct {
	// Null is SQL NULL; Data is ignored.
	Null bool
	// Binary asks the writer to hex-encode Data. The reader never sets it:
	// whether a column is binary is known from its type (see DecodeBinary).
	Binary bool
	Data   []byte
}

// Writer writes the dialect. It holds no record: values are copied (binary
// ones hex-encoded hexPiece bytes at a time) into bufio's buffer, so a
// 64 MB value costs no more memory than a small one; Flush must be called
// at the end.
type Writer struct {
	w   *bufio.Writer
	n   int64
	hex []byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10)}
}

// BytesWritten is the number of bytes written so far (including buffered).
func (w *Writer) BytesWritten() int64 { return w.n }

// WriteHeader writes a header of bare names. Names must not be empty.
func (w *Writer) WriteHeader(names []string) error {
	cols := make([]HeaderColumn, len(names))
	for i, n := range names {
		cols[i] = HeaderColumn{Name: n}
	}
	return w.WriteHeaderColumns(cols)
}

// WriteHeaderColumns writes the header record: each column as
// "name:encoding:type", or its bare name when it has neither. Names must
// not be empty nor contain ':'.
func (w *Writer) WriteHeaderColumns(cols []HeaderColumn) error {
	rec := make([]Field, len(cols))
	for i, c := range cols {
		if c.Name == "" || strings.IndexByte(c.Name, ':') >= 0 {
			return fmt.Errorf("csvcodec: header column %d: name %q is empty or contains ':'", i+1, c.Name)
		}
		rec[i] = Field{Data: []byte(c.String())}
	}
	return w.Write(rec)
}

// Write writes one record.
func (w *Writer) Write(rec []Field) error {
	for i, f := range rec {
		if i > 0 {
			w.w.WriteByte(',')
			w.n++
		}
		if f.Null {
			w.w.WriteString("NULL")
			w.n += 4
			continue
		}
		w.w.WriteByte('"')
		w.n++
		if f.Binary {
			w.writeHex(f.Data)
		} else {
			w.writeQuoted(f.Data)
		}
		w.w.WriteByte('"')
		w.n++
	}
	// WriteByte, not Write([]byte{'\n'}): the slice would escape to the
	// heap, one allocation per record. bufio's error is sticky: a failed
	// write of any field above is reported here.
	err := w.w.WriteByte('\n')
	w.n++
	return err
}

// hexPiece is how many bytes of a binary value are hex-encoded at a time.
const hexPiece = 16 << 10

// writeHex writes b as \x and its hex digits, a piece at a time.
func (w *Writer) writeHex(b []byte) {
	if w.hex == nil {
		w.hex = make([]byte, 2*hexPiece)
	}
	w.w.WriteString(`\x`)
	w.n += 2 + int64(hex.EncodedLen(len(b)))
	for len(b) > 0 {
		p := b[:min(len(b), hexPiece)]
		w.w.Write(w.hex[:hex.Encode(w.hex, p)])
		b = b[len(p):]
	}
}

func (w *Writer) writeQuoted(b []byte) {
	for {
		i := bytes.IndexByte(b, '"')
		if i < 0 {
			w.w.Write(b)
			w.n += int64(len(b))
			return
		}
		w.w.Write(b[:i+1])
		w.w.WriteByte('"')
		w.n += int64(i + 2)
		b = b[i+1:]
	}
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

// ErrSyntax is wrapped by every Reader parse error.
var ErrSyntax = errors.New("csvcodec: malformed record")

// Reader reads the dialect. Field.Data slices are valid until the next Read.
type Reader struct {
	r      *bufio.Reader
	line   int64
	record int64
	buf    []byte
	fields []Field
	ends   []int
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Buffered exposes the reader's buffer, so a loader that has read the
// header can hand the rest of the stream, unparsed, to the database.
func (r *Reader) Buffered() *bufio.Reader { return r.r }

// Records is the number of records read so far (the header included).
func (r *Reader) Records() int64 { return r.record }

// Read returns the next record, or io.EOF after the last one.
func (r *Reader) Read() ([]Field, error) {
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	nulls := make([]bool, 0, len(r.fields))
	r.line++
	startLine := r.line
	c, err := r.r.ReadByte()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	for {
		// c is the first byte of a field.
		switch c {
		case '"':
			for {
				b, err := r.r.ReadByte()
				if err != nil {
					return nil, truncated(err, startLine, "unterminated quoted field")
				}
				if b == '\n' {
					r.line++
				}
				if b != '"' {
					r.buf = append(r.buf, b)
					continue
				}
				b, err = r.r.ReadByte()
				if err == nil && b == '"' {
					r.buf = append(r.buf, '"')
					continue
				}
				if err != nil {
					return nil, truncated(err, startLine, "missing record terminator")
				}
				c = b
				break
			}
			r.ends = append(r.ends, len(r.buf))
			nulls = append(nulls, false)
		case 'N':
			var tail [4]byte
			tail[0] = 'N'
			if _, err := io.ReadFull(r.r, tail[1:]); err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
				return nil, truncated(err, startLine, "")
			} else if err != nil || string(tail[:]) != "NULL" {
				return nil, fmt.Errorf("%w: record at line %d: unquoted value other than NULL", ErrSyntax, startLine)
			}
			r.ends = append(r.ends, len(r.buf))
			nulls = append(nulls, true)
			b, err := r.r.ReadByte()
			if err != nil {
				return nil, truncated(err, startLine, "missing record terminator")
			}
			c = b
		default:
			return nil, fmt.Errorf("%w: record at line %d: unquoted value other than NULL", ErrSyntax, startLine)
		}
		switch c {
		case ',':
			b, err := r.r.ReadByte()
			if err != nil {
				return nil, truncated(err, startLine, "missing field after ','")
			}
			c = b
			continue
		case '\n':
			r.record++
			return r.assemble(nulls), nil
		default:
			return nil, fmt.Errorf("%w: record at line %d: unexpected byte %q after field", ErrSyntax, startLine, c)
		}
	}
}

// truncated reports a read that ended inside a record: at io.EOF the
// stream is malformed (ErrSyntax); any other error is the underlying
// reader's (a broken connection, say), returned wrapped so that callers can
// tell it from bad data and retry.
func truncated(err error, line int64, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: record at line %d: %s", ErrSyntax, line, what)
	}
	return fmt.Errorf("csvcodec: read record at line %d: %w", line, err)
}

func (r *Reader) assemble(nulls []bool) []Field {
	r.fields = r.fields[:0]
	start := 0
	for i, end := range r.ends {
		r.fields = append(r.fields, Field{Null: nulls[i], Data: r.buf[start:end:end]})
		start = end
	}
	return r.fields
}

// ReadHeader reads the header record and returns its names (a typed
// header's types are dropped; see ReadHeaderColumns).
func (r *Reader) ReadHeader() ([]string, error) {
	cols, err := r.ReadHeaderColumns()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names, nil
}

// ReadHeaderColumns reads the header record. Bare names give columns
// without Encoding and Type.
func (r *Reader) ReadHeaderColumns() ([]HeaderColumn, error) {
	rec, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: empty stream, no header", ErrSyntax)
	}
	if err != nil {
		return nil, err
	}
	cols := make([]HeaderColumn, len(rec))
	for i, f := range rec {
		if f.Null || len(f.Data) == 0 {
			return nil, fmt.Errorf("%w: header column %d has no name", ErrSyntax, i+1)
		}
		c, err := parseHeaderColumn(string(f.Data))
		if err != nil {
			return nil, fmt.Errorf("%w: header column %d: %v", ErrSyntax, i+1, err)
		}
		cols[i] = c
	}
	return cols, nil
}

// DecodeBinary turns a binary field's text (\x + hex) back into bytes.
func DecodeBinary(text []byte) ([]byte, error) {
	if len(text) < 2 || text[0] != '\\' || text[1] != 'x' {
		return nil, fmt.Errorf("csvcodec: binary value does not start with \\x")
	}
	out := make([]byte, hex.DecodedLen(len(text)-2))
	if _, err := hex.Decode(out, text[2:]); err != nil {
		return nil, fmt.Errorf("csvcodec: binary value: %w", err)
	}
	return out, nil
}
