package wire

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry"
)

// TestReloginKeepsSwappedUnrecorded: a refused login, or a pool replaced
// while in use, makes the error retryable and flat (no ConfigError inside
// decides the outcome) but keeps ferry.ErrSwappedUnrecorded, so that
// swap-tables never records the tables of a swap that happened as not
// swapped.
func TestReloginKeepsSwappedUnrecorded(t *testing.T) {
	refused := &mysql.MySQLError{Number: 1045, Message: "Access denied for user 'u'"}
	for _, tt := range []struct {
		name     string
		err      error
		replaced bool // the target's pool was replaced during the call
		swapped  bool // want errors.Is(ErrSwappedUnrecorded)
	}{
		{"refused after the swap", fmt.Errorf("swap: %w: %w", ferry.ErrSwappedUnrecorded, errors.Join(&ferry.ConfigError{Msg: "record freshness"}, refused)), false, true},
		{"refused before the swap", fmt.Errorf("swap: %w", errors.Join(&ferry.ConfigError{Msg: "connect"}, refused)), false, false},
		{"pool replaced after the swap", fmt.Errorf("swap: %w: %w", ferry.ErrSwappedUnrecorded, errors.New("sql: database is closed")), true, true},
		{"pool replaced before the swap", errors.New("sql: database is closed"), true, false},
		{"pgxpool replaced", errors.New("load chunk: closed pool"), true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := New(Env{}, WithEngines(testEngines...))
			_, gen, _ := w.target.getGen(func() (ferry.Target, error) { return nil, nil })
			if tt.replaced {
				w.target.reset(nil)
				w.target.getGen(func() (ferry.Target, error) { return nil, nil })
			}
			err := w.relogin(Target, gen, tt.err)
			var re *ferry.RetryableError
			var ce *ferry.ConfigError
			if !errors.As(err, &re) || errors.As(err, &ce) {
				t.Fatalf("relogin = %#v, want a flat RetryableError", err)
			}
			if got := errors.Is(err, ferry.ErrSwappedUnrecorded); got != tt.swapped {
				t.Fatalf("errors.Is(%v, ErrSwappedUnrecorded) = %v, want %v", err, got, tt.swapped)
			}
		})
	}
}

// TestReplacedPoolKeepsOtherErrors: a call whose pool was replaced while it
// ran but which failed for another reason (a count mismatch) keeps its
// error as it is: only a closed-pool error is made retryable.
func TestReplacedPoolKeepsOtherErrors(t *testing.T) {
	w := New(Env{}, WithEngines(testEngines...))
	_, gen, _ := w.target.getGen(func() (ferry.Target, error) { return nil, nil })
	w.target.reset(nil)
	w.target.getGen(func() (ferry.Target, error) { return nil, nil })
	mismatch := &ferry.ConfigError{Msg: "staging has 9 rows, the export 10"}
	err := w.relogin(Target, gen, mismatch)
	var re *ferry.RetryableError
	if err != mismatch || errors.As(err, &re) {
		t.Fatalf("relogin = %#v, want the ConfigError unchanged", err)
	}
}
