package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
)

type exportCol struct {
	name  string
	kind  kind
	bits  int
	raw   sql.RawBytes
	val   any
	isRaw bool
}

// Export streams the rows of [req.Lo, req.Hi) as the csvcodec dialect,
// header first (the result's column names), into w. It reads one row at a
// time into reused buffers, so memory does not grow with the chunk.
//
// Encoding by column type: BINARY, VARBINARY, BLOBs and GEOMETRY as binary
// fields (\x + hex); BIT(n) as n binary digits ("101" for BIT(3) 5); FLOAT
// and DOUBLE as the shortest text that round-trips their 32- or 64-bit
// value; YEAR as four digits; everything else (DECIMAL, integers up to
// BIGINT UNSIGNED max, TINYINT(1) 0/1/2, DATE, DATETIME(6), TIMESTAMP in
// UTC, TIME beyond 24h or negative, ENUM, SET, JSON, text in any column
// charset converted to UTF-8) exactly as the server gives it.
//
// A zero or partial date (year 0000, month 00 or day 00) in a DATE,
// DATETIME or TIMESTAMP column is a *ferry.DataError under ZeroDateError
// (the default), and NULL counted in ExportStats.ZeroDates under
// ZeroDateNull. For req.Target EnginePostgres, text containing 0x00 is a
// *ferry.DataError. Both name the row's chunk-column value and the column.
//
// On error, what was written to w is incomplete: the caller discards it.
func (s *Source) Export(ctx context.Context, req ferry.ExportRequest, w io.Writer) (ferry.ExportStats, error) {
	op := fmt.Sprintf("mysql: export [%d,%d)", req.Lo, req.Hi)
	var st ferry.ExportStats
	if err := checkChunkColumn(op, req.ChunkColumn); err != nil {
		return st, err
	}
	policy := req.ZeroDates
	switch policy {
	case "":
		policy = ferry.ZeroDateError
	case ferry.ZeroDateError, ferry.ZeroDateNull:
	default:
		return st, &ferry.ConfigError{Msg: fmt.Sprintf("%s: unknown zero_dates policy %q", op, policy), Fix: `set zero_dates to "error" or "null"`}
	}
	inner, args, err := bind(op, req.Query, req.Params)
	if err != nil {
		return st, err
	}
	c := "ferry_q." + quoteIdent(req.ChunkColumn)
	qctx, cancel, sel := s.withTimeout(ctx, "SELECT * FROM "+derived(inner)+" WHERE "+c+" >= ? AND "+c+" < ?")
	defer cancel()
	// One connection: the statement's warnings are read on it afterwards.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return st, classify(op, err)
	}
	defer conn.Close()
	st, err = s.exportRows(ctx, op, conn, rowsQuery{qctx, sel, append(args, req.Lo, req.Hi)}, req, policy, w)
	if err != nil {
		return st, err
	}
	return st, packetWarning(ctx, conn, op)
}

// packetWarning refuses an export whose statement left warning 1301: the
// source replaced a value its query computes (CONCAT, REPEAT, GROUP_CONCAT
// ...) larger than its max_allowed_packet with NULL, which must not be
// published as the source's value.
func packetWarning(ctx context.Context, conn querier, op string) error {
	rows, err := conn.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return classify(op+": show warnings", err)
	}
	defer rows.Close()
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return classify(op+": show warnings", err)
		}
		if code == erAllowedPacketOverflowed {
			return &ferry.ConfigError{Msg: fmt.Sprintf("%s: the %s replaced a value larger than its max_allowed_packet with NULL (%s %d: %s); nothing was exported", op, serverRole(op), level, code, msg),
				Fix: packetFix(serverRole(op), 0) + "; or select the column without the function the warning names"}
		}
	}
	return classify(op+": show warnings", rows.Err())
}

// rowsQuery is a bound SELECT and the context it runs under.
type rowsQuery struct {
	ctx  context.Context
	sel  string
	args []any
}

