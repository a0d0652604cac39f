package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferrydata/ferry"
)

// deferMark starts the staging table's comment while its secondary indexes
// are deferred: the rest is the JSON list of deferredIndex that
// BuildDeferred has to build. The comment is the record because it lives
// on the target with staging (it survives a process killed between
// PrepareStaging and the swap, and goes when staging is dropped) and
// changes in the same ALTER TABLE that builds the indexes. A table
// comment holds at most maxTableComment characters: a longer record is not
// written and the indexes stay on staging. keepDefinition gives staging
// live's comment at the swap, after BuildDeferred cleared this one.
const deferMark = "ferry:deferred-indexes "

// maxTableComment is MariaDB's and MySQL's limit on a table comment, in
// characters.
const maxTableComment = 2048

// deferredIndex is one secondary index of staging (plain, UNIQUE, FULLTEXT
// or SPATIAL) as SHOW CREATE TABLE spells it, in the table's key order.
// Keep marks the chunk column's index, left on staging for the load: it is
// in the record only when a deferred index came before it, so that the
// build can drop and re-add it in place and the published table lists its
// keys in live's order.
type deferredIndex struct {
	Name string `json:"name"`
	Def  string `json:"def"`
	Keep bool   `json:"keep,omitempty"`
}

// stagingKey is one index of a table: its definition line and what decides
// whether the load needs it.
type stagingKey struct {
	deferredIndex
	primary, unique, btree, fulltext bool
	first                            string // first column, "" when only a prefix of it is indexed
	cols                             int
}

var keyLine = regexp.MustCompile("^(PRIMARY KEY|UNIQUE KEY|KEY|FULLTEXT KEY|SPATIAL KEY) ")

