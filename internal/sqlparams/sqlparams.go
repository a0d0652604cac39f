// Package sqlparams binds the named parameters (:company_id, :since, a
// configuration's name) of a configured MySQL query: each :name becomes a
// driver placeholder ? and its value an argument, so no value is ever pasted
// into SQL text. It also refuses anything that is not one read-only SELECT.
//
// The scanner understands MySQL lexical structure well enough to never see a
// parameter, a keyword or a ';' inside a string literal ('...' or "..." with
// backslash and doubled-quote escapes), a backtick identifier or a comment
// (-- , #, /* */). "::" and ":=" are not parameters. It assumes the server's
// sql_mode does not contain NO_BACKSLASH_ESCAPES.
//
// Refused, with *QueryError:
//   - more than one statement (a ';' followed by anything but whitespace or
//     comments); one trailing ';' is dropped;
//   - a statement whose first keyword is not SELECT, or WITH ... followed by
//     anything other than SELECT (opening parentheses are allowed);
//   - SELECT ... INTO (variables, OUTFILE, DUMPFILE), FOR UPDATE, FOR SHARE,
//     LOCK IN SHARE MODE;
//   - LOAD_FILE(), pg_read_file() and pg_read_binary_file() (they read the
//     server's files);
//   - executable comments /*! ... */ and /*M! ... */ (their text runs);
//   - positional placeholders '?' (use named parameters);
//   - unterminated literals, identifiers or comments.
//
// A parameter without a value is an *UnknownParamError listing the names
// that are known.
package sqlparams

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// QueryError says why a query is refused.
type QueryError struct {
	Msg string
}

func (e *QueryError) Error() string { return "sqlparams: " + e.Msg }

// UnknownParamError is a :name in the query with no value.
type UnknownParamError struct {
	Name  string
	Known []string
}

func (e *UnknownParamError) Error() string {
	known := "none"
	if len(e.Known) > 0 {
		known = ":" + strings.Join(e.Known, ", :")
	}
	return fmt.Sprintf("sqlparams: query uses parameter :%s, which has no value (known parameters: %s; fix: add a configuration named %s for the company or correct the query)", e.Name, known, e.Name)
}

type token struct {
	kind  byte // 'w' word, 'p' param, '?' placeholder, '(' ')' ';' or 'o' other (literals and quoted identifiers too)
	start int
	end   int
	depth int
}

// scan walks a MySQL query and returns its tokens outside literals and
// comments.
func scan(q string) ([]token, error) {
	var toks []token
	depth := 0
	i := 0
	n := len(q)
	for i < n {
		c := q[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j, err := mysqlQuoted(q, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: 'o', start: i, end: j, depth: depth})
			i = j
		case c == '#':
			i = lineEnd(q, i)
		case c == '-' && i+1 < n && q[i+1] == '-' && (i+2 == n || q[i+2] == ' ' || q[i+2] == '\t' || q[i+2] == '\n' || q[i+2] == '\r' || q[i+2] < ' '):
			i = lineEnd(q, i)
		case c == '/' && i+1 < n && q[i+1] == '*':
			j, err := mysqlComment(q, i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == ':':
			tok := colonToken(q, i, depth)
			toks = append(toks, tok)
			i = tok.end
		case c == '?' || c == '(' || c == ')' || c == ';':
			if c == ')' {
				depth--
			}
			toks = append(toks, token{kind: c, start: i, end: i + 1, depth: depth})
			if c == '(' {
				depth++
			}
			i++
		case c == '@':
			// @var, @@system_var, @`quoted`: never a keyword.
			j := i + 1
			for j < n && (q[j] == '@' || isWord(q[j]) || q[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: 'o', start: i, end: j, depth: depth})
			i = j
		case isWord(c):
			j := i
			for j < n && isWord(q[j]) {
				j++
			}
			toks = append(toks, token{kind: 'w', start: i, end: j, depth: depth})
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		default:
			toks = append(toks, token{kind: 'o', start: i, end: i + 1, depth: depth})
			i++
		}
	}
	return toks, nil
}

// QuotedEnd returns the end (one past the closing quote) of the MySQL
// string literal ('...', "...", with backslash and doubled-quote escapes)
// or backquoted identifier that starts at q[i]; an unterminated one is a
// *QueryError.
func QuotedEnd(q string, i int) (int, error) { return mysqlQuoted(q, i) }

