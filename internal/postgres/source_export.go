package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/postgres/pgcol"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Export streams the rows of [req.Lo, req.Hi) as the csvcodec dialect,
// header first (the result's column names), into w. It holds one row at a
// time: each value arrives as the text of its type's output function (the
// bytes COPY would write), under the settings described on Source.
//
// For a PostgreSQL target every value is written as PostgreSQL prints it,
// which PostgreSQL reads back to the same value: NULL apart from ”,
// numeric to the last digit and NaN/±Infinity, floats in their shortest
// exact text with -0, ±Infinity and NaN, bytea as \x + hex, timestamptz in
// UTC, ±infinity dates and timestamps, intervals, arrays, ranges, json as
// written and jsonb as stored. money is written as its numeric value
// (money::numeric), since money's text depends on lc_monetary.
//
// For a MySQL target values are adapted to what MySQL reads (see
// mysqlConverter): booleans become 1 and 0, timestamptz loses its "+00".
// A value MySQL cannot hold (±infinity or a BC or five-digit-year date,
// NaN or ±Infinity numeric and floats, a numeric beyond decimal(65,30))
// follows the table's policy (req.ZeroDates, which for a PostgreSQL source
// governs every value the target cannot hold): ZeroDateError (the default)
// fails the chunk with a *ferry.DataError naming the row's chunk-column
// value, the column and the value; ZeroDateNull writes NULL and counts it
// in ExportStats.ZeroDates. Nothing is ever rounded or rewritten silently.
//
// On error, what was written to w is incomplete: the caller discards it.
func (s *Source) Export(ctx context.Context, req ferry.ExportRequest, w io.Writer) (ferry.ExportStats, error) {
	op := fmt.Sprintf("postgres: export [%d,%d)", req.Lo, req.Hi)
	if err := checkChunkColumn(op, req.ChunkColumn); err != nil {
		return ferry.ExportStats{}, err
	}
	policy, err := unfitPolicy(op, req.ZeroDates)
	if err != nil {
		return ferry.ExportStats{}, err
	}
	b, err := bindQuery(op, req.Query, req.Params)
	if err != nil {
		return ferry.ExportStats{}, err
	}
	ranged, n := b.with(req.Lo, req.Hi)
	c := chunkRef(req.ChunkColumn)
	return s.export(ctx, op, exportSpec{inner: b.sql, args: ranged.args, chunkColumn: req.ChunkColumn, target: req.Target, policy: policy,
		where: " WHERE " + c + " >= " + placeholder(n) + "::bigint AND " + c + " < " + placeholder(n+1) + "::bigint"}, w)
}

// ExportQuery streams every row of a job's SELECT (an extract: no chunk
// column, no range) as the csvcodec dialect, header first, into w: the
// same read-only transaction, session settings, bound parameters and
// encoding as Export for a PostgreSQL target, with q.Schema as the
// search_path and q.Timeout bounding the statement. The header holds the
// bare column names: an extract is read by people and other tools.
func (s *Source) ExportQuery(ctx context.Context, q ferry.JobSQL, w io.Writer) (ferry.ExportStats, error) {
	const op = "postgres: export query"
	b, err := bindQuery(op, q.SQL, q.Params)
	if err != nil {
		return ferry.ExportStats{}, err
	}
	if q.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, q.Timeout)
		defer cancel()
	}
	return s.export(ctx, op, exportSpec{inner: b.sql, args: b.args, schema: q.Schema, target: ferry.EnginePostgres, policy: ferry.ZeroDateError, plainHeader: true}, w)
}

// exportSpec is what export runs: the bound query, the WHERE on ferry_q
// (with its values at the end of args), the chunk column ("" for none)
// and the target's conventions.
type exportSpec struct {
	inner, where string
	schema       string
	args         [][]byte
	chunkColumn  string
	target       ferry.Engine
	policy       ferry.ZeroDatePolicy
	// plainHeader writes bare column names instead of the typed header.
	plainHeader bool
}

// export describes the query (to name and check its columns), then streams
// SELECT <columns> FROM (query) AS ferry_q <where> into w.
func (s *Source) export(ctx context.Context, op string, sp exportSpec, w io.Writer) (ferry.ExportStats, error) {
	var st ferry.ExportStats
	err := s.readIn(ctx, op, sp.schema, func(pc *pgconn.PgConn) error {
		cols, sd, err := describe(ctx, pc, bound{sql: sp.inner, args: sp.args})
		if err != nil {
			return err
		}
		names, err := columnNames(op, sd.Fields)
		if err != nil {
			return err
		}
		chunk := -1
		if sp.chunkColumn != "" {
			if chunk, err = chunkIndex(op, sp.chunkColumn, sd.Fields, names); err != nil {
				return err
			}
		}
		// Stopping early cancels the statement rather than read the rest.
		qctx, cancel := context.WithCancel(ctx)
		defer cancel()
		hdr := header(cols)
		if sp.plainHeader {
			for i := range hdr {
				hdr[i] = csvcodec.HeaderColumn{Name: hdr[i].Name}
			}
		}
		rw := rowWriter{header: hdr, chunk: chunk, policy: sp.policy, conv: converters(sd.Fields, sp.target), abort: cancel}
		st, err = rw.write(exec(qctx, pc, bound{sql: "SELECT " + selectList(sd.Fields) + " FROM " + derivedPG(sp.inner) + sp.where, args: sp.args}), w)
		return err
	})
	return st, sourceErr(ctx, op, err)
}

