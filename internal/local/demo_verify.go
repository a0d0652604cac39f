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
	sh, th := newRowHasher(len(t.cols)), newRowHasher(len(t.cols))
	for {
		sok, tok := srows.Next(), trows.Next()
		if sok {
			if err := sh.scan(srows); err != nil {
				return chk, fmt.Errorf("demo: verify %s.%s source: %w", c.Alias, t.name, err)
			}
		}
		if tok {
			if err := th.scan(trows); err != nil {
				return chk, fmt.Errorf("demo: verify %s.%s target: %w", c.Alias, t.name, err)
			}
		}
		if sok && tok && chk.Diff == "" {
			for i := range t.cols {
				a, b := sh.vals[i], th.vals[i]
				if (a == nil) != (b == nil) || string(a) != string(b) {
					chk.Diff = fmt.Sprintf("row %d (id %s), column %s: source %s, target %s", sh.n, sh.vals[0], t.cols[i], show(a), show(b))
					break
				}
			}
		}
		if !sok && !tok {
			break
		}
	}
	if err := errors.Join(srows.Err(), trows.Err()); err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s: %w", c.Alias, t.name, err)
	}
	chk.SourceRows, chk.SourceSum = sh.n, sh.sum()
	chk.TargetRows, chk.TargetSum = th.n, th.sum()
	chk.OK = chk.SourceRows == chk.TargetRows && chk.SourceSum == chk.TargetSum && chk.SourceRows > 0
	return chk, nil
}

func show(v sql.RawBytes) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Quote(string(v))
}

type rowHasher struct {
	h    hash.Hash
	vals []sql.RawBytes
	ptrs []any
	n    int64
}

func newRowHasher(n int) *rowHasher {
	r := &rowHasher{h: sha256.New(), vals: make([]sql.RawBytes, n), ptrs: make([]any, n)}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r
}

func (r *rowHasher) scan(rows *sql.Rows) error {
	if err := rows.Scan(r.ptrs...); err != nil {
		return err
	}
	var lenBuf [9]byte
	for _, v := range r.vals {
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