// tableKeys reads schema.table's indexes in the table's key order, from
// SHOW CREATE TABLE alone (the embedded demo server's
// information_schema.STATISTICS lacks the primary key): each one's
// definition line, kind and leading column.
func tableKeys(ctx context.Context, q execer, schema, table string) ([]stagingKey, error) {
	var name, ddl string
	if err := q.QueryRowContext(ctx, "SHOW CREATE TABLE "+qualified(schema, table)).Scan(&name, &ddl); err != nil {
		return nil, err
	}
	var out []stagingKey
	for _, line := range strings.Split(ddl, "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		m := keyLine.FindString(line)
		if m == "" {
			continue
		}
		k := stagingKey{deferredIndex: deferredIndex{Name: "PRIMARY", Def: line}, primary: m == "PRIMARY KEY ",
			unique: m == "PRIMARY KEY " || m == "UNIQUE KEY ", fulltext: m == "FULLTEXT KEY "}
		k.btree = (m != "FULLTEXT KEY " && m != "SPATIAL KEY ") && !strings.Contains(line, " USING HASH")
		rest := strings.TrimPrefix(line, m)
		if !k.primary {
			var err error
			if k.Name, rest, err = readIdent(rest); err != nil {
				return nil, fmt.Errorf("read index %q of %s: %w", line, table, err)
			}
		}
		var err error
		if k.first, k.cols, err = keyParts(strings.TrimSpace(rest)); err != nil {
			return nil, fmt.Errorf("read index %q of %s: %w", line, table, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// readIdent reads the backquoted identifier s starts with and returns it
// and what follows it.
func readIdent(s string) (string, string, error) {
	if !strings.HasPrefix(s, "`") {
		return "", "", fmt.Errorf("no quoted name")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '`' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '`' {
			b.WriteByte('`')
			i++
			continue
		}
		return b.String(), s[i+1:], nil
	}
	return "", "", fmt.Errorf("unterminated quoted name")
}

// keyParts reads a key's parenthesised list of parts, "(`a`(10),`b` DESC)":
// the first part's column ("" when it is a prefix or an expression) and
// the number of parts.
func keyParts(s string) (first string, n int, err error) {
	if !strings.HasPrefix(s, "(") {
		return "", 0, fmt.Errorf("no list of key parts")
	}
	depth, part := 0, ""
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`':
			id, rest, err := readIdent(s[i:])
			if err != nil {
				return "", 0, err
			}
			if depth == 1 && part == "" {
				part = id
				if n == 0 && !strings.HasPrefix(rest, "(") {
					first = id
				}
			}
			i = len(s) - len(rest) - 1
		case c == '(':
			depth++
			if depth == 2 && part == "" {
				part = "(" // an expression
			}
		case c == ')' || (c == ',' && depth == 1):
			if c == ')' {
				depth--
			}
			if depth == 0 || c == ',' {
				n++
				part = ""
			}
			if depth == 0 {
				return first, n, nil
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", 0, fmt.Errorf("unterminated string")
			}
			i += j + 1
		}
	}
	return "", 0, fmt.Errorf("unterminated list of key parts")
}

// deferPlan splits keys into what the load keeps and what the swap builds:
// the PRIMARY KEY (InnoDB clusters the rows on it) and one B-tree index
// leading with the whole chunk column (the range DELETE of a retried load
// uses it; none is needed when the primary key leads with it) stay; every
// other index is deferred. The kept index is preferably plain, then the
// narrowest. It is in the record too (Keep) when a deferred index of its
// class came before it: the server lists unique keys, then the others,
// then FULLTEXT ones, each class in the order the keys were added, and the
// deferred ones are added after the kept one.
func deferPlan(keys []stagingKey, chunkColumn string) (keep string, record []deferredIndex) {
	best := -1
	for i, k := range keys {
		if !strings.EqualFold(k.first, chunkColumn) || !k.btree {
			continue
		}
		if k.primary {
			best = -1
			break
		}
		if best < 0 || (keys[best].unique && !k.unique) || (keys[best].unique == k.unique && k.cols < keys[best].cols) {
			best = i
		}
	}
	if best >= 0 {
		keep = keys[best].Name
	}
	before := false // a deferred key of the kept one's class precedes it
	for i, k := range keys {
		switch {
		case k.primary:
		case i == best:
			if before {
				record = append(record, deferredIndex{Name: k.Name, Def: k.Def, Keep: true})
			}
		default:
			record = append(record, k.deferredIndex)
			if best > i && k.unique == keys[best].unique && !k.fulltext {
				before = true
			}
		}
	}
	return keep, record
}

// deferIndexes records in staging's comment, then drops from staging,
// every secondary index the load does not need (deferPlan), so that rows
// are not inserted into them one by one. BuildDeferred builds them before
// the swap. When the record would not fit in a table comment, or the
// server does not keep it, nothing is deferred (a warning says so).
func (t *Target) deferIndexes(ctx context.Context, op, schema, table, staging, chunkColumn string) error {
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return classify(op, err)
	}
	defer conn.Close()
	keys, err := tableKeys(ctx, conn, schema, staging)
	if err != nil {
		return classify(op+": read staging's indexes", err)
	}
	_, record := deferPlan(keys, chunkColumn)
	var drops []string
	for _, d := range record {
		if !d.Keep {
			drops = append(drops, "DROP KEY "+quoteIdent(d.Name))
		}
	}
	if len(drops) == 0 {
		return nil
	}
	b, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("%s: record the deferred indexes: %w", op, err)
	}
	comment := deferMark + string(b)
	if utf8.RuneCountInString(comment) > maxTableComment {
		t.opts.log.WarnContext(ctx, "mysql: staging's indexes are too many to record in its comment; they stay on staging during the load",
			"schema", schema, "table", table, "staging", staging, "indexes", len(record))
		return nil
	}
	if ok, err := t.writeRecord(ctx, conn, schema, staging, comment); err != nil || !ok {
		if err == nil {
			err = errors.New("the comment did not read back as written")
		}
		t.opts.log.WarnContext(ctx, "mysql: the server does not keep the record of deferred indexes in staging's comment; they stay on staging during the load",
			"schema", schema, "table", table, "staging", staging, "error", err.Error())
		return nil
	}
	if _, err := conn.ExecContext(ctx, "ALTER TABLE "+qualified(schema, staging)+" "+strings.Join(drops, ", ")); err != nil {
		return classify(op+": drop the indexes the load does not need", err)
	}
	t.opts.log.InfoContext(ctx, "mysql: staging's secondary indexes deferred to the swap", "schema", schema, "table", table, "staging", staging, "indexes", len(drops))
	return nil
}

// writeRecord sets staging's comment to the record and reports whether it
// reads back as written (the embedded demo server keeps no table comment).
// The record is written before the indexes are dropped: a process killed
// in between leaves a record of indexes that still exist, which the build
// skips.
func (t *Target) writeRecord(ctx context.Context, conn *sql.Conn, schema, staging, comment string) (bool, error) {
	k, err := newKeeper(ctx, conn, schema)
	if err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, "ALTER TABLE "+qualified(schema, staging)+" COMMENT = "+k.literal(comment)); err != nil {
		return false, err
	}
	var got string
	err = conn.QueryRowContext(ctx, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, staging).Scan(&got)
	return got == comment, err
}

// BuildDeferred builds on each staging table of req the secondary indexes
// PrepareStaging deferred (deferIndexes), all of a table in ONE ALTER
// TABLE, so InnoDB reads the loaded rows once and builds each index by
// sort; the same statement clears the record, so a retried or resumed swap
// builds only what is missing, and nothing once the build is done. The
// statement asks for ALGORITHM=INPLACE, LOCK=NONE and goes without them
// when the server refuses them (a FULLTEXT index needs a lock, two of them
// a copy; a server that does not know the clauses). A UNIQUE index that meets duplicate keys is a *ferry.DataError
// naming the table and the index; nothing of live is touched. The
// swap-tables step's deadline bounds the whole build, on MariaDB on the
// server too (execLimited). A record that is not Ferry's (checkDeferred)
// is a *ferry.ConfigError, and nothing is built.
func (t *Target) BuildDeferred(ctx context.Context, req ferry.SwapRequest) error {
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return classify("mysql: build deferred indexes in "+req.Schema, err)
	}
	defer conn.Close()
	return t.buildDeferred(ctx, conn, req)
}

// buildDeferred is BuildDeferred on conn (Swap's session).
func (t *Target) buildDeferred(ctx context.Context, conn *sql.Conn, req ferry.SwapRequest) error {
	for _, tb := range req.Tables {
		op := fmt.Sprintf("mysql: build the deferred indexes of %s.%s for table %s", req.Schema, tb.Staging, tb.Table)
		if err := validIdents(op, req.Schema, tb.Staging); err != nil {
			return err
		}
		var comment string
		err := conn.QueryRowContext(ctx, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", req.Schema, tb.Staging).Scan(&comment)
		if err == sql.ErrNoRows || !strings.HasPrefix(comment, deferMark) {
			continue // no staging (the swap reports it) or nothing deferred
		}
		if err != nil {
			return classify(op, err)
		}
		var record []deferredIndex
		if err := readRecord(op, tb.Table, comment, &record); err != nil {
			return err
		}
		if err := t.buildTable(ctx, conn, op, req.Schema, tb, record); err != nil {
			return err
		}
	}
	return nil
}

// readRecord decodes staging's comment into record and checks each
// definition (checkDeferred). A record that is not Ferry's (the comment was
// edited by hand) fails the company before anything is built; the next run
// re-creates staging.
func readRecord(op, table, comment string, record *[]deferredIndex) error {
	err := json.Unmarshal([]byte(strings.TrimPrefix(comment, deferMark)), record)
	for i := 0; err == nil && i < len(*record); i++ {
		err = checkDeferred((*record)[i])
	}
	if err != nil {
		return &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s: staging's record of deferred indexes (its table comment) is not Ferry's: %v; nothing was built and the live table %s is unchanged", op, err, table),
			Fix: "do not edit staging tables (_ferry_s_*); run again: the next run re-creates staging from the live table"}
	}
	return nil
}

// buildTable adds the recorded indexes staging lacks and clears the record
// in one ALTER TABLE.
func (t *Target) buildTable(ctx context.Context, conn *sql.Conn, op, schema string, tb ferry.SwapTable, record []deferredIndex) error {
	keys, err := tableKeys(ctx, conn, schema, tb.Staging)
	if err != nil {
		return classify(op+": read staging's indexes", err)
	}
	has := map[string]bool{}
	for _, k := range keys {
		has[strings.ToLower(k.Name)] = true
	}
	var drops, adds []string
	for _, d := range record {
		switch {
		case !has[strings.ToLower(d.Name)]:
			adds = append(adds, "ADD "+d.Def)
		case d.Keep && len(adds) > 0:
			// Re-added after the missing ones before it: live's key order.
			drops = append(drops, "DROP KEY "+quoteIdent(d.Name))
			adds = append(adds, "ADD "+d.Def)
		}
	}
	stmt := "ALTER TABLE " + qualified(schema, tb.Staging) + " " + strings.Join(append(drops, append(adds, "COMMENT = ''")...), ", ")
	start := time.Now()
	err = t.execLimited(ctx, conn, stmt+", ALGORITHM=INPLACE, LOCK=NONE")
	if no := mysqlErrNo(err); no == erAlterUnsupported || no == erAlterUnsupportedWhy || no == erParse {
		err = t.execLimited(ctx, conn, stmt)
	}
	if err != nil {
		return buildErr(op, tb, record, err)
	}
	t.opts.log.InfoContext(ctx, "mysql: deferred indexes built", "schema", schema, "table", tb.Table, "staging", tb.Staging,
		"indexes", len(adds), "seconds", time.Since(start).Seconds())
	return nil
}

// execLimited runs stmt on conn with a server-side time limit just under
// ctx's deadline (Target.limit): an index build that outlasts the step is
// stopped by the server, not left running to block the retry's ALTER and
// RENAME.
func (t *Target) execLimited(ctx context.Context, conn *sql.Conn, stmt string) error {
	lctx, cancel, stmt := t.limit(ctx, stmt)
	defer cancel()
	_, err := conn.ExecContext(lctx, stmt)
	return err
}

var dupKey = regexp.MustCompile(`for key '(?:[^']*\.)?([^']*)'`)

// buildErr reports duplicate keys under a UNIQUE index as a DataError
// naming the table and the index; the server's message, which quotes the
// duplicate key's value ("Duplicate entry 'x' for key ..."), goes in its
// Detail (kept out of Step Functions causes and the run history). Other
// errors are classified.
func buildErr(op string, tb ferry.SwapTable, record []deferredIndex, err error) error {
	if mysqlErrNo(err) != erDupEntry {
		return classify(op, err)
	}
	index, def := "", ""
	if m := dupKey.FindStringSubmatch(err.Error()); m != nil {
		index = m[1]
	}
	for _, d := range record {
		if strings.EqualFold(d.Name, index) {
			def = " (" + d.Def + ", as on the live table)"
		}
	}
	return &ferry.DataError{Where: ferry.Where{Table: tb.Table},
		Msg: fmt.Sprintf("%s: unique index %s%s of table %s cannot be built on the loaded rows: duplicate keys (error %d); live table %s is unchanged",
			op, index, def, tb.Table, erDupEntry, tb.Table),
		Fix:    fmt.Sprintf("make the table's query return unique keys for index %s (or drop that UNIQUE index from the live table %s), then run again", index, tb.Table),
		Detail: err.Error()}
}
