package ferry

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// EnvSwapLockTimeout is the knob that sets how long a swap waits for a
// lock on a table before it gives up and retries (a Go duration; the
// targets' default is 5s). internal/wire reads it; a LockWaitError names it.
const EnvSwapLockTimeout = "FERRY_SWAP_LOCK_TIMEOUT"

// LockHolder is a database session that holds, or may hold, a lock a swap
// waited for. Its fields come from the server's session list; none holds
// a password (Query is ShortQuery of the session's statement).
type LockHolder struct {
	Session string        // the session's id as the engine names it
	Table   string        // schema.table it holds a lock on; "" when unknown
	User    string        // its database user
	Client  string        // its client address without the port; "" when unknown or local
	State   string        // "idle in transaction", "running a statement", …
	For     time.Duration // how long it has been in that transaction or statement
	Query   string        // ShortQuery of its current or last statement
	End     string        // the statement that ends it: "KILL 1234"
}

// String is "session 1234 on s.t (user bi, 10.0.0.5, idle in transaction
// for 3h12m: SELECT …)".
func (h LockHolder) String() string {
	s := "session " + h.Session
	if h.Table != "" {
		s += " on " + h.Table
	}
	var about []string
	if h.User != "" {
		about = append(about, "user "+h.User)
	}
	if h.Client != "" {
		about = append(about, h.Client)
	}
	if h.State != "" {
		about = append(about, h.State+" for "+HumanAge(h.For))
	}
	detail := strings.Join(about, ", ")
	if h.Query != "" {
		detail += ": " + h.Query
	}
	if detail != "" {
		s += " (" + detail + ")"
	}
	return s
}

// LockWaitError is a swap that gave up waiting for table locks: the last
// attempt's lock timeout (Wait) passed while other sessions held them.
// Holders are the sessions that hold them (Certain) or, when the server
// cannot tell, those that may (open transactions and statements older
// than the wait); Note says what the server could not tell. Knob is how
// the wait is configured. Err is the server's error.
type LockWaitError struct {
	Tables  []string // schema.table of the tables the swap waited for
	Wait    time.Duration
	Holders []LockHolder
	Certain bool
	Note    string
	Knob    string
	Err     error
}

// Unwrap is the server's error.
func (e *LockWaitError) Unwrap() error { return e.Err }

// Error names the tables, the wait, the holders and the fix, then the
// server's error (TestLockWaitError has examples).
func (e *LockWaitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: the swap waited %s for a lock", plural(len(e.Tables), "table", "tables"), strings.Join(e.Tables, ", "), HumanAge(e.Wait))
	holders := make([]string, len(e.Holders))
	ends := make([]string, len(e.Holders))
	for i, h := range e.Holders {
		holders[i], ends[i] = h.String(), h.End
	}
	fix := "end the session holding it"
	switch {
	case len(e.Holders) > 0 && e.Certain:
		fmt.Fprintf(&b, " held by %s", strings.Join(holders, ", "))
		fix = "end " + plural(len(e.Holders), "that session", "those sessions") + " (" + strings.Join(ends, "; ") + ")"
	case len(e.Holders) > 0:
		fmt.Fprintf(&b, "; %s that may hold it (open transactions and statements older than the wait): %s", plural(len(e.Holders), "a session", "sessions"), strings.Join(holders, ", "))
		fix = "end the one holding it (" + strings.Join(ends, "; ") + ")"
	default:
		b.WriteString("; no session holding it could be named")
	}
	if e.Note != "" {
		b.WriteString(" (" + e.Note + ")")
	}
	fmt.Fprintf(&b, "; fix: %s or raise the swap lock timeout (%s, now %s), then run again", fix, e.Knob, HumanAge(e.Wait))
	if e.Err != nil {
		b.WriteString(" [server: " + e.Err.Error() + "]")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// HumanAge is d as "850ms", "5s", "4m10s" or "3h12m".
func HumanAge(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// shortQueryLen is how many characters of a session's statement a
// LockHolder shows.
const shortQueryLen = 80

// secretWords are words of a statement that may carry a password or a key:
// PASSWORD/IDENTIFIED BY, a connection string's password= or pwd=, and
// the key argument of AES_ENCRYPT, pgp_sym_decrypt, crypt() and the like.
var secretWords = regexp.MustCompile(`(?i)passw|\bpass\b|pwd|identified|secret|credential|token|crypt|\bkey\b`)

// ShortQuery is q for a message: white space collapsed, every literal
// replaced by ? (quoted strings, dollar-quoted bodies and numbers: another
// user's statement may quote row values), at most shortQueryLen
// characters (then "…"), and nothing at all when it may name a password
// ("(statement hidden: it may hold a password)").
func ShortQuery(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if secretWords.MatchString(q) {
		return "(statement hidden: it may hold a password)"
	}
	q = maskLiterals(q)
	if r := []rune(q); len(r) > shortQueryLen {
		return string(r[:shortQueryLen]) + "…"
	}
	return q
}

// maskLiterals replaces each literal of q by ?: a quoted string ('…'
// with ” or \' inside, and PostgreSQL's $tag$…$tag$) by '?', a number
// standing alone (not part of a name such as t1) by ?. Backquoted and
// double-quoted names are kept. An unterminated string runs to the end.
func maskLiterals(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '`' || c == '"':
			end := len(q)
			if j := strings.IndexByte(q[i+1:], c); j >= 0 {
				end = i + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '\'':
			b.WriteString("'?'")
			i = stringEnd(q, i)
		case c == '$' && dollarTag.MatchString(q[i:]):
			tag := dollarTag.FindString(q[i:])
			b.WriteString("'?'")
			end := strings.Index(q[i+len(tag):], tag)
			if end < 0 {
				return b.String()
			}
			i += 2*len(tag) + end - 1
		case c >= '0' && c <= '9' && (i == 0 || !wordByte(q[i-1])):
			b.WriteByte('?')
			for i+1 < len(q) && (wordByte(q[i+1]) || q[i+1] == '.') {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stringEnd is the index of the quote closing the string opened at q[i]
// (len(q)-1 when none does).
func stringEnd(q string, i int) int {
	for j := i + 1; j < len(q); j++ {
		switch {
		case q[j] == '\\':
			j++
		case q[j] == '\'' && j+1 < len(q) && q[j+1] == '\'':
			j++
		case q[j] == '\'':
			return j
		}
	}
	return len(q) - 1
}

// wordByte reports a byte of a name or a number.
func wordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// dollarTag is the opening of a PostgreSQL dollar-quoted string.
var dollarTag = regexp.MustCompile(`^\$[A-Za-z_]*\$`)
