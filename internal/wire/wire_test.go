package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ferrydata/ferry/internal/events"
	"github.com/ferrydata/ferry/internal/events/eventstest"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/localstore"
	mysqladapter "github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/secrets/smfake"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// all is what the CLI gives a Wire: both engines and the EventBridge
// notifier.
var all = []Option{WithEngines(mysqladapter.Engine{}, postgres.Engine{}), WithNotifier(events.Open)}

// mysqlURL turns testdb's go-sql-driver DSN into a mysql:// URL.
func mysqlURL(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

func hostPort(t *testing.T, dsn string) (string, int) {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	h, p, _ := strings.Cut(cfg.Addr, ":")
	port := 3306
	fmt.Sscan(p, &port)
	return h, port
}

func TestWireFromDSNs(t *testing.T) {
	_, adminDSN := testdb.MySQL(t)
	_, sourceDSN := testdb.MySQL(t)
	pgURL := testdb.Postgres(t)
	dir := t.TempDir()
	ctx := context.Background()

	env, err := EnvFrom(func(k string) string {
		return map[string]string{
			"FERRY_ADMIN_DSN":  mysqlURL(t, adminDSN),
			"FERRY_SOURCE_DSN": mysqlURL(t, sourceDSN),
			"FERRY_TARGET_DSN": pgURL,
			"FERRY_STORE":      "file://" + dir,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	w := New(env, all...)
	t.Cleanup(w.Close)
	d, err := w.Deps(ctx, steps.NeedsFunction)
	if err != nil {
		t.Fatalf("Deps: %v", err)
	}
	if _, ok := d.Source.(*mysqladapter.Source); !ok {
		t.Fatalf("Source is %T", d.Source)
	}
	if _, ok := d.Target.(*postgres.Target); !ok || d.Target.Engine() != ferry.EnginePostgres {
		t.Fatalf("Target is %T", d.Target)
	}
	if st, ok := d.Store.(*localstore.Store); !ok || st.Root() != dir {
		t.Fatalf("Store is %T", d.Store)
	}
	// The admin database was migrated on first use.
	adminRaw, err := mysqladapter.Open(ctx, adminDSN)
	testdb.Must(t, "open admin", err)
	defer adminRaw.Close()
	var n int
	if err := adminRaw.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'companies'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("admin not migrated: n=%d err=%v", n, err)
	}
	if adm, ok := d.Config.(*admin.DB); !ok || d.Ledger != steps.Ledger(adm) {
		t.Fatalf("Config %T and Ledger %T: want the one admin database", d.Config, d.Ledger)
	}
	// A second invocation in the same container reuses everything.
	d2, err := w.Deps(ctx, steps.NeedsFunction)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Ledger != d.Ledger || d2.Source != d.Source || d2.Target != d.Target || d2.Store != d.Store {
		t.Fatal("second Deps opened new connections")
	}
	// A step that needs less opens less.
	w2 := New(Env{SourceDSN: mysqlURL(t, sourceDSN), Store: "file://" + dir}, all...)
	t.Cleanup(w2.Close)
	if _, err := w2.Deps(ctx, steps.NeedsExportChunk); err != nil {
		t.Fatalf("export-chunk deps without admin/target: %v", err)
	}
	_, err = w2.Deps(ctx, steps.NeedsLoadChunk)
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "FERRY_TARGET_SECRET_ARN") {
		t.Fatalf("load-chunk deps without a target: %v", err)
	}
}

func TestWireS3Store(t *testing.T) {
	fake := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	t.Setenv("AWS_REGION", s3test.Region)
	for _, env := range []Env{
		{Bucket: fake.Bucket, S3Endpoint: fake.URL},
		{Store: "s3://" + fake.Bucket, S3Endpoint: fake.URL},
	} {
		w := New(env, all...)
		d, err := w.Deps(context.Background(), steps.NeedStore)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := d.Store.(*s3store.Store)
		if !ok || st.Bucket() != fake.Bucket || d.Bucket != fake.Bucket {
			t.Fatalf("store %T bucket %q", d.Store, d.Bucket)
		}
		ow, err := st.Create(context.Background(), "run/x.json")
		if err != nil {
			t.Fatal(err)
		}
		ow.Write([]byte("{}"))
		if err := ow.Commit(); err != nil {
			t.Fatalf("write through the wired store: %v", err)
		}
	}
	_, err := New(Env{}).Store(context.Background())
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("no store configured: %v", err)
	}
}

func secretJSON(engine, host string, port int, user, pass, db string) string {
	b, _ := json.Marshal(map[string]any{"engine": engine, "host": host, "port": port, "username": user, "password": pass, "dbname": db})
	return string(b)
}

const (
	adminARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/admin-AAAAAA"
	sourceARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/source-BBBBBB"
	targetARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/target-CCCCCC"
)

// rotUser creates a MariaDB user with all privileges on db and returns it
// with a function that changes its password.
func rotUser(t *testing.T, dsn, db, password string) (string, func(string)) {
	t.Helper()
	return testdb.MySQLUser(t, dsn, db, "ALL", "ferry_w_", password)
}

func pgSecret(t *testing.T, pgURL string) string {
	t.Helper()
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	port := 5432
	fmt.Sscan(u.Port(), &port)
	pw, _ := u.User.Password()
	if pw == "" {
		pw = "ignored-by-trust-auth" // an RDS secret always has one
	}
	return secretJSON("postgres", u.Hostname(), port, u.User.Username(), pw, strings.TrimPrefix(u.Path, "/"))
}

// TestWireFromSecretsRotation wires every database from Secrets Manager
// secrets, then rotates the admin password: the refused login is turned
// into a RetryableError, and the next invocation re-reads the secret.
func TestWireFromSecretsRotation(t *testing.T) {
	adminDB, adminDSN := testdb.MySQL(t)
	sourceDB, sourceDSN := testdb.MySQL(t)
	pgURL := testdb.Postgres(t)
	host, port := hostPort(t, adminDSN)
	ctx := context.Background()

	adminUser, rotate := rotUser(t, adminDSN, adminDB, "first-p@ss'word")
	sourceUser, _ := rotUser(t, sourceDSN, sourceDB, "source-pw")

	fake, client := smfake.Start(t)
	fake.Set(adminARN, secretJSON("mysql", host, port, adminUser, "first-p@ss'word", adminDB))
	fake.Set(sourceARN, secretJSON("mariadb", host, port, sourceUser, "source-pw", sourceDB))
	fake.Set(targetARN, pgSecret(t, pgURL))

	env := Env{AdminSecretARN: adminARN, SourceSecretARN: sourceARN, TargetSecretARN: targetARN,
		TargetEngine: ferry.EnginePostgres, Store: "file://" + t.TempDir(),
		SecretTTL: 3600e9, MySQLTLS: "preferred", PostgresSSLMode: "disable", MigrateAdmin: true}
	w := New(env, append(all, WithSecretsClient(client))...)
	t.Cleanup(w.Close)
	d, err := w.Deps(ctx, steps.NeedsFunction)
	if err != nil {
		t.Fatalf("Deps from secrets: %v", err)
	}
	if d.Target.Engine() != ferry.EnginePostgres {
		t.Fatalf("target engine %s", d.Target.Engine())
	}
	if got := fake.Count(adminARN); got != 1 {
		t.Fatalf("admin secret read %d times", got)
	}

	// Rotation: database and secret change; the warm container still has
	// the old password cached and pooled.
	rotate("second-p@ss'word")
	fake.Set(adminARN, secretJSON("mysql", host, port, adminUser, "second-p@ss'word", adminDB))
	stepErr := ferry.LambdaError(&ferry.ConfigError{Msg: "admin: acquire lease: mysql: connect to u@tcp(h)/d: Error 1045 (28000): Access denied for user"})
	out := w.Fail(stepErr)
	var re *ferry.RetryableError
	if !errors.As(out, &re) || fmt.Sprintf("%T", out) != "*ferry.RetryableError" {
		t.Fatalf("Fail(auth error) = %T %v, want *ferry.RetryableError outermost", out, out)
	}
	d2, err := w.Deps(ctx, steps.NeedsFunction)
	if err != nil {
		t.Fatalf("Deps after rotation: %v", err)
	}
	if d2.Ledger == d.Ledger {
		t.Fatal("admin pool was not reopened")
	}
	if _, err := d2.Config.ActiveTables(ctx); err != nil {
		t.Fatalf("query with the re-read secret: %v", err)
	}
	if got := fake.Count(adminARN); got != 2 {
		t.Fatalf("admin secret read %d times, want 2", got)
	}

	// Other errors pass through with their type.
	if out := w.Fail(&ferry.DataError{Msg: "bad row"}); fmt.Sprintf("%T", out) != "*ferry.DataError" {
		t.Fatalf("Fail(DataError) = %T", out)
	}
	if w.Fail(nil) != nil {
		t.Fatal("Fail(nil) != nil")
	}
}

func TestWireSecretErrors(t *testing.T) {
	_, sourceDSN := testdb.MySQL(t)
	host, port := hostPort(t, sourceDSN)
	fake, client := smfake.Start(t)
	fake.Set(sourceARN, "not json, password=hunter2hunter2")
	fake.Set(targetARN, secretJSON("postgres", "127.0.0.1", 5432, "u", "hunter2hunter2", "d"))
	fake.Set(adminARN, secretJSON("oracle", host, port, "u", "hunter2hunter2", "d"))
	dead := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	tests := []struct {
		name     string
		env      Env
		client   *secretsmanager.Client
		need     steps.Need
		wantType string
		want     string
	}{
		{"missing secret", Env{SourceSecretARN: sourceARN + "-gone"}, client, steps.NeedSource, "*ferry.ConfigError", "ResourceNotFoundException"},
		{"malformed secret", Env{SourceSecretARN: sourceARN}, client, steps.NeedSource, "*ferry.ConfigError", "RDS JSON"},
		{"admin engine unsupported", Env{AdminSecretARN: adminARN}, client, steps.NeedLedger, "*ferry.ConfigError", `"oracle" is not supported`},
		{"engine mismatch", Env{TargetSecretARN: targetARN, TargetEngine: ferry.EngineMySQL}, client, steps.NeedTarget, "*ferry.ConfigError", "FERRY_TARGET_ENGINE is mysql but the target database is postgres"},
		{"secrets manager unreachable", Env{SourceSecretARN: sourceARN}, dead, steps.NeedSource, "*ferry.RetryableError", "GetSecretValue"},
		{"nothing configured", Env{}, client, steps.NeedLedger, "*ferry.ConfigError", "FERRY_ADMIN_SECRET_ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(tt.env, append(all, WithSecretsClient(tt.client))...)
			defer w.Close()
			_, err := w.Deps(context.Background(), tt.need)
			out := w.Fail(err)
			if fmt.Sprintf("%T", out) != tt.wantType || !strings.Contains(out.Error(), tt.want) {
				t.Fatalf("got %T %v, want %s containing %q", out, out, tt.wantType, tt.want)
			}
			if strings.Contains(out.Error(), "hunter2") {
				t.Fatalf("error leaks a password: %v", out)
			}
		})
	}
}

