package mysql

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/go-sql-driver/mysql"
)

// TestVerifyFullNeverFallsBack: with ferry.TLSVerifyFull the DSN requires
// TLS verified against the bundle (a registered tls config, the host as
// server name); against a server without TLS, or a file without a
// certificate, the connection fails instead of going on in plaintext.
func TestVerifyFullNeverFallsBack(t *testing.T) {
	_, dsn := testdb.MySQL(t)
	cfg, err := mysql.ParseDSN(dsn)
	testdb.Must(t, "parse", err)
	host, port, _ := net.SplitHostPort(cfg.Addr)
	p, _ := strconv.Atoi(port)
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	testdb.Must(t, "write bundle", os.WriteFile(bundle, []byte("not a certificate"), 0o600))
	c := ferry.Credentials{Engine: ferry.EngineMySQL, Host: host, Port: p, Username: cfg.User, Password: cfg.Passwd, DBName: cfg.DBName}
	got := Engine{}.CredentialsDSN(c, ferry.TLSVerifyFull+bundle)
	parsed, err := mysql.ParseDSN(got)
	testdb.Must(t, "parse the DSN", err)
	if !strings.HasPrefix(parsed.TLSConfig, "ferry-ca-") || parsed.TLS == nil || parsed.TLS.InsecureSkipVerify || parsed.TLS.ServerName != host || parsed.AllowFallbackToPlaintext {
		t.Fatalf("DSN tls %q: %+v", parsed.TLSConfig, parsed.TLS)
	}
	if again := (Engine{}).CredentialsDSN(c, ferry.TLSVerifyFull+bundle); again != got {
		t.Fatalf("the same bundle registered twice: %s vs %s", again, got)
	}
	db, err := Open(ctxT(t), got)
	if err == nil {
		db.Close()
		t.Fatal("connected without a verified TLS session")
	}
}
