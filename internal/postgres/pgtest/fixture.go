// Package pgtest holds the PostgreSQL type-fidelity matrix: a source table
// with a column per PostgreSQL type Ferry copies and the awkward values of
// each, with the exact text the PostgreSQL source exports for each value
// for a PostgreSQL target and for a MySQL target (or the fact that MySQL
// cannot hold it), and how a value read back from each target compares
// with the source. Adapter tests, the data-path tests and the end-to-end
// tests through `ferry run` share it.
//
// The API is stable: fields and columns are only ever added.
package pgtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5"
)

// FidelityTable is the name of the fixture's source table.
const FidelityTable = "ferry_pg_fidelity"

// Cell is one value of a column.
type Cell struct {
	// Null is SQL NULL; the other fields are empty.
	Null bool
	// In is the value's input text (cast to the column's type on insert).
	In string
	// PG is the exported text for a PostgreSQL target: what PostgreSQL
	// prints under the source session settings (UTC, ISO dates, postgres
	// intervals, shortest exact floats, hex bytea).
	PG string
	// My is the exported text for a MySQL target; Unfit is true when MySQL
	// cannot hold the value (the export's policy then fails the chunk or
	// writes NULL).
	My    string
	Unfit bool
}

// Compare says how a value read back from a target equals the source's.
type Compare string

const (
	// Text: the target's text is the exported text, byte for byte.
	Text Compare = "text"
	// Float32 and Float64: the same IEEE value (bit pattern: -0 is not 0;
	// NaN is NaN).
	Float32 Compare = "float32"
	Float64 Compare = "float64"
	// Decimal: the same number (MySQL pads the scale with zeros).
	Decimal Compare = "decimal"
	// Datetime: the same date and time to the microsecond (MySQL prints
	// the declared fractional digits).
	Datetime Compare = "datetime"
	// Bool: MySQL's 1/0 for PostgreSQL's t/f.
	Bool Compare = "bool"
	// Bytes: the same bytes (the export's \x + hex, decoded).
	Bytes Compare = "bytes"
	// Bits: MySQL's BIT value (big-endian bytes) has the exported digits.
	Bits Compare = "bits"
)

// Col is one column of the matrix.
type Col struct {
	Name string
	// DDL is the column's type in the source table.
	DDL string
	// Type is the type Source.Columns reports (format_type), Kind its kind
	// (an array's is its element's).
	Type string
	Kind ferry.ColumnKind
	// PGType is the column type a derived PostgreSQL staging table gets;
	// MyType the one a derived MySQL staging table gets.
	PGType, MyType string
	// PGCompare and MyCompare say how the value read back from each target
	// (as text, PostgreSQL's col::text or MySQL's text protocol) compares.
	PGCompare, MyCompare Compare
	Cells                []Cell
	// Why is the line docs/types.md gives the column.
	Why string
}

// Fixture is the matrix as created in a database.
type Fixture struct {
	Table string
	// Query selects every column with a named parameter (:min_id) bound
	// from Params; ChunkColumn is "id", 1..Rows, dense.
	Query       string
	Params      map[string]ferry.Param
	ChunkColumn string
	Rows        int
	Cols        []Col
}

// Cell returns column c's value in row id (1-based); a row beyond the
// column's cells is NULL.
func (c Col) Cell(id int) Cell {
	if id-1 < len(c.Cells) {
		return c.Cells[id-1]
	}
	return Cell{Null: true}
}

// Col returns the column named name (the zero Col if there is none).
func (f Fixture) Col(name string) Col {
	for _, c := range f.Cols {
		if c.Name == name {
			return c
		}
	}
	return Col{}
}

// Setup is the SQL that creates the types the matrix uses.
var Setup = []string{
	`CREATE TYPE ferry_mood AS ENUM ('sad', 'it''s, ok', 'happy "x"')`,
	`CREATE DOMAIN ferry_posint AS integer CHECK (VALUE > 0)`,
}

// FidelityFixture creates the matrix table in conn's database (fresh, e.g.
// testdb.PostgresConn) and fills it: row id holds cell id of each column.
func FidelityFixture(t testing.TB, conn *pgx.Conn) Fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cols := Matrix()
	ddl := []string{"id integer PRIMARY KEY"}
	names := []string{"id"}
	rows := 0
	for _, c := range cols {
		ddl = append(ddl, c.Name+" "+c.DDL)
		names = append(names, c.Name)
		rows = max(rows, len(c.Cells))
	}
	for _, s := range append(append([]string(nil), Setup...), "CREATE TABLE "+FidelityTable+" ("+strings.Join(ddl, ", ")+")") {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("pgtest: %s: %v", s, err)
		}
	}
	marks := []string{"$1"}
	for i, c := range cols {
		marks = append(marks, fmt.Sprintf("$%d::text::%s", i+2, c.DDL))
	}
	ins := "INSERT INTO " + FidelityTable + " VALUES (" + strings.Join(marks, ", ") + ")"
	for id := 1; id <= rows; id++ {
		args := []any{id}
		for _, c := range cols {
			if cell := c.Cell(id); cell.Null {
				args = append(args, nil)
			} else {
				args = append(args, cell.In)
			}
		}
		if _, err := conn.Exec(ctx, ins, args...); err != nil {
			t.Fatalf("pgtest: insert row %d: %v", id, err)
		}
	}
	return Fixture{Table: FidelityTable, ChunkColumn: "id", Rows: rows, Cols: cols,
		Query:  "SELECT " + strings.Join(names, ", ") + " FROM " + FidelityTable + " WHERE id > :min_id",
		Params: map[string]ferry.Param{"min_id": int64(0)}}
}
