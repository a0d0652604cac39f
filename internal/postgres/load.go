package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Load replaces the rows of [req.Lo, req.Hi) in the staging table with the
// CSV in r (csvcodec dialect, header first) and returns the rows loaded.
//
// In one transaction it takes an advisory lock on (staging, Lo), so that
// two loads of the same chunk run one after the other; if the schema's
// LedgerTable says an earlier attempt of the chunk committed, it deletes
// the chunk's range (staging has no index while it loads: that is a scan,
// paid by retries only); then it streams the rest of r, unparsed, to COPY
// staging (header columns) FROM STDIN WHERE the chunk column is in
// [Lo, Hi), checks the count (copyChunk) and writes the chunk's ledger
// row. Nothing of r is held in memory beyond a 64 KiB buffer. Running it
// twice with the same input leaves the same rows; a failed Load (bad
// data, a broken reader, a lost connection, a deadline) rolls back and
// leaves the staging table and the ledger as they were.
//
// Errors: a malformed header or a value PostgreSQL rejects (SQLSTATE class
// 22 or 23) is a *ferry.DataError carrying PostgreSQL's message and COPY
// context (line N is the Nth data record, the header not counted); rows
// outside [Lo, Hi) are a DataError too; a header column the staging table
// lacks is a *ferry.ConfigError; transient failures are retryable; an error
// from r is returned wrapped, so its own type survives.
//
// Durability: the transaction runs with SET LOCAL synchronous_commit = off,
// so its commit returns without waiting for the WAL flush (nor for a
// synchronous standby). This is safe because staging is never read by
// anyone but Ferry until Swap publishes it: every call of Swap first
// counts each staging table against the rows its chunks exported
// (CheckCounts: a CountMismatchError that changes nothing), then swaps in
// a transaction that commits synchronously (the session's setting,
// untouched), and flushing the WAL up to that commit flushes every load
// committed before it. A server crash can only lose loads that committed
// shortly before it and were not yet swapped; the retried swap's count
// then finds staging short and refuses, leaving live as it was. A load's
// rows are visible to other sessions at its commit, as before.
func (t *Target) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	chunk := fmt.Sprintf("[%d,%d)", req.Lo, req.Hi)
	op := fmt.Sprintf("postgres: load %s.%s %s", req.Schema, req.Staging, chunk)
	where := ferry.Where{Table: req.Staging, Chunk: chunk}
	if err := validIdents(op, req.Schema, req.Staging, req.ChunkColumn); err != nil {
		return 0, err
	}
	if req.Lo >= req.Hi {
		return 0, &ferry.ConfigError{Where: where, Msg: op + ": empty chunk range", Fix: "replan the run"}
	}
	cr := csvcodec.NewReader(r)
	header, quoted, err := copyColumns(op, where, req.ChunkColumn, cr)
	if err != nil {
		return 0, err
	}

	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return 0, classify(ctx, op, err)
	}
	defer rollback(tx)
	// Two loads of the same chunk (a Step Functions retry racing the first
	// attempt) take turns: otherwise the second DELETE, not seeing the
	// first's uncommitted rows, would leave both copies. The same
	// statement makes the commit asynchronous (see Load).
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0)), set_config('synchronous_commit', $2, true)`,
		fmt.Sprintf("ferry load %s.%s %d", req.Schema, req.Staging, req.Lo), t.loadCommit()); err != nil {
		return 0, t.loadErr(ctx, op, where, err)
	}
	tbl := qualified(req.Schema, req.Staging)
	if err := checkHeader(ctx, tx, tbl, where, header); err != nil {
		return 0, t.loadErr(ctx, op, where, err)
	}
	again, err := takeLedger(ctx, tx, req.Schema, tbl, req.Lo)
	if err != nil {
		return 0, t.loadErr(ctx, op, where, err)
	}
	cc := quoteIdent(req.ChunkColumn)
	rng := cc + ` >= ` + strconv.FormatInt(req.Lo, 10) + ` AND ` + cc + ` < ` + strconv.FormatInt(req.Hi, 10)
	if again {
		// An earlier attempt committed this chunk: its rows go first.
		if _, err := tx.Exec(ctx, `DELETE FROM `+tbl+` WHERE `+rng); err != nil {
			return 0, t.loadErr(ctx, op, where, err)
		}
	}
	n, err := t.copyChunk(ctx, op, where, tx, req, tbl, rng, quoted, cr)
	if err != nil {
		return 0, err
	}
	if err := recordLedger(ctx, tx, req.Schema, tbl, req.Lo, n); err != nil {
		return 0, t.loadErr(ctx, op, where, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, t.loadErr(ctx, op, where, err)
	}
	t.log().DebugContext(ctx, "postgres: chunk loaded", "schema", req.Schema, "staging", req.Staging, "chunk", chunk, "rows", n)
	return n, nil
}

// copyChunk streams the rest of cr into COPY staging and returns the rows
// it kept. With req.RowsKnown, COPY keeps only the rows of the chunk's
// range (COPY ... WHERE; a NULL chunk value is not in it) and a count other
// than req.Rows is a DataError: a row outside the range would escape a
// retry's range DELETE. Without it, every row is copied and those outside
// the range are counted by a scan of staging.
func (t *Target) copyChunk(ctx context.Context, op string, where ferry.Where, tx pgx.Tx, req ferry.LoadRequest, tbl, rng string, quoted []string, cr *csvcodec.Reader) (int64, error) {
	body := &errReader{r: cr.Buffered()}
	sql := `COPY ` + tbl + ` (` + strings.Join(quoted, ", ") + `) FROM STDIN WITH ` + csvcodec.PostgresCopyOptions
	if req.RowsKnown {
		sql += ` WHERE ` + rng
	}
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, body, sql)
	if rerr := body.error(); rerr != nil {
		// CopyFrom turned the reader's error into CopyFail; report the cause.
		return 0, fmt.Errorf("%s: read chunk: %w", op, rerr)
	}
	if err != nil {
		return 0, t.loadErr(ctx, op, where, err)
	}
	n, total := tag.RowsAffected(), req.Rows
	if !req.RowsKnown {
		total = n
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+tbl+` WHERE `+rng).Scan(&n); err != nil {
			return 0, t.loadErr(ctx, op, where, err)
		}
	}
	if n != total {
		return 0, &ferry.DataError{Where: where, Column: req.ChunkColumn,
			Msg: fmt.Sprintf("%d of the %d rows have a chunk column value outside the chunk's range (or NULL); nothing was committed", total-n, total),
			Fix: "the chunk column must be a non-NULL integer that the query filters on; check chunk_column"}
	}
	return n, nil
}

// copyColumns reads the CSV header and returns its columns quoted for
// COPY; a bad or repeated name is a DataError, a header without the chunk
// column a ConfigError.
func copyColumns(op string, where ferry.Where, chunkColumn string, cr *csvcodec.Reader) ([]csvcodec.HeaderColumn, []string, error) {
	header, err := cr.ReadHeaderColumns()
	if err != nil {
		if errors.Is(err, csvcodec.ErrSyntax) {
			return nil, nil, &ferry.DataError{Where: where, Msg: "CSV header: " + err.Error(), Fix: "re-export the chunk"}
		}
		return nil, nil, fmt.Errorf("%s: read header: %w", op, err)
	}
	seen := map[string]bool{}
	quoted := make([]string, len(header))
	for i, h := range header {
		n := h.Name
		if err := ferry.ValidIdent(n); err != nil {
			return nil, nil, &ferry.DataError{Where: where, Column: n, Msg: "CSV header: " + err.Error(), Fix: "alias the column in the table's query"}
		}
		if seen[n] {
			return nil, nil, &ferry.DataError{Where: where, Column: n, Msg: "CSV header names the column twice", Fix: "alias the columns in the table's query so that names are unique"}
		}
		seen[n] = true
		quoted[i] = quoteIdent(n)
	}
	if !seen[chunkColumn] {
		return nil, nil, &ferry.ConfigError{Where: where, Msg: fmt.Sprintf("the CSV has no chunk column %q", chunkColumn), Fix: "select the chunk column in the table's query"}
	}
	return header, quoted, nil
}

// checkHeader compares each typed header column with the staging
// column of its name (csvcodec.Mismatch): bytes are never loaded as text,
// nor text as bytes, nor a value into a type that would round it. A
// mismatch is a ConfigError: the query's columns changed after planning.
// A column staging lacks is left to COPY to report.
func checkHeader(ctx context.Context, tx pgx.Tx, tbl string, where ferry.Where, header []csvcodec.HeaderColumn) error {
	rows, err := tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod),
			CASE WHEN ty.typname = 'bytea' THEN 'hex' WHEN ty.typname IN ('bit', 'varbit') THEN 'bits' ELSE 'text' END
		FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`, tbl)
	if err != nil {
		return err
	}
	type stgCol struct {
		typ string
		enc csvcodec.Encoding
	}
	stg := map[string]stgCol{}
	for rows.Next() {
		var name, typ, enc string
		if err := rows.Scan(&name, &typ, &enc); err != nil {
			rows.Close()
			return err
		}
		stg[name] = stgCol{typ, csvcodec.Encoding(enc)}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, h := range header {
		c, ok := stg[h.Name]
		if !ok {
			continue
		}
		if why := csvcodec.Mismatch(h, c.typ, c.enc); why != "" {
			return &ferry.ConfigError{Where: where, Msg: fmt.Sprintf("column %s: %s; nothing was loaded (the query's columns changed after the run was planned)", h.Name, why),
				Fix: "rerun the workflow: planning shapes staging after the query's columns"}
		}
	}
	return nil
}

