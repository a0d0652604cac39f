package csvcodec

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func text(s string) Field { return Field{Data: []byte(s)} }
func bin(b []byte) Field  { return Field{Binary: true, Data: b} }

var null = Field{Null: true}

// encode writes the header (if any) and the records and returns the bytes.
func encode(t testing.TB, header []string, recs ...[]Field) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if header != nil {
		if err := w.WriteHeader(header); err != nil {
			t.Fatalf("WriteHeader: %v", err)
		}
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := w.BytesWritten(); got != int64(buf.Len()) {
		t.Fatalf("BytesWritten = %d, stream has %d bytes", got, buf.Len())
	}
	return buf.Bytes()
}

// decode reads every record of data, copying fields (Reader reuses them).
func decode(data []byte) ([][]Field, error) {
	r := NewReader(bytes.NewReader(data))
	var out [][]Field
	for {
		rec, err := r.Read()
		if err == io.EOF {
			if int64(len(out)) != r.Records() {
				return nil, errors.New("Records() disagrees with records read")
			}
			return out, nil
		}
		if err != nil {
			return out, err
		}
		cp := make([]Field, len(rec))
		for i, f := range rec {
			cp[i] = Field{Null: f.Null, Data: bytes.Clone(f.Data)}
		}
		out = append(out, cp)
	}
}

