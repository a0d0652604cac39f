package mysql

import (
	"context"
	"database/sql"
	"log/slog"
	"math"
	"time"

	"github.com/ferrydata/ferry/internal/retry"
)

// Option configures a Source or a Target.
type Option func(*options)

type options struct {
	log          *slog.Logger
	now          func() time.Time
	sleep        func(context.Context, time.Duration) error
	insertLoader bool
	batchRows    int
	swapAttempts int
	stmtTimeout  time.Duration
	margin       time.Duration
	lockWait     int // seconds; tests shorten it
	metaDB       *sql.DB
}

func newOptions(opts []Option) options {
	o := options{
		log:          slog.Default(),
		now:          time.Now,
		sleep:        retry.Sleep,
		batchRows:    500,
		swapAttempts: 6,
		margin:       time.Second,
		lockWait:     SwapLockWaitTimeout,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock sets the clock used for freshness timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSleep sets how the Target waits between swap attempts (default a
// context-aware timer); tests inject a recorder.
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// WithInsertLoader makes Target.Load use batched multi-row INSERT ...
// VALUES (?, ...) statements with bound values instead of LOAD DATA LOCAL
// INFILE, for servers where local_infile is off or unsupported (such as an
// embedded server). batchRows rows go in one statement (default 500, capped
// so a statement has at most 65535 placeholders); memory holds one batch.
// The load is still one transaction. Load also falls back to this mode by
// itself when the server refuses LOAD DATA LOCAL.
func WithInsertLoader(batchRows int) Option {
	return func(o *options) {
		o.insertLoader = true
		if batchRows > 0 {
			o.batchRows = batchRows
		}
	}
}

// WithSwapAttempts sets how many times Swap tries the RENAME when it hits
// the short lock_wait_timeout (default 6, waiting retry.Backoff between tries).
func WithSwapAttempts(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.swapAttempts = n
		}
	}
}

// WithSwapLockWait sets the swap session's lock_wait_timeout in whole
// seconds (default SwapLockWaitTimeout; at least 1, MySQL's minimum): how
// long one RENAME attempt waits behind a reader's lock, and so how long
// new readers queued behind the RENAME can wait.
func WithSwapLockWait(seconds int) Option {
	return func(o *options) {
		if seconds > 0 {
			o.lockWait = seconds
		}
	}
}

// SetSwapLockTimeout sets the swap's lock_wait_timeout after NewTarget
// (ferry.EnvSwapLockTimeout), rounded up to whole seconds, at least 1;
// call it before the first Swap.
func (t *Target) SetSwapLockTimeout(d time.Duration) {
	t.opts.lockWait = max(1, int(math.Ceil(d.Seconds())))
}

// WithStatementTimeout caps every statement's run time (default: only the
// context deadline). The server-side limit (MariaDB max_statement_time,
// MySQL MAX_EXECUTION_TIME) is set from the smaller of the two, less a
// margin, so the server stops work the client gave up on.
func WithStatementTimeout(d time.Duration) Option { return func(o *options) { o.stmtTimeout = d } }

// WithMetadataPool gives a Source the pool OpenMetadata opened on the same
// database: its result metadata names the table each result column is read
// from, so Columns can tell a table's column from a computed one (chunk
// keys). Without it the origin of every column is unknown.
func WithMetadataPool(db *sql.DB) Option { return func(o *options) { o.metaDB = db } }