// mysqlQuoted returns the end of the string literal ('...', "...", with
// backslash and doubled-quote escapes) or backtick identifier at q[i].
func mysqlQuoted(q string, i int) (int, error) {
	c := q[i]
	for j := i + 1; j < len(q); j++ {
		if q[j] == '\\' && c != '`' {
			j++
			continue
		}
		if q[j] == c {
			if j+1 < len(q) && q[j+1] == c {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	what := "string literal"
	if c == '`' {
		what = "quoted identifier"
	}
	return 0, &QueryError{Msg: fmt.Sprintf("unterminated %s starting at byte %d", what, i)}
}

// mysqlComment returns the end of the /* */ comment at q[i]; executable
// comments (/*! */, /*M! */) are refused because their text runs.
func mysqlComment(q string, i int) (int, error) {
	if i+2 < len(q) && (q[i+2] == '!' || (q[i+2] == 'M' && i+3 < len(q) && q[i+3] == '!')) {
		return 0, &QueryError{Msg: fmt.Sprintf("executable comment /*! ... */ at byte %d is not allowed; write the SQL without it", i)}
	}
	end := strings.Index(q[i+2:], "*/")
	if end < 0 {
		return 0, &QueryError{Msg: fmt.Sprintf("unterminated comment starting at byte %d", i)}
	}
	return i + 2 + end + 2, nil
}

func lineEnd(q string, i int) int {
	j := strings.IndexByte(q[i:], '\n')
	if j < 0 {
		return len(q)
	}
	return i + j + 1
}

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isWord(c byte) bool {
	return isWordStart(c) || c >= '0' && c <= '9' || c == '$' || c >= 0x80
}

// check refuses what is not a single read-only SELECT and returns the index
// of a trailing ';' token (or -1).
func check(q string, toks []token) (int, error) {
	semi, err := checkStructure(q, toks)
	if err != nil {
		return 0, err
	}
	if err := checkSelect(q, toks); err != nil {
		return 0, err
	}
	if err := checkReadOnly(q, toks); err != nil {
		return 0, err
	}
	return semi, nil
}

// checkStructure refuses a second statement, unbalanced parentheses and
// positional placeholders; it returns the index of a final ';' (-1: none).
func checkStructure(q string, toks []token) (int, error) {
	semi := -1
	for i, t := range toks {
		if t.kind == ';' {
			if i != len(toks)-1 {
				return 0, &QueryError{Msg: fmt.Sprintf("more than one statement (';' at byte %d); a configured query is a single SELECT", t.start)}
			}
			semi = i
		}
		if t.kind == ')' && t.depth < 0 {
			return 0, &QueryError{Msg: fmt.Sprintf("unbalanced ')' at byte %d", t.start)}
		}
		if t.kind == '?' {
			return 0, &QueryError{Msg: fmt.Sprintf("positional placeholder %s at byte %d; use named parameters such as :company_id", q[t.start:t.end], t.start)}
		}
	}
	open := 0
	for _, t := range toks {
		switch t.kind {
		case '(':
			open++
		case ')':
			open--
		}
	}
	if open != 0 {
		return 0, &QueryError{Msg: "unbalanced '('"}
	}
	return semi, nil
}

// checkSelect refuses a query that is not a SELECT (or a WITH whose main
// statement is a SELECT).
func checkSelect(q string, toks []token) error {
	// The first keyword, after opening parentheses.
	first := ""
	firstAt := 0
	for i, t := range toks {
		if t.kind == '(' {
			continue
		}
		if t.kind == 'w' {
			first = strings.ToUpper(q[t.start:t.end])
			firstAt = i
		}
		break
	}
	switch first {
	case "SELECT":
	case "WITH":
		// After the CTEs, the main statement must be a SELECT: the first
		// word at the WITH's depth that follows a closing parenthesis and
		// is not a comma-continued CTE name.
		d := toks[firstAt].depth
		main := ""
		for i := firstAt + 1; i < len(toks); i++ {
			t := toks[i]
			if t.kind == 'w' && t.depth == d && toks[i-1].kind == ')' && toks[i-1].depth == d {
				if w := strings.ToUpper(q[t.start:t.end]); w != "AS" {
					main = w
					break
				}
			}
			if t.kind == '(' && t.depth == d && toks[i-1].kind == ')' && toks[i-1].depth == d {
				// WITH x AS (...) (SELECT ...)
				for k := i + 1; k < len(toks); k++ {
					if toks[k].kind == 'w' {
						main = strings.ToUpper(q[toks[k].start:toks[k].end])
						break
					}
					if toks[k].kind != '(' {
						break
					}
				}
				break
			}
		}
		if main != "SELECT" {
			return &QueryError{Msg: "WITH must be followed by a SELECT; a configured query is a single read-only SELECT"}
		}
	case "":
		return &QueryError{Msg: "query is empty; a configured query is a single SELECT"}
	default:
		return &QueryError{Msg: fmt.Sprintf("query starts with %s; a configured query is a single read-only SELECT", first)}
	}
	return nil
}

// checkReadOnly refuses the words that make a SELECT write or lock, at any
// depth.
func checkReadOnly(q string, toks []token) error {
	var prev, prev2 string
	for i, t := range toks {
		if t.kind != 'w' {
			if t.kind != 'p' {
				prev2, prev = prev, ""
			}
			continue
		}
		w := strings.ToUpper(q[t.start:t.end])
		switch {
		case w == "INTO":
			return &QueryError{Msg: fmt.Sprintf("SELECT ... INTO at byte %d is not allowed; a configured query only returns rows", t.start)}
		case prev == "FOR" && (w == "UPDATE" || w == "SHARE"):
			return &QueryError{Msg: fmt.Sprintf("FOR %s at byte %d is not allowed; a configured query must not lock rows", w, t.start)}
		case prev == "KEY" && (w == "UPDATE" || w == "SHARE") && prev2 != "DUPLICATE":
			return &QueryError{Msg: fmt.Sprintf("FOR ... KEY %s at byte %d is not allowed; a configured query must not lock rows", w, t.start)}
		case prev2 == "LOCK" && prev == "IN" && w == "SHARE":
			return &QueryError{Msg: fmt.Sprintf("LOCK IN SHARE MODE at byte %d is not allowed; a configured query must not lock rows", t.start)}
		case (w == "LOAD_FILE" || w == "PG_READ_FILE" || w == "PG_READ_BINARY_FILE") && i+1 < len(toks) && toks[i+1].kind == '(':
			return &QueryError{Msg: fmt.Sprintf("%s() at byte %d is not allowed; a configured query reads tables, not the database server's files", w, t.start)}
		}
		prev2, prev = prev, w
	}
	return nil
}

// Names lists the distinct parameters query uses, in order of first use.
func Names(query string) ([]string, error) { return names(scan, query) }

func names(scan func(string) ([]token, error), query string) ([]string, error) {
	toks, err := scan(query)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range toks {
		if t.kind == 'p' {
			name := query[t.start+1 : t.end]
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// Bind checks that query is a single read-only SELECT and replaces each
// :name with ? for the driver to bind. args holds the values in placeholder
// order (a parameter used twice appears twice), used the distinct names in
// order of first use. A trailing ';' is dropped. Values pass through to the
// driver unchanged, except that numbers as JSON decodes them (float64 with
// an integral value, json.Number) become int64 so that integer comparisons
// stay integer.
func Bind(query string, values map[string]any) (sql string, args []any, used []string, err error) {
	return bind(scan, func(int) string { return "?" }, query, values)
}

// bind is Bind for a dialect: scan tokenizes, mark(n) is the n-th
// placeholder (1-based).
func bind(scan func(string) ([]token, error), mark func(int) string, query string, values map[string]any) (sql string, args []any, used []string, err error) {
	toks, err := scan(query)
	if err != nil {
		return "", nil, nil, err
	}
	semi, err := check(query, toks)
	if err != nil {
		return "", nil, nil, err
	}
	var b strings.Builder
	b.Grow(len(query))
	last := 0
	seen := map[string]bool{}
	for i, t := range toks {
		if i == semi {
			b.WriteString(query[last:t.start])
			last = len(query)
			break
		}
		if t.kind != 'p' {
			continue
		}
		name := query[t.start+1 : t.end]
		v, ok := values[name]
		if !ok {
			return "", nil, nil, unknownParam(name, values)
		}
		b.WriteString(query[last:t.start])
		args = append(args, normalize(v))
		b.WriteString(mark(len(args)))
		last = t.end
		if !seen[name] {
			seen[name] = true
			used = append(used, name)
		}
	}
	b.WriteString(query[last:])
	return strings.TrimRight(b.String(), " \t\r\n\f\v"), args, used, nil
}

// unknownParam is the error for a parameter name without a value.
func unknownParam(name string, values map[string]any) error {
	known := make([]string, 0, len(values))
	for k := range values {
		known = append(known, k)
	}
	sort.Strings(known)
	return &UnknownParamError{Name: name, Known: known}
}

func normalize(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		return string(x)
	case int:
		return int64(x)
	}
	return v
}