// exportRows writes the rows of q, run on db, as the csvcodec dialect
// (header first) into w; see Export.
func (s *Source) exportRows(ctx context.Context, op string, db querier, q rowsQuery, req ferry.ExportRequest, policy ferry.ZeroDatePolicy, w io.Writer) (ferry.ExportStats, error) {
	var st ferry.ExportStats
	rows, err := db.QueryContext(q.ctx, q.sel, q.args...)
	if err != nil {
		return st, classify(op, err)
	}
	defer rows.Close()
	enc, err := s.newRowEncoder(ctx, op, req, policy, rows)
	if err != nil {
		return st, err
	}
	cw := csvcodec.NewWriter(w)
	// A chunk carries the typed header (a loader checks each column's
	// encoding and type against staging); a job's extract, bare names.
	if req.ChunkColumn != "" {
		err = cw.WriteHeaderColumns(enc.header)
	} else {
		err = cw.WriteHeader(enc.names)
	}
	if err != nil {
		return st, fmt.Errorf("%s: write header: %w", op, err)
	}
	for rows.Next() {
		if err := rows.Scan(enc.dest...); err != nil {
			return st, classify(op+": read row", err)
		}
		enc.row++
		if err := enc.encode(); err != nil {
			return st, err
		}
		if err := cw.Write(enc.rec); err != nil {
			return st, fmt.Errorf("%s: write: %w", op, err)
		}
		st.Rows++
	}
	if err := rows.Err(); err != nil {
		return st, classify(op+": read rows", err)
	}
	if err := cw.Flush(); err != nil {
		return st, fmt.Errorf("%s: write: %w", op, err)
	}
	st.RawBytes, st.ZeroDates = cw.BytesWritten(), enc.zeroDates
	return st, nil
}

// rowEncoder turns each row the driver scans into dest into the csvcodec
// fields of rec, reusing its buffers: memory does not grow with the chunk.
type rowEncoder struct {
	op        string
	cols      []exportCol
	names     []string
	header    []csvcodec.HeaderColumn
	dest      []any
	rec       []csvcodec.Field
	num       []byte // the text of this row's numbers
	chunkIdx  int    // -1: no chunk column (a whole query); rows are named by number
	row       int64
	policy    ferry.ZeroDatePolicy
	target    ferry.Engine
	zeroDates int64
}

// newRowEncoder reads the result's columns; BIT(n) widths, which the
// protocol does not carry, come from the exact column types (Columns).
func (s *Source) newRowEncoder(ctx context.Context, op string, req ferry.ExportRequest, policy ferry.ZeroDatePolicy, rows *sql.Rows) (*rowEncoder, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, classify(op, err)
	}
	e := &rowEncoder{op: op, cols: make([]exportCol, len(cts)), names: make([]string, len(cts)), dest: make([]any, len(cts)),
		header: make([]csvcodec.HeaderColumn, len(cts)), rec: make([]csvcodec.Field, len(cts)), chunkIdx: -1, policy: policy, target: req.Target}
	needBits := false
	for i, ct := range cts {
		e.cols[i] = exportCol{name: ct.Name(), kind: exportKind(ct.DatabaseTypeName())}
		e.names[i] = ct.Name()
		e.header[i] = csvcodec.HeaderColumn{Name: ct.Name(), Encoding: headerEncoding(e.cols[i].kind), Type: headerType(ct)}
		if strings.EqualFold(ct.Name(), req.ChunkColumn) {
			e.chunkIdx = i
		}
		switch e.cols[i].kind {
		case kindFloat, kindDouble:
			e.dest[i] = &e.cols[i].val
		default:
			e.cols[i].isRaw = true
			e.dest[i] = &e.cols[i].raw
		}
		needBits = needBits || e.cols[i].kind == kindBit
	}
	if e.chunkIdx < 0 && req.ChunkColumn != "" {
		return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: chunk column %s is not a column of the query's result", op, req.ChunkColumn),
			Fix: "set chunk_column to one of: " + strings.Join(e.names, ", ")}
	}
	if needBits {
		meta, err := s.Columns(ctx, req.Query, req.Params)
		if err != nil {
			return nil, err
		}
		for i := range e.cols {
			if e.cols[i].kind == kindBit && i < len(meta) {
				e.cols[i].bits = bitWidth(meta[i].Type)
				e.header[i].Type = meta[i].Type
			}
		}
	}
	return e, nil
}

// encode fills rec from the scanned row.
func (e *rowEncoder) encode() error {
	e.num = e.num[:0]
	for i := range e.cols {
		f, err := e.field(&e.cols[i])
		if err != nil {
			return err
		}
		e.rec[i] = f
	}
	return nil
}

