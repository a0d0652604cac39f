package pgtest

import "strings"

// DocRow is column c's row in docs/types.md's table "PostgreSQL source":
// the source type, the type a PostgreSQL and a MySQL staging table get,
// what MySQL cannot hold, and the Why line.
func DocRow(c Col) string {
	var unfit []string
	for _, cell := range c.Cells {
		if cell.Unfit {
			v := cell.In
			if len(v) > 64 {
				v = "numbers beyond decimal(65,30)"
			} else {
				v = "`" + v + "`"
			}
			unfit = append(unfit, v)
		}
	}
	cant := "—"
	if len(unfit) > 0 {
		cant = strings.Join(unfit, ", ")
	}
	return "| `" + c.DDL + "` | `" + c.PGType + "` | `" + c.MyType + "` | " + cant + " | " + c.Why + " |"
}
