package sqlparams

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseStatementBind(t *testing.T) {
	vals := map[string]any{"company_id": 42, "since": "2024-01-01", "n": float64(7)}
	tests := []struct {
		name    string
		d       Dialect
		sql     string
		want    string
		args    []any
		params  []string
		keyword []string
	}{
		{"mysql delete", MySQL, "DELETE FROM t WHERE c = :company_id AND d < :since AND e = :company_id;\n",
			"DELETE FROM t WHERE c = ? AND d < ? AND e = ?", []any{int64(42), "2024-01-01", int64(42)}, []string{"company_id", "since"}, []string{"DELETE", "FROM", "T", "WHERE", "C"}},
		{"postgres $n per use", Postgres, "  delete from t where c = :company_id and d < :since and e = :company_id ; ",
			"delete from t where c = $1 and d < $2 and e = $3", []any{int64(42), "2024-01-01", int64(42)}, []string{"company_id", "since"}, []string{"DELETE", "FROM", "T", "WHERE", "C"}},
		{"postgres utility", Postgres, "REFRESH MATERIALIZED VIEW CONCURRENTLY bi.sales_summary", "REFRESH MATERIALIZED VIEW CONCURRENTLY bi.sales_summary", nil, nil, []string{"REFRESH", "MATERIALIZED", "VIEW", "CONCURRENTLY", "BI"}},
		{"postgres dollar quote", Postgres, "DO $body$ BEGIN PERFORM 1; RAISE NOTICE ':since'; END $body$",
			"DO $body$ BEGIN PERFORM 1; RAISE NOTICE ':since'; END $body$", nil, nil, []string{"DO"}},
		{"postgres empty dollar tag", Postgres, "SELECT $$a;b:since$$, :n", "SELECT $$a;b:since$$, $1", []any{int64(7)}, []string{"n"}, []string{"SELECT"}},
		{"postgres standard string has no backslash escape", Postgres, `SELECT 'a\', :n`, `SELECT 'a\', $1`, []any{int64(7)}, []string{"n"}, []string{"SELECT"}},
		{"postgres E string escapes", Postgres, `SELECT E'a\';:n', :n`, `SELECT E'a\';:n', $1`, []any{int64(7)}, []string{"n"}, []string{"SELECT"}},
		{"postgres quoted identifier", Postgres, `UPDATE "a;b" SET "x:n" = 1`, `UPDATE "a;b" SET "x:n" = 1`, nil, nil, []string{"UPDATE"}},
		{"postgres nested comment", Postgres, "SELECT /* a /* ; */ :n */ 1 --:n;\n", "SELECT /* a /* ; */ :n */ 1 --:n;", nil, nil, []string{"SELECT", "1"}},
		{"postgres ? operator and cast", Postgres, "SELECT doc ? 'k', x::int FROM t WHERE y = :n", "SELECT doc ? 'k', x::int FROM t WHERE y = $1", []any{int64(7)}, []string{"n"}, []string{"SELECT", "DOC"}},
		{"postgres hash is an operator", Postgres, "SELECT 5 # 3, :n", "SELECT 5 # 3, $1", []any{int64(7)}, []string{"n"}, []string{"SELECT", "5"}},
		{"mysql call", MySQL, "CALL rebuild_summary(:company_id, :since)", "CALL rebuild_summary(?, ?)", []any{int64(42), "2024-01-01"}, []string{"company_id", "since"}, []string{"CALL", "REBUILD_SUMMARY"}},
		{"mysql backtick and hash comment", MySQL, "OPTIMIZE TABLE `a;b` # ; :n\n", "OPTIMIZE TABLE `a;b` # ; :n", nil, nil, []string{"OPTIMIZE", "TABLE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseStatement(tt.d, tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			got, args, err := st.Bind(vals)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || !reflect.DeepEqual(args, tt.args) {
				t.Errorf("Bind = %q %#v, want %q %#v", got, args, tt.want, tt.args)
			}
			if p := st.Params(); !reflect.DeepEqual(p, tt.params) {
				t.Errorf("Params = %v, want %v", p, tt.params)
			}
			if k := st.Keywords(5); !reflect.DeepEqual(k, tt.keyword) {
				t.Errorf("Keywords = %v, want %v", k, tt.keyword)
			}
		})
	}
}

func TestParseStatementRefuses(t *testing.T) {
	tests := []struct {
		name string
		d    Dialect
		sql  string
		want string
	}{
		{"two statements", MySQL, "DELETE FROM a; DELETE FROM b", "more than one statement"},
		{"two statements pg", Postgres, "VACUUM a; VACUUM b", "more than one statement"},
		{"mysql placeholder", MySQL, "DELETE FROM a WHERE x = ?", "positional placeholder ?"},
		{"pg placeholder", Postgres, "DELETE FROM a WHERE x = $1", "positional parameter"},
		{"empty", Postgres, " ; ", "empty"},
		{"comment only", MySQL, "-- nothing\n", "empty"},
		{"unterminated dollar", Postgres, "DO $x$ BEGIN END", "unterminated dollar-quoted"},
		{"unterminated pg comment", Postgres, "SELECT /* /* */ 1", "unterminated comment"},
		{"unterminated identifier", Postgres, `SELECT "a`, "unterminated quoted identifier"},
		{"mysql executable comment", MySQL, "DELETE /*! FROM a */", "executable comment"},
		{"unbalanced open", MySQL, "CALL p((1)", "unbalanced '('"},
		{"unbalanced close", Postgres, "SELECT 1)", "unbalanced ')'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStatement(tt.d, tt.sql)
			var qe *QueryError
			if !errors.As(err, &qe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a QueryError containing %q", err, tt.want)
			}
		})
	}
}

func TestStatementCheckSelectAndUnknown(t *testing.T) {
	st, err := ParseStatement(Postgres, "SELECT id FROM t FOR UPDATE")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CheckSelect(); err == nil || !strings.Contains(err.Error(), "FOR UPDATE") {
		t.Fatalf("CheckSelect = %v", err)
	}
	st, _ = ParseStatement(Postgres, "WITH x AS (SELECT 1) SELECT * FROM x WHERE a = :colour")
	if err := st.CheckSelect(); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.Bind(map[string]any{"company_id": 1})
	var ue *UnknownParamError
	if !errors.As(err, &ue) || ue.Name != "colour" {
		t.Fatalf("Bind = %v, want UnknownParamError colour", err)
	}
}