// field encodes one column's value (see Export).
func (e *rowEncoder) field(col *exportCol) (csvcodec.Field, error) {
	f, null, err := e.value(col)
	if null || err != nil {
		return f, err
	}
	switch col.kind {
	case kindBinary:
		f.Binary = true
	case kindBit:
		f.Data = bitDigits(col.raw, col.bits, &e.num)
	case kindYear:
		if len(f.Data) < 4 {
			start := len(e.num)
			e.num = append(e.num, "0000"[:4-len(f.Data)]...)
			e.num = append(e.num, f.Data...)
			f.Data = e.num[start:]
		}
	case kindDate:
		if zeroDate(f.Data) && e.policy != zeroDateKeep {
			if e.policy == ferry.ZeroDateNull {
				e.zeroDates++
				return csvcodec.Field{Null: true}, nil
			}
			return f, &ferry.DataError{Row: e.rowName(), Column: col.name,
				Msg: fmt.Sprintf("zero or partial date %q", f.Data),
				Fix: "set the table's zero_dates policy to null, or fix the source rows"}
		}
	}
	if e.target == ferry.EnginePostgres && !f.Binary && bytes.IndexByte(f.Data, 0) >= 0 {
		return f, &ferry.DataError{Row: e.rowName(), Column: col.name,
			Msg: "text contains a 0x00 byte, which PostgreSQL text cannot hold",
			Fix: "cast the column to a binary type in the query (CAST(col AS BINARY)) or strip the byte (REPLACE(col, CHAR(0), ''))"}
	}
	return f, nil
}

// value is the column's bytes as the driver gave them (floats formatted
// as their shortest round-trip text); null reports SQL NULL.
func (e *rowEncoder) value(col *exportCol) (f csvcodec.Field, null bool, err error) {
	if col.isRaw {
		if col.raw == nil {
			return csvcodec.Field{Null: true}, true, nil
		}
		return csvcodec.Field{Data: col.raw}, false, nil
	}
	start := len(e.num)
	switch v := col.val.(type) {
	case nil:
		return csvcodec.Field{Null: true}, true, nil
	case float32:
		e.num = strconv.AppendFloat(e.num, float64(v), 'g', -1, 32)
	case float64:
		bits := 64
		if col.kind == kindFloat {
			bits = 32
		}
		e.num = strconv.AppendFloat(e.num, v, 'g', -1, bits)
	case []byte:
		return csvcodec.Field{Data: v}, false, nil
	default:
		return f, false, fmt.Errorf("%s: column %s: unexpected %T from the driver", e.op, col.name, v)
	}
	return csvcodec.Field{Data: e.num[start:]}, false, nil
}

// zeroDateKeep writes zero dates as the server gives them: an extract job's
// policy (no target has to hold them).
const zeroDateKeep ferry.ZeroDatePolicy = "keep"

// rowName names the current row in an error: its chunk-column value, or
// its number (#1 is the first) in a whole query.
func (e *rowEncoder) rowName() string {
	if e.chunkIdx < 0 {
		return "#" + strconv.FormatInt(e.row, 10)
	}
	return string(e.cols[e.chunkIdx].text())
}

func (c *exportCol) text() []byte {
	if c.isRaw {
		return c.raw
	}
	return []byte(fmt.Sprint(c.val))
}

// bitDigits renders a BIT value (big-endian bytes) as width binary digits,
// appending to *buf.
func bitDigits(b []byte, width int, buf *[]byte) []byte {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	if width <= 0 {
		width = len(b) * 8
	}
	start := len(*buf)
	for i := width - 1; i >= 0; i-- {
		if i < 64 && v>>uint(i)&1 == 1 {
			*buf = append(*buf, '1')
		} else {
			*buf = append(*buf, '0')
		}
	}
	return (*buf)[start:]
}

// zeroDate reports a MySQL zero or partial date: "YYYY-MM-DD..." with year
// 0000, month 00 or day 00.
func zeroDate(b []byte) bool {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return false
	}
	return string(b[0:4]) == "0000" || string(b[5:7]) == "00" || string(b[8:10]) == "00"
}