// unfitPolicy validates the policy for values the target cannot hold.
func unfitPolicy(op string, p ferry.ZeroDatePolicy) (ferry.ZeroDatePolicy, error) {
	switch p {
	case "":
		return ferry.ZeroDateError, nil
	case ferry.ZeroDateError, ferry.ZeroDateNull:
		return p, nil
	}
	return "", &ferry.ConfigError{Msg: fmt.Sprintf("%s: unknown zero_dates policy %q", op, p), Fix: `set zero_dates to "error" or "null"`}
}

// selectList names the result's columns for the outer SELECT, writing
// money as numeric.
func selectList(fields []pgconn.FieldDescription) string {
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = "ferry_q." + quoteIdent(f.Name)
		if f.DataTypeOID == pgcol.Money {
			cols[i] += "::numeric AS " + quoteIdent(f.Name)
		}
	}
	return strings.Join(cols, ", ")
}

// header is the typed CSV header of cols: each column's name, encoding
// (hex for bytea, bits for bit and bit varying, text otherwise: arrays are
// their literal's text) and source type (format_type).
func header(cols []ferry.Column) []csvcodec.HeaderColumn {
	out := make([]csvcodec.HeaderColumn, len(cols))
	for i, c := range cols {
		enc := csvcodec.Text
		switch {
		case c.ArrayDims > 0:
		case c.Binary:
			enc = csvcodec.Hex
		case c.Kind == ferry.KindBit:
			enc = csvcodec.Bits
		}
		out[i] = csvcodec.HeaderColumn{Name: c.Name, Encoding: enc, Type: c.Type}
	}
	return out
}

// rowWriter writes a result as csvcodec records.
type rowWriter struct {
	header []csvcodec.HeaderColumn
	chunk  int
	policy ferry.ZeroDatePolicy
	conv   []converter
	// abort cancels the statement when the writer stops early.
	abort func()
}

// write streams rr's rows to w, header first, and returns what it wrote.
func (rw rowWriter) write(rr *pgconn.ResultReader, w io.Writer) (ferry.ExportStats, error) {
	var st ferry.ExportStats
	cw := csvcodec.NewWriter(w)
	if err := cw.WriteHeaderColumns(rw.header); err != nil {
		rw.stop(rr)
		return st, fmt.Errorf("write header: %w", err)
	}
	rec := make([]csvcodec.Field, len(rw.header))
	var buf []byte
	for rr.NextRow() {
		vals := rr.Values()
		buf = buf[:0]
		for i, v := range vals {
			rec[i] = csvcodec.Field{Null: v == nil, Data: v}
			if v == nil || rw.conv[i] == nil {
				continue
			}
			out, why := rw.conv[i](v, &buf)
			if why == "" {
				rec[i].Data = out
				continue
			}
			if rw.policy != ferry.ZeroDateNull {
				err := rw.unfit(vals, i, v, why) // before stop reuses vals
				rw.stop(rr)
				return st, err
			}
			rec[i] = csvcodec.Field{Null: true}
			st.ZeroDates++
		}
		if err := cw.Write(rec); err != nil {
			rw.stop(rr)
			return st, fmt.Errorf("write: %w", err)
		}
		st.Rows++
	}
	if _, err := rr.Close(); err != nil {
		return st, err
	}
	if err := cw.Flush(); err != nil {
		return st, fmt.Errorf("write: %w", err)
	}
	st.RawBytes = cw.BytesWritten()
	return st, nil
}

// stop ends a result that is not read to its end.
func (rw rowWriter) stop(rr *pgconn.ResultReader) {
	rw.abort()
	rr.Close()
}

// unfit is the DataError for value v of column i, which the target cannot
// hold.
func (rw rowWriter) unfit(vals [][]byte, i int, v []byte, why string) error {
	shown := string(v)
	if len(shown) > 40 {
		shown = shown[:40] + "…"
	}
	row := ""
	if rw.chunk >= 0 {
		row = string(vals[rw.chunk])
	}
	name := rw.header[i].Name
	return &ferry.DataError{Row: row, Column: name,
		Msg: fmt.Sprintf("value %q cannot be stored in MySQL: %s", shown, why),
		Fix: "filter or convert the value in the query (for example col::text AS " + name +
			" keeps PostgreSQL's text exactly), or set the table's zero_dates policy to null to write such values as NULL"}
}

// sourceErr classifies an error of a source statement: Ferry's own typed
// errors pass through; a query PostgreSQL cannot run is a ConfigError; a
// value it cannot compute is a DataError; the rest is classify's.
func sourceErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *ferry.ConfigError
	var de *ferry.DataError
	if errors.As(err, &ce) || errors.As(err, &de) {
		return err
	}
	if pe := asPgError(err); pe != nil {
		switch {
		case pe.Code == "25006":
			return &ferry.ConfigError{Msg: op + ": the query tried to write: " + pe.Message, Fix: "a table's query must only read; remove what writes (a data-modifying CTE, nextval, a function that writes)"}
		case pe.Code == "0A000":
			return &ferry.ConfigError{Msg: op + ": the query fails on the source: " + pe.Message, Fix: "correct the table's query"}
		case pe.Code == "42501":
			return &ferry.ConfigError{Msg: op + ": " + pe.Message, Fix: "grant the source role SELECT on the tables the query reads (and USAGE on their schemas)"}
		case strings.HasPrefix(pe.Code, "42"):
			return &ferry.ConfigError{Msg: op + ": the query fails on the source: " + pe.Message, Fix: "correct the table's query"}
		case strings.HasPrefix(pe.Code, "22"):
			return &ferry.DataError{Msg: op + ": the query fails on a source value: " + pe.Message, Fix: "correct the query or the source rows"}
		}
	}
	return classify(ctx, op, err)
}

// isInteger reports whether a result column has an integer type.
func isInteger(oid uint32) bool {
	return oid == pgtype.Int2OID || oid == pgtype.Int4OID || oid == pgtype.Int8OID
}
