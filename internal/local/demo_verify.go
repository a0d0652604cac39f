package local

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// verify compares a company's target table with its source query: row
// count and a SHA-256 over every value in id order (NULL distinct from
// empty); on a mismatch, Diff describes the first differing value.
func verify(ctx context.Context, src, tgt *sql.DB, c admin.NewCompany, t demoTable) (Check, error) {
	chk := Check{Alias: c.Alias, Table: t.name}
	cols := strings.Join(t.cols, ", ")
	srows, err := src.QueryContext(ctx, "SELECT "+cols+" FROM "+t.name+" WHERE company_id = ? ORDER BY id", c.ID)
	if err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s source: %w", c.Alias, t.name, err)
	}
	defer srows.Close()
	schema := ferry.DefaultSchema(c.Alias)
	// A bound parameter on both sides: both results then come through the
	// binary protocol, whose datetime text does not depend on the server's
	// formatting (the embedded server trims trailing fractional zeros in
	// text results).
	trows, err := tgt.QueryContext(ctx, "SELECT "+cols+" FROM `"+schema+"`.`"+t.name+"` WHERE id >= ? ORDER BY id", int64(math.MinInt64))
	if err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s target: %w", c.Alias, t.name, err)
	}
	defer trows.Close()
	return chk, compareRows(&chk, t.cols, newSQLReader(srows, len(t.cols)), newSQLReader(trows, len(t.cols)))
}

// rowReader is one side of a verification: rows of raw values (nil is
// NULL), valid until the next call of next.
type rowReader interface {
	next() bool
	values() ([][]byte, error)
	err() error
}

// compareRows reads both sides to the end, filling chk's counts, sums,
// OK and the first difference.
func compareRows(chk *Check, cols []string, src, tgt rowReader) error {
	sh, th := newRowHasher(), newRowHasher()
	for {
		sok, tok := src.next(), tgt.next()
		if sok {
			if err := sh.add(src.values()); err != nil {
				return fmt.Errorf("demo: verify %s.%s source: %w", chk.Alias, chk.Table, err)
			}
		}
		if tok {
			if err := th.add(tgt.values()); err != nil {
				return fmt.Errorf("demo: verify %s.%s target: %w", chk.Alias, chk.Table, err)
			}
		}
		if sok && tok && chk.Diff == "" {
			for i := range cols {
				a, b := sh.vals[i], th.vals[i]
				if (a == nil) != (b == nil) || string(a) != string(b) {
					chk.Diff = fmt.Sprintf("row %d (id %s), column %s: source %s, target %s", sh.n, sh.vals[0], cols[i], show(a), show(b))
					break
				}
			}
		}
		if !sok && !tok {
			break
		}
	}
	if err := errors.Join(src.err(), tgt.err()); err != nil {
		return fmt.Errorf("demo: verify %s.%s: %w", chk.Alias, chk.Table, err)
	}
	chk.SourceRows, chk.SourceSum = sh.n, sh.sum()
	chk.TargetRows, chk.TargetSum = th.n, th.sum()
	chk.OK = chk.SourceRows == chk.TargetRows && chk.SourceSum == chk.TargetSum && chk.SourceRows > 0
	return nil
}

func show(v []byte) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Quote(string(v))
}

// sqlReader reads *sql.Rows as raw bytes.
type sqlReader struct {
	rows *sql.Rows
	vals []sql.RawBytes
	ptrs []any
	out  [][]byte
}

func newSQLReader(rows *sql.Rows, n int) *sqlReader {
	r := &sqlReader{rows: rows, vals: make([]sql.RawBytes, n), ptrs: make([]any, n), out: make([][]byte, n)}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r
}

func (r *sqlReader) next() bool { return r.rows.Next() }

func (r *sqlReader) values() ([][]byte, error) {
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return nil, err
	}
	for i, v := range r.vals {
		r.out[i] = v
	}
	return r.out, nil
}

func (r *sqlReader) err() error { return r.rows.Err() }

// rowHasher hashes rows and keeps the last one.
type rowHasher struct {
	h    hash.Hash
	vals [][]byte
	n    int64
}

func newRowHasher() *rowHasher { return &rowHasher{h: sha256.New()} }

func (r *rowHasher) add(vals [][]byte, err error) error {
	if err != nil {
		return err
	}
	r.vals = vals
	var lenBuf [9]byte
	for _, v := range vals {
		if v == nil {
			r.h.Write([]byte{0xff})
			continue
		}
		binary.BigEndian.PutUint64(lenBuf[1:], uint64(len(v)))
		r.h.Write(lenBuf[:])
		r.h.Write(v)
	}
	r.n++
	return nil
}

func (r *rowHasher) sum() string { return hex.EncodeToString(r.h.Sum(nil)) }

// WriteChecks prints the verification table.
func (d *DemoResult) WriteChecks(w io.Writer) {
	fmt.Fprintln(w, "verification (source query vs target table: rows, SHA-256 of every value):")
	for _, c := range d.Checks {
		status := "ok"
		if !c.OK {
			status = "MISMATCH"
		}
		fmt.Fprintf(w, "  %-8s %-10s source %7d rows %s  target %7d rows %s  %s\n", c.Alias, c.Table, c.SourceRows, c.SourceSum[:12], c.TargetRows, c.TargetSum[:12], status)
		if c.Diff != "" {
			fmt.Fprintf(w, "      first difference: %s\n", c.Diff)
		}
	}
	if len(d.Checks) == 0 {
		fmt.Fprintln(w, "  nothing verified: the execution failed")
	}
}
