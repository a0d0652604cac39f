package csvcodec

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestTypedHeader(t *testing.T) {
	cols := []HeaderColumn{
		{Name: "id", Encoding: Text, Type: "bigint unsigned"},
		{Name: "note", Encoding: Hex, Type: "varbinary(40)"},
		{Name: "flags", Encoding: Bits, Type: "bit(8)"},
		{Name: "state", Encoding: Text, Type: "enum('a:b','c,d','e\"f')"},
		{Name: "plain"},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteHeaderColumns(cols); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `"id:text:bigint unsigned","note:hex:varbinary(40)","flags:bits:bit(8)","state:text:enum('a:b','c,d','e""f')","plain"` + "\n"
	if buf.String() != want {
		t.Fatalf("header\n%s\nwant\n%s", buf.String(), want)
	}
	got, err := NewReader(strings.NewReader(buf.String())).ReadHeaderColumns()
	if err != nil || !reflect.DeepEqual(got, cols) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	names, err := NewReader(strings.NewReader(buf.String())).ReadHeader()
	if err != nil || !reflect.DeepEqual(names, []string{"id", "note", "flags", "state", "plain"}) {
		t.Fatalf("names %q, %v", names, err)
	}
	for _, bad := range []string{`"id:"` + "\n", `"id:text"` + "\n", `"id:base64:blob"` + "\n", `":text:int"` + "\n"} {
		if _, err := NewReader(strings.NewReader(bad)).ReadHeaderColumns(); !errors.Is(err, ErrSyntax) {
			t.Errorf("header %q: %v, want ErrSyntax", bad, err)
		}
	}
	if err := NewWriter(&buf).WriteHeaderColumns([]HeaderColumn{{Name: "a:b"}}); err == nil {
		t.Error("a name with ':' was written")
	}
}

func TestNarrower(t *testing.T) {
	for _, c := range []struct {
		src, dst string
		narrower bool
	}{
		{"decimal(12,4)", "decimal(10,2)", true},
		{"decimal(12,4)", "numeric(12,4)", false},
		{"numeric(12,4)", "decimal(14,4) unsigned", false},
		{"decimal(10,2)", "decimal(10,4)", true}, // 8 integer digits into 6
		{"decimal(12,4)", "numeric", false},
		{"datetime(6)", "datetime", true},
		{"datetime(6)", "timestamp without time zone", false},
		{"timestamp(3) without time zone", "datetime(2)", true},
		{"datetime", "timestamp(0) without time zone", false},
		{"varchar", "text", false},
	} {
		if got := Narrower(c.src, c.dst); (got != "") != c.narrower {
			t.Errorf("Narrower(%q, %q) = %q, want narrower %v", c.src, c.dst, got, c.narrower)
		}
	}
}
