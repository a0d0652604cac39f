package sqlparams

import (
	"testing"
)

func TestBindPostgres(t *testing.T) {
	vals := map[string]any{"company_id": 42, "since": "2024-01-01", "name": "x", "tag": "t"}
	tests := []bindCase{
		{"simple", "SELECT * FROM t WHERE company_id = :company_id", "SELECT * FROM t WHERE company_id = $1", []any{int64(42)}, []string{"company_id"}},
		{"twice", "SELECT :company_id, :since, :company_id", "SELECT $1, $2, $3", []any{int64(42), "2024-01-01", int64(42)}, []string{"company_id", "since"}},
		{"trailing semicolon", "SELECT :name ;  -- end\n", "SELECT $1", []any{"x"}, []string{"name"}},
		{"standard strings keep backslashes", `SELECT 'a\', :name, 'it''s :since'`, `SELECT 'a\', $1, 'it''s :since'`, []any{"x"}, []string{"name"}},
		{"escape string", `SELECT E'a\':since', :name, e'\\', :tag`, `SELECT E'a\':since', $1, e'\\', $2`, []any{"x", "t"}, []string{"name", "tag"}},
		{"prefixed constants", `SELECT B'0101', X'1F', N':since', U&':since', :name`, `SELECT B'0101', X'1F', N':since', U&':since', $1`, []any{"x"}, []string{"name"}},
		{"quoted identifier", `SELECT "a:name", "b"":since" FROM t WHERE x = :tag`, `SELECT "a:name", "b"":since" FROM t WHERE x = $1`, []any{"t"}, []string{"tag"}},
		{"dollar quotes", "SELECT $$ :name ; ' $$, $f$ it's :since $ $f$, :tag", "SELECT $$ :name ; ' $$, $f$ it's :since $ $f$, $1", []any{"t"}, []string{"tag"}},
		{"dollar in identifier", "SELECT a$b, :tag FROM t$1", "SELECT a$b, $1 FROM t$1", []any{"t"}, []string{"tag"}},
		{"hash is an operator", "SELECT 5 # :company_id", "SELECT 5 # $1", []any{int64(42)}, []string{"company_id"}},
		{"jsonb question mark operators", "SELECT j ? 'a', j ?| array['b'], j ?& :tag FROM t", "SELECT j ? 'a', j ?| array['b'], j ?& $1 FROM t", []any{"t"}, []string{"tag"}},
		{"casts", "SELECT :since::date, x::timestamptz, :name::text", "SELECT $1::date, x::timestamptz, $2::text", []any{"2024-01-01", "x"}, []string{"since", "name"}},
		{"named function arguments", "SELECT make_interval(days := 3, hours => 2), :tag", "SELECT make_interval(days := 3, hours => 2), $1", []any{"t"}, []string{"tag"}},
		{"line comment without space", "SELECT 1--:name ;\n, :tag", "SELECT 1--:name ;\n, $1", []any{"t"}, []string{"tag"}},
		{"nested block comment", "SELECT /* a /* :name */ ; */ :tag", "SELECT /* a /* :name */ ; */ $1", []any{"t"}, []string{"tag"}},
		{"mysql executable comment is a comment", "SELECT /*! :name */ 1", "SELECT /*! :name */ 1", nil, nil},
		{"array slice with spaces", "SELECT a[1:2], a[lo : :company_id] FROM t", "SELECT a[1:2], a[lo : $1] FROM t", []any{int64(42)}, []string{"company_id"}},
		{"with", "WITH c AS (SELECT id FROM t WHERE x = :name) SELECT * FROM c", "WITH c AS (SELECT id FROM t WHERE x = $1) SELECT * FROM c", []any{"x"}, []string{"name"}},
		{"unicode", "SELECT 'ü:name', :name AS \"é\"", "SELECT 'ü:name', $1 AS \"é\"", []any{"x"}, []string{"name"}},
	}
	testBindCases(t, BindPostgres, NamesPostgres, vals, tests)
}

func TestBindPostgresRefuses(t *testing.T) {
	tests := []refusal{
		{"two statements", "SELECT 1; DELETE FROM t", "more than one statement"},
		{"semicolon after dollar quote", "SELECT $$a$$; DROP TABLE t", "more than one statement"},
		{"positional", "SELECT * FROM t WHERE id = $1", "positional parameter"},
		{"not a select", "DELETE FROM t", "starts with DELETE"},
		{"select into", "SELECT * INTO newtable FROM t", "INTO"},
		{"for update", "SELECT * FROM t FOR UPDATE", "FOR UPDATE"},
		{"for no key update", "SELECT * FROM t FOR NO KEY UPDATE", "KEY UPDATE"},
		{"for key share", "SELECT * FROM t FOR KEY SHARE", "KEY SHARE"},
		{"pg_read_file", "SELECT pg_read_file('/etc/passwd')", "PG_READ_FILE()"},
		{"pg_read_binary_file", "SELECT id, PG_READ_BINARY_FILE ('x') FROM t", "PG_READ_BINARY_FILE()"},
		{"with delete", "WITH d AS (DELETE FROM t RETURNING *) DELETE FROM u", "WITH must be followed by a SELECT"},
		{"unterminated string", "SELECT 'abc", "unterminated string constant"},
		{"unterminated escape string", `SELECT E'abc\'`, "unterminated string constant"},
		{"unterminated identifier", `SELECT "abc`, "unterminated quoted identifier"},
		{"unterminated dollar", "SELECT $x$ abc $y$", "unterminated dollar-quoted"},
		{"unterminated nested comment", "SELECT /* /* */ 1", "unterminated comment"},
	}
	testRefusals(t, BindPostgres, tests)
}

func FuzzBindPostgres(f *testing.F) {
	for _, s := range []string{
		"SELECT :a", "SELECT ':a' -- :b\n, :c", "SELECT $$:a$$, $t$ $$ $t$, :b", "SELECT E'\\':a', :b",
		"SELECT \"a\"\":b\", /* /* :x */ */ :y;", "SELECT 1;;", "SELECT $1", "SELECT 'x", "(((SELECT",
		"SELECT a::b, f(c := :d)", "SELECT j ? :k", "WITH", "SELECT '😀', :é", "SELECT U&'d\\0061t\\+000061'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) { checkBound(t, scanPostgres, q) })
}

func TestDialectBind(t *testing.T) {
	q := "SELECT $$:a$$, :b # 1, ':a'"
	if _, _, _, err := MySQL.Bind(q, map[string]any{"b": 1}); err == nil {
		t.Error("the MySQL dialect does not read dollar quotes: :a inside one is a parameter without a value")
	}
	sql, args, _, err := Postgres.Bind(q, map[string]any{"b": 1})
	if err != nil || sql != "SELECT $$:a$$, $1 # 1, ':a'" || len(args) != 1 {
		t.Errorf("Postgres.Bind = %q, %v, %v", sql, args, err)
	}
	if names, err := Postgres.Names(q); err != nil || len(names) != 1 || names[0] != "b" {
		t.Errorf("Postgres.Names = %v, %v", names, err)
	}
	if names, err := MySQL.Names("SELECT :x # :y\n"); err != nil || len(names) != 1 {
		t.Errorf("MySQL.Names = %v, %v", names, err)
	}
}
