package wire

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/s3store"
)

// systemRoots are where Linux distributions keep their CA bundle (Amazon
// Linux 2023's first): appended to the database bundle, so that RDS
// Proxy's certificates (Amazon Trust Services) verify too.
var systemRoots = []string{
	"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt",
	"/etc/ssl/ca-bundle.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
}

// tls is the TLS setting for a secret-based database of engine eng:
// ferry.TLSVerifyFull with the CA bundle when EnvDBCABundle is set, else the
// engine's EnvMySQLTLS or EnvPGSSLMode.
func (w *Wire) tls(ctx context.Context, eng ferry.Engine) (string, error) {
	if w.env.CABundle == "" {
		return w.env.TLS(eng), nil
	}
	path, err := w.caOnce.get(func() (string, error) { return w.fetchCABundle(ctx) })
	if err != nil {
		return "", err
	}
	return ferry.TLSVerifyFull + path, nil
}

// fetchCABundle reads EnvDBCABundle from S3 (once per container), checks
// that it holds certificates, and writes it with the system roots to a
// file named after its content in the temporary directory.
func (w *Wire) fetchCABundle(ctx context.Context) (string, error) {
	bucket, key, err := splitS3(w.env.CABundle)
	if err != nil {
		return "", err
	}
	client, err := s3store.NewClient(ctx, w.s3Config())
	if err != nil {
		return "", fmt.Errorf("wire: CA bundle: %w", err)
	}
	rc, err := s3store.New(client, bucket).Open(ctx, key)
	if err != nil {
		if errors.Is(err, ferry.ErrNotFound) {
			return "", &ferry.ConfigError{Msg: fmt.Sprintf("the CA bundle %s does not exist (or the function may not read it)", w.env.CABundle),
				Fix: "upload https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem there, or set DatabaseCABundle to where it is"}
		}
		return "", ferry.Retryable("wire: read the CA bundle "+w.env.CABundle, err)
	}
	defer rc.Close()
	pem, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return "", ferry.Retryable("wire: read the CA bundle "+w.env.CABundle, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return "", &ferry.ConfigError{Msg: fmt.Sprintf("the CA bundle %s holds no PEM certificate", w.env.CABundle),
			Fix: "upload the RDS global bundle (global-bundle.pem) as it is downloaded"}
	}
	return writeBundle(pem)
}

// writeBundle writes pem and the first system roots file found to
// <tmp>/ferry-db-ca-<hash>.pem and returns the path.
func writeBundle(pem []byte) (string, error) {
	all := append(bytes.Clone(pem), '\n')
	for _, f := range systemRoots {
		if b, err := os.ReadFile(f); err == nil {
			all = append(all, b...)
			break
		}
	}
	sum := sha256.Sum256(all)
	path := filepath.Join(os.TempDir(), "ferry-db-ca-"+hex.EncodeToString(sum[:8])+".pem")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, all, 0o600); err != nil {
		return "", fmt.Errorf("wire: write the CA bundle: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("wire: write the CA bundle: %w", err)
	}
	return path, nil
}
