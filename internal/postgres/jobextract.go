package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/ferrydata/ferry/internal/sqlparams"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// extractSettings fix how values print, in the extract's read-only
// transaction: timestamps in UTC, ISO dates, shortest exact floats, bytea
// as hex (bound values, SET LOCAL semantics).
var extractSettings = []string{"TimeZone", "UTC", "DateStyle", "ISO, YMD", "IntervalStyle", "postgres", "extra_float_digits", "3", "bytea_output", "hex"}

// ExtractJob streams a read-only SELECT's rows as the csvcodec dialect
// (header first) into w, one row at a time: each value as PostgreSQL's
// text output prints it (the bytes COPY would write), bytea as a binary
// field, NULL apart from ”. It runs in a READ ONLY transaction with the
// job's schema, time limit and the settings above.
func (j *Jobs) ExtractJob(ctx context.Context, q ferry.JobSQL, w io.Writer) (ferry.ExportStats, error) {
	op := "postgres: extract"
	var st ferry.ExportStats
	q, err := jobTimeout(ctx, q)
	if err != nil {
		return st, classify(ctx, op, err)
	}
	sql, args, _, err := sqlparams.Postgres.Bind(q.SQL, q.Params)
	if err != nil {
		return st, &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: "an extract runs one read-only SELECT with named parameters"}
	}
	conn, err := j.pool.Acquire(ctx)
	if err != nil {
		return st, classify(ctx, op, err)
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return st, jobErr(ctx, op, err)
	}
	defer rollback(tx)
	set, setArgs := jobSettings(q, 0)
	for i := 0; i < len(extractSettings); i += 2 {
		setArgs = append(setArgs, extractSettings[i], extractSettings[i+1], true)
	}
	set = settingsSQL(len(setArgs) / 3)
	if _, err := tx.Exec(ctx, set, setArgs...); err != nil {
		return st, jobErr(ctx, op, err)
	}
	st, err = writeText(ctx, conn.Conn().PgConn(), sql, textArgs(args), w)
	return st, jobErr(ctx, op, err)
}

// settingsSQL is SELECT set_config($1, $2, $3), ... for n settings.
func settingsSQL(n int) string {
	s := "SELECT "
	for i := 0; i < n; i++ {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("set_config($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
	}
	return s
}

// textArgs are the bound values as the text format sends them.
func textArgs(args []any) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil:
		case string:
			out[i] = []byte(v)
		case int64:
			out[i] = strconv.AppendInt(nil, v, 10)
		case time.Time:
			out[i] = []byte(v.UTC().Format(time.RFC3339Nano))
		default:
			out[i] = []byte(fmt.Sprint(v))
		}
	}
	return out
}

// writeText runs sql with text-format parameters and results and writes
// each row as csvcodec fields.
func writeText(ctx context.Context, pc *pgconn.PgConn, sql string, args [][]byte, w io.Writer) (ferry.ExportStats, error) {
	var st ferry.ExportStats
	rr := pc.ExecParams(ctx, sql, args, nil, nil, nil)
	fields := rr.FieldDescriptions()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	cw := csvcodec.NewWriter(w)
	if err := cw.WriteHeader(names); err != nil {
		rr.Close()
		return st, err
	}
	rec := make([]csvcodec.Field, len(fields))
	for rr.NextRow() {
		for i, v := range rr.Values() {
			switch {
			case v == nil:
				rec[i] = csvcodec.Field{Null: true}
			case fields[i].DataTypeOID == pgtype.ByteaOID:
				b := make([]byte, hex.DecodedLen(max(len(v)-2, 0)))
				if _, err := hex.Decode(b, v[min(2, len(v)):]); err != nil {
					rr.Close()
					return st, fmt.Errorf("column %s: bytea %q is not \\x + hex: %w", fields[i].Name, v, err)
				}
				rec[i] = csvcodec.Field{Binary: true, Data: b}
			default:
				rec[i] = csvcodec.Field{Data: v}
			}
		}
		if err := cw.Write(rec); err != nil {
			rr.Close()
			return st, err
		}
		st.Rows++
	}
	if _, err := rr.Close(); err != nil {
		return st, err
	}
	if err := cw.Flush(); err != nil {
		return st, err
	}
	st.RawBytes = cw.BytesWritten()
	return st, nil
}
