package ferry

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// SwapTable is one table of a company's swap.
type SwapTable struct {
	Table   string `json:"table"`
	Staging string `json:"staging"`
	// Expected is the sum of the exported chunk counts.
	Expected int64 `json:"expected"`
}

// SwapRequest swaps all of one company's tables at once.
type SwapRequest struct {
	RunID  string
	Schema string
	Tables []SwapTable
}

// SwapResult says what a swap did.
type SwapResult struct {
	// AlreadySwapped is true when a previous attempt of the same run had
	// already swapped; nothing was renamed again.
	AlreadySwapped bool      `json:"already_swapped"`
	SwappedAt      time.Time `json:"swapped_at"`
}

// Validate checks a swap request before anything is touched, the same way
// for every target: the schema, every table and every staging name are
// identifiers (ValidIdent), the run id follows ValidRunID, there is at
// least one table, no table is listed twice (compared case-insensitively,
// as MySQL may compare table names) and no staging table has its live
// table's name. The error is a *ConfigError.
func (r SwapRequest) Validate() error {
	bad := func(w Where, msg, fix string) error { return &ConfigError{Where: w, Msg: msg, Fix: fix} }
	const identFix = "use names of ASCII letters, digits and _"
	if err := ValidIdent(r.Schema); err != nil {
		return bad(Where{}, "schema: "+err.Error(), identFix)
	}
	if err := ValidRunID(r.RunID); err != nil {
		return err
	}
	if len(r.Tables) == 0 {
		return bad(Where{}, "no tables to swap in schema "+r.Schema, "configure at least one active table for the company")
	}
	seen := map[string]bool{}
	for _, t := range r.Tables {
		w := Where{Table: t.Table}
		for _, name := range []string{t.Table, t.Staging} {
			if err := ValidIdent(name); err != nil {
				return bad(w, err.Error(), identFix)
			}
		}
		if strings.EqualFold(t.Table, t.Staging) {
			return bad(w, "staging and live have the same name", "pass the staging name list-tables planned (ferry.StagingName)")
		}
		if seen[strings.ToLower(t.Table)] {
			return bad(w, "table listed twice", "remove the duplicate table configuration")
		}
		seen[strings.ToLower(t.Table)] = true
	}
	return nil
}

// CheckCounts counts every staging table of r with count and refuses the
// swap with a *CountMismatchError naming the table when a count differs
// from Expected. A staging table that does not exist (count's error wraps
// ErrNotFound) is a mismatch with 0 rows. Any other error of count is
// returned as it is. Every target calls it before anything is renamed, so
// a refusal leaves live untouched.
func (r SwapRequest) CheckCounts(count func(staging string) (int64, error)) error {
	for _, t := range r.Tables {
		n, err := count(t.Staging)
		if errors.Is(err, ErrNotFound) {
			n, err = 0, nil
			if t.Expected == 0 {
				return &CountMismatchError{Where: Where{Table: t.Table}, Staging: 0, Expected: 0,
					msg: fmt.Sprintf("table %s: staging table %s does not exist; live left unchanged (fix: rerun the workflow)", t.Table, t.Staging)}
			}
		}
		if err != nil {
			return err
		}
		if n != t.Expected {
			return &CountMismatchError{Where: Where{Table: t.Table}, Staging: n, Expected: t.Expected}
		}
	}
	return nil
}

// TableFreshness is one row of a company schema's FreshnessTable: the run
// that last swapped the table live, its row count, and when (UTC).
type TableFreshness struct {
	RunID     string    `json:"run_id"`
	Rows      int64     `json:"rows"`
	SwappedAt time.Time `json:"swapped_at"`
}