// sameField compares what was written with what was read back: binary
// fields are decoded with DecodeBinary first.
func sameField(t testing.TB, want, got Field) {
	t.Helper()
	if got.Binary {
		t.Errorf("reader set Binary")
	}
	if want.Null || got.Null {
		if want.Null != got.Null {
			t.Errorf("Null = %v, want %v (data %q)", got.Null, want.Null, got.Data)
		}
		return
	}
	data := got.Data
	if want.Binary {
		var err error
		data, err = DecodeBinary(got.Data)
		if err != nil {
			t.Errorf("DecodeBinary(%q): %v", got.Data, err)
			return
		}
	}
	if !bytes.Equal(data, want.Data) {
		t.Errorf("data = %q, want %q", data, want.Data)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		rec    []Field
		encode string // expected bytes of the record, when worth pinning
	}{
		{"null", []Field{null}, "NULL\n"},
		{"empty string", []Field{text("")}, `""` + "\n"},
		{"null vs empty", []Field{null, text(""), null}, `NULL,"",NULL` + "\n"},
		{"literal NULL", []Field{text("NULL")}, `"NULL"` + "\n"},
		{"quoted NULL", []Field{text(`"NULL"`)}, `"""NULL"""` + "\n"},
		{"lower null", []Field{text("null"), text("Null")}, `"null","Null"` + "\n"},
		{"backslash N", []Field{text(`\N`)}, `"\N"` + "\n"},
		{"quotes", []Field{text(`a"b`), text(`"`), text(`""`)}, `"a""b","""",""""""` + "\n"},
		{"commas", []Field{text(","), text("a,b,c")}, `",","a,b,c"` + "\n"},
		{"CR", []Field{text("a\rb"), text("\r")}, "\"a\rb\",\"\r\"\n"},
		{"LF", []Field{text("a\nb"), text("\n\n")}, "\"a\nb\",\"\n\n\"\n"},
		{"CRLF", []Field{text("a\r\nb"), text("\r\n")}, "\"a\r\nb\",\"\r\n\"\n"},
		{"tabs", []Field{text("a\tb"), text("\t")}, "\"a\tb\",\"\t\"\n"},
		{"backslashes", []Field{text(`a\b`), text(`\\`), text(`\"`), text(`\,`)}, `"a\b","\\","\""","\,"` + "\n"},
		{"lone trailing backslash", []Field{text(`abc\`), text(`\`)}, `"abc\","\"` + "\n"},
		{"backslash before quote end", []Field{text(`\`), null}, `"\",NULL` + "\n"},
		{"4-byte utf8", []Field{text("😀 𝄞 𠜎"), text("héllo")}, "\"😀 𝄞 𠜎\",\"héllo\"\n"},
		{"invalid utf8", []Field{text("\xff\xfe\xc3"), text("a\x80b")}, "\"\xff\xfe\xc3\",\"a\x80b\"\n"},
		{"text with NUL", []Field{text("a\x00b")}, "\"a\x00b\"\n"},
		{"binary with NUL", []Field{bin([]byte{0x00, 0x01, 0xff, 0x00})}, `"\x0001ff00"` + "\n"},
		{"binary empty", []Field{bin(nil)}, `"\x"` + "\n"},
		{"binary null", []Field{{Null: true, Binary: true, Data: []byte{1}}}, "NULL\n"},
		{"binary quote bytes", []Field{bin([]byte(`"NULL",`))}, `"\x224e554c4c222c"` + "\n"},
		{"spaces kept", []Field{text(" "), text(" a ")}, `" "," a "` + "\n"},
		{"many fields", []Field{text("1"), null, text(""), bin([]byte{0}), text("x")}, `"1",NULL,"","\x00","x"` + "\n"},
		// Longer than a hex piece and not a multiple of it: encoded piece
		// by piece, BytesWritten still counts every digit.
		{"binary over pieces", []Field{bin(bytes.Repeat([]byte{0xab, 0x00, '"'}, hexPiece+7)), text("x")}, `"\x` + strings.Repeat("ab0022", hexPiece+7) + `","x"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encode(t, nil, tt.rec)
			if tt.encode != "" && string(data) != tt.encode {
				t.Fatalf("encoded %q, want %q", data, tt.encode)
			}
			recs, err := decode(data)
			if err != nil {
				t.Fatalf("decode %q: %v", data, err)
			}
			if len(recs) != 1 || len(recs[0]) != len(tt.rec) {
				t.Fatalf("decoded %d records (%v), want 1 with %d fields", len(recs), recs, len(tt.rec))
			}
			for i := range tt.rec {
				sameField(t, tt.rec[i], recs[0][i])
			}
			// Re-encoding what was read gives the same bytes: the
			// dialect has one spelling per value.
			if re := encode(t, nil, recs[0]); !bytes.Equal(re, data) {
				t.Fatalf("re-encoded %q, want %q", re, data)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	header := []string{"id", "a,b", `q"uote`, "NULL", "multi\nline"}
	rec := []Field{text("1"), null, text(""), text("NULL"), text("x")}
	data := encode(t, header, rec, rec)

	r := NewReader(bytes.NewReader(data))
	got, err := r.ReadHeader()
	if err != nil {
		t.Fatalf("ReadHeader: %v", err)
	}
	if strings.Join(got, "|") != strings.Join(header, "|") || len(got) != len(header) {
		t.Fatalf("header = %q, want %q", got, header)
	}
	for i := 0; i < 2; i++ {
		fs, err := r.Read()
		if err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		for j := range rec {
			sameField(t, rec[j], fs[j])
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("after last record: err = %v, want io.EOF", err)
	}
	if r.Records() != 3 {
		t.Fatalf("Records() = %d, want 3 (header included)", r.Records())
	}
}

func TestWriteHeaderRejectsEmptyName(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.WriteHeader([]string{"a", ""}); err == nil || !strings.Contains(err.Error(), "column 2") {
		t.Fatalf("WriteHeader with an empty name: err = %v, want one naming column 2", err)
	}
}

func TestReadHeaderErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty stream", "", "empty stream"},
		{"null name", `"a",NULL` + "\n", "column 2"},
		{"empty name", `"",` + `"b"` + "\n", "column 1"},
		{"malformed", `"a` + "\n", "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.in)).ReadHeader()
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ReadHeader(%q) err = %v, want ErrSyntax mentioning %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unterminated quote", `"abc`, "line 1: unterminated quoted field"},
		{"unterminated quote over lines", "\"ok\"\n\"a\nb\nc", "line 2: unterminated quoted field"},
		{"garbage after field", `"a"x` + "\n", `unexpected byte 'x' after field`},
		{"space after field", `"a" ,"b"` + "\n", `unexpected byte ' ' after field`},
		{"CRLF terminator", "\"a\"\r\n", `unexpected byte '\r' after field`},
		{"garbage after NULL", "NULLx\n", `unexpected byte 'x' after field`},
		{"unquoted value", "abc\n", "unquoted value other than NULL"},
		{"unquoted number", `"a",1` + "\n", "unquoted value other than NULL"},
		{"unquoted empty field", `"a",,"b"` + "\n", "unquoted value other than NULL"},
		{"unquoted lower null", "null\n", "unquoted value other than NULL"},
		{"unquoted backslash N", `\N` + "\n", "unquoted value other than NULL"},
		{"truncated NULL", "NUL", "unquoted value other than NULL"},
		{"NULL without terminator", "NULL", "missing record terminator"},
		{"quoted without terminator", `"a"`, "missing record terminator"},
		{"trailing comma", `"a",`, "missing field after ','"},
		{"empty line", "\n", "unquoted value other than NULL"},
		{"error on second record", "\"a\"\n\"b\"c\n", "line 2: unexpected byte 'c'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode([]byte(tt.in))
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("decode(%q) err = %v, want ErrSyntax", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decode(%q) err = %q, want it to mention %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestDecodeBinaryErrors(t *testing.T) {
	for _, in := range []string{"", `\`, "x00", `\X00`, `\x0`, `\xzz`, `0x00`} {
		if _, err := DecodeBinary([]byte(in)); err == nil {
			t.Errorf("DecodeBinary(%q) = nil error, want one", in)
		}
	}
}

// TestBufferedAfterHeader checks what a loader relies on: after
// ReadHeader, Buffered() yields exactly the bytes after the header,
// whatever the split between bufio's buffer and the underlying stream.
func TestBufferedAfterHeader(t *testing.T) {
	small := encode(t, []string{"a", "b"}, []Field{text("1"), null}, []Field{text("x\ny"), text(`"`)})
	// Bigger than bufio's 64 KiB buffer, so part of it is still unread.
	var recs [][]Field
	for i := 0; i < 5000; i++ {
		recs = append(recs, []Field{text(strings.Repeat("v", i%50)), null, bin([]byte{byte(i), 0})})
	}
	big := encode(t, []string{"a", "b", "c"}, recs...)
	headerOnly := encode(t, []string{"only"})

	for _, tt := range []struct {
		name string
		data []byte
	}{{"small", small}, {"bigger than buffer", big}, {"header only", headerOnly}} {
		t.Run(tt.name, func(t *testing.T) {
			hdrLen := bytes.IndexByte(tt.data, '\n') + 1
			// A one-byte-at-a-time reader makes the split land anywhere.
			for _, src := range []io.Reader{bytes.NewReader(tt.data), &oneByteReader{tt.data}} {
				r := NewReader(src)
				if _, err := r.ReadHeader(); err != nil {
					t.Fatalf("ReadHeader: %v", err)
				}
				rest, err := io.ReadAll(r.Buffered())
				if err != nil {
					t.Fatalf("ReadAll(Buffered()): %v", err)
				}
				if !bytes.Equal(rest, tt.data[hdrLen:]) {
					t.Fatalf("Buffered() gave %d bytes, want the %d after the header", len(rest), len(tt.data)-hdrLen)
				}
			}
		})
	}
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

// goldenRecord holds one of everything the dialect must carry.
var (
	goldenHeader = []string{"id", "txt", "empty", "nul", "literal_null", "quoted_null", "backslash_n", "multi", "utf8", "bytes"}
	goldenRecord = []Field{
		text("42"),
		text("a \"quoted\", comma\tand tab \\ and trailing \\"),
		text(""),
		null,
		text("NULL"),
		text(`"NULL"`),
		text(`\N`),
		text("line1\nline2\r\nline3\r"),
		text("😀 ünï ☃"),
		bin([]byte{0x00, 0x0a, 0x22, 0x5c, 0xff}),
	}
)

func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "record.golden.csv")
	got := encode(t, goldenHeader, goldenRecord)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded record differs from %s\n got: %q\nwant: %q", path, got, want)
	}
	r := NewReader(bytes.NewReader(want))
	hdr, err := r.ReadHeader()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(hdr, ",") != strings.Join(goldenHeader, ",") {
		t.Fatalf("header = %q", hdr)
	}
	rec, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != len(goldenRecord) {
		t.Fatalf("%d fields, want %d", len(rec), len(goldenRecord))
	}
	for i := range goldenRecord {
		sameField(t, goldenRecord[i], rec[i])
	}
}

// FuzzRoundTrip checks two properties. Any record written is read back
// identically (NULL, text and binary fields). And any input the Reader
// accepts is canonical: writing its records again gives the input back.
func FuzzRoundTrip(f *testing.F) {
	seeds := []struct {
		a, b  []byte
		c     string
		flags uint8
	}{
		{[]byte("NULL"), []byte(`"NULL"`), `\N`, 0},
		{nil, []byte{}, "", 0b001},
		{[]byte("a,b\r\nc"), []byte("\t\\"), "\\", 0b010},
		{[]byte{0, 0xff, '"'}, []byte("\xc3("), "😀", 0b001000},
		{[]byte("x"), []byte{0}, "y", 0b110000},
		{[]byte("\"NULL\",NULL\n\"a\"\"b\"\n"), nil, "\n", 0b100},
		{[]byte("NULL,\"\"\n"), []byte("\"a\"x\n"), `"`, 0},
		{[]byte(`"unterminated`), []byte("NULL"), ",", 0b111},
	}
	for _, s := range seeds {
		f.Add(s.a, s.b, s.c, s.flags)
	}
	f.Fuzz(func(t *testing.T, a, b []byte, c string, flags uint8) {
		// Property 1: write then read.
		rec := []Field{{Data: a}, {Data: b}, {Data: []byte(c)}}
		for i := range rec {
			rec[i].Null = flags&(1<<i) != 0
			rec[i].Binary = flags&(1<<(i+3)) != 0
		}
		data := encode(t, nil, rec, rec[:1])
		recs, err := decode(data)
		if err != nil {
			t.Fatalf("decode(%q): %v", data, err)
		}
		if len(recs) != 2 || len(recs[0]) != 3 || len(recs[1]) != 1 {
			t.Fatalf("decoded %v, want records of 3 and 1 fields", recs)
		}
		for i := range rec {
			sameField(t, rec[i], recs[0][i])
		}
		sameField(t, rec[0], recs[1][0])

		// Property 2: whatever parses is canonical.
		parsed, err := decode(a)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("decode(%q): error %v does not wrap ErrSyntax", a, err)
			}
			return
		}
		if re := encode(t, nil, parsed...); !bytes.Equal(re, a) {
			t.Fatalf("input %q parsed but re-encodes as %q", a, re)
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	rec := []Field{
		text("123456789"),
		text("some ordinary text of a typical column"),
		null,
		text(`with "quotes" and, commas`),
		text("2024-01-02 03:04:05.123456"),
		text("12345.678900"),
		bin(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 8)),
	}
	var size bytes.Buffer
	sw := NewWriter(&size)
	_ = sw.Write(rec)
	_ = sw.Flush()
	b.SetBytes(int64(size.Len()))
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// TestReadErrorIsNotSyntax: a reader failing mid-record (a reset S3
// stream) is reported as its own error, not as malformed data, so that
// callers can retry it.
func TestReadErrorIsNotSyntax(t *testing.T) {
	boom := errors.New("connection reset by peer")
	data := encode(t, []string{"a", "b"}, []Field{text("x,y"), null}, []Field{null, text("z")})
	for cut := 1; cut < len(data); cut++ {
		r := NewReader(io.MultiReader(bytes.NewReader(data[:cut]), &errReader{boom}))
		var err error
		for err == nil {
			_, err = r.Read()
		}
		if !errors.Is(err, boom) || errors.Is(err, ErrSyntax) {
			t.Fatalf("stream cut after %d bytes: err = %v, want the reader's error and not ErrSyntax", cut, err)
		}
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }
