package sqlparams

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestBind(t *testing.T) {
	vals := map[string]any{"company_id": 42, "since": "2024-01-01", "name": "x", "f": 1.5, "n": json.Number("7"), "fl": float64(3)}
	tests := []bindCase{
		{"simple", "SELECT * FROM t WHERE company_id = :company_id", "SELECT * FROM t WHERE company_id = ?", []any{int64(42)}, []string{"company_id"}},
		{"twice", "SELECT :company_id, :since, :company_id", "SELECT ?, ?, ?", []any{int64(42), "2024-01-01", int64(42)}, []string{"company_id", "since"}},
		{"no params", "select 1", "select 1", nil, nil},
		{"trailing semicolon", "SELECT 1 ;  \n", "SELECT 1", nil, nil},
		{"trailing semicolon and comment", "SELECT :name; -- done", "SELECT ?", []any{"x"}, []string{"name"}},
		{"single quoted", "SELECT ':company_id', 'it''s :since', 'a\\':since' FROM t", "SELECT ':company_id', 'it''s :since', 'a\\':since' FROM t", nil, nil},
		{"double quoted", `SELECT ":name", "a\":name", "b"":name" FROM t`, `SELECT ":name", "a\":name", "b"":name" FROM t`, nil, nil},
		{"backtick", "SELECT `a:name`, `b``:name` FROM t", "SELECT `a:name`, `b``:name` FROM t", nil, nil},
		{"line comment", "SELECT 1 -- :name ; DROP\nFROM t WHERE a = :since", "SELECT 1 -- :name ; DROP\nFROM t WHERE a = ?", []any{"2024-01-01"}, []string{"since"}},
		{"hash comment", "SELECT 1 # :name;\n, :since", "SELECT 1 # :name;\n, ?", []any{"2024-01-01"}, []string{"since"}},
		{"block comment", "SELECT /* :name ; INTO */ :since", "SELECT /* :name ; INTO */ ?", []any{"2024-01-01"}, []string{"since"}},
		{"hint comment", "SELECT /*+ MAX_EXECUTION_TIME(10) */ 1", "SELECT /*+ MAX_EXECUTION_TIME(10) */ 1", nil, nil},
		{"double dash no space is minus", "SELECT 1--:f", "SELECT 1--?", []any{1.5}, []string{"f"}},
		{"cast and assign", "SELECT a::text, @x := 1, @y:=:name", "SELECT a::text, @x := 1, @y:=?", []any{"x"}, []string{"name"}},
		{"json numbers", "SELECT :n, :fl", "SELECT ?, ?", []any{int64(7), int64(3)}, []string{"n", "fl"}},
		{"with", "WITH c AS (SELECT id FROM t WHERE x = :name), d AS (SELECT 1) SELECT * FROM c", "WITH c AS (SELECT id FROM t WHERE x = ?), d AS (SELECT 1) SELECT * FROM c", []any{"x"}, []string{"name"}},
		{"with recursive columns", "WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < 5) SELECT n FROM c", "WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < 5) SELECT n FROM c", nil, nil},
		{"parenthesised", "(SELECT 1) UNION (SELECT :company_id)", "(SELECT 1) UNION (SELECT ?)", []any{int64(42)}, []string{"company_id"}},
		{"for system_time allowed", "SELECT * FROM t FOR SYSTEM_TIME ALL", "SELECT * FROM t FOR SYSTEM_TIME ALL", nil, nil},
		{"time literal", "SELECT '12:30:00', x FROM t", "SELECT '12:30:00', x FROM t", nil, nil},
		{"user variables", "SELECT @@session.time_zone, @into", "SELECT @@session.time_zone, @into", nil, nil},
		{"unicode", "SELECT 'ü:name', :name AS `é`", "SELECT 'ü:name', ? AS `é`", []any{"x"}, []string{"name"}},
	}
	testBindCases(t, Bind, Names, vals, tests)
}

