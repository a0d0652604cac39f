package ferry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// CaseCollision is why Ferry refuses two table names, or two target
// schemas, that differ only in letter case.
const CaseCollision = "a MariaDB/MySQL target with lower_case_table_names=1 or 2 (the default on Windows and macOS) stores both as one, so one would replace the other's data; on PostgreSQL they are two names that differ only in quoting"

// MaxIdentLen is the longest identifier Ferry creates or accepts: it is
// PostgreSQL's limit (NAMEDATALEN-1), which is below MySQL's 64.
const MaxIdentLen = 63

// FreshnessTable is the table in each company schema (on the target) that
// records, per table, the run that last swapped it live, its row count and
// when (UTC). Each target adapter creates it in its own DDL with these
// columns, and BI tools may read it:
//
//	table_name (primary key), run_id, rows, swapped_at
const FreshnessTable = "_ferry_freshness"

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)
	aliasRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	runIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$`)
)

// ValidRunID reports whether id may name a run: 1-80 ASCII letters, digits,
// '-', '_', '.' and ':', starting with a letter or digit, without "..". A
// Step Functions execution name qualifies; the id is safe as an object key
// prefix. Every step and every swap applies this one rule; the error is a
// *ConfigError.
func ValidRunID(id string) error {
	if !runIDRe.MatchString(id) || strings.Contains(id, "..") {
		return &ConfigError{Msg: fmt.Sprintf("run id %q must be 1-80 letters, digits, '-', '_', '.', ':' starting with a letter or digit", id),
			Fix: "start the execution with a plain name (Step Functions execution names qualify)"}
	}
	return nil
}

// ValidIdent reports whether s is an identifier Ferry accepts for schemas,
// tables and columns: ASCII letters, digits, _ and $, not starting with a
// digit, at most MaxIdentLen bytes. Identifiers are still always quoted.
func ValidIdent(s string) error {
	if s == "" {
		return fmt.Errorf("identifier is empty")
	}
	if len(s) > MaxIdentLen {
		return fmt.Errorf("identifier %q is %d bytes, longer than %d", s, len(s), MaxIdentLen)
	}
	if !identRe.MatchString(s) {
		return fmt.Errorf("identifier %q may only contain ASCII letters, digits, _ and $, and must not start with a digit", s)
	}
	return nil
}

// ValidAlias reports whether s is a valid company alias: lower-case ASCII
// letter first, then lower-case letters, digits and _, at most 40 bytes.
func ValidAlias(s string) error {
	if !aliasRe.MatchString(s) {
		return fmt.Errorf("alias %q must match [a-z][a-z0-9_]{0,39}", s)
	}
	return nil
}

// DefaultSchema is the target schema of a company without an explicit one.
func DefaultSchema(alias string) string { return "bi_" + alias }

// StagingName is the staging table of table: deterministic, at most
// MaxIdentLen bytes, and distinct for distinct tables (a hash of the full
// name is part of it). It starts with "_ferry_" so it never collides with a
// configured table, which ConfigError refuses to start with "_ferry_".
func StagingName(table string) string { return shadowName("s", table) }

// OldName is the temporary name used inside a swap.
func OldName(table string) string { return shadowName("o", table) }

func shadowName(kind, table string) string {
	sum := sha256.Sum256([]byte(table))
	h := hex.EncodeToString(sum[:])[:8]
	base := table
	// "_ferry_" + kind + "_" + base + "_" + 8 hex = 18 + len(base)
	if max := MaxIdentLen - 18; len(base) > max {
		base = base[:max]
	}
	return "_ferry_" + kind + "_" + base + "_" + h
}

// ChunkKey is the object key of a chunk's gzip CSV (S3's default codec):
// ChunkKeyFor with CodecGzip.
func ChunkKey(runID, alias, table string, index int) string {
	return ChunkKeyFor(runID, alias, table, index, CodecGzip)
}

// ChunkKeyFor is the object key of a chunk written with codec c, named by
// it (Codec.ChunkExt): 000007.csv for none (a local directory's default),
// .csv.gz for gzip, .csv.zst for zstd. The name only informs: the loader
// decides the codec by the object's first bytes.
func ChunkKeyFor(runID, alias, table string, index int, c Codec) string {
	return path.Join(runID, alias, table, fmt.Sprintf("%06d", index)+c.ChunkExt())
}

// FailedKey is the object key of the note a chunk's failed export or load
// leaves (its step, error type and message): finish-run quotes it for a
// chunk that was never loaded, since the Distributed Map reports only that
// a child execution failed.
func FailedKey(runID, alias, table string, index int) string {
	return path.Join(runID, alias, table, fmt.Sprintf("%06d.failed.json", index))
}

// DoneKey is the object key of the ChunkDone marker of the chunk at key.
func DoneKey(runID, alias, table string, index int) string {
	return path.Join(runID, alias, table, fmt.Sprintf("%06d.done.json", index))
}

// ManifestKey is the object key of a company's chunk manifest: a JSON array
// of ChunkTask, read by the Distributed Map's ItemReader.
func ManifestKey(runID, alias string) string {
	return path.Join(runID, alias, "manifest.json")
}

// CompaniesKey is the object key of a run's companies manifest: a JSON
// array of CompanyRun, read by ForEachCompany's ItemReader.
func CompaniesKey(runID string) string {
	return path.Join(runID, "companies.json")
}

// ChunkName is how errors and logs name a chunk: "table#index [lo,hi)".
func ChunkName(table string, c Chunk) string {
	return table + "#" + strconv.Itoa(c.Index) + " [" + strconv.FormatInt(c.Lo, 10) + "," + strconv.FormatInt(c.Hi, 10) + ")"
}
