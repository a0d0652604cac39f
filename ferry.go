// Package ferry holds Ferry's domain types: what is copied (Company,
// TableSpec), how a copy is cut up (Chunk, Plan), the inputs and outputs of
// the four steps, the typed errors that cross the Lambda edge, and the narrow
// interfaces the engines implement (Source, Target, Store).
//
// Nothing in this package talks to a database, S3 or AWS; adapters live in
// internal/<engine> and are wired by functions/*/main.go and cmd/ferry.
package ferry

import (
	"context"
	"io"
	"time"
)

// Company is one customer whose reporting database Ferry refreshes.
type Company struct {
	ID int64 `json:"company_id"`
	// Alias is a short identifier ([a-z][a-z0-9_]{0,39}) used in S3 keys
	// and in the default target schema name.
	Alias string `json:"alias"`
	// Schema is the target MySQL database or PostgreSQL schema
	// (default "bi_<alias>").
	Schema string `json:"schema"`
	// Config holds the company's configuration values by name
	// (companies_configurations); each is available to queries as :name.
	Config map[string]string `json:"config,omitempty"`
}

// ZeroDatePolicy says what the exporter does with a MySQL zero or partial
// date such as 0000-00-00 or 2024-00-15, which neither PostgreSQL nor a
// strict MySQL accepts.
type ZeroDatePolicy string

const (
	// ZeroDateError (the default) fails the chunk with a DataError naming
	// the row's chunk-column value and the column.
	ZeroDateError ZeroDatePolicy = "error"
	// ZeroDateNull writes NULL for the value and counts it in
	// ExportChunkOutput.ZeroDates.
	ZeroDateNull ZeroDatePolicy = "null"
)

// TableSpec is one configured table: the SELECT that produces its rows and
// how to cut them into chunks.
type TableSpec struct {
	// Name is the target table name.
	Name string `json:"name"`
	// Query is a single SELECT with named parameters (:company_id, :since,
	// a configuration's name, ...). Values are always bound by the driver.
	Query string `json:"query"`
	// Params lists the parameters Query uses (params_select).
	Params []string `json:"params,omitempty"`
	// ChunkColumn is an integer column of the result used to cut chunks.
	ChunkColumn string `json:"chunk_column"`
	// ChunkRows is the target number of rows per chunk.
	ChunkRows int64 `json:"chunk_rows"`
	// ZeroDates is the zero-date policy; empty means ZeroDateError.
	ZeroDates ZeroDatePolicy `json:"zero_dates,omitempty"`
	// MaxShrinkPct, when 1..99, refuses to publish the table if it would
	// have fewer than (100 - MaxShrinkPct)% of the live table's rows: a
	// guard against a source that suddenly returns too little (replica lag,
	// a wrong date window). 0 means no guard.
	MaxShrinkPct int `json:"max_shrink_pct,omitempty"`
	// SchemaChanges says what a run does when the query's columns differ
	// from the live table's; empty means SchemaEvolve.
	SchemaChanges SchemaChangePolicy `json:"schema_changes,omitempty"`
}

// Chunk is the half-open range [Lo, Hi) of a table's chunk column that one
// export/load pair copies. Ranges of one table never overlap and their
// union covers every row that existed when the run was planned.
type Chunk struct {
	Index int   `json:"index"`
	Lo    int64 `json:"lo"`
	Hi    int64 `json:"hi"`
	// EstRows is the planner's row estimate for the range.
	EstRows int64 `json:"est_rows,omitempty"`
}

// Param is a bound query parameter value. Values are strings or integers
// as JSON carries them; the driver binds them, never string formatting.
type Param = any

// ChunkTask is one item of a company's chunk manifest and the input of
// export-chunk. It is self-contained: the exporter needs nothing else.
type ChunkTask struct {
	RunID       string           `json:"run_id"`
	CompanyID   int64            `json:"company_id"`
	Alias       string           `json:"alias"`
	Schema      string           `json:"schema"`
	Table       string           `json:"table"`
	Staging     string           `json:"staging"`
	Target      Engine           `json:"target"`
	Chunk       Chunk            `json:"chunk"`
	Chunks      int              `json:"chunks"`
	Key         string           `json:"key"`
	Query       string           `json:"query"`
	Params      map[string]Param `json:"params,omitempty"`
	ChunkColumn string           `json:"chunk_column"`
	ZeroDates   ZeroDatePolicy   `json:"zero_dates,omitempty"`
}

// ExportChunkOutput is what export-chunk returns and load-chunk takes.
type ExportChunkOutput struct {
	ChunkTask
	// Rows is the number of data rows written (the header is not a row).
	Rows int64 `json:"rows"`
	// Bytes is the size of the object; RawBytes of the CSV inside.
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"raw_bytes"`
	// Codec is how the object is compressed (informational: the loader
	// reads the codec from the object's first bytes).
	Codec Codec `json:"codec,omitempty"`
	// Checksum is the end-to-end checksum of the uncompressed CSV,
	// "crc32c:<8 hex digits>", computed once by the export and verified by
	// the load at the end of the stream, before it commits.
	Checksum string `json:"checksum,omitempty"`
	// SHA256 is the hex SHA-256 of the uncompressed CSV, as exports of
	// earlier releases wrote it instead of Checksum; the load verifies
	// whichever is set.
	SHA256    string  `json:"sha256,omitempty"`
	ZeroDates int64   `json:"zero_dates_nulled,omitempty"`
	Seconds   float64 `json:"seconds"`
}

// LoadChunkOutput is what load-chunk returns. Load also writes a ChunkDone
// marker to the store so swap-tables can verify without a growing payload.
type LoadChunkOutput struct {
	RunID     string  `json:"run_id"`
	CompanyID int64   `json:"company_id"`
	Table     string  `json:"table"`
	Index     int     `json:"index"`
	Rows      int64   `json:"rows"`
	Seconds   float64 `json:"seconds"`
}

// ChunkDone is the marker load-chunk writes after a chunk is committed to
// staging, at DoneKey(task.Key). Rewriting it on a retry is harmless.
type ChunkDone struct {
	Table    string    `json:"table"`
	Index    int       `json:"index"`
	Exported int64     `json:"exported"`
	Loaded   int64     `json:"loaded"`
	Bytes    int64     `json:"bytes"`
	Checksum string    `json:"checksum,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	At       time.Time `json:"at"`
}