func TestBindRefuses(t *testing.T) {
	tests := []refusal{
		{"empty", "  -- nothing\n", "empty"},
		{"multi", "SELECT 1; SELECT 2", "more than one statement"},
		{"multi after comment", "SELECT 1; /* x */ DROP TABLE t", "more than one statement"},
		{"two semicolons", "SELECT 1;;", "more than one statement"},
		{"delete", "DELETE FROM t", "starts with DELETE"},
		{"update", "update t set a=1", "starts with UPDATE"},
		{"set", "SET @a = 1", "starts with SET"},
		{"with delete", "WITH c AS (SELECT 1) DELETE FROM t", "WITH must be followed by a SELECT"},
		{"into outfile", "SELECT * FROM t INTO OUTFILE '/tmp/x'", "INTO"},
		{"into var", "SELECT a INTO @a FROM t", "INTO"},
		{"into dumpfile nested", "SELECT * FROM (SELECT 1 INTO DUMPFILE '/tmp/x') q", "INTO"},
		{"for update", "SELECT * FROM t FOR UPDATE", "FOR UPDATE"},
		{"for share", "SELECT * FROM t for share", "FOR SHARE"},
		{"lock in share mode", "SELECT * FROM t LOCK IN SHARE MODE", "LOCK IN SHARE MODE"},
		{"load_file", "SELECT id, load_file('/etc/passwd') FROM t", "LOAD_FILE() at byte 11"},
		{"load_file nested", "SELECT * FROM t WHERE a = (SELECT LOAD_FILE /**/ (CONCAT('/etc/', 'passwd')))", "LOAD_FILE()"},
		{"pg_read_file", "SELECT pg_read_file('/etc/passwd')", "PG_READ_FILE()"},
		{"executable comment", "SELECT 1 /*!50000 INTO OUTFILE '/tmp/x' */", "executable comment"},
		{"mariadb executable comment", "SELECT 1 /*M!100000 , 2 */", "executable comment"},
		{"positional", "SELECT * FROM t WHERE a = ?", "positional placeholder"},
		{"unterminated string", "SELECT 'abc", "unterminated string"},
		{"unterminated escape", "SELECT 'abc\\'", "unterminated string"},
		{"unterminated identifier", "SELECT `abc", "unterminated quoted identifier"},
		{"unterminated comment", "SELECT 1 /* abc", "unterminated comment"},
		{"unbalanced open", "SELECT (1", "unbalanced"},
		{"unbalanced close", "SELECT 1)", "unbalanced"},
		{"semicolon in parens", "SELECT (1;)", "more than one statement"},
	}
	testRefusals(t, Bind, tests)
}

func TestBindUnknownParam(t *testing.T) {
	_, _, _, err := Bind("SELECT :company_id, :missing", map[string]any{"company_id": 1, "since": "x"})
	var ue *UnknownParamError
	if !errors.As(err, &ue) {
		t.Fatalf("error = %v, want *UnknownParamError", err)
	}
	if ue.Name != "missing" || !reflect.DeepEqual(ue.Known, []string{"company_id", "since"}) {
		t.Errorf("got %+v", ue)
	}
	if !strings.Contains(err.Error(), ":company_id, :since") {
		t.Errorf("message does not list known names: %v", err)
	}
}

func FuzzBind(f *testing.F) {
	for _, s := range []string{
		"SELECT :a", "SELECT ':a' -- :b\n, :c", "WITH x AS (SELECT 1) SELECT :a FROM x",
		"SELECT `a``b`, \"c\\\"d\", /* :x */ :y;", "SELECT 1;;", "SELECT ? ", "SELECT '\\", "(((SELECT",
		"SELECT a::b, @c:=:d", "SELECT 1 /*! x */", "SELECT * INTO", "WITH", "SELECT '😀', :é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) { checkBound(t, scan, q) })
}

type bindFunc func(string, map[string]any) (string, []any, []string, error)

type bindCase struct {
	name  string
	query string
	sql   string
	args  []any
	used  []string
}

// testBindCases runs a dialect's Bind and Names on each case.
func testBindCases(t *testing.T, bind bindFunc, names func(string) ([]string, error), vals map[string]any, tests []bindCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args, used, err := bind(tt.query, vals)
			if err != nil {
				t.Fatalf("Bind: %v", err)
			}
			if sql != tt.sql {
				t.Errorf("sql = %q, want %q", sql, tt.sql)
			}
			if !reflect.DeepEqual(args, tt.args) {
				t.Errorf("args = %#v, want %#v", args, tt.args)
			}
			if !reflect.DeepEqual(used, tt.used) {
				t.Errorf("used = %v, want %v", used, tt.used)
			}
			got, err := names(tt.query)
			if err != nil {
				t.Fatalf("Names: %v", err)
			}
			if !reflect.DeepEqual(got, tt.used) {
				t.Errorf("Names = %v, want %v", got, tt.used)
			}
		})
	}
}

type refusal struct{ name, query, want string }

// testRefusals checks that a dialect's Bind refuses each query with a
// *QueryError mentioning want.
func testRefusals(t *testing.T, bind bindFunc, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := bind(tt.query, nil)
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("Bind(%q) error = %v, want *QueryError", tt.query, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// checkBound is the fuzz property of a dialect: whatever q, a query that
// binds has each placeholder exactly where a parameter token stood. Bound
// with a parameter-shaped mark, a rescan finds one mark per argument and no
// other parameter, so no placeholder was swallowed by a literal or comment.
func checkBound(t *testing.T, scan func(string) ([]token, error), q string) {
	vals := map[string]any{}
	ns, err := names(scan, q)
	if err == nil {
		for _, n := range ns {
			vals[n] = n
		}
	}
	const mark = ":zz_mark"
	marked, args, used, err := bind(scan, func(int) string { return mark }, q, vals)
	if err != nil {
		return
	}
	if len(used) != len(ns) {
		t.Fatalf("used %v, names %v", used, ns)
	}
	toks, err := scan(marked)
	if err != nil {
		t.Fatalf("rescanning bound SQL %q: %v", marked, err)
	}
	n := 0
	for _, tk := range toks {
		if tk.kind == 'p' {
			if marked[tk.start:tk.end] != mark {
				t.Fatalf("bound SQL %q still has parameter %s", marked, marked[tk.start:tk.end])
			}
			n++
		}
	}
	if n != len(args) {
		t.Fatalf("Bind(%q) = %q with %d placeholders and %d args", q, marked, n, len(args))
	}
}
