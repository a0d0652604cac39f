package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
)

// PrivatePostgres starts a PostgreSQL cluster of t's own in the
// background and returns the func that waits until it is up and returns
// its superuser's URL (postgres://postgres:<random password>@127.0.0.1:
// <free port>/postgres), so a test can set up other things meanwhile.
// Unlike the shared server, which trusts every login, it asks for
// passwords (scram-sha-256), so a test can see a login refused. The
// cluster lives in a temporary directory, listens on 127.0.0.1 only, and
// is stopped and removed at cleanup. The server binaries are the newest
// under /usr/lib/postgresql/*/bin; run as root, they run as the OS user
// postgres (initdb refuses root). Without them the test is skipped, or
// fails under CI=true.
func PrivatePostgres(t testing.TB) (wait func() string) {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		unavailable(t, "a private PostgreSQL cluster", err)
	}
	dir, err := os.MkdirTemp("", "ferry-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u, err := clusterUser()
	if err == nil {
		err = u.own(dir)
	}
	if err != nil {
		unavailable(t, "a private PostgreSQL cluster", err)
	}
	b := make([]byte, 12)
	rand.Read(b)
	password := hex.EncodeToString(b)
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := u.own(pwfile); err != nil {
		t.Fatal(err)
	}
	data, port := filepath.Join(dir, "data"), freePort(t)
	started := make(chan error, 1)
	go func() {
		err := u.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=scram-sha-256", "--pwfile="+pwfile, "-E", "UTF8", "-N")
		if err == nil {
			opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s -c fsync=off -c full_page_writes=off", port, dir)
			if err = u.run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
				log, _ := os.ReadFile(filepath.Join(dir, "log"))
				err = fmt.Errorf("%w\n%s", err, log)
			}
		}
		started <- err
	}()
	var once sync.Once
	var startErr error
	done := func() error { once.Do(func() { startErr = <-started }); return startErr }
	t.Cleanup(func() { done(); u.run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop") })
	return func() string {
		t.Helper()
		if err := done(); err != nil {
			t.Fatalf("testdb: private PostgreSQL cluster: %v", err)
		}
		return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port)
	}
}

// postgresBin is the newest /usr/lib/postgresql/<version>/bin holding
// initdb and pg_ctl.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
				return d, nil
			}
		}
	}
	return "", errors.New("no initdb and pg_ctl under /usr/lib/postgresql/*/bin (install the PostgreSQL server package)")
}

// osUser is the OS user a private cluster runs as: postgres when this
// process is root (initdb refuses root), else this process's user.
type osUser struct {
	root     bool
	uid, gid int
}

func clusterUser() (osUser, error) {
	if os.Geteuid() != 0 {
		return osUser{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return osUser{}, fmt.Errorf("running as root, and no OS user postgres to run initdb as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return osUser{root: true, uid: uid, gid: gid}, nil
}

// own hands the file or directory at path to the user.
func (u osUser) own(path string) error {
	if !u.root {
		return nil
	}
	return os.Chown(path, u.uid, u.gid)
}

// run runs the program name with args as the user (runuser for root).
func (u osUser) run(name string, args ...string) error {
	prog := filepath.Base(name)
	if u.root {
		name, args = "runuser", append([]string{"-u", "postgres", "--", name}, args...)
	}
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", prog, err, out)
	}
	return nil
}

// freePort is a TCP port free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
