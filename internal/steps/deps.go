package steps

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/metrics"
)

// Config is the configuration the steps plan a run from. *admin.DB
// implements it.
type Config interface {
	// ActiveCompanies returns the active companies (only ids, when
	// given; missing or inactive ids are absent) with their configuration.
	ActiveCompanies(ctx context.Context, ids []int64) ([]ferry.Company, error)
	// ActiveTables returns the active tables with their defaults applied.
	ActiveTables(ctx context.Context) ([]ferry.TableSpec, error)
}

// Ledger is the run history and the run lease. *admin.DB implements it.
type Ledger interface {
	// GetRun returns a run and its table loads; a missing run wraps
	// ferry.ErrNotFound.
	GetRun(ctx context.Context, runID string) (admin.Run, []admin.TableLoad, error)
	StartRun(ctx context.Context, runID, runDate string, companies int, at time.Time) error
	FinishRun(ctx context.Context, r admin.Run) error
	RecordTableLoad(ctx context.Context, l admin.TableLoad) error
	TableLoads(ctx context.Context, runID string) ([]admin.TableLoad, error)
	// AcquireLease returns *ferry.RunLeaseHeldError when another run
	// holds the lease; ReleaseLease releases it if runID holds it.
	AcquireLease(ctx context.Context, runID string, ttl time.Duration, now time.Time) error
	ReleaseLease(ctx context.Context, runID string) error
}

// Notifier is told that a company's tables went live, after the swap
// committed. internal/events publishes "Ferry Tables Swapped" to
// EventBridge. A failure is retryable: the retried step finds the swap
// done and notifies again (at least once).
type Notifier interface {
	TablesSwapped(ctx context.Context, schema string, out ferry.SwapTablesOutput) error
}

// Need names dependencies of the steps, as a set.
type Need uint8

// The dependencies.
const (
	NeedConfig Need = 1 << iota
	NeedLedger
	NeedSource
	NeedTarget
	NeedStore
	// NeedNotifier is optional: a step that lists it notifies when one is
	// configured and works without.
	NeedNotifier
	// NeedJobs is the job bookkeeping and the databases jobs run on; the
	// extract store (Extracts) is optional.
	NeedJobs
)

// What each step uses: the one declaration that the steps check at run
// time and the wiring (internal/wire, one Lambda function per step) opens.
const (
	NeedsListTables  = NeedConfig | NeedLedger | NeedSource | NeedTarget | NeedStore
	NeedsExportChunk = NeedSource | NeedStore
	NeedsLoadChunk   = NeedTarget | NeedStore
	NeedsSwapTables  = NeedLedger | NeedTarget | NeedStore | NeedNotifier
	// FinishRun also reads the store when it has one, to name unloaded
	// chunks; EndRun needs what FinishRun does.
	NeedsFinishRun = NeedLedger
	// NeedsFunction is the list-tables Lambda function's (Function):
	// ListTables, FinishRun and EndRun.
	NeedsFunction = NeedsListTables | NeedsFinishRun
	// NeedsRunJob is the run-job Lambda function's (RunJob).
	NeedsRunJob = NeedJobs
)

// Deps are the steps' dependencies. A step uses those its Needs* constant
// names; the others may be nil.
type Deps struct {
	Config Config
	Ledger Ledger
	Source ferry.Source
	Target ferry.Target
	Store  ferry.Store
	// Notifier is told about each company's swap; nil tells no one.
	Notifier Notifier
	// Jobs is the job bookkeeping (*admin.DB's Jobs()); JobDBs opens the
	// database a job runs on; Extracts receives extract jobs' objects
	// (nil: extracts fail with a ConfigError).
	Jobs     jobs.Book
	JobDBs   jobs.Databases
	Extracts ferry.Store
	// JobLeaseTTL is how long a job's lease outlives its last heartbeat
	// (default 2 minutes).
	JobLeaseTTL time.Duration
	// Metrics receives CloudWatch EMF records per chunk and per swapped
	// table; nil emits nothing.
	Metrics *metrics.Emitter
	// Budget caps the connections a run holds on the source and the
	// target: ListTables lowers the run's concurrency to fit it
	// (ferry.Budget.Fit) and plans with that many connections at once.
	// Zero: no cap.
	Budget ferry.Budget
	// Bucket is reported in ListTablesOutput (informational).
	Bucket string
	// Clock returns the current time; nil is time.Now.
	Clock func() time.Time
	// Logger gets structured logs; nil is slog.Default().
	Logger *slog.Logger
	// LeaseTTL is how long a run holds the run lease unless FinishRun
	// releases it earlier (default 24h, the state machine's
	// TimeoutSeconds: no execution outlives it, so an expired lease is a
	// dead run's and may be taken over).
	LeaseTTL time.Duration
	// DeadlineMargin is kept between the statements' deadline and the
	// invocation's (default 10s, at most a quarter of the time left).
	DeadlineMargin time.Duration
	// Parallel bounds concurrent store reads and source planning queries
	// (default 16 for store reads; planning uses min(Parallel, 4)).
	Parallel int
	// Compression is the chunk objects' codec and level. The zero value
	// takes the store's preference (ferry.CompressionPreferrer: none for a
	// local directory), else gzip at level 1 (S3).
	Compression ferry.Compression
}

// missing names the dependencies of need (NeedNotifier aside) that d lacks.
func (d Deps) missing(need Need) []string {
	var out []string
	for _, c := range []struct {
		n   Need
		set bool
		s   string
	}{
		{NeedConfig, d.Config != nil, "Config"}, {NeedLedger, d.Ledger != nil, "Ledger"},
		{NeedSource, d.Source != nil, "Source"}, {NeedTarget, d.Target != nil, "Target"}, {NeedStore, d.Store != nil, "Store"},
		{NeedJobs, d.Jobs != nil && d.JobDBs != nil, "Jobs"},
	} {
		if need&c.n != 0 && !c.set {
			out = append(out, c.s)
		}
	}
	return out
}

// Steps runs the steps with its Deps. It is safe for concurrent use.
type Steps struct {
	d Deps
}

// New returns Steps over d, with defaults for the zero fields.
func New(d Deps) *Steps {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.LeaseTTL <= 0 {
		d.LeaseTTL = 24 * time.Hour
	}
	if d.DeadlineMargin <= 0 {
		d.DeadlineMargin = 10 * time.Second
	}
	if d.Parallel <= 0 {
		d.Parallel = 16
	}
	return &Steps{d: d}
}

// check returns an error naming what step needs and the Deps lack.
func (s *Steps) check(step string, need Need) error {
	if m := s.d.missing(need); len(m) > 0 {
		return fmt.Errorf("steps: %s: dependency %s is not configured", step, strings.Join(m, ", "))
	}
	return nil
}
