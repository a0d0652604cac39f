package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
)

// PrepareStaging drops staging if it exists and creates it empty, shaped
// by the query's columns (cols) so that a schema change goes live with the
// swap (ferry.SchemaEvolve):
//
//   - no live table: a table derived from cols (the MySQL types as given,
//     validated; a PostgreSQL source's through pgcol.MySQLType), utf8mb4,
//     each text column in the source's collation when the server knows it,
//     and KEY ferry_chunk on the chunk column;
//   - a live table whose columns are what cols derive (same names, types,
//     collations and nullability: SchemaChanges is empty): CREATE TABLE
//     staging LIKE live, so every index, option and default carries over;
//   - a live table that differs: the derived table, plus the live table's
//     primary key and indexes on the columns that still exist (an index on
//     a dropped column is left out; a prefix length is kept for text and
//     byte columns only). Triggers and comments are the swap's to carry.
//
// Without cols (nil), or when a column's type cannot be derived (a live
// table made by hand for it), a live table is copied LIKE it is.
//
// Indexes after the load: staging then keeps its PRIMARY KEY and one index
// leading with the chunk column; its other indexes (plain, UNIQUE,
// FULLTEXT, SPATIAL) are dropped and recorded in its comment
// (deferIndexes), and Swap builds them after the count check
// (BuildDeferred). An index on the chunk column is added when none leads
// with it. Idempotent. Grants are by name, so none are lost.
// Triggers an interrupted swap left on staging go back to the live table
// first (reclaimTriggers).
//
// Derived columns keep NOT NULL, except DATE, DATETIME and TIMESTAMP ones:
// the zero-date policy "null" writes NULL for a zero date, also from a
// source column that is NOT NULL (as the PostgreSQL target does).
func (t *Target) PrepareStaging(ctx context.Context, schema, table, staging string, cols []ferry.Column, chunkColumn string) error {
	op := fmt.Sprintf("mysql: prepare staging %s.%s for table %s", schema, staging, table)
	if err := validIdents(op, schema, table, staging, chunkColumn); err != nil {
		return err
	}
	live, err := tableExists(ctx, t.db, schema, table)
	if err != nil {
		return classify(op, err)
	}
	if live {
		if err := t.reclaimTriggers(ctx, schema, table, staging); err != nil {
			return classify(op+": give the live table back its triggers", err)
		}
	}
	if _, err := t.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+qualified(schema, staging)); err != nil {
		return classify(op, err)
	}
	like := "CREATE TABLE " + qualified(schema, staging) + " LIKE " + qualified(schema, table)
	switch {
	case live && (len(cols) == 0 || !derivable(cols)):
		// A live table made by hand for a type Ferry cannot derive keeps
		// its shape (the loader still checks each chunk against it).
		if _, err := t.db.ExecContext(ctx, like); err != nil {
			return classify(op, err)
		}
	case !live:
		if err := t.createDerived(ctx, op, t.db, "CREATE TABLE", schema, staging, cols, chunkColumn); err != nil {
			return err
		}
	default:
		if err := t.createDerived(ctx, op, t.db, "CREATE TABLE", schema, staging, cols, chunkColumn); err != nil {
			return err
		}
		changes, err := compareTables(ctx, t.db, schema, table, staging)
		if err != nil {
			return classify(op+": compare with the live table", err)
		}
		if len(changes) == 0 {
			if _, err := t.db.ExecContext(ctx, "DROP TABLE "+qualified(schema, staging)); err != nil {
				return classify(op, err)
			}
			if _, err := t.db.ExecContext(ctx, like); err != nil {
				return classify(op, err)
			}
			break
		}
		if err := t.copyIndexes(ctx, op, schema, table, staging); err != nil {
			return err
		}
		t.opts.log.InfoContext(ctx, "mysql: the query's columns differ from the live table's; staging takes the new shape", "schema", schema, "table", table, "changes", fmt.Sprint(changes))
	}
	// Indexes after the load: Swap builds what the load does not need.
	if err := t.deferIndexes(ctx, op, schema, table, staging, chunkColumn); err != nil {
		return err
	}
	return t.indexChunkColumn(ctx, op, schema, staging, chunkColumn)
}

// derivable reports whether every column has a staging type.
func derivable(cols []ferry.Column) bool {
	for _, c := range cols {
		if _, err := stagingType(c); err != nil {
			return false
		}
	}
	return true
}

