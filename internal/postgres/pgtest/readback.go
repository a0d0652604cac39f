package pgtest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry/internal/mysql/mysqltype"
)

// CheckPostgresTarget checks a PostgreSQL target's copy of the matrix,
// table (schema-qualified, quoted as needed), against the fixture: each
// column's type is PGType and each value, read back as PostgreSQL prints
// it, is the exported text (money as its numeric value).
func CheckPostgresTarget(t testing.TB, fx Fixture, conn *pgx.Conn, table string) {
	t.Helper()
	types := map[string]string{}
	for _, r := range PGTextRows(t, conn, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = '`+table+`'::regclass AND attnum > 0 AND NOT attisdropped`) {
		types[r[0]] = r[1]
	}
	checkTypes(t, fx, types, func(c Col) string { return c.PGType })
	if _, err := conn.Exec(context.Background(), "SET TimeZone = 'UTC'; SET extra_float_digits = 3"); err != nil {
		t.Fatalf("pgtest: session: %v", err)
	}
	for _, c := range fx.Cols {
		expr := pgx.Identifier{c.Name}.Sanitize()
		if c.PGCompare == Decimal {
			expr += "::numeric"
		}
		got := PGTextColumn(t, conn, "SELECT "+expr+" FROM "+table+" ORDER BY id")
		if len(got) != fx.Rows {
			t.Fatalf("%s: %d rows, want %d", table, len(got), fx.Rows)
		}
		for id := 1; id <= fx.Rows; id++ {
			cell := c.Cell(id)
			CheckValue(t, c.Name, id, Text, cell.Null, cell.PG, got[id-1])
		}
	}
}

// CheckMySQLTarget checks a MySQL target's copy of the matrix, in table
// of database schema, against the fixture: each column's type is MyType
// and each value is the exported text compared as MyCompare says; a value
// MySQL cannot hold is NULL (the table's policy was null).
func CheckMySQLTarget(t testing.TB, fx Fixture, db *sql.DB, schema, table string) {
	t.Helper()
	types := map[string]string{}
	rows, err := db.Query("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table)
	if err != nil {
		t.Fatalf("pgtest: columns: %v", err)
	}
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatalf("pgtest: columns: %v", err)
		}
		types[n] = mysqltype.Normalize(ty) // MariaDB prints display widths: int(11)
	}
	rows.Close()
	checkTypes(t, fx, types, func(c Col) string { return c.MyType })
	for _, c := range fx.Cols {
		expr := "`" + c.Name + "`"
		if c.MyCompare == Float32 {
			expr = "CAST(" + expr + " AS DOUBLE)" // the text protocol prints FLOAT with 6 digits
		}
		got := SQLColumn(t, db, "SELECT "+expr+" FROM `"+schema+"`.`"+table+"` ORDER BY id")
		if len(got) != fx.Rows {
			t.Fatalf("%s.%s: %d rows, want %d", schema, table, len(got), fx.Rows)
		}
		for id := 1; id <= fx.Rows; id++ {
			cell := c.Cell(id)
			CheckValue(t, c.Name, id, c.MyCompare, cell.Null || cell.Unfit, cell.My, got[id-1])
		}
	}
}

// checkTypes compares a derived staging table's column types with the
// matrix's.
func checkTypes(t testing.TB, fx Fixture, got map[string]string, want func(Col) string) {
	t.Helper()
	for _, c := range fx.Cols {
		if got[c.Name] != want(c) {
			t.Errorf("column %s (%s): the target created %q, the matrix says %q", c.Name, c.Type, got[c.Name], want(c))
		}
	}
}

// PGTextRows reads a query's rows in the text format (no NULLs expected).
func PGTextRows(t testing.TB, conn *pgx.Conn, q string) [][]string {
	t.Helper()
	rr := conn.PgConn().ExecParams(context.Background(), q, nil, nil, nil, nil)
	var out [][]string
	for rr.NextRow() {
		var row []string
		for _, v := range rr.Values() {
			row = append(row, string(v))
		}
		out = append(out, row)
	}
	if _, err := rr.Close(); err != nil {
		t.Fatalf("pgtest: %s: %v", q, err)
	}
	return out
}

// PGTextColumn reads the first column of a query in the text format;
// NULL is nil.
func PGTextColumn(t testing.TB, conn *pgx.Conn, q string) []*string {
	t.Helper()
	rr := conn.PgConn().ExecParams(context.Background(), q, nil, nil, nil, nil)
	var out []*string
	for rr.NextRow() {
		if v := rr.Values()[0]; v != nil {
			s := string(v)
			out = append(out, &s)
		} else {
			out = append(out, nil)
		}
	}
	if _, err := rr.Close(); err != nil {
		t.Fatalf("pgtest: %s: %v", q, err)
	}
	return out
}

// SQLColumn reads the first column of a text-protocol query (MySQL);
// NULL is nil.
func SQLColumn(t testing.TB, db *sql.DB, q string) []*string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", q, err)
	}
	defer rows.Close()
	var out []*string
	for rows.Next() {
		var v sql.RawBytes
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("pgtest: scan: %v", err)
		}
		if v == nil {
			out = append(out, nil)
			continue
		}
		s := string(v)
		out = append(out, &s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("pgtest: %s: %v", q, err)
	}
	return out
}