// quotedValue is the value a data exception's message ends with.
var quotedValue = regexp.MustCompile(`: ".*"$`)

var copyWhere = regexp.MustCompile(`line (\d+)(?:, column ([A-Za-z_][A-Za-z0-9_$]*))?`)

// loadErr maps a COPY/DELETE failure to a DataError, ConfigError or
// retryable error.
func (t *Target) loadErr(ctx context.Context, op string, where ferry.Where, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23"):
			de := &ferry.DataError{Where: where, Column: pe.ColumnName, Msg: pe.Message,
				Fix: "fix the value in the source, or change the column's type in the live table"}
			// DETAIL and CONTEXT quote row values ("COPY t, line 3,
			// column v: \"...\""), as does a data exception's message
			// ("invalid input syntax for type integer: \"x\""): they go in
			// Detail, which Step Functions causes and the run history
			// leave out; the message keeps the position.
			de.Detail = strings.TrimSpace(pe.Detail + "\n" + pe.Where)
			if strings.HasPrefix(pe.Code, "22") && quotedValue.MatchString(pe.Message) {
				de.Msg = quotedValue.ReplaceAllString(pe.Message, `: (quoted in the log)`)
				de.Detail = strings.TrimSpace(pe.Message + "\n" + de.Detail)
			}
			if m := copyWhere.FindStringSubmatch(pe.Where); m != nil {
				de.Msg += " (COPY line " + m[1] + "; COPY lines count data records after the header)"
				if de.Column == "" {
					de.Column = m[2]
				}
			}
			return de
		case pe.Code == "42703":
			return &ferry.ConfigError{Where: where, Msg: op + ": " + pe.Message,
				Fix: "the live table lacks a column the query returns: add it to the live table, or drop the live table so that Ferry recreates it"}
		case pe.Code == "42501":
			return wrapOp(ctx, op, err)
		case pe.Code == "53100": // disk_full: the target cannot write the staging table
			return &ferry.ConfigError{Where: where, Msg: op + ": " + pe.Message,
				Fix: "the target database is out of disk space (or the staging table's tablespace cannot be written): free space or grow its storage, then run again; live tables are untouched"}
		case pe.Code == "42P01":
			return &ferry.ConfigError{Where: where, Msg: op + ": " + pe.Message, Fix: "the staging table is missing: rerun the workflow (ListTables prepares it)"}
		}
	}
	return classify(ctx, op, err)
}

// errReader remembers the first error other than io.EOF that r returned.
type errReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

func (e *errReader) error() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// loadCommit is the synchronous_commit setting of a load's transaction:
// "off" (see Load), or "on" where a benchmark measures what it saves.
func (t *Target) loadCommit() string {
	if t.syncLoads {
		return "on"
	}
	return "off"
}
