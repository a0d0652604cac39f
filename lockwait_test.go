package ferry

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLockWaitError(t *testing.T) {
	server := errors.New("Error 1205 (HY000): Lock wait timeout exceeded")
	h := LockHolder{Session: "1234", Table: "reports_acme.orders", User: "bi", Client: "10.0.0.5", State: "idle in transaction",
		For: 3*time.Hour + 12*time.Minute + 5*time.Second, Query: ShortQuery("SELECT *\n  FROM orders"), End: "KILL 1234"}
	for _, tc := range []struct {
		name string
		err  LockWaitError
		want string
	}{
		{"held", LockWaitError{Tables: []string{"reports_acme.orders"}, Wait: 5 * time.Second, Holders: []LockHolder{h}, Certain: true, Knob: EnvSwapLockTimeout, Err: server},
			"table reports_acme.orders: the swap waited 5s for a lock held by session 1234 on reports_acme.orders (user bi, 10.0.0.5, idle in transaction for 3h12m: SELECT * FROM orders); " +
				"fix: end that session (KILL 1234) or raise the swap lock timeout (FERRY_SWAP_LOCK_TIMEOUT, now 5s), then run again [server: Error 1205 (HY000): Lock wait timeout exceeded]"},
		{"may hold", LockWaitError{Tables: []string{"a.x", "a.y"}, Wait: time.Second, Holders: []LockHolder{{Session: "7", End: "KILL 7"}, {Session: "8", End: "KILL 8"}}, Note: "a note", Knob: "K"},
			"tables a.x, a.y: the swap waited 1s for a lock; sessions that may hold it (open transactions and statements older than the wait): session 7, session 8 (a note); " +
				"fix: end the one holding it (KILL 7; KILL 8) or raise the swap lock timeout (K, now 1s), then run again"},
		{"none", LockWaitError{Tables: []string{"a.x"}, Wait: 1500 * time.Millisecond, Certain: true, Note: "no privilege", Knob: "K"},
			"table a.x: the swap waited 2s for a lock; no session holding it could be named (no privilege); fix: end the session holding it or raise the swap lock timeout (K, now 2s), then run again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestShortQuery(t *testing.T) {
	long := "SELECT " + strings.Repeat("a, ", 40) + "b FROM t"
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT ?"},
		{"SELECT  a,\n\tb FROM t", "SELECT a, b FROM t"},
		{long, long[:80] + "…"},
		{"ALTER USER bi IDENTIFIED BY 'hunter2'", "(statement hidden: it may hold a password)"},
		{"ALTER ROLE bi PASSWORD 'hunter2'", "(statement hidden: it may hold a password)"},
		{"SELECT AES_DECRYPT(card, 'hunter2') FROM orders", "(statement hidden: it may hold a password)"},
		{"SELECT pgp_sym_decrypt(card, 'hunter2') FROM orders", "(statement hidden: it may hold a password)"},
		{"SELECT dblink_connect('host=db user=bi pass=hunter2')", "(statement hidden: it may hold a password)"},
		{"SELECT * FROM dblink('dbname=x pwd=hunter2', 'SELECT 1')", "(statement hidden: it may hold a password)"},
		{"SELECT passenger, token_count FROM trips", "(statement hidden: it may hold a password)"},
		{"SELECT passenger FROM trips", "SELECT passenger FROM trips"},
		{"SELECT * FROM t1 WHERE email = 'ann@example.com' AND n > 42.5", "SELECT * FROM t1 WHERE email = '?' AND n > ?"},
		{"SELECT 'it''s', 'a\\'b', `col 2` FROM t", "SELECT '?', '?', `col 2` FROM t"},
		{"DO $x$ SELECT 'private value' $x$; SELECT 1", "DO '?'; SELECT ?"},
		{"SELECT 'unterminated", "SELECT '?'"},
		{"SELECT \"Name 1\" FROM t WHERE v = 1e5", "SELECT \"Name 1\" FROM t WHERE v = ?"},
		{"", ""},
	} {
		if got := ShortQuery(tc.in); got != tc.want {
			t.Errorf("ShortQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHumanAge(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{850 * time.Millisecond, "850ms"}, {5 * time.Second, "5s"}, {250 * time.Second, "4m10s"}, {3*time.Hour + 12*time.Minute + 29*time.Second, "3h12m"}} {
		if got := HumanAge(tc.d); got != tc.want {
			t.Errorf("HumanAge(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
