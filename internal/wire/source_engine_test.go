package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/secrets"
	"github.com/ferrydata/ferry/internal/secrets/smfake"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestSourceEngineFromSecret: the source (and admin) database's engine is
// the secret's engine field; a secret RDS manages (username and password
// only) takes it from FERRY_SOURCE_ENGINE / FERRY_ADMIN_ENGINE, with the
// address from FERRY_SOURCE_HOST/PORT/DATABASE; an engine variable that
// contradicts the secret is refused naming both.
func TestSourceEngineFromSecret(t *testing.T) {
	pgURL := testdb.Postgres(t)
	u, err := url.Parse(pgURL)
	testdb.Must(t, "parse", err)
	port := 5432
	fmt.Sscan(u.Port(), &port)
	db := strings.TrimPrefix(u.Path, "/")
	managed, _ := json.Marshal(map[string]string{"username": u.User.Username(), "password": "ignored-by-trust-auth"})
	const managedARN = sourceARN + "-managed"
	fake, client := smfake.Start(t)
	fake.Set(sourceARN, pgSecret(t, pgURL))
	fake.Set(managedARN, string(managed))
	fake.Set(adminARN, pgSecret(t, pgURL))
	addr := map[Role]secrets.Address{Source: {Host: u.Hostname(), Port: port, Database: db}, Admin: {Host: u.Hostname(), Port: port, Database: db}}
	base := Env{PostgresSSLMode: "disable", SecretTTL: 3600e9, Addr: addr}
	tests := []struct {
		name    string
		env     func(Env) Env
		need    steps.Need
		wantErr string
	}{
		{"secret engine", func(e Env) Env { e.SourceSecretARN = sourceARN; return e }, steps.NeedSource, ""},
		{"managed secret, FERRY_SOURCE_ENGINE", func(e Env) Env { e.SourceSecretARN, e.SourceEngine = managedARN, ferry.EnginePostgres; return e }, steps.NeedSource, ""},
		{"engine agrees", func(e Env) Env { e.SourceSecretARN, e.SourceEngine = sourceARN, ferry.EnginePostgres; return e }, steps.NeedSource, ""},
		{"source engine contradicts", func(e Env) Env { e.SourceSecretARN, e.SourceEngine = sourceARN, ferry.EngineMySQL; return e }, steps.NeedSource,
			"FERRY_SOURCE_ENGINE is mysql but the source database is postgres"},
		{"source URL contradicts", func(e Env) Env { e.SourceDSN, e.SourceEngine = pgURL, ferry.EngineMySQL; return e }, steps.NeedSource,
			"FERRY_SOURCE_ENGINE is mysql but the source database is postgres"},
		{"admin engine contradicts", func(e Env) Env { e.AdminSecretARN, e.AdminEngine = adminARN, ferry.EngineMySQL; return e }, steps.NeedLedger,
			"FERRY_ADMIN_ENGINE is mysql but the admin database is postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(tt.env(base), append(all, WithSecretsClient(client))...)
			defer w.Close()
			d, err := w.Deps(context.Background(), tt.need)
			if tt.wantErr != "" {
				out := w.Fail(err)
				if fmt.Sprintf("%T", out) != "*ferry.ConfigError" || !strings.Contains(out.Error(), tt.wantErr) {
					t.Fatalf("got %T %v, want a ConfigError containing %q", out, out, tt.wantErr)
				}
				return
			}
			testdb.Must(t, "deps", err)
			if d.Source.Engine() != ferry.EnginePostgres {
				t.Fatalf("source engine %s, want postgres", d.Source.Engine())
			}
			if _, err := d.Source.Bounds(context.Background(), "SELECT 1::bigint AS id", nil, "id"); err != nil {
				t.Fatalf("query the source: %v", err)
			}
		})
	}
}
