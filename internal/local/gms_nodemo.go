//go:build nodemo

package local

import (
	"context"
	"errors"
)

// Server is the embedded server's stand-in in a build without it (-tags
// nodemo, as `make cli` builds bin/ferry): go-mysql-server's packages cost
// every ferry process about 0.7 s of CPU and 50 MB of memory at start-up
// (go-icu-regex compiles its WebAssembly module in a package variable),
// which `ferry run` must not pay. `ferry demo --source postgres` needs no
// embedded server and works in either build.
type Server struct{ addr string }

// errNoEmbedded is what StartServer returns in this build.
var errNoEmbedded = errors.New("local: this ferry was built without the embedded demo server (-tags nodemo, as make cli builds it): run make demo (bin/ferry-demo), or ferry demo --source postgres")

// StartServer fails: this build has no embedded server.
func StartServer(ctx context.Context, databases ...string) (*Server, error) {
	return nil, errNoEmbedded
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// DSN is the go-sql-driver DSN of database db.
func (s *Server) DSN(db string) string { return "root@tcp(" + s.addr + ")/" + db }

// URL is the mysql:// URL of database db.
func (s *Server) URL(db string) string { return "mysql://root@" + s.addr + "/" + db }

// Close does nothing.
func (s *Server) Close() error { return nil }
