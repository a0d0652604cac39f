package mysql

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/go-sql-driver/mysql"
)

type loadCol struct {
	name string
	kind kind
	typ  string // COLUMN_TYPE
}

// stagingColumns reads the staging table's columns by name (lower case).
func stagingColumns(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, schema, table string) (map[string]loadCol, error) {
	rows, err := q.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]loadCol{}
	for rows.Next() {
		var name, typ, colType string
		if err := rows.Scan(&name, &typ, &colType); err != nil {
			return nil, err
		}
		out[strings.ToLower(name)] = loadCol{name: name, kind: loadKind(typ), typ: strings.ToLower(colType)}
	}
	return out, rows.Err()
}

// Load replaces the rows of [req.Lo, req.Hi) in the staging table with the
// CSV in r: it reads and checks the header, then in one transaction on one
// connection deletes the range and streams the rest of r to LOAD DATA
// LOCAL INFILE 'Reader::<unique name>' (csvcodec.MySQLLoadOptions). Binary
// columns go through a user variable and UNHEX, BIT columns through CONV
// from base 2; an unenclosed NULL reaches the column as NULL through the
// variable too. Any warning the load raised (truncation, a bad value, a
// NULL into NOT NULL) rolls it back and is a *ferry.DataError quoting it.
// A failed or interrupted load leaves staging as it was. Running Load
// twice with the same input leaves the same rows. Returns the rows loaded;
// with req.RowsKnown, a count other than req.Rows, or rows outside the
// range, are a DataError before anything is committed.
//
// LOAD DATA LOCAL needs local_infile=ON on the server; the driver's
// allowAllFiles is not needed for Reader:: handlers. When the server
// refuses it, or with WithInsertLoader, rows are inserted in batches of
// bound multi-row INSERTs in the same transaction instead.
func (t *Target) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	op := fmt.Sprintf("mysql: load %s.%s [%d,%d)", req.Schema, req.Staging, req.Lo, req.Hi)
	if err := validIdents(op, req.Schema, req.Staging, req.ChunkColumn); err != nil {
		return 0, err
	}
	cr := csvcodec.NewReader(r)
	cols, err := t.loadColumns(ctx, op, req, cr)
	if err != nil {
		return 0, err
	}

	conn, err := t.db.Conn(ctx)
	if err != nil {
		return 0, classify(op, err)
	}
	defer conn.Close()
	// One load of a chunk at a time: a retry racing its first attempt (Step
	// Functions may start one while the other still runs) waits here, then
	// replaces what the first committed. Released before the connection
	// goes back to the pool.
	release, err := chunkLock(ctx, conn, req)
	if err != nil {
		return 0, classify(op+": chunk lock", err)
	}
	defer release()
	// READ COMMITTED: the range DELETE then locks only the rows it finds,
	// not the gaps around them, so loads of neighbouring chunks into one
	// staging table (disjoint ranges) do not deadlock each other, as they do
	// under REPEATABLE READ's next-key locks.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, classify(op, err)
	}
	defer tx.Rollback()
	if err := t.clearRange(ctx, tx, op, req); err != nil {
		return 0, err
	}
	c := quoteIdent(req.ChunkColumn)
	var n int64
	if t.opts.insertLoader {
		n, err = t.loadInsert(ctx, tx, cr, req, cols)
	} else {
		n, err = t.loadData(ctx, tx, cr, req, cols)
		if errors.Is(err, errLocalInfileRefused) {
			t.opts.log.WarnContext(ctx, "mysql: server refuses LOAD DATA LOCAL (local_infile=OFF); loading with batched INSERTs", "schema", req.Schema, "table", req.Staging)
			n, err = t.loadInsert(ctx, tx, cr, req, cols)
		}
	}
	if err != nil {
		return 0, err
	}
	if req.RowsKnown && n != req.Rows {
		return 0, &ferry.DataError{Msg: fmt.Sprintf("%s: the load kept %d rows, the export wrote %d; nothing was committed", op, n, req.Rows),
			Fix: "check the target's warnings and the staging table's keys; then rerun the workflow"}
	}
	// Every loaded row must fall in [Lo, Hi): a row outside it would not be
	// removed by a retry's range DELETE and could be doubled.
	var inRange int64
	cctx, ccancel, cq := t.limit(ctx, "SELECT COUNT(*) FROM "+qualified(req.Schema, req.Staging)+" WHERE "+c+" >= ? AND "+c+" < ?")
	err = tx.QueryRowContext(cctx, cq, req.Lo, req.Hi).Scan(&inRange)
	ccancel()
	if err != nil {
		return 0, classify(op+": count the range", err)
	}
	if inRange != n {
		return 0, &ferry.DataError{Msg: fmt.Sprintf("%s: %d of the %d loaded rows fall outside the chunk's range [%d,%d) of %s; nothing was committed", op, n-inRange, n, req.Lo, req.Hi, req.ChunkColumn),
			Fix: "the export and the plan disagree on the chunk column: rerun the workflow"}
	}
	if err := tx.Commit(); err != nil {
		return 0, classify(op+": commit", err)
	}
	return n, nil
}