// Store is the object store that carries chunks, manifests and markers
// between steps: S3 on AWS, a directory locally.
type Store interface {
	// Create starts writing key. Nothing is visible at key until Commit
	// returns nil; Abort (or a failed Commit) leaves no object and no
	// pending upload behind. Writing an existing key replaces it.
	Create(ctx context.Context, key string) (ObjectWriter, error)
	// Open streams key. A missing key returns an error wrapping ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ObjectWriter is an object being written. Exactly one of Commit or Abort
// must be called; calling Abort after Commit is a no-op.
type ObjectWriter interface {
	io.Writer
	Commit() error
	Abort() error
}

// ExportRequest is one chunk to export.
type ExportRequest struct {
	Query       string
	Params      map[string]Param
	ChunkColumn string
	Lo, Hi      int64
	ZeroDates   ZeroDatePolicy
	// Target is the engine the CSV will be loaded into; text containing
	// 0x00 is refused for EnginePostgres.
	Target Engine
}

// ExportStats is what an export measured. The SHA-256 of the bytes is
// computed once, where they are written to the store (export-chunk), not
// by the Source.
type ExportStats struct {
	Rows      int64
	RawBytes  int64
	ZeroDates int64
}

// Bounds is what the planner learns about a query's chunk column.
type Bounds struct {
	Rows     int64
	Min, Max int64
}

// Source is the production database rows are read from (MySQL or
// PostgreSQL).
type Source interface {
	// Engine is the source database's engine: configured queries are
	// written in its SQL.
	Engine() Engine
	// Columns returns the result columns of query without reading rows.
	Columns(ctx context.Context, query string, params map[string]Param) ([]Column, error)
	// Bounds counts the query's rows and the min/max of its chunk column.
	Bounds(ctx context.Context, query string, params map[string]Param, chunkColumn string) (Bounds, error)
	// Boundaries returns the sorted chunk-column values at which chunks of
	// about every rows each start, given lo, as a keyset walk; it never
	// returns more than (rows/every)+1 values and never loops on sparse keys.
	Boundaries(ctx context.Context, query string, params map[string]Param, chunkColumn string, lo, hi int64, every int64) ([]int64, error)
	// Export streams the chunk's rows as the csvcodec dialect (header
	// first) into w, uncompressed. It holds no more than one row in memory.
	Export(ctx context.Context, req ExportRequest, w io.Writer) (ExportStats, error)
}

// LoadRequest is one chunk to load into a staging table.
type LoadRequest struct {
	Schema, Staging string
	ChunkColumn     string
	Lo, Hi          int64
	// Rows, when RowsKnown, is the number of data records in the object as
	// its export counted them. A loader refuses, before it commits, a load
	// that would keep a different number (a row outside [Lo, Hi), a NULL
	// chunk value, a short object); load-chunk always sets it.
	Rows      int64
	RowsKnown bool
}

// Target is a reporting database (Aurora MySQL or Aurora PostgreSQL).
type Target interface {
	Engine() Engine
	// EnsureSchema creates the company's schema if it does not exist.
	EnsureSchema(ctx context.Context, schema string) error
	// PrepareStaging (re)creates an empty staging table shaped by cols
	// (the query's columns): LIKE the live table when its columns are what
	// cols derive; else derived from cols, with the live table's primary
	// key and indexes on the columns that still exist (a schema change
	// goes live with the swap). With nil cols, LIKE the live table.
	// Idempotent.
	PrepareStaging(ctx context.Context, schema, table, staging string, cols []Column, chunkColumn string) error
	// SchemaChanges reports, without changing anything, how the table
	// cols derive differs from the live table (column by column, in the
	// target's own type names); nil when there is no live table or no
	// difference.
	SchemaChanges(ctx context.Context, schema, table string, cols []Column, chunkColumn string) ([]SchemaChange, error)
	// Load replaces the rows of [Lo, Hi) in the staging table with the CSV
	// in r (header first), in one transaction, and returns the rows loaded.
	// Running it twice with the same input leaves the same rows.
	Load(ctx context.Context, req LoadRequest, r io.Reader) (int64, error)
	// Count counts a table's rows.
	Count(ctx context.Context, schema, table string) (int64, error)
	// Swap verifies every staging count against Expected, then atomically
	// exchanges staging and live for all tables, truncates what was live and
	// records freshness. Live is untouched on any error. A retry of a swap
	// that already happened returns AlreadySwapped and renames nothing.
	Swap(ctx context.Context, req SwapRequest) (SwapResult, error)
}
