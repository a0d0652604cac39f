package mysql

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// SourceReadBuffer is the read buffer withReadBuffer puts between a source
// connection's socket and the driver. The driver reads a result set in
// 4 KiB pieces (its own buffer only grows for a larger packet), one system
// call each; with this buffer one call takes whatever the socket holds, up
// to 64 KiB. docs/performance.md has the measured effect.
const SourceReadBuffer = 64 << 10

// withReadBuffer makes the driver dial its TCP or Unix socket itself and
// read it through a SourceReadBuffer-byte buffer (see bufferedConn). Other
// networks (a custom dial registered with the driver) are left alone.
func withReadBuffer(cfg *mysql.Config) {
	switch cfg.Net {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newBufferedConn(c, SourceReadBuffer), nil
	}
}

// bufferedConn is a net.Conn whose reads go through a bufio.Reader;
// writes, deadlines and Close go to the socket. TLS, when configured,
// runs on top of it (the driver wraps the conn it dialled).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// syscallBufferedConn is a bufferedConn on a socket that exposes its file
// descriptor, so the driver's idle-connection liveness check still runs.
type syscallBufferedConn struct{ *bufferedConn }

func newBufferedConn(c net.Conn, size int) net.Conn {
	b := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, size)}
	if _, ok := c.(syscall.Conn); ok {
		return syscallBufferedConn{b}
	}
	return b
}

// Read reads through the buffer.
func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// errBufferedUnread fails the driver's liveness check of a pooled
// connection that still has unread bytes: as with bytes in the socket,
// the connection is out of step and must not be reused.
var errBufferedUnread = errors.New("mysql: idle connection has unread data buffered")

// SyscallConn gives the driver's liveness check the socket, which is only
// meaningful while nothing is left in the buffer.
func (c syscallBufferedConn) SyscallConn() (syscall.RawConn, error) {
	if c.r.Buffered() > 0 {
		return nil, errBufferedUnread
	}
	rc, err := c.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("mysql: socket of %s: %w", c.RemoteAddr(), err)
	}
	return rc, nil
}
