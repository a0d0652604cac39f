package mysql

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestOpenSourceReadBuffer: OpenSource's pool (read through a
// SourceReadBuffer) exports the same bytes as a plain Open pool, over
// rows larger than the driver's 4 KiB reads and results larger than the buffer, and keeps
// working after its connections went back to the pool.
func TestOpenSourceReadBuffer(t *testing.T) {
	ctx := context.Background()
	_, dsn := testdb.MySQL(t)
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range mixedRowsSQL(2000) {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("UPDATE mixed SET note = REPEAT('x\"y,', 15000) WHERE id % 500 = 7"); err != nil {
		t.Fatal(err)
	}
	src, done, err := Engine{}.OpenSource(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	plain, err := Open(ctx, dsn, withSourceMode)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, r := range []struct{ lo, hi int64 }{{0, 1000}, {1000, 1 << 40}, {0, 1 << 40}} {
		req := ferry.ExportRequest{Query: "SELECT * FROM mixed", ChunkColumn: "id", Lo: r.lo, Hi: r.hi}
		var got, want bytes.Buffer
		if _, err := src.Export(ctx, req, &got); err != nil {
			t.Fatalf("[%d,%d) buffered: %v", r.lo, r.hi, err)
		}
		if _, err := NewSource(plain).Export(ctx, req, &want); err != nil {
			t.Fatalf("[%d,%d) plain: %v", r.lo, r.hi, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) || got.Len() < 2*SourceReadBuffer {
			t.Fatalf("[%d,%d): buffered export is %d bytes, plain %d, not equal", r.lo, r.hi, got.Len(), want.Len())
		}
	}
}

// TestBufferedConnLiveness: the driver's idle-connection check sees the
// socket only when nothing is left unread in the buffer; otherwise the
// connection is out of step and the check must fail.
func TestBufferedConnLiveness(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("abcdef"))
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := newBufferedConn(raw, 1024)
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T on a TCP socket does not expose it", c)
	}
	for _, step := range []struct {
		read    int
		wantErr error
	}{{read: 2, wantErr: errBufferedUnread}, {read: 4, wantErr: nil}} {
		if _, err := io.ReadFull(c, make([]byte, step.read)); err != nil {
			t.Fatal(err)
		}
		if _, err := sc.SyscallConn(); !errors.Is(err, step.wantErr) {
			t.Fatalf("after reading %d bytes: SyscallConn error %v, want %v", step.read, err, step.wantErr)
		}
	}
}
