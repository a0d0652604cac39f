package sqlparams

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the lexical dialect a statement is scanned in.
type Dialect int

const (
	// MySQL is MySQL and MariaDB, as Bind scans it.
	MySQL Dialect = iota
	// Postgres is PostgreSQL, as BindPostgres scans it.
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "mysql"
}

// Token kinds of a Statement: those of the scanners (Bind, BindPostgres),
// with quoted identifiers and literals told apart.
const (
	Word       = 'w' // a keyword or unquoted identifier
	Param      = 'p' // a named parameter, :name
	Ident      = 'i' // a quoted identifier
	Literal    = 's' // a string or dollar-quoted literal
	OpenParen  = '('
	CloseParen = ')'
	Other      = 'o' // operators, numbers, punctuation
)

// Token is one lexical element of a Statement outside comments.
type Token struct {
	Kind byte
	// Start and End are byte offsets in the statement's text.
	Start, End int
	// Depth is the parenthesis depth (0 at the top level; the '(' itself
	// is at the outer depth).
	Depth int
}

// Statement is one SQL statement of any kind (what a job runs), scanned in
// its dialect. Its parameters are bound by Bind, never pasted.
type Statement struct {
	// SQL is the statement's text, without a trailing ';' and surrounding
	// whitespace.
	SQL     string
	Dialect Dialect
	Tokens  []Token
	toks    []token
}

// ParseStatement scans sql as exactly one statement of dialect d. Refused
// with *QueryError: an empty statement, more than one statement, positional
// placeholders (? in MySQL, $1 in PostgreSQL), MySQL executable comments,
// unbalanced parentheses and unterminated literals, identifiers or comments.
func ParseStatement(d Dialect, sql string) (*Statement, error) {
	scanner := scan
	if d == Postgres {
		scanner = scanPostgres
	}
	toks, err := scanner(sql)
	if err != nil {
		return nil, err
	}
	text := sql
	for i, t := range toks {
		switch {
		case t.kind == ';' && i != len(toks)-1:
			return nil, &QueryError{Msg: fmt.Sprintf("more than one statement (';' at byte %d); a job runs one statement (a stored procedure call counts as one)", t.start)}
		case t.kind == ';':
			text = sql[:t.start]
			toks = toks[:i]
		case t.kind == '?':
			return nil, &QueryError{Msg: fmt.Sprintf("positional placeholder %s at byte %d; use named parameters such as :company_id", sql[t.start:t.end], t.start)}
		case t.kind == ')' && t.depth < 0:
			return nil, &QueryError{Msg: fmt.Sprintf("unbalanced ')' at byte %d", t.start)}
		}
	}
	if len(toks) > 0 && toks[len(toks)-1].depth != 0 || len(toks) > 0 && toks[len(toks)-1].kind == '(' {
		return nil, &QueryError{Msg: "unbalanced '('"}
	}
	lead := len(text) - len(strings.TrimLeft(text, " \t\r\n\f\v"))
	st := &Statement{SQL: strings.TrimSpace(text), Dialect: d}
	for _, t := range toks {
		t.start -= lead
		t.end -= lead
		st.toks = append(st.toks, t)
		st.Tokens = append(st.Tokens, Token{Kind: exportedKind(st.SQL, t, d), Start: t.start, End: t.end, Depth: t.depth})
	}
	if len(st.Tokens) == 0 {
		return nil, &QueryError{Msg: "the statement is empty"}
	}
	return st, nil
}

// exportedKind tells quoted identifiers and literals apart, which the
// scanners both report as 'o'.
func exportedKind(q string, t token, d Dialect) byte {
	if t.kind != 'o' {
		return t.kind
	}
	switch c := q[t.start]; {
	case c == '`' || c == '"' && d == Postgres:
		return Ident
	case c == '\'' || c == '"' || c == '$' && t.end-t.start > 1:
		return Literal
	}
	return Other
}

// Text returns the source text of tok.
func (s *Statement) Text(tok Token) string { return s.SQL[tok.Start:tok.End] }

// Keyword returns tok's text in upper case when it is a Word, else "".
func (s *Statement) Keyword(tok Token) string {
	if tok.Kind != Word {
		return ""
	}
	return strings.ToUpper(s.Text(tok))
}

// Keywords returns the upper-cased leading words of the statement, at
// most n, stopping at the first token that is not a Word.
func (s *Statement) Keywords(n int) []string {
	var out []string
	for _, t := range s.Tokens {
		if len(out) == n || t.Kind != Word {
			break
		}
		out = append(out, s.Keyword(t))
	}
	return out
}

// Params lists the distinct named parameters the statement uses, in order
// of first use.
func (s *Statement) Params() []string {
	var names []string
	seen := map[string]bool{}
	for _, t := range s.Tokens {
		if t.Kind == Param {
			if name := s.SQL[t.Start+1 : t.End]; !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	return names
}

// Bind replaces each :name with the dialect's placeholder (? or $n, one per
// use, so that each use takes its type from its own context) and returns
// the driver arguments in the same order. A parameter without a value is
// an *UnknownParamError. Numbers are normalized as in Bind.
func (s *Statement) Bind(values map[string]any) (string, []any, error) {
	var b strings.Builder
	var args []any
	last := 0
	for _, t := range s.Tokens {
		if t.Kind != Param {
			continue
		}
		name := s.SQL[t.Start+1 : t.End]
		v, ok := values[name]
		if !ok {
			return "", nil, unknownParam(name, values)
		}
		b.WriteString(s.SQL[last:t.Start])
		last = t.End
		args = append(args, normalize(v))
		if s.Dialect == MySQL {
			b.WriteByte('?')
		} else {
			b.WriteString("$" + strconv.Itoa(len(args)))
		}
	}
	b.WriteString(s.SQL[last:])
	return b.String(), args, nil
}

// CheckSelect refuses what is not one read-only SELECT (or WITH ... SELECT),
// with the same rules as Bind: no INTO, no FOR UPDATE/SHARE, no LOCK IN
// SHARE MODE.
func (s *Statement) CheckSelect() error {
	_, err := check(s.SQL, s.toks)
	return err
}