var errLocalInfileRefused = errors.New("server refuses LOAD DATA LOCAL")

// clearRange deletes the rows an earlier attempt of the chunk committed to
// staging. A first load finds its range empty and deletes nothing: the
// probe is a consistent (non-locking) read, while a range DELETE would
// wait on the row locks of a neighbouring chunk's uncommitted LOAD DATA
// (it reads one row past its range, even under READ COMMITTED). An earlier
// attempt's rows are committed by the time this load holds the chunk lock
// (chunkLock), so the probe sees them, and a retry never duplicates.
func (t *Target) clearRange(ctx context.Context, tx *sql.Tx, op string, req ferry.LoadRequest) error {
	c := quoteIdent(req.ChunkColumn)
	rng := " FROM " + qualified(req.Schema, req.Staging) + " WHERE " + c + " >= ? AND " + c + " < ?"
	pctx, pcancel, probe := t.limit(ctx, "SELECT 1"+rng+" LIMIT 1")
	var one int
	err := tx.QueryRowContext(pctx, probe, req.Lo, req.Hi).Scan(&one)
	pcancel()
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return classify(op+": probe range", err)
	}
	dctx, cancel, del := t.limit(ctx, "DELETE"+rng)
	defer cancel()
	if _, err := tx.ExecContext(dctx, del, req.Lo, req.Hi); err != nil {
		return classify(op+": delete range", err)
	}
	return nil
}

// loadColumns reads the CSV header and matches it to the staging table's
// columns: a column staging lacks is a ConfigError (the live table differs
// from the query), a bad or repeated name a DataError, a missing staging
// table an error wrapping ferry.ErrNotFound.
func (t *Target) loadColumns(ctx context.Context, op string, req ferry.LoadRequest, cr *csvcodec.Reader) ([]loadCol, error) {
	header, err := cr.ReadHeaderColumns()
	if err != nil {
		// A malformed header is the object's fault; a failed read (a cut
		// download, the step's deadline) is not, and keeps its own error so
		// that a retry can succeed (as PostgreSQL's loader does).
		if errors.Is(err, csvcodec.ErrSyntax) {
			return nil, &ferry.DataError{Msg: op + ": CSV header: " + err.Error(), Fix: "re-export the chunk"}
		}
		return nil, fmt.Errorf("%s: read header: %w", op, err)
	}
	tcols, err := stagingColumns(ctx, t.db, req.Schema, req.Staging)
	if err != nil {
		return nil, classify(op, err)
	}
	if len(tcols) == 0 {
		return nil, fmt.Errorf("%s: staging table does not exist (fix: rerun the run's planning step, which prepares staging): %w", op, ferry.ErrNotFound)
	}
	cols := make([]loadCol, len(header))
	seen := map[string]bool{}
	for i, hc := range header {
		h := hc.Name
		if err := ferry.ValidIdent(h); err != nil {
			return nil, &ferry.DataError{Column: h, Msg: op + ": CSV header: " + err.Error(), Fix: "alias the column in the query (AS name)"}
		}
		lc, ok := tcols[strings.ToLower(h)]
		if !ok {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: column %s of the export is not in the staging table (the query's columns changed after the run was planned)", op, h),
				Fix: "rerun the workflow: planning shapes staging after the query's columns"}
		}
		if seen[strings.ToLower(h)] {
			return nil, &ferry.DataError{Column: h, Msg: op + ": column appears twice in the CSV header", Fix: "alias the columns in the query so names are unique"}
		}
		seen[strings.ToLower(h)] = true
		if why := csvcodec.Mismatch(hc, lc.typ, headerEncoding(lc.kind)); why != "" {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: column %s: %s; nothing was loaded (the query's columns changed after the run was planned)", op, h, why),
				Fix: "rerun the workflow: planning shapes staging after the query's columns"}
		}
		cols[i] = lc
	}
	return cols, nil
}

