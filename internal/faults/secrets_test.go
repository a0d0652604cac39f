package faults

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/local"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/secrets/smfake"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/ferrydata/ferry/internal/wire"

	gomysql "github.com/go-sql-driver/mysql"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoPasswordAnywhere wires `ferry run` from the three ways a password
// reaches Ferry: the admin database from a Secrets Manager secret, the
// source from a mysql:// URL with the password in its user info, the
// target from a postgres:// URL with ?password=. It runs the real
// definition to success, then failing (the source's table gone), then
// once more after the source's password changed on the server but not in
// the URL (the run cannot start: its error is captured), and captures every log
// line (the steps', the adapters', the driver's and the default logger's),
// the progress and report, the executions' status, error, cause and
// history, every object the run left in the store (manifests, map results)
// and the run history rows. No password appears in any of it, plainly or
// URL-encoded.
func TestNoPasswordAnywhere(t *testing.T) {
	ctx := ctxT(t)
	const (
		adminPW  = "Adm1n-s3cret!pw"
		sourcePW = "S0urce-s3cret-pw"
		targetPW = "T4rget-s3cret pw"
	)
	leaks := []string{adminPW, sourcePW, targetPW, url.QueryEscape(sourcePW), url.QueryEscape(targetPW),
		url.PathEscape(sourcePW), url.PathEscape(targetPW), url.QueryEscape(adminPW)}

	// The databases, configured by root; the run logs in as users with
	// passwords.
	adminName, adminDSN := testdb.MySQL(t)
	root := mysql.NewAdmin(openMySQL(t, adminDSN))
	_, err := root.Migrate(ctx)
	testdb.Must(t, "migrate", err)
	srcName, srcDSN := testdb.MySQL(t)
	src := openMySQL(t, srcDSN)
	pgURL := testdb.Postgres(t)
	w := &world{src: src, srcName: srcName, schema: map[string]string{}}
	exec(t, src, "CREATE TABLE orders (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, note VARCHAR(100) NULL, amount DECIMAL(12,2) NOT NULL, created DATETIME(6) NOT NULL)")
	w.addOrders(t, 1, 20)
	for _, c := range companies {
		testdb.Must(t, "add company", root.AddCompany(ctx, c))
	}
	testdb.Must(t, "add table", root.AddTable(ctx, ferry.TableSpec{Name: "orders", Query: "SELECT id, note, amount, created FROM orders WHERE company_id = :company_id",
		Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 5}, true))

	adminUser, _ := testdb.MySQLUser(t, adminDSN, adminName, "ALL", "ferry_a_", adminPW)
	sourceUser, rotateSource := testdb.MySQLUser(t, srcDSN, srcName, "SELECT", "ferry_s_", sourcePW)
	pu, _ := url.Parse(pgURL)
	targetRole, _ := testdb.PostgresRole(t, pgURL, "ferry_t_", targetPW, `GRANT CREATE, CONNECT, TEMPORARY ON DATABASE "`+strings.TrimPrefix(pu.Path, "/")+`" TO %I`)
	cfg, _ := gomysql.ParseDSN(adminDSN)
	host, portStr, _ := strings.Cut(cfg.Addr, ":")
	var port int
	fmt.Sscan(portStr, &port)

	fake, client := smfake.Start(t)
	const adminARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/admin-AAAAAA"
	fake.Set(adminARN, fmt.Sprintf(`{"engine":"mysql","host":%q,"port":%d,"username":%q,"password":%q,"dbname":%q}`, host, port, adminUser, adminPW, adminName))
	sourceURL := (&url.URL{Scheme: "mysql", User: url.UserPassword(sourceUser, sourcePW), Host: cfg.Addr, Path: "/" + srcName}).String()
	targetURL := (&url.URL{Scheme: "postgres", User: url.User(targetRole), Host: pu.Host, Path: pu.Path, RawQuery: url.Values{"password": {targetPW}}.Encode()}).String()
	storeDir := t.TempDir()

	// Everything that is written or logged.
	var out syncBuffer
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prevDefault := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prevDefault) })
	gomysql.SetLogger(log.New(&out, "[mysql] ", 0))
	t.Cleanup(func() { gomysql.SetLogger(log.New(io.Discard, "", 0)) })

	run := func(runID string) *local.Result {
		env := wire.Env{AdminSecretARN: adminARN, SourceDSN: sourceURL, TargetDSN: targetURL, TargetEngine: ferry.EnginePostgres,
			Store: "file://" + storeDir, MySQLTLS: "preferred", PostgresSSLMode: "disable"}
		wr := wire.New(env, wire.WithEngines(mysql.Engine{}, postgres.Engine{}), wire.WithSecretsClient(client), wire.WithLogger(logger), wire.Local())
		defer wr.Close()
		st, err := wr.Steps(ctx, steps.NeedsFunction|steps.NeedsExportChunk|steps.NeedsLoadChunk|steps.NeedsSwapTables)
		if err != nil {
			// What `ferry run` prints when it cannot start.
			fmt.Fprintf(&out, "wiring %s: %v\n", runID, wr.Fail(err))
			return nil
		}
		d, _ := wr.Deps(ctx, steps.NeedStore)
		res, err := local.Run(ctx, local.Options{Steps: st, Store: d.Store, RunID: runID, RunDate: "2026-11-22", Progress: &out, Logger: logger,
			Clock: asl.NewVirtualClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))})
		if err != nil {
			fmt.Fprintf(&out, "run: %v\n", err)
			t.Fatalf("run %s: %v", runID, err)
		}
		fmt.Fprintf(&out, "%s %s %s %s\n", res.Execution.Status, res.Execution.Error, res.Execution.Cause, res.Execution.Output)
		hist, _ := res.Execution.HistoryJSON()
		out.Write(hist)
		res.Report.Write(&out)
		return res
	}
	if res := run("secrets-ok"); res == nil || res.Failed() {
		t.Fatalf("the full run failed: %s", out.String())
	}
	// A run that fails in its execution: the source's table is gone.
	exec(t, src, "RENAME TABLE orders TO orders_gone")
	if res := run("secrets-failing"); res == nil || !res.Failed() {
		t.Fatal("the run without the source's table did not fail in its execution")
	}
	// A run that cannot start: the source's password changed on the
	// server, not in the URL.
	rotateSource("R0tated-elsewhere")
	if res := run("secrets-refused"); res != nil {
		t.Fatal("the run with the source's old password started")
	}

	// The run history, as `ferry runs show` reads it.
	for _, id := range []string{"secrets-ok", "secrets-failing"} {
		r, loads, err := root.GetRun(ctx, id)
		fmt.Fprintf(&out, "%+v %+v %v\n", r, loads, err)
	}
	// Every object the runs left.
	filepath.WalkDir(storeDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil {
				out.Write(b)
			}
		}
		return nil
	})
	// The target's own catalog (nothing of ours should have stored it).
	if conn, err := pgx.Connect(ctx, pgURL); err == nil {
		var comments string
		conn.QueryRow(ctx, "SELECT coalesce(string_agg(obj_description(c.oid), ' '), '') FROM pg_class c").Scan(&comments)
		out.Write([]byte(comments))
		conn.Close(ctx)
	}

	all := out.String()
	if !strings.Contains(all, "secrets-failing") || !strings.Contains(all, "wiring secrets-refused") || !strings.Contains(all, "Access denied") {
		t.Fatalf("test is void: the capture lacks the runs (%d bytes)", len(all))
	}
	for _, pw := range leaks {
		if i := strings.Index(all, pw); i >= 0 {
			t.Errorf("password %q appears in the captured output: …%s…", pw, all[max(0, i-200):min(len(all), i+len(pw)+50)])
		}
	}
	t.Logf("captured %d bytes of logs, causes, history, objects and run rows; no password in them", len(all))
}
