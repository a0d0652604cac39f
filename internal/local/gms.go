//go:build !nodemo

package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"
)

// Server is an embedded MySQL-compatible server (go-mysql-server, memory
// backend) listening on a random free port of 127.0.0.1. It accepts the
// user root with no password. It is what `ferry demo` runs against so that
// nothing needs to be installed; docs/demo.md lists what it supports and
// which fallbacks Ferry's MySQL adapter uses on it.
//
// Data lives in memory only and is gone after Close.
type Server struct {
	srv  *server.Server
	addr string
	done chan error
	once sync.Once
}

// logrusOnce silences go-mysql-server's logrus logging (one line per
// query at info level) for the whole process: Ferry logs with slog.
var logrusOnce sync.Once

// StartServer starts an embedded server with the given (empty) databases;
// more can be created with CREATE DATABASE. Close stops it.
func StartServer(ctx context.Context, databases ...string) (*Server, error) {
	logrusOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.ErrorLevel)
	})
	dbs := make([]gsql.Database, 0, len(databases))
	for _, name := range databases {
		dbs = append(dbs, memory.NewDatabase(name))
	}
	pro := memory.NewDBProvider(dbs...)
	engine := sqle.NewDefault(pro)

	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("local: embedded server: listen on 127.0.0.1: %w", err)
	}
	cfg := server.Config{
		Protocol: "tcp",
		Address:  l.Addr().String(),
		Listener: l,
		// The demo's connections are short-lived and local.
		ConnReadTimeout:  0,
		ConnWriteTimeout: 0,
	}
	srv, err := server.NewServer(cfg, engine, gsql.NewContext, memory.NewSessionBuilder(pro), nil)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("local: embedded server: %w", err)
	}
	s := &Server{srv: srv, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { s.done <- srv.Start() }()
	// Wait until it accepts connections (Start runs the accept loop).
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		c, err := d.DialContext(ctx, "tcp", s.addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Close()
			return nil, fmt.Errorf("local: embedded server did not start on %s: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s, nil
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// DSN is the go-sql-driver DSN of database db (root, no password).
func (s *Server) DSN(db string) string { return "root@tcp(" + s.addr + ")/" + db }

// URL is the mysql:// URL of database db, the form FERRY_*_DSN takes.
func (s *Server) URL(db string) string { return "mysql://root@" + s.addr + "/" + db }

// Close stops the server and waits for its accept loop to end. Clients
// should close their connections first. Calling Close twice is harmless.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err = s.srv.Close()
		select {
		case <-s.done:
			// Start returns the listener's close error: not a failure.
		case <-time.After(5 * time.Second):
			err = errors.Join(err, errors.New("local: embedded server did not stop within 5s"))
		}
	})
	return err
}
