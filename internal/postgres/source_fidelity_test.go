package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/postgres/pgtest"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestExportFidelityMatrix exports the whole matrix for each target and
// policy and compares every field with the matrix: PostgreSQL's text for
// a PostgreSQL target; the MySQL text, or NULL (policy null) or a
// DataError naming the first such row (policy error) where MySQL cannot
// hold the value.
func TestExportFidelityMatrix(t *testing.T) {
	e, src := newSource(t)
	fx := pgtest.FidelityFixture(t, e.conn)
	ctx := context.Background()
	for _, tc := range []struct {
		target ferry.Engine
		policy ferry.ZeroDatePolicy
	}{{ferry.EnginePostgres, ""}, {ferry.EngineMySQL, ferry.ZeroDateNull}, {ferry.EngineMySQL, ferry.ZeroDateError}} {
		t.Run(fmt.Sprintf("%s/%s", tc.target, tc.policy), func(t *testing.T) {
			var buf bytes.Buffer
			req := ferry.ExportRequest{Query: fx.Query, Params: fx.Params, ChunkColumn: fx.ChunkColumn, Lo: 1, Hi: int64(fx.Rows) + 1,
				Target: tc.target, ZeroDates: tc.policy}
			st, err := src.Export(ctx, req, &buf)
			if tc.policy == ferry.ZeroDateError {
				row, col := firstUnfit(fx)
				if !isData(err) || !strings.Contains(err.Error(), fmt.Sprintf("row %d: column %s:", row, col)) {
					t.Fatalf("Export = %v, want a DataError for row %d column %s", err, row, col)
				}
				return
			}
			testdb.Must(t, "export", err)
			recs := readCSV(t, buf.Bytes())
			if len(recs) != fx.Rows+1 || st.Rows != int64(fx.Rows) {
				t.Fatalf("%d records (%d rows counted), want %d rows and a header", len(recs), st.Rows, fx.Rows)
			}
			for i, c := range fx.Cols {
				enc := "text"
				if c.Name == "by" {
					enc = "hex"
				} else if c.Kind == ferry.KindBit {
					enc = "bits"
				}
				if want := c.Name + ":" + enc + ":" + c.Type; *recs[0][i+1] != want {
					t.Errorf("header field %d = %q, want %q", i+2, *recs[0][i+1], want)
				}
			}
			nulled := int64(0)
			for id := 1; id <= fx.Rows; id++ {
				for i, c := range fx.Cols {
					cell, got := c.Cell(id), recs[id][i+1]
					want, wantNull := cell.PG, cell.Null
					if tc.target == ferry.EngineMySQL {
						want, wantNull = cell.My, cell.Null || cell.Unfit
						if cell.Unfit {
							nulled++
						}
					}
					switch {
					case wantNull && got != nil:
						t.Errorf("row %d %s: %q, want NULL", id, c.Name, *got)
					case !wantNull && got == nil:
						t.Errorf("row %d %s: NULL, want %q", id, c.Name, want)
					case !wantNull && *got != want:
						t.Errorf("row %d %s: %q, want %q", id, c.Name, *got, want)
					}
				}
			}
			if st.ZeroDates != nulled {
				t.Errorf("%d values counted as nulled, want %d", st.ZeroDates, nulled)
			}
		})
	}
	cols, err := src.Columns(ctx, fx.Query, fx.Params)
	testdb.Must(t, "columns", err)
	for i, c := range fx.Cols {
		if got := cols[i+1]; got.Name != c.Name || got.Type != c.Type || got.Kind != c.Kind || got.Origin != ferry.OriginTable {
			t.Errorf("column %d = %+v, want %s %s (%s), read from a table", i+1, got, c.Name, c.Type, c.Kind)
		}
	}
}

// firstUnfit is the first row (in id order) holding a value MySQL cannot
// hold, and its first such column.
func firstUnfit(fx pgtest.Fixture) (int, string) {
	for id := 1; id <= fx.Rows; id++ {
		for _, c := range fx.Cols {
			if c.Cell(id).Unfit {
				return id, c.Name
			}
		}
	}
	return 0, ""
}
