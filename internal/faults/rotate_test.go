package faults

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
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

// TestPasswordRotatedMidRun: the source and the target (MariaDB) are
// wired from Secrets Manager secrets as `ferry run` wires them (wire.Local),
// each logging in as a user with a password. After the first chunk's
// export both passwords are rotated as Secrets Manager's rotation does it:
// ALTER USER … IDENTIFIED BY on the server and the secret updated; the
// users' open sessions are then ended (as a pool's connections are,
// sooner or later), so every later step needs a new login. The run
// re-reads the secrets, reconnects with the new passwords and completes,
// live equal to the source. (Before the fix the first new login failed as
// a ConfigError, "correct the table's query", and the run failed.) The
// PostgreSQL server here trusts local logins, so a PostgreSQL target's
// rotation cannot be refused; its path is the same code (wire.relogin).
func TestPasswordRotatedMidRun(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	w := newWorld(t, ferry.EngineMySQL)
	k := newKiller(t, w, 0)
	srcUser, alterSrc := testdb.MySQLUser(t, w.srcDSN, w.srcName, "SELECT", "ferry_rs_", "first-pw")
	tgtUser, alterTgt := testdb.MySQLUser(t, w.targetDSN, w.schema["alpha"], "ALL", "ferry_rt_", "first-pw")
	exec(t, k.db, "GRANT ALL ON `"+w.schema["beta"]+"`.* TO '"+tgtUser+"'@'%'")
	cfg, _ := gomysql.ParseDSN(w.srcDSN)
	host, portStr, _ := strings.Cut(cfg.Addr, ":")
	var port int
	fmt.Sscan(portStr, &port)
	secret := func(user, pw, db string) string {
		return fmt.Sprintf(`{"engine":"mysql","host":%q,"port":%d,"username":%q,"password":%q,"dbname":%q}`, host, port, user, pw, db)
	}
	fake, client := smfake.Start(t)
	const srcARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/source-AAAAAA"
	const tgtARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/target-AAAAAA"
	fake.Set(srcARN, secret(srcUser, "first-pw", w.srcName))
	fake.Set(tgtARN, secret(tgtUser, "first-pw", ""))
	wr := wire.New(wire.Env{SourceSecretARN: srcARN, TargetSecretARN: tgtARN, TargetEngine: ferry.EngineMySQL, MySQLTLS: "preferred", SecretTTL: 3600e9},
		wire.WithEngines(mysql.Engine{}), wire.WithSecretsClient(client), wire.WithLogger(quiet), wire.Local())
	t.Cleanup(wr.Close)
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
