package faults

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/secrets"
	"github.com/ferrydata/ferry/internal/secrets/smfake"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/ferrydata/ferry/internal/wire"
)

// rotatingSource rotates the passwords once, after the first chunk's
// export: rotate runs between that export and every later one.
type rotatingSource struct {
	ferry.Source
	once   *sync.Once
	rotate func()
}

func (s rotatingSource) Export(ctx context.Context, req ferry.ExportRequest, w io.Writer) (ferry.ExportStats, error) {
	st, err := s.Source.Export(ctx, req, w)
	if err == nil {
		s.once.Do(s.rotate)
	}
	return st, err
}

// mysqlSecret returns the func that writes a Secrets Manager secret (RDS
// JSON) for a user of the MariaDB server of dsn.
func mysqlSecret(dsn string) func(user, pw, db string) string {
	cfg, _ := gomysql.ParseDSN(dsn)
	host, portStr, _ := strings.Cut(cfg.Addr, ":")
	var port int
	fmt.Sscan(portStr, &port)
	return func(user, pw, db string) string {
		return fmt.Sprintf(`{"engine":"mysql","host":%q,"port":%d,"username":%q,"password":%q,"dbname":%q}`, host, port, user, pw, db)
	}
}

// localWire is a Wire on env as `ferry run` makes one (wire.Local), its
// secrets read through client and cached for an hour.
func localWire(t *testing.T, env wire.Env, client secrets.Getter) *wire.Wire {
	env.MySQLTLS, env.SecretTTL = "preferred", time.Hour
	wr := wire.New(env, wire.WithEngines(mysql.Engine{}, postgres.Engine{}), wire.WithSecretsClient(client), wire.WithLogger(quiet), wire.Local())
	t.Cleanup(wr.Close)
	return wr
}

// TestPasswordRotatedMidRun: the source and the target (MariaDB) are
// wired from Secrets Manager secrets as `ferry run` wires them (wire.Local),
// each logging in as a user with a password. After the first chunk's
// export both passwords are rotated as Secrets Manager's rotation does it:
// ALTER USER … IDENTIFIED BY on the server and the secret updated; the
// users' open sessions are then ended (as a pool's connections are,
// sooner or later), so every later step needs a new login. The run
// re-reads the secrets, reconnects with the new passwords and completes,
// live equal to the source. (Before the fix the first new login failed as
// a ConfigError, "correct the table's query", and the run failed.) A
// PostgreSQL target: TestPostgresPasswordRotatedMidRun.
func TestPasswordRotatedMidRun(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	w := newWorld(t, ferry.EngineMySQL)
	k := newKiller(t, w, 0)
	srcUser, alterSrc := testdb.MySQLUser(t, w.srcDSN, w.srcName, "SELECT", "ferry_rs_", "first-pw")
	tgtUser, alterTgt := testdb.MySQLUser(t, w.targetDSN, w.schema["alpha"], "ALL", "ferry_rt_", "first-pw")
	exec(t, k.db, "GRANT ALL ON `"+w.schema["beta"]+"`.* TO '"+tgtUser+"'@'%'")
	secret := mysqlSecret(w.srcDSN)
	fake, client := smfake.Start(t)
	const srcARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/source-AAAAAA"
	const tgtARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/target-AAAAAA"
	fake.Set(srcARN, secret(srcUser, "first-pw", w.srcName))
	fake.Set(tgtARN, secret(tgtUser, "first-pw", ""))
	wr := localWire(t, wire.Env{SourceSecretARN: srcARN, TargetSecretARN: tgtARN, TargetEngine: ferry.EngineMySQL}, client)
	d, err := wr.Deps(ctx, steps.NeedSource|steps.NeedTarget)
	testdb.Must(t, "source and target from secrets", err)
	ended := 0
	rotate := func() {
		alterSrc("second-pw")
		alterTgt("second-pw")
		fake.Set(srcARN, secret(srcUser, "second-pw", w.srcName))
		fake.Set(tgtARN, secret(tgtUser, "second-pw", ""))
		ended = k.killMySQL(ctx, "rotation", "SELECT id FROM information_schema.processlist WHERE FIND_IN_SET(user, ?)", srcUser+","+tgtUser)
	}
	w.deps.Source = rotatingSource{Source: d.Source, once: &sync.Once{}, rotate: rotate}
	w.deps.Target = d.Target
	res := w.run(t, "rotated")
	succeeded(t, res)
	if ended == 0 {
		t.Fatal("test is void: no session was open to end at the rotation")
	}
	for _, arn := range []string{srcARN, tgtARN} {
		if n := fake.Count(arn); n < 2 {
			t.Errorf("secret %s was read %d times: the run did not re-read it after the rotation", arn, n)
		}
	}
	t.Logf("rotated after the first export, ended %d sessions; secrets read %d (source) and %d (target) times", ended, fake.Count(srcARN), fake.Count(tgtARN))
	w.liveEqualsSource(t)
}