// chunkLock takes a named lock (GET_LOCK) for req's staging table and chunk
// on conn, waiting until ctx's deadline (at most 15 minutes). The returned
// func releases it.
func chunkLock(ctx context.Context, conn *sql.Conn, req ferry.LoadRequest) (func(), error) {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", req.Schema, req.Staging, req.Lo)))
	name := "ferry_load_" + hex.EncodeToString(sum[:16])
	wait := 15 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int64(wait.Seconds())+1).Scan(&got); err != nil {
		return nil, err
	}
	if !got.Valid || got.Int64 != 1 {
		return nil, ferry.Retryable("mysql: chunk lock", fmt.Errorf("another load of chunk [%d,%d) of %s.%s still holds it", req.Lo, req.Hi, req.Schema, req.Staging))
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", name)
	}, nil
}

// localInfileRefused recognises the server refusing LOAD DATA LOCAL before
// reading any data: MariaDB 1148, MySQL 3948, and servers (such as the
// embedded go-mysql-server) that say so with a generic error number.
func localInfileRefused(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case erLocalInfileDisabled, erLocalInfileMySQL:
		return true
	}
	return strings.Contains(strings.ToLower(me.Message), "local_infile")
}

// errReader records the error of the stream it reads, so a failed upstream
// (S3, gzip) is told apart from a server error.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func (t *Target) loadData(ctx context.Context, tx *sql.Tx, cr *csvcodec.Reader, req ferry.LoadRequest, cols []loadCol) (int64, error) {
	op := fmt.Sprintf("mysql: load %s.%s [%d,%d)", req.Schema, req.Staging, req.Lo, req.Hi)
	var list, sets []string
	for i, col := range cols {
		switch col.kind {
		case kindBinary:
			v := "@ferry_v" + strconv.Itoa(i)
			list = append(list, v)
			sets = append(sets, quoteIdent(col.name)+" = UNHEX(SUBSTRING("+v+", 3))")
		case kindBit:
			v := "@ferry_v" + strconv.Itoa(i)
			list = append(list, v)
			sets = append(sets, quoteIdent(col.name)+" = CAST(CONV("+v+", 2, 10) AS UNSIGNED)")
		default:
			list = append(list, quoteIdent(col.name))
		}
	}
	b := make([]byte, 12)
	rand.Read(b)
	name := "ferry_" + hex.EncodeToString(b)
	src := &errReader{r: cr.Buffered()}
	mysql.RegisterReaderHandler(name, func() io.Reader { return src })
	defer mysql.DeregisterReaderHandler(name)
	stmt := "LOAD DATA LOCAL INFILE 'Reader::" + name + "' INTO TABLE " + qualified(req.Schema, req.Staging) + " " +
		csvcodec.MySQLLoadOptions + " (" + strings.Join(list, ", ") + ")"
	if len(sets) > 0 {
		stmt += " SET " + strings.Join(sets, ", ")
	}
	lctx, cancel, stmt := t.limit(ctx, stmt)
	defer cancel()
	res, err := tx.ExecContext(lctx, stmt)
	if src.err != nil {
		return 0, fmt.Errorf("%s: reading the chunk: %w", op, src.err)
	}
	if err != nil {
		if localInfileRefused(err) {
			return 0, errLocalInfileRefused
		}
		return 0, classify(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, classify(op, err)
	}
	if err := checkWarnings(ctx, tx, op); err != nil {
		return 0, err
	}
	if len(sets) > 0 {
		// Do not keep the last row's values alive in the session.
		var clear []string
		for _, v := range list {
			if strings.HasPrefix(v, "@") {
				clear = append(clear, v+" = NULL")
			}
		}
		if _, err := tx.ExecContext(ctx, "SET "+strings.Join(clear, ", ")); err != nil {
			return 0, classify(op, err)
		}
	}
	return n, nil
}

// quotedValue is the value a server warning or error quotes: "Incorrect
// integer value: 'abc' for column ...", "Truncated incorrect DECIMAL
// value: 'x'", "Duplicate entry 'k' for key 'PRIMARY'".
var quotedValue = regexp.MustCompile(`(value: |entry )'(?:[^'\\]|\\.|'')*'`)

// hideValues is msg with the values it quotes replaced by "(quoted in the
// log)": for a DataError's message, whose Detail keeps msg.
func hideValues(msg string) string {
	return quotedValue.ReplaceAllString(msg, "${1}(quoted in the log)")
}

