package mysql

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"os"
	"sync"

	"github.com/go-sql-driver/mysql"
)

var registered sync.Map // CA file → TLS config name

// registerCA registers, once per file, a go-sql-driver TLS config that
// verifies the server's certificate against the PEM certificates of file
// (the driver sets ServerName to the DSN's host, so the name is checked
// too) and returns its name, for a DSN's tls parameter. A file that
// cannot be read or holds no certificate registers a config that trusts
// nothing: connecting then fails on the certificate, never unverified.
func registerCA(file string) string {
	if name, ok := registered.Load(file); ok {
		return name.(string)
	}
	sum := sha256.Sum256([]byte(file))
	name := "ferry-ca-" + hex.EncodeToString(sum[:6])
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(file); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	// Registration only fails for a reserved name, which this is not.
	_ = mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	registered.Store(file, name)
	return name
}