// TestHandler drives the Lambda handler the mains use: the environment is
// read once, deps are opened on first use, and errors come out typed.
func TestHandler(t *testing.T) {
	dir := t.TempDir()
	var seen []*steps.Steps
	step := func(s *steps.Steps, ctx context.Context, in string) (string, error) {
		seen = append(seen, s)
		if in == "fail" {
			return "", &ferry.ConfigError{Msg: "bad table"}
		}
		return "ok " + in, nil
	}
	h := handlerFrom(func(k string) string {
		return map[string]string{"FERRY_STORE": "file://" + dir}[k]
	}, steps.NeedStore, step)
	out, err := h(context.Background(), "a")
	if err != nil || out != "ok a" {
		t.Fatalf("handler = %q, %v", out, err)
	}
	if _, err := h(context.Background(), "fail"); fmt.Sprintf("%T", err) != "*ferry.ConfigError" {
		t.Fatalf("step error type %T", err)
	}
	if len(seen) != 2 || seen[0] == nil {
		t.Fatalf("step not called with Steps: %v", seen)
	}

	bad := handlerFrom(func(k string) string { return map[string]string{"FERRY_TARGET_ENGINE": "oracle"}[k] }, steps.NeedStore, step)
	if _, err := bad(context.Background(), "a"); fmt.Sprintf("%T", err) != "*ferry.ConfigError" || !strings.Contains(err.Error(), "FERRY_TARGET_ENGINE") {
		t.Fatalf("env error = %T %v", err, err)
	}
	unwired := handlerFrom(func(string) string { return "" }, steps.NeedSource, step)
	if _, err := unwired(context.Background(), "a"); fmt.Sprintf("%T", err) != "*ferry.ConfigError" || !strings.Contains(err.Error(), "FERRY_SOURCE_SECRET_ARN") {
		t.Fatalf("unwired error = %T %v", err, err)
	}
}

