// Package admin is Ferry's admin database, whatever its engine: the
// original tool's configuration tables (companies, tables, configurations,
// companies_configurations), Ferry's own columns beside them, the run
// history (ferry_runs, ferry_table_loads) and the run lease (ferry_lease).
//
// The package holds what does not depend on the engine: the records
// (CompanyRow, TableRow, Run, TableLoad, Lease), the validation of what is
// written, the lease rule and the migration files' format. The SQL is an
// engine's: DB runs every operation through a Backend, which an adapter
// implements (internal/mysql's NewAdmin today; a PostgreSQL admin
// database implements the same interface).
//
// Conventions:
//   - status columns hold 'active' or 'inactive' (StatusActive,
//     StatusInactive); only 'active' rows are read as active, and any other
//     value (a row edited by hand) is refused naming the row. Ferry writes
//     exactly these two values.
//   - tables.params_select is a comma-separated list of parameter names
//     ("company_id, since"); a JSON array (["company_id","since"]) and a
//     leading ':' on a name are accepted on read.
//   - tables.chunk_column NULL means DefaultChunkColumn ("id");
//     tables.chunk_rows NULL means DefaultChunkRows; tables.zero_dates NULL
//     means ferry.ZeroDateError.
//   - companies.target_schema NULL means ferry.DefaultSchema(alias).
//   - query_insert and params_insert are kept for the original tool and
//     ignored by Ferry.
//
// Transient database errors are returned wrapped by ferry.Retryable (the
// Backend classifies them).
package admin

import (
	"context"
	"time"

	"github.com/ferrydata/ferry"
)

// Backend is the admin database's engine-specific part: the SQL of every
// operation, the engine's error classification (transient errors wrapped
// by ferry.Retryable) and its migrations. Methods that read one thing
// return an error wrapping ferry.ErrNotFound when it is missing. DB adds
// the engine-neutral rules on top; callers use DB, not a Backend.
type Backend interface {
	// Companies returns companies with their configuration values
	// (Config never nil), ordered by company_id; only ids when ids is not
	// empty, only status 'active' ones when onlyActive. Schema is
	// target_schema, or ferry.DefaultSchema(alias) with SchemaSet false.
	Companies(ctx context.Context, ids []int64, onlyActive bool) ([]CompanyRow, error)
	// Tables returns the configured tables ordered by name (only 'active'
	// ones when onlyActive), with the NULL defaults applied (see the
	// package comment). A params_select that does not parse is kept as
	// one unusable parameter name, so that planning names the table.
	Tables(ctx context.Context, onlyActive bool) ([]TableRow, error)
	// ConfigurationNames lists the rows of configurations, sorted.
	ConfigurationNames(ctx context.Context) ([]string, error)
	// InsertCompany inserts the companies row (target_schema NULL when
	// c.Schema is empty) with status. It writes no configuration value.
	InsertCompany(ctx context.Context, c NewCompany, status string) error
	// SetConfig upserts one configuration value, creating the
	// configurations row when missing.
	SetConfig(ctx context.Context, companyID int64, name, value string) error
	// SetCompanyStatus sets a company's status; found is false when there
	// is no such company.
	SetCompanyStatus(ctx context.Context, companyID int64, status string) (found bool, err error)
	// UpsertTable inserts the table or replaces its definition and status.
	// Zero ChunkColumn, ChunkRows, ZeroDates and MaxShrinkPct are stored
	// as NULL; Params as FormatParams.
	UpsertTable(ctx context.Context, t ferry.TableSpec, status string) error
	// SetTableStatus sets a table's status; found is false when there is
	// no such table.
	SetTableStatus(ctx context.Context, name, status string) (found bool, err error)

	// StartRun inserts the run as running, or for an existing run sets it
	// running again with the new company count, keeping started_at.
	StartRun(ctx context.Context, runID, runDate string, companies int, at time.Time) error
	// FinishRun upserts the run's end (r.FinishedAt is set).
	FinishRun(ctx context.Context, r Run) error
	// RecordTableLoad upserts one table's result in a run.
	RecordTableLoad(ctx context.Context, l TableLoad) error
	// Runs returns the newest runs first, at most limit.
	Runs(ctx context.Context, limit int) ([]Run, error)
	// Run returns one run.
	Run(ctx context.Context, runID string) (Run, error)
	// TableLoads returns a run's table loads ordered by company and table.
	TableLoads(ctx context.Context, runID string) ([]TableLoad, error)
	// LastSwaps returns, per company and table, the newest load with status
	// LoadSwapped and a swapped_at.
	LastSwaps(ctx context.Context) ([]TableLoad, error)
	// LoadHistory returns every table load of a recorded run, oldest run
	// (by started_at, then run id) first.
	LoadHistory(ctx context.Context) ([]TableLoad, error)

	// Lease returns the lease row (zero Lease when none was ever taken).
	Lease(ctx context.Context) (Lease, error)
	// UpdateLease reads the lease row under a row lock (creating it when
	// missing), calls next with it and writes what next returns, in one
	// transaction. An error from next is returned and nothing is written.
	UpdateLease(ctx context.Context, next func(Lease) (Lease, error)) error
	// ClearLease empties the lease row if holder holds it; "" clears it
	// whoever holds it.
	ClearLease(ctx context.Context, holder string) error

	// Migrations returns the engine's embedded migrations in version order.
	Migrations() ([]Migration, error)
	// AppliedMigrations returns the versions recorded as applied; none
	// when the schema has no migration table yet.
	AppliedMigrations(ctx context.Context) (map[int]bool, error)
	// Migrate applies every migration not yet recorded, in order, each
	// once; idempotent, safe to run concurrently, and a migration
	// interrupted halfway is completed on the next call.
	Migrate(ctx context.Context) error
	// DeniedWrites tries, without changing anything, each kind of write a
	// run makes (ferry_runs, ferry_table_loads, ferry_lease) and
	// describes the ones the account may not do; nil when all are allowed.
	DeniedWrites(ctx context.Context) []string

	// InTx runs fn on a Backend whose statements form one transaction,
	// committed when fn returns nil and rolled back otherwise.
	InTx(ctx context.Context, fn func(Backend) error) error
	// Close releases the connections.
	Close() error
}

// DB is the admin database: every operation Ferry performs on it, over an
// engine's Backend. It is safe for concurrent use.
type DB struct {
	b Backend
}

// New returns the admin database over b.
func New(b Backend) *DB { return &DB{b: b} }

// Backend returns the engine-specific part (for checks that need it).
func (db *DB) Backend() Backend { return db.b }

// InTx runs fn with a DB whose operations form one transaction: all of
// them are committed when fn returns nil, none otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *DB) error) error {
	return db.b.InTx(ctx, func(b Backend) error { return fn(New(b)) })
}

// Close releases the connections.
func (db *DB) Close() error { return db.b.Close() }
