package sqlparams

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
)

// BindPostgres is Bind for a query written in PostgreSQL's SQL: each :name
// becomes $1, $2, ... (one per use, so that each use takes its type from
// its own context, as MySQL's ? does) and its value an argument in the
// same order. The same single read-only SELECT rules apply.
//
// The PostgreSQL scanner never sees a parameter, a keyword or a ';' inside
// a string constant ('...' with ” doubled and backslashes literal, as
// under standard_conforming_strings; E'...' with backslash escapes;
// U&'...'; B'...' and X'...'), a dollar-quoted string ($$...$$,
// $tag$...$tag$), a quoted identifier ("...") or a comment (-- to the end of
// the line, /* */ nested). Unlike MySQL, '#' is an operator and '?' a
// jsonb operator, so neither is special; "::" casts and ":=" named
// arguments are not parameters. Positional parameters ($1) are refused: use
// named parameters. An array slice with a name as its bound (a[lo:hi])
// reads as the parameter :hi; write a[lo : hi].
func BindPostgres(query string, values map[string]any) (sql string, args []any, used []string, err error) {
	return bind(scanPostgres, func(n int) string { return "$" + strconv.Itoa(n) }, query, values)
}

// NamesPostgres is Names for a query written in PostgreSQL's SQL.
func NamesPostgres(query string) ([]string, error) { return names(scanPostgres, query) }

// scanPostgres walks a PostgreSQL query and returns its tokens outside
// constants, quoted identifiers and comments.
func scanPostgres(q string) ([]token, error) {
	var toks []token
	depth := 0
	for i, n := 0, len(q); i < n; {
		c := q[i]
		var end int
		var err error
		switch {
		case c == '\'':
			end, err = pgQuoted(q, i, i+1, isEscapeString(q, i))
		case c == '"':
			end, err = pgQuoted(q, i, i+1, false)
		case c == '$' && (i == 0 || !isWord(q[i-1])):
			end, err = pgDollar(q, i)
		case c == '-' && i+1 < n && q[i+1] == '-':
			i = lineEnd(q, i)
			continue
		case c == '/' && i+1 < n && q[i+1] == '*':
			if i, err = pgComment(q, i); err != nil {
				return nil, err
			}
			continue
		case c == ':':
			tok := colonToken(q, i, depth)
			toks = append(toks, tok)
			i = tok.end
			continue
		case c == '(' || c == ')' || c == ';':
			if c == ')' {
				depth--
			}
			toks = append(toks, token{kind: c, start: i, end: i + 1, depth: depth})
			if c == '(' {
				depth++
			}
			i++
			continue
		case isWord(c):
			j := i
			for j < n && isWord(q[j]) {
				j++
			}
			// A prefixed constant (E'..', B'..', X'..', N'..', U&'..'):
			// scan its quote next.
			if j < n && q[j] == '\'' && isConstPrefix(q[i:j]) {
				i = j
				continue
			}
			if j+1 < n && q[j] == '&' && q[j+1] == '\'' && strings.EqualFold(q[i:j], "U") {
				i = j + 1
				continue
			}
			toks = append(toks, token{kind: 'w', start: i, end: j, depth: depth})
			i = j
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		default:
			toks = append(toks, token{kind: 'o', start: i, end: i + 1, depth: depth})
			i++
			continue
		}
		if err != nil {
			return nil, err
		}
		toks = append(toks, token{kind: 'o', start: i, end: end, depth: depth})
		i = end
	}
	return toks, nil
}

// isConstPrefix reports the letters that may prefix a string constant.
func isConstPrefix(w string) bool {
	switch strings.ToUpper(w) {
	case "E", "B", "X", "N":
		return true
	}
	return false
}

// isEscapeString reports whether the string constant at q[i] is an E'...'
// constant, whose backslashes escape.
func isEscapeString(q string, i int) bool {
	if i == 0 || q[i-1] != 'e' && q[i-1] != 'E' {
		return false
	}
	return i == 1 || !isWord(q[i-2])
}

// pgQuoted returns the end of the constant or identifier opened by q[open]
// whose text starts at from; the closing character doubled is an escaped
// one, and with backslash a backslash escapes the next byte.
func pgQuoted(q string, open, from int, backslash bool) (int, error) {
	c := q[open]
	for j := from; j < len(q); j++ {
		switch {
		case backslash && q[j] == '\\':
			j++
		case q[j] == c && j+1 < len(q) && q[j+1] == c:
			j++
		case q[j] == c:
			return j + 1, nil
		}
	}
	what := "string constant"
	if c == '"' {
		what = "quoted identifier"
	}
	return 0, &QueryError{Msg: fmt.Sprintf("unterminated %s starting at byte %d", what, open)}
}

// pgDollar returns the end of the dollar-quoted string at q[i], or refuses
// a positional parameter ($1). A '$' that opens neither is an operator
// character.
func pgDollar(q string, i int) (int, error) {
	j := i + 1
	if j < len(q) && q[j] >= '0' && q[j] <= '9' {
		return 0, &QueryError{Msg: fmt.Sprintf("positional parameter at byte %d; use named parameters such as :company_id", i)}
	}
	for j < len(q) && (isWordStart(q[j]) || q[j] >= 0x80 || j > i+1 && q[j] >= '0' && q[j] <= '9') {
		j++
	}
	if j >= len(q) || q[j] != '$' {
		return i + 1, nil
	}
	tag := q[i : j+1]
	end := strings.Index(q[j+1:], tag)
	if end < 0 {
		return 0, &QueryError{Msg: fmt.Sprintf("unterminated dollar-quoted string %s starting at byte %d", tag, i)}
	}
	return j + 1 + end + len(tag), nil
}

// pgComment returns the end of the block comment at q[i]; PostgreSQL's
// block comments nest.
func pgComment(q string, i int) (int, error) {
	depth := 0
	for j := i; j+1 < len(q); j++ {
		switch {
		case q[j] == '/' && q[j+1] == '*':
			depth++
			j++
		case q[j] == '*' && q[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, &QueryError{Msg: fmt.Sprintf("unterminated comment starting at byte %d", i)}
}

// colonToken reads what starts with ':' at q[i]: a parameter (:name), a
// cast (::type, the type name included) or another operator (:=, ':').
func colonToken(q string, i, depth int) token {
	n := len(q)
	if i+1 < n && (q[i+1] == ':' || q[i+1] == '=') {
		j := i + 2
		if q[i+1] == ':' {
			for j < n && isWord(q[j]) {
				j++
			}
		}
		return token{kind: 'o', start: i, end: j, depth: depth}
	}
	if i+1 < n && isWordStart(q[i+1]) {
		j := i + 1
		for j < n && isWord(q[j]) {
			j++
		}
		return token{kind: 'p', start: i, end: j, depth: depth}
	}
	return token{kind: 'o', start: i, end: i + 1, depth: depth}
}

// DialectOf is the dialect of engine's SQL (MySQL unless PostgreSQL).
func DialectOf(engine ferry.Engine) Dialect {
	if engine == ferry.EnginePostgres {
		return Postgres
	}
	return MySQL
}

// Bind is Bind (MySQL) or BindPostgres, as d says: a configured SELECT of
// the source's dialect with its :name parameters bound.
func (d Dialect) Bind(query string, values map[string]any) (sql string, args []any, used []string, err error) {
	if d == Postgres {
		return BindPostgres(query, values)
	}
	return Bind(query, values)
}

// Names is Names (MySQL) or NamesPostgres, as d says.
func (d Dialect) Names(query string) ([]string, error) {
	if d == Postgres {
		return NamesPostgres(query)
	}
	return Names(query)
}