// checkWarnings turns any Note, Warning or Error the last statement left
// into a *ferry.DataError quoting the first few. The values they quote are
// left out of the message and kept in its Detail (logs only), as row
// values are everywhere else.
func checkWarnings(ctx context.Context, tx *sql.Tx, op string) error {
	rows, err := tx.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return classify(op+": show warnings", err)
	}
	defer rows.Close()
	var msgs []string
	total, packet := 0, false
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return classify(op+": show warnings", err)
		}
		packet = packet || code == erAllowedPacketOverflowed
		// Notes count too: MySQL reports a rounded decimal or a cut
		// fraction of a second as Note 1265 "Data truncated".
		total++
		if len(msgs) < 3 {
			msgs = append(msgs, fmt.Sprintf("%s %d: %s", level, code, msg))
		}
	}
	if err := rows.Err(); err != nil {
		return classify(op+": show warnings", err)
	}
	if packet {
		return &ferry.ConfigError{Msg: fmt.Sprintf("%s: the server replaced a value larger than its max_allowed_packet with NULL, nothing was loaded: %s", op, strings.Join(msgs, "; ")),
			Fix: packetFix("target", 0)}
	}
	if total > 0 {
		shown := strings.Join(msgs, "; ")
		return &ferry.DataError{Msg: fmt.Sprintf("%s: the server reported %d warning(s), nothing was loaded: %s", op, total,
			hideValues(shown)),
			Fix:    "make the staging column types hold the source values (or cast them in the query), then rerun",
			Detail: shown}
	}
	return nil
}

// loadInsert loads the remaining records of cr with batched multi-row
// INSERTs with bound values. A record larger than the target's
// max_allowed_packet allows in one statement is refused before it is sent
// (*ferry.ConfigError naming the record and the size to raise it to).
func (t *Target) loadInsert(ctx context.Context, tx *sql.Tx, cr *csvcodec.Reader, req ferry.LoadRequest, cols []loadCol) (int64, error) {
	b, err := newInsertBatch(ctx, tx, req, cols, t.opts.batchRows)
	if err != nil {
		return 0, err
	}
	defer b.close()
	row := make([]any, len(cols))
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("%s: reading the chunk at record %d: %w", b.op, cr.Records()+1, err)
		}
		if len(rec) != len(cols) {
			return 0, &ferry.DataError{Msg: fmt.Sprintf("%s: record %d has %d fields, the header %d", b.op, cr.Records(), len(rec), len(cols)), Fix: "re-export the chunk"}
		}
		size := 0
		for i, f := range rec {
			v, err := insertValue(f, cols[i])
			if err != nil {
				return 0, &ferry.DataError{Column: cols[i].name, Msg: fmt.Sprintf("%s: record %d: %v", b.op, cr.Records(), err), Fix: "re-export the chunk"}
			}
			row[i] = v
			size += valueSize(v)
		}
		if int64(size) > b.maxRow {
			return 0, b.tooBig(rec, cr.Records(), size)
		}
		if err := b.add(ctx, row, size); err != nil {
			return 0, err
		}
	}
	if err := b.flush(ctx); err != nil {
		return 0, err
	}
	return b.total, nil
}

// insertValue is one CSV field as the value an INSERT binds for col.
func insertValue(f csvcodec.Field, col loadCol) (any, error) {
	switch {
	case f.Null:
		return nil, nil
	case col.kind == kindBinary:
		return csvcodec.DecodeBinary(f.Data)
	case col.kind == kindBit:
		u, err := strconv.ParseUint(string(f.Data), 2, 64)
		if err != nil {
			return nil, fmt.Errorf("bit value %q is not binary digits", f.Data)
		}
		return u, nil
	}
	return string(f.Data), nil
}

// maxInsertBatchBytes bounds the value bytes of one multi-row INSERT: a
// batch is flushed at size rows or at this many bytes (or half the
// target's max_allowed_packet, if less), whichever comes first, so the
// loader's memory and the statement's packet stay bounded with big rows
// (half of MariaDB's default 16 MB max_allowed_packet). A row bigger than
// the limit goes alone; one bigger than max_allowed_packet is refused.
const maxInsertBatchBytes = 8 << 20

