package pgtest

import (
	"context"
	"testing"

	"github.com/ferrydata/ferry/internal/testdb"
)

// TestMatrixIsWhatPostgreSQLPrints checks the matrix itself against the
// server: every value, read back under the source's session settings,
// prints as Cell.PG, and every column's result type is Col.Type.
func TestMatrixIsWhatPostgreSQLPrints(t *testing.T) {
	conn, _ := testdb.PostgresConn(t)
	fx := FidelityFixture(t, conn)
	ctx := context.Background()
	for _, s := range []string{"SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET IntervalStyle = 'postgres'",
		"SET extra_float_digits = 3", "SET bytea_output = 'hex'"} {
		testdb.Must(t, s, execErr(conn.Exec(ctx, s)))
	}
	sd, err := conn.Prepare(ctx, "q", "SELECT * FROM "+fx.Table+" ORDER BY id")
	testdb.Must(t, "describe", err)
	for i, f := range sd.Fields[1:] {
		var typ string
		testdb.Must(t, "format_type", conn.QueryRow(ctx, "SELECT format_type($1, $2)", f.DataTypeOID, f.TypeModifier).Scan(&typ))
		if c := fx.Cols[i]; typ != c.Type || f.Name != c.Name {
			t.Errorf("column %s: result type %q, matrix says %s %q", f.Name, typ, c.Name, c.Type)
		}
	}
	rr := conn.PgConn().ExecParams(ctx, "SELECT * FROM "+fx.Table+" ORDER BY id", nil, nil, nil, nil) // text results
	id := 0
	for rr.NextRow() {
		id++
		for i, raw := range rr.Values()[1:] {
			c := fx.Cols[i]
			cell := c.Cell(id)
			money := c.Name == "mo" // money prints with lc_monetary: compared as numeric below
			switch {
			case cell.Null != (raw == nil):
				t.Errorf("row %d column %s: NULL is %v, matrix says %v", id, c.Name, raw == nil, cell.Null)
			case !cell.Null && !money && string(raw) != cell.PG:
				t.Errorf("row %d column %s: PostgreSQL prints %q, matrix says %q", id, c.Name, raw, cell.PG)
			}
		}
	}
	_, err = rr.Close()
	testdb.Must(t, "rows", err)
	if id != fx.Rows {
		t.Fatalf("%d rows, fixture says %d", id, fx.Rows)
	}
	for id, c := range fx.Col("mo").Cells {
		var got string
		testdb.Must(t, "money", conn.QueryRow(ctx, "SELECT mo::numeric::text FROM "+fx.Table+" WHERE id = $1", id+1).Scan(&got))
		if got != c.PG {
			t.Errorf("row %d money::numeric = %q, matrix says %q", id+1, got, c.PG)
		}
	}
}

func execErr(_ any, err error) error { return err }