// indexChunkColumn adds KEY ferry_chunk on the chunk column unless an
// index already leads with it: every load's range DELETE would otherwise
// scan the whole staging table.
func (t *Target) indexChunkColumn(ctx context.Context, op, schema, staging, chunkColumn string) error {
	var n int
	err := t.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ?",
		schema, staging, chunkColumn).Scan(&n)
	if err != nil {
		return classify(op+": indexes", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := t.db.ExecContext(ctx, "ALTER TABLE "+qualified(schema, staging)+" ADD KEY `ferry_chunk` ("+quoteIdent(chunkColumn)+")"); err != nil {
		return classify(op+": index the chunk column", err)
	}
	return nil
}

// execer runs a statement (a *sql.DB or a *sql.Conn).
type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// createDerived runs create ("CREATE TABLE" or "CREATE TEMPORARY TABLE")
// for schema.name with the columns cols derive, no index.
func (t *Target) createDerived(ctx context.Context, op string, q execer, create, schema, name string, cols []ferry.Column, chunkColumn string) error {
	defs, err := t.derivedDefs(ctx, op, q, cols, chunkColumn)
	if err != nil {
		return err
	}
	stmt := create + " " + qualified(schema, name) + " (\n  " + strings.Join(defs, ",\n  ") + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	if _, err := q.ExecContext(ctx, stmt); err != nil {
		return classify(op, err)
	}
	return nil
}

var collationRe = regexp.MustCompile(`^[a-z0-9]+_[a-z0-9_]+$`)

// derivedDefs are the column definitions of the table cols derive: a
// ConfigError names a column whose name or type cannot be created, or a
// missing chunk column.
func (t *Target) derivedDefs(ctx context.Context, op string, q execer, cols []ferry.Column, chunkColumn string) ([]string, error) {
	if len(cols) == 0 {
		return nil, &ferry.ConfigError{Msg: op + ": no columns to create the table from", Fix: "check the table's query returns columns"}
	}
	known, err := knownCollations(ctx, q, cols)
	if err != nil {
		return nil, classify(op+": collations", err)
	}
	var defs []string
	hasChunk := false
	for _, c := range cols {
		if err := ferry.ValidIdent(c.Name); err != nil {
			return nil, &ferry.ConfigError{Msg: op + ": column: " + err.Error(), Fix: "alias the column in the query (AS name)"}
		}
		typ, err := stagingType(c)
		if err != nil {
			return nil, &ferry.ConfigError{Msg: op + ": column " + c.Name + ": " + err.Error(), Fix: "cast the column in the query to a plain MySQL type"}
		}
		if known[c.Collation] && c.SourceEngine() == ferry.EngineMySQL && textual(c.Kind) {
			typ += " CHARACTER SET " + c.Charset + " COLLATE " + c.Collation
		}
		null := " NOT NULL"
		if c.Nullable || zeroDateType(typ) {
			null = " NULL"
			if strings.HasPrefix(typ, "timestamp") {
				null = " NULL DEFAULT NULL"
			}
		}
		defs = append(defs, quoteIdent(c.Name)+" "+typ+null)
		if strings.EqualFold(c.Name, chunkColumn) {
			hasChunk = true
		}
	}
	if !hasChunk {
		return nil, &ferry.ConfigError{Msg: op + ": chunk column " + chunkColumn + " is not among the query's columns", Fix: "set chunk_column to a column of the query's result"}
	}
	return defs, nil
}

// textual reports the kinds whose values have a character set.
func textual(k ferry.ColumnKind) bool {
	switch k {
	case ferry.KindChar, ferry.KindVarchar, ferry.KindText, ferry.KindEnum, ferry.KindSet:
		return true
	}
	return false
}

// knownCollations returns which of the columns' source collations the
// target server knows (a MySQL 8 source's utf8mb4_0900_ai_ci is unknown to
// MariaDB: such a column takes the table's default instead).
func knownCollations(ctx context.Context, q execer, cols []ferry.Column) (map[string]bool, error) {
	var names []any
	seen := map[string]bool{}
	for _, c := range cols {
		if c.Collation != "" && c.Charset != "" && collationRe.MatchString(c.Collation) && collationRe.MatchString(c.Charset+"_x") && !seen[c.Collation] {
			seen[c.Collation] = true
			names = append(names, c.Collation)
		}
	}
	known := map[string]bool{}
	if len(names) == 0 {
		return known, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (?"+strings.Repeat(",?", len(names)-1)+")", names...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		known[n] = true
	}
	return known, rows.Err()
}

// fullColumn is one row of SHOW FULL COLUMNS.
type fullColumn struct {
	field, typ, null string
	collation        sql.NullString
}

// showFullColumns runs SHOW FULL COLUMNS FROM from (a quoted table name;
// it sees temporary tables too).
func showFullColumns(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, from string) ([]fullColumn, error) {
	rows, err := q.QueryContext(ctx, "SHOW FULL COLUMNS FROM "+from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fullColumn
	for rows.Next() {
		var c fullColumn
		var key, def, extra, privileges, comment sql.RawBytes
		if err := rows.Scan(&c.field, &c.typ, &c.collation, &c.null, &key, &def, &extra, &privileges, &comment); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// columnDefs reads a table's columns: each one's definition as the server
// spells it, "decimal(12,4) NOT NULL", "varchar(40) COLLATE utf8mb4_bin".
func columnDefs(ctx context.Context, q execer, schema, table string) ([]ferry.ColumnDef, error) {
	cols, err := showFullColumns(ctx, q, qualified(schema, table))
	if err != nil {
		return nil, err
	}
	out := make([]ferry.ColumnDef, len(cols))
	for i, c := range cols {
		d := strings.ToLower(c.typ)
		if c.collation.Valid {
			d += " COLLATE " + c.collation.String
		}
		if strings.EqualFold(c.null, "NO") {
			d += " NOT NULL"
		}
		out[i] = ferry.ColumnDef{Name: c.field, Def: d}
	}
	return out, nil
}

// compareTables returns how table other (staging, or a probe) differs
// from the live table.
func compareTables(ctx context.Context, q execer, schema, live, other string) ([]ferry.SchemaChange, error) {
	old, err := columnDefs(ctx, q, schema, live)
	if err != nil {
		return nil, err
	}
	now, err := columnDefs(ctx, q, schema, other)
	if err != nil {
		return nil, err
	}
	return ferry.DiffColumns(old, now), nil
}

// SchemaChanges reports how the table cols derive (see PrepareStaging)
// differs from the live table schema.table, column by column; nil when
// there is no live table or no difference. It creates and drops a
// temporary table (CREATE TEMPORARY TABLES privilege) and changes nothing
// else.
func (t *Target) SchemaChanges(ctx context.Context, schema, table string, cols []ferry.Column, chunkColumn string) ([]ferry.SchemaChange, error) {
	op := fmt.Sprintf("mysql: schema changes of %s.%s", schema, table)
	if err := validIdents(op, schema, table, chunkColumn); err != nil {
		return nil, err
	}
	live, err := tableExists(ctx, t.db, schema, table)
	if err != nil || !live {
		return nil, classify(op, err)
	}
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return nil, classify(op, err)
	}
	defer conn.Close()
	b := make([]byte, 8)
	rand.Read(b)
	probe := "_ferry_probe_" + hex.EncodeToString(b)
	if err := t.createDerived(ctx, op, conn, "CREATE TEMPORARY TABLE", schema, probe, cols, chunkColumn); err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(dctx, "DROP TEMPORARY TABLE IF EXISTS "+qualified(schema, probe)); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	changes, err := compareTables(ctx, conn, schema, table, probe)
	return changes, classify(op, err)
}

// copyIndexes adds the live table's primary key and indexes to staging,
// leaving out any index on a column staging no longer has.
func (t *Target) copyIndexes(ctx context.Context, op, schema, table, staging string) error {
	now, err := columnDefs(ctx, t.db, schema, staging)
	if err != nil {
		return classify(op+": staging columns", err)
	}
	has := map[string]string{}
	for _, c := range now {
		has[strings.ToLower(c.Name)] = c.Def
	}
	rows, err := t.db.QueryContext(ctx, `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, schema, table)
	if err != nil {
		return classify(op+": live indexes", err)
	}
	type index struct {
		name, kind string
		unique, ok bool
		cols       []string
	}
	var order []*index
	byName := map[string]*index{}
	for rows.Next() {
		var name, col, typ string
		var nonUnique int
		var sub sql.NullInt64
		if err := rows.Scan(&name, &nonUnique, &col, &sub, &typ); err != nil {
			rows.Close()
			return classify(op+": live indexes", err)
		}
		ix := byName[name]
		if ix == nil {
			ix = &index{name: name, kind: strings.ToUpper(typ), unique: nonUnique == 0, ok: true}
			byName[name] = ix
			order = append(order, ix)
		}
		def, ok := has[strings.ToLower(col)]
		if !ok {
			ix.ok = false
			continue
		}
		part := quoteIdent(col)
		if sub.Valid && prefixable(def) {
			part += fmt.Sprintf("(%d)", sub.Int64)
		}
		ix.cols = append(ix.cols, part)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(op+": live indexes", err)
	}
	var adds []string
	for _, ix := range order {
		if !ix.ok {
			t.opts.log.WarnContext(ctx, "mysql: an index of the live table names a column the query no longer returns; staging goes without it", "schema", schema, "table", table, "index", ix.name)
			continue
		}
		list := " (" + strings.Join(ix.cols, ", ") + ")"
		switch {
		case ix.name == "PRIMARY":
			adds = append(adds, "ADD PRIMARY KEY"+list)
		case ix.kind == "FULLTEXT" || ix.kind == "SPATIAL":
			adds = append(adds, "ADD "+ix.kind+" KEY "+quoteIdent(ix.name)+list)
		case ix.unique:
			adds = append(adds, "ADD UNIQUE KEY "+quoteIdent(ix.name)+list)
		default:
			adds = append(adds, "ADD KEY "+quoteIdent(ix.name)+list)
		}
	}
	if len(adds) == 0 {
		return nil
	}
	if _, err := t.db.ExecContext(ctx, "ALTER TABLE "+qualified(schema, staging)+" "+strings.Join(adds, ", ")); err != nil {
		return classify(op+": re-create the live table's indexes on the new shape", err)
	}
	return nil
}

// prefixable reports a column definition an index may take a prefix of.
func prefixable(def string) bool {
	for _, p := range []string{"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"} {
		if def == p || strings.HasPrefix(def, p+"(") || strings.HasPrefix(def, p+" ") {
			return true
		}
	}
	return false
}
