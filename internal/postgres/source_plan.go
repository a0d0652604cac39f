package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/keyset"
	"github.com/jackc/pgx/v5/pgconn"
)

// Bounds counts the query's rows and the min/max of its chunk column in
// one aggregate statement. An empty result gives Bounds{}. A chunk column
// that is not smallint, integer or bigint, is missing from the result, or
// is NULL in some rows (such rows would be in no chunk) is a
// *ferry.ConfigError.
func (s *Source) Bounds(ctx context.Context, query string, params map[string]ferry.Param, chunkColumn string) (ferry.Bounds, error) {
	op := "postgres: bounds of chunk column " + chunkColumn
	if err := checkChunkColumn(op, chunkColumn); err != nil {
		return ferry.Bounds{}, err
	}
	b, err := bindQuery(op, query, params)
	if err != nil {
		return ferry.Bounds{}, err
	}
	c := chunkRef(chunkColumn)
	b.sql = "SELECT count(*), count(" + c + "), min(" + c + "), max(" + c + ") FROM " + derivedPG(b.sql)
	var vals [4][]byte
	err = s.read(ctx, op, func(pc *pgconn.PgConn) error {
		if err := s.checkChunkType(ctx, pc, op, query, params, chunkColumn); err != nil {
			return err
		}
		return scanOne(exec(ctx, pc, b), vals[:])
	})
	if err != nil {
		return ferry.Bounds{}, sourceErr(ctx, op, err)
	}
	rows, _ := strconv.ParseInt(string(vals[0]), 10, 64)
	nonNull, _ := strconv.ParseInt(string(vals[1]), 10, 64)
	if rows != nonNull {
		return ferry.Bounds{}, &ferry.ConfigError{Msg: fmt.Sprintf("%s: %d rows have a NULL chunk column and would be copied by no chunk", op, rows-nonNull),
			Fix: "choose a NOT NULL integer chunk column, or filter NULLs out in the query"}
	}
	if rows == 0 {
		return ferry.Bounds{}, nil
	}
	out := ferry.Bounds{Rows: rows}
	out.Min, _ = strconv.ParseInt(string(vals[2]), 10, 64)
	out.Max, _ = strconv.ParseInt(string(vals[3]), 10, 64)
	if out.Max == 1<<63-1 {
		return ferry.Bounds{}, &ferry.ConfigError{Msg: op + ": the chunk column holds 9223372036854775807, the largest bigint, which no chunk range [lo, hi) can include",
			Fix: "choose another chunk column, or filter that row out"}
	}
	return out, nil
}

// checkChunkType describes the bound query (without running it) and
// checks that chunkColumn is an integer column of its result.
func (s *Source) checkChunkType(ctx context.Context, pc *pgconn.PgConn, op, query string, params map[string]ferry.Param, chunkColumn string) error {
	b, err := bindQuery(op, query, params)
	if err != nil {
		return err
	}
	sd, err := pc.Prepare(ctx, "", b.sql, nil)
	if err != nil {
		return err
	}
	names := make([]string, len(sd.Fields))
	for i, f := range sd.Fields {
		names[i] = f.Name
	}
	_, err = chunkIndex(op, chunkColumn, sd.Fields, names)
	return err
}

// scanOne reads the single row of rr into vals (raw text; nil is NULL).
func scanOne(rr *pgconn.ResultReader, vals [][]byte) error {
	for rr.NextRow() {
		for i, v := range rr.Values() {
			if i < len(vals) && v != nil {
				vals[i] = append([]byte(nil), v...)
			}
		}
	}
	_, err := rr.Close()
	return err
}

// Boundaries walks the chunk column in [lo, hi) by keyset (keyset.Walk:
// SELECT col ... WHERE col >= cur AND col < hi ORDER BY col LIMIT 1 OFFSET
// every, moving to the next distinct value when a value repeats more than
// every times), so it never loops and returns at most rows/every+1 strictly
// increasing values. An empty range returns nil. Each probe is its own
// statement and read-only transaction: none holds a snapshot or runs
// longer than one index walk of every rows.
func (s *Source) Boundaries(ctx context.Context, query string, params map[string]ferry.Param, chunkColumn string, lo, hi int64, every int64) ([]int64, error) {
	op := "postgres: chunk boundaries of " + chunkColumn
	if err := checkChunkColumn(op, chunkColumn); err != nil {
		return nil, err
	}
	b, err := bindQuery(op, query, params)
	if err != nil {
		return nil, err
	}
	c := chunkRef(chunkColumn)
	sqls := map[keyset.Probe]string{
		keyset.First: "SELECT min(%[1]s) FROM %[2]s WHERE %[1]s >= %[3]s::bigint AND %[1]s < %[4]s::bigint",
		keyset.Step:  "SELECT %[1]s FROM %[2]s WHERE %[1]s >= %[3]s::bigint AND %[1]s < %[4]s::bigint ORDER BY %[1]s LIMIT 1 OFFSET %[5]s::bigint",
		keyset.Next:  "SELECT min(%[1]s) FROM %[2]s WHERE %[1]s > %[3]s::bigint AND %[1]s < %[4]s::bigint",
	}
	return keyset.Walk(op, lo, hi, every, func(p keyset.Probe, cur int64) (int64, bool, error) {
		vals := []int64{cur, hi}
		if p == keyset.Step {
			vals = append(vals, every)
		}
		pb, n := b.with(vals...)
		pb.sql = fmt.Sprintf(sqls[p], c, derivedPG(b.sql), placeholder(n), placeholder(n+1), placeholder(n+2))
		var v [1][]byte
		if err := s.read(ctx, op, func(pc *pgconn.PgConn) error { return scanOne(exec(ctx, pc, pb), v[:]) }); err != nil {
			return 0, false, sourceErr(ctx, op, err)
		}
		if v[0] == nil {
			return 0, false, nil
		}
		x, err := strconv.ParseInt(string(v[0]), 10, 64)
		return x, err == nil, err
	})
}