func TestWireEventsAndMetrics(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	bus := &eventstest.Bus{}
	srv := httptest.NewServer(bus)
	t.Cleanup(srv.Close)
	tests := []struct {
		name        string
		env         map[string]string
		need        steps.Need
		wantEvents  bool
		wantMetrics bool
	}{
		{"off by default outside Lambda", map[string]string{}, steps.NeedsSwapTables, false, false},
		{"emf by default inside Lambda", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "ferry-swap"}, steps.NeedsSwapTables, false, true},
		{"emf turned off inside Lambda", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "ferry-swap", "FERRY_METRICS": "off"}, steps.NeedsSwapTables, false, false},
		{"events for swap-tables", map[string]string{"FERRY_EVENT_BUS": "bi", "FERRY_EVENTS_ENDPOINT": srv.URL}, steps.NeedsSwapTables, true, false},
		{"no events for export-chunk", map[string]string{"FERRY_EVENT_BUS": "bi", "FERRY_EVENTS_ENDPOINT": srv.URL}, steps.NeedsExportChunk, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := EnvFrom(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			w := New(env, all...)
			defer w.Close()
			d, err := w.Deps(context.Background(), tt.need&steps.NeedNotifier)
			if err != nil {
				t.Fatal(err)
			}
			if (d.Notifier != nil) != tt.wantEvents || (d.Metrics != nil) != tt.wantMetrics {
				t.Fatalf("events %v metrics %v, want %v %v", d.Notifier != nil, d.Metrics != nil, tt.wantEvents, tt.wantMetrics)
			}
			if d.Notifier != nil {
				before := len(bus.Entries())
				if err := d.Notifier.TablesSwapped(context.Background(), "bi_acme", ferry.SwapTablesOutput{RunID: "r", CompanyID: 1, Alias: "acme"}); err != nil {
					t.Fatal(err)
				}
				got := bus.Entries()
				if len(got) != before+1 || got[len(got)-1]["EventBusName"] != "bi" {
					t.Fatalf("bus entries = %v", got)
				}
			}
		})
	}
	if _, err := EnvFrom(func(k string) string { return map[string]string{"FERRY_METRICS": "yes"}[k] }); err == nil {
		t.Fatal("FERRY_METRICS=yes accepted")
	}
}

