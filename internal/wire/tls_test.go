package wire

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/secrets/smfake"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// serverCert is the certificate the local PostgreSQL serves (Debian's
// snakeoil, issued to localhost); the TLS tests need it.
const serverCert = "/etc/ssl/certs/ssl-cert-snakeoil.pem"

// otherCA is a CA that signed nothing the servers present.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the RDS CA"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestManagedSecretVerifyFull: a target secret as RDS manages it (username
// and password only) is completed by FERRY_TARGET_HOST/PORT/DATABASE, and
// the connection verifies the server against FERRY_DB_CA_BUNDLE, read from
// S3: the server's own CA connects, another CA is refused (never a
// plaintext or unverified fallback).
func TestManagedSecretVerifyFull(t *testing.T) {
	caPEM, err := os.ReadFile(serverCert)
	if err != nil {
		t.Skipf("no local server certificate (%v)", err)
	}
	pg, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	t.Setenv("AWS_REGION", s3test.Region)
	client, err := s3store.NewClient(context.Background(), s3store.Config{Endpoint: fake.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	st := s3store.New(client, fake.Bucket)
	for key, body := range map[string][]byte{"certs/right.pem": caPEM, "certs/wrong.pem": otherCA(t), "certs/empty.pem": []byte("not a certificate")} {
		o, err := st.Create(context.Background(), key)
		testdb.Must(t, "put "+key, err)
		o.Write(body)
		testdb.Must(t, "commit "+key, o.Commit())
	}
	pw, _ := pg.User.Password()
	managed, _ := json.Marshal(map[string]string{"username": pg.User.Username(), "password": pw + "managed-secret-pw"}) // trust auth ignores it
	sm, smClient := smfake.Start(t)
	sm.Set(targetARN, string(managed))

	open := func(bundle string) error {
		envMap := map[string]string{
			EnvTargetSecretARN: targetARN, EnvTargetEngine: "postgres", EnvStore: "file://" + t.TempDir(), EnvS3Endpoint: fake.URL,
			EnvTargetHost: "localhost", EnvTargetPort: pg.Port(), EnvTargetDatabase: strings.TrimPrefix(pg.Path, "/"),
			EnvDBCABundle: "s3://" + fake.Bucket + "/" + bundle,
		}
		env, err := EnvFrom(func(k string) string { return envMap[k] })
		if err != nil {
			return err
		}
		w := New(env, append(all, WithSecretsClient(smClient))...)
		defer w.Close()
		d, err := w.Deps(context.Background(), steps.NeedTarget)
		if err != nil {
			return err
		}
		_, err = d.Target.Count(context.Background(), "public", "no_such_table")
		if err != nil && !errors.Is(err, ferry.ErrNotFound) {
			return err
		}
		return nil
	}
	if err := open("certs/right.pem"); err != nil {
		t.Fatalf("managed secret + parameters + the server's CA: %v", err)
	}
	err = open("certs/wrong.pem")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a server not signed by the bundle: %v, want a certificate error", err)
	}
	for bundle, want := range map[string]string{"certs/empty.pem": "no PEM certificate", "certs/missing.pem": "does not exist"} {
		var ce *ferry.ConfigError
		if err := open(bundle); !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("bundle %s: %v, want a ConfigError saying %q", bundle, err, want)
		}
	}
	// Without the host parameter the managed secret is refused, naming it.
	_, err = New(Env{TargetSecretARN: targetARN, TargetEngine: ferry.EnginePostgres, Store: "file://" + t.TempDir()},
		append(all, WithSecretsClient(smClient))...).Target(context.Background())
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), EnvTargetHost) {
		t.Fatalf("managed secret without a host: %v", err)
	}
}