// TestAdminPasswordRotatedMidRun: the admin database (MariaDB) is wired
// from a Secrets Manager secret as `ferry run` wires it (wire.Local), as
// a user with a password. After the first chunk's export its password is
// rotated (ALTER USER … IDENTIFIED BY, the secret updated) and the user's
// open sessions are ended, so the steps that write the run history
// (swap-tables, finish-run) need a new login. The run re-reads the secret,
// reconnects with the new password and completes, live equal to the
// source, and the run history records it. (Before: the admin database
// was opened once; every later step was refused and the run failed.)
func TestAdminPasswordRotatedMidRun(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	w := newWorld(t, ferry.EngineMySQL)
	k := newKiller(t, w, 0)
	cfg, _ := gomysql.ParseDSN(w.adminDSN)
	admUser, alterAdm := testdb.MySQLUser(t, w.adminDSN, cfg.DBName, "ALL", "ferry_ra_", "first-pw")
	secret := func(pw string) string { return mysqlSecret(w.adminDSN)(admUser, pw, cfg.DBName) }
	fake, client := smfake.Start(t)
	const admARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/admin-AAAAAA"
	fake.Set(admARN, secret("first-pw"))
	d, err := localWire(t, wire.Env{AdminSecretARN: admARN}, client).Deps(ctx, steps.NeedConfig|steps.NeedLedger)
	testdb.Must(t, "admin database from a secret", err)
	w.deps.Config, w.deps.Ledger = d.Config, d.Ledger
	w.runRotating(t, "admin-rotated", fake, admARN, func() int {
		alterAdm("second-pw")
		fake.Set(admARN, secret("second-pw"))
		return k.killMySQL(ctx, "rotation", "SELECT id FROM information_schema.processlist WHERE user = ?", admUser)
	})
	run, loads, err := w.adm.GetRun(ctx, "admin-rotated")
	testdb.Must(t, "run history", err)
	if run.Status != admin.RunSucceeded || len(loads) != len(companies) {
		t.Errorf("run history: %+v with %d table rows; want succeeded with %d", run, len(loads), len(companies))
	}
	w.liveEqualsSource(t)
}

// TestPostgresPasswordRotatedMidRun: the PostgreSQL target, on a private
// cluster that asks for passwords (testdb.PrivatePostgres; the shared
// server trusts every login), is wired from a Secrets Manager secret as
// `ferry run` wires it, as a role with a password that owns the reporting
// database. After the first chunk's export the password is rotated (ALTER
// ROLE … PASSWORD, the secret updated) and the role's sessions are ended
// (pg_terminate_backend), so every later load and the swaps need a new
// login, which the server refuses with the old password (28P01). The run
// re-reads the secret, reconnects and completes, live equal to the source.
func TestPostgresPasswordRotatedMidRun(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	cluster := testdb.PrivatePostgres(t)
	w := newWorld(t, ferry.EnginePostgres)
	root := cluster()
	super := pgExec(t, root)
	super("CREATE ROLE ferry_rt LOGIN PASSWORD %L", "first-pw")
	super("CREATE DATABASE reports OWNER ferry_rt")
	ru, _ := url.Parse(root)
	ru.Path = "/reports"
	w.pgURL = ru.String() // the tests' reads of live tables, as the superuser
	port, _ := strconv.Atoi(ru.Port())
	secret := func(pw string) string {
		return fmt.Sprintf(`{"engine":"postgres","host":"127.0.0.1","port":%d,"username":"ferry_rt","password":%q,"dbname":"reports"}`, port, pw)
	}
	fake, client := smfake.Start(t)
	const tgtARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/pg-target-AAAAAA"
	fake.Set(tgtARN, secret("first-pw"))
	d, err := localWire(t, wire.Env{TargetSecretARN: tgtARN, TargetEngine: ferry.EnginePostgres, PostgresSSLMode: "disable"}, client).Deps(ctx, steps.NeedTarget)
	testdb.Must(t, "target from a secret", err)
	w.deps.Target = d.Target
	w.runRotating(t, "pg-rotated", fake, tgtARN, func() int {
		super("ALTER ROLE ferry_rt PASSWORD %L", "second-pw")
		fake.Set(tgtARN, secret("second-pw"))
		return super("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %L", "ferry_rt")
	})
	w.liveEqualsSource(t)
}

// runRotating runs runID with rotate called once, after the first chunk's
// export (it rotates a password and returns how many sessions it ended),
// and checks that the run succeeded, that the rotation ended sessions and
// that the secret at arn was read again.
func (w *world) runRotating(t *testing.T, runID string, fake *smfake.Fake, arn string, rotate func() int) {
	t.Helper()
	ended := 0
	w.deps.Source = rotatingSource{Source: w.deps.Source, once: &sync.Once{}, rotate: func() { ended = rotate() }}
	succeeded(t, w.run(t, runID))
	if ended == 0 {
		t.Fatal("test is void: no session was open to end at the rotation")
	}
	if n := fake.Count(arn); n < 2 {
		t.Errorf("the secret %s was read %d times: the run did not re-read it after the rotation", arn, n)
	}
	t.Logf("rotated after the first export, ended %d sessions; secret read %d times", ended, fake.Count(arn))
}

// pgExec returns the func that runs a statement on the database at dbURL,
// formatted by the server (format(), so %L quotes a literal), and returns
// the rows it affected or returned.
func pgExec(t *testing.T, dbURL string) func(tmpl string, args ...any) int {
	return func(tmpl string, args ...any) int {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dbURL)
		testdb.Must(t, "connect", err)
		defer conn.Close(ctx)
		var stmt string
		strs := make([]string, len(args))
		for i, a := range args {
			strs[i] = fmt.Sprint(a)
		}
		testdb.Must(t, "format", conn.QueryRow(ctx, "SELECT format($1, VARIADIC $2::text[])", tmpl, strs).Scan(&stmt))
		tag, err := conn.Exec(ctx, stmt)
		testdb.Must(t, tmpl, err)
		return int(tag.RowsAffected())
	}
}
