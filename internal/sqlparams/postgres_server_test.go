package sqlparams

import (
	"context"
	"testing"

	"github.com/ferrydata/ferry/internal/testdb"
)

// TestBindPostgresAgreesWithServer checks the scanner against PostgreSQL's
// own lexer: the server must see exactly the placeholders Bind wrote, and
// the literals around them must come back unchanged.
func TestBindPostgresAgreesWithServer(t *testing.T) {
	conn, _ := testdb.PostgresConn(t)
	ctx := context.Background()
	vals := map[string]any{"a": "A", "b": "B"}
	tests := []struct {
		query string
		want  []string // the row the query returns
	}{
		{`SELECT 'x\', :a::text`, []string{`x\`, "A"}},
		{`SELECT E'\':b', :a::text`, []string{`':b`, "A"}},
		{`SELECT $$ :b ' $$, $q$ $$ :b $q$, :a::text`, []string{` :b ' `, ` $$ :b `, "A"}},
		{`SELECT "x:b" FROM (SELECT :a::text AS "x:b") s`, []string{"A"}},
		{"SELECT /* /* :b */ ; */ :a::text -- :b\n, U&'\\0061:b', 5 # 3", []string{"A", "a:b", "6"}},
		{`SELECT '{"k":1}'::jsonb ? 'k', :a::text || :b::text, 'it''s :b'`, []string{"t", "AB", "it's :b"}},
		{`SELECT (ARRAY[1,2,3])[2:3]::text, a$b FROM (SELECT :b::text AS a$b) s`, []string{"{2,3}", "B"}},
	}
	for _, tt := range tests {
		sql, args, _, err := BindPostgres(tt.query, vals)
		if err != nil {
			t.Fatalf("BindPostgres(%q): %v", tt.query, err)
		}
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%q bound as %q: %v", tt.query, sql, err)
		}
		var got []string
		for rows.Next() {
			vs, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				switch x := v.(type) {
				case string:
					got = append(got, x)
				case bool:
					got = append(got, map[bool]string{true: "t", false: "f"}[x])
				case int32:
					got = append(got, string(rune('0'+x)))
				default:
					t.Fatalf("%q: unexpected %T", tt.query, v)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("%q returned %q, want %q", sql, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q column %d = %q, want %q", sql, i+1, got[i], tt.want[i])
			}
		}
	}
}