// insertBatch is the rows of one multi-row INSERT being gathered: at most
// size rows (and 65535 placeholders) and about maxInsertBatchBytes; the
// full-size statement is prepared once.
type insertBatch struct {
	tx     *sql.Tx
	op     string
	prefix string // INSERT INTO ... VALUES
	row    string // (?,?,...)
	size   int
	full   *sql.Stmt
	args   []any
	rows   int
	bytes  int // value bytes gathered
	total  int64
	// The target's max_allowed_packet; the most value bytes of one batch
	// and of one row.
	packet, maxBytes, maxRow int64
	chunkIdx                 int // the chunk column's field, -1 if none
	chunkCol                 string
}

// newInsertBatch prepares the batches of a load into req's staging table;
// it reads the session's max_allowed_packet.
func newInsertBatch(ctx context.Context, tx *sql.Tx, req ferry.LoadRequest, cols []loadCol, batchRows int) (*insertBatch, error) {
	b := &insertBatch{tx: tx, op: fmt.Sprintf("mysql: load %s.%s [%d,%d) with INSERT", req.Schema, req.Staging, req.Lo, req.Hi),
		size: max(min(batchRows, 65535/len(cols)), 1), chunkIdx: -1}
	if err := tx.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&b.packet); err != nil {
		return nil, classify(b.op+": read max_allowed_packet", err)
	}
	b.maxBytes = min(maxInsertBatchBytes, b.packet/2)
	b.maxRow = b.packet - packetSlack(len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.name)
		if strings.EqualFold(c.name, req.ChunkColumn) {
			b.chunkIdx, b.chunkCol = i, c.name
		}
	}
	b.row = "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	b.prefix = "INSERT INTO " + qualified(req.Schema, req.Staging) + " (" + strings.Join(names, ", ") + ") VALUES "
	b.args = make([]any, 0, b.size*len(cols))
	return b, nil
}

// add gathers one row of size value bytes, flushing the rows before it
// when it would take the batch past maxBytes and flushing at size rows
// or maxBytes.
func (b *insertBatch) add(ctx context.Context, row []any, size int) error {
	if b.rows > 0 && int64(b.bytes+size) > b.maxBytes {
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	b.args = append(b.args, row...)
	b.bytes += size
	if b.rows++; b.rows == b.size || int64(b.bytes) >= b.maxBytes {
		return b.flush(ctx)
	}
	return nil
}

// tooBig refuses the record rec (line n) of size value bytes: no INSERT
// can carry it under the target's max_allowed_packet.
func (b *insertBatch) tooBig(rec []csvcodec.Field, n int64, size int) error {
	row := fmt.Sprintf("line %d of the chunk", n)
	if b.chunkIdx >= 0 {
		row = fmt.Sprintf("the row with %s = %s", b.chunkCol, rec[b.chunkIdx].Data)
	}
	return &ferry.ConfigError{
		Msg: fmt.Sprintf("%s: %s is %.1f MB, over the target's max_allowed_packet (%d MB) for one INSERT; nothing was loaded", b.op, row, float64(size)/(1<<20), b.packet>>20),
		Fix: packetFix("target", int64(size)+packetSlack(len(rec))) + "; or set local_infile=ON on the target (LOAD DATA streams rows of any size)"}
}

func (b *insertBatch) stmt(n int) string {
	return b.prefix + strings.TrimSuffix(strings.Repeat(b.row+",", n), ",")
}

func (b *insertBatch) close() {
	if b.full != nil {
		b.full.Close()
	}
}

// flush inserts the gathered rows; a value the column cannot hold is a
// *ferry.DataError, as is any warning the statement left.
func (b *insertBatch) flush(ctx context.Context) error {
	if b.rows == 0 {
		return nil
	}
	var res sql.Result
	var err error
	if b.rows == b.size {
		if b.full == nil {
			if b.full, err = b.tx.PrepareContext(ctx, b.stmt(b.size)); err != nil {
				return classify(b.op, err)
			}
		}
		res, err = b.full.ExecContext(ctx, b.args...)
	} else {
		res, err = b.tx.ExecContext(ctx, b.stmt(b.rows), b.args...)
	}
	if err != nil {
		switch mysqlErrNo(err) {
		case erTruncated, erWarnDataOutOfRange, erTruncatedWrongValue, erIncorrectValue, erDataTooLong, erBadNull:
			return &ferry.DataError{Msg: b.op + ": " + hideValues(err.Error()),
				Fix: "make the staging column types hold the source values (or cast them in the query), then rerun", Detail: err.Error()}
		}
		return classify(b.op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return classify(b.op, err)
	}
	b.total += n
	if err := checkWarnings(ctx, b.tx, b.op); err != nil {
		return err
	}
	b.args, b.rows, b.bytes = b.args[:0], 0, 0
	return nil
}