// TestHandlerLinksOnlyWhatItIsGiven: a handler opens only the adapters its
// main passes, and says which option is missing when the configuration
// asks for more (a PostgreSQL target, an event bus).
func TestHandlerLinksOnlyWhatItIsGiven(t *testing.T) {
	pgURL := testdb.Postgres(t)
	dir := t.TempDir()
	env := map[string]string{"FERRY_TARGET_DSN": pgURL, "FERRY_STORE": "file://" + dir, "FERRY_EVENT_BUS": "bi", "FERRY_EVENTS_ENDPOINT": "http://127.0.0.1:1"}
	getenv := func(k string) string { return env[k] }
	engine := func(s *steps.Steps, ctx context.Context, in string) (string, error) { return "ok", nil }

	tests := []struct {
		name string
		need steps.Need
		opts []Option
		want string // "" for success, else the error's text
	}{
		{"postgres target without the postgres engine", steps.NeedTarget, []Option{WithEngines(mysqladapter.Engine{})}, "built without the postgres engine"},
		{"postgres target with the postgres engine", steps.NeedTarget, []Option{WithEngines(mysqladapter.Engine{}, postgres.Engine{})}, ""},
		{"event bus without WithNotifier", steps.NeedNotifier, nil, "built without EventBridge"},
		{"event bus with WithNotifier", steps.NeedNotifier, []Option{WithNotifier(events.Open)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := handlerFrom(getenv, tt.need, engine, tt.opts...)
			_, err := h(context.Background(), "x")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want != "" && (fmt.Sprintf("%T", err) != "*ferry.ConfigError" || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "wire.With") && !strings.Contains(err.Error(), ".Engine{}")):
				t.Fatalf("err = %T %v, want a ConfigError containing %q and naming the option", err, err, tt.want)
			}
		})
	}
}
