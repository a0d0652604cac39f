package plan

import (
	"fmt"

	"github.com/ferrydata/ferry"
)

// ChunkKeyFix is the fix every refused chunk column names.
const ChunkKeyFix = "chunk on a plain, immutable integer column of a source table, ideally its primary key (e.g. `ferry table add --replace --chunk-column id`); select it as it is, not through an expression, aggregate, window function, UNION or derived table"

// CheckChunkKey says why col cannot be a table's chunk column, or "" when
// it can: it must hold integers and be a plain column of a table the query
// reads. A computed column (an expression, an aggregate, ROW_NUMBER() or
// any window function, a UNION's result) is refused: its values move when
// rows are written between two chunk exports, so rows would be copied
// twice or not at all while the counts still match. A column whose origin
// the source could not tell is accepted (see ChunkKeyWarnings).
func CheckChunkKey(col ferry.Column) string {
	integer := col.IsInteger()
	if col.Kind == "" {
		integer = IsIntegerType(col.Type)
	}
	switch {
	case !integer:
		return fmt.Sprintf("chunk column %s is %s, not an integer", col.Name, col.Type)
	case col.Origin == ferry.OriginComputed:
		return fmt.Sprintf("chunk column %s is computed by the query (an expression, aggregate, window function such as ROW_NUMBER(), or UNION), not a column of a source table: its values shift when rows are written during a run, and rows would be copied twice or lost", col.Name)
	}
	return ""
}

// ChunkKeyWarnings lists what makes col a weak chunk column without
// refusing it: not part of a key in the source (every chunk's export then
// scans the table, and a derived table hides the key), or nullable (rows
// with a NULL key fail the company at planning).
func ChunkKeyWarnings(col ferry.Column) []string {
	var out []string
	if col.Origin == ferry.OriginTable && col.Key == "" {
		out = append(out, fmt.Sprintf("chunk column %s is not part of an index of table %s as the query reads it: every chunk's export may scan the whole table; chunk on the primary key, or index the column", col.Name, col.Table))
	}
	if col.Nullable {
		out = append(out, fmt.Sprintf("chunk column %s may be NULL in the result: a company with a NULL chunk key fails at planning (filter `WHERE %s IS NOT NULL` or chunk on a NOT NULL column)", col.Name, col.Name))
	}
	return out
}
