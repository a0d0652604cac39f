package jobs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

// refusedInBatch are top-level keywords a batched statement may not use:
// Ferry adds the batch limit itself, and a batch is one table's rows.
var refusedInBatch = map[string]string{
	"LIMIT": "LIMIT (Ferry adds the batch limit)", "ORDER": "ORDER BY", "RETURNING": "RETURNING",
	"USING": "USING (a join)", "JOIN": "a join", "FROM": "FROM (a join)", "OFFSET": "OFFSET",
}

// batchParts splits a single-table DELETE or UPDATE into its parts.
func batchParts(st *sqlparams.Statement) (*ferry.BatchParts, error) {
	toks := st.Tokens
	i := 0
	kw := func() string {
		if i < len(toks) {
			return st.Keyword(toks[i])
		}
		return ""
	}
	b := &ferry.BatchParts{}
	switch kw() {
	case "DELETE":
		i++
		i = skipModifiers(st, i, "LOW_PRIORITY", "QUICK", "IGNORE")
		if kw() != "FROM" {
			return nil, errors.New("DELETE must be followed by FROM and one table")
		}
		i++
	case "UPDATE":
		b.Update = true
		i++
		i = skipModifiers(st, i, "LOW_PRIORITY", "IGNORE")
	default:
		return nil, fmt.Errorf("it starts with %s", firstWord(st))
	}
	if kw() == "ONLY" {
		i++
	}
	start := i
	var err error
	if b.Name, i, err = qualifiedName(st, i); err != nil {
		return nil, err
	}
	if kw() == "AS" {
		i++
	}
	if i < len(toks) && (toks[i].Kind == sqlparams.Word || toks[i].Kind == sqlparams.Ident) && !isClause(kw()) {
		b.Alias = unquote(st, toks[i])
		i++
	}
	b.Table = strings.TrimSpace(st.SQL[toks[start].Start:end(st, i)])
	if b.Update {
		if kw() != "SET" {
			return nil, errors.New("UPDATE must name one table and then SET")
		}
		i++
		setStart := i
		for i < len(toks) && !(toks[i].Depth == 0 && isClause(kw())) {
			i++
		}
		b.Set = strings.TrimSpace(st.SQL[toks[setStart].Start:end(st, i)])
	}
	if kw() == "WHERE" {
		i++
		if i >= len(toks) {
			return nil, errors.New("WHERE has no condition")
		}
		b.Where = strings.TrimSpace(st.SQL[toks[i].Start:])
	}
	if i < len(toks) && kw() != "" && b.Where == "" {
		return nil, refusal(kw())
	}
	for _, t := range toks[i:] {
		if t.Depth == 0 {
			if _, bad := refusedInBatch[st.Keyword(t)]; bad && !(st.Keyword(t) == "FROM" && b.Where != "") {
				return nil, refusal(st.Keyword(t))
			}
			if t.Kind == sqlparams.Other && st.Text(t) == "," && b.Where == "" {
				return nil, errors.New("it names more than one table")
			}
		}
	}
	if b.Update {
		return b, checkConverges(st, b)
	}
	return b, nil
}

func refusal(kw string) error {
	if what, ok := refusedInBatch[kw]; ok {
		return fmt.Errorf("it uses %s", what)
	}
	return fmt.Errorf("%s is not expected here", kw)
}

func isClause(kw string) bool {
	switch kw {
	case "SET", "WHERE", "LIMIT", "ORDER", "RETURNING", "USING", "FROM", "JOIN", "INNER", "LEFT", "RIGHT", "CROSS", "NATURAL", "STRAIGHT_JOIN", "OFFSET":
		return true
	}
	return false
}

func skipModifiers(st *sqlparams.Statement, i int, mods ...string) int {
	for i < len(st.Tokens) && contains(mods, st.Keyword(st.Tokens[i])) {
		i++
	}
	return i
}

func firstWord(st *sqlparams.Statement) string {
	if k := st.Keywords(1); len(k) == 1 {
		return k[0]
	}
	return "something other than a keyword"
}

// end is the byte offset where token i starts (the text's end past the
// last token).
func end(st *sqlparams.Statement, i int) int {
	if i < len(st.Tokens) {
		return st.Tokens[i].Start
	}
	return len(st.SQL)
}

// qualifiedName reads name(.name)* from token i.
func qualifiedName(st *sqlparams.Statement, i int) ([]string, int, error) {
	var parts []string
	for {
		if i >= len(st.Tokens) || (st.Tokens[i].Kind != sqlparams.Word && st.Tokens[i].Kind != sqlparams.Ident) || isClause(st.Keyword(st.Tokens[i])) {
			return nil, i, errors.New("no table name where one is expected")
		}
		parts = append(parts, unquote(st, st.Tokens[i]))
		i++
		if i+1 < len(st.Tokens) && st.Text(st.Tokens[i]) == "." && st.Tokens[i].Start == st.Tokens[i-1].End {
			i++
			continue
		}
		return parts, i, nil
	}
}

// unquote returns an identifier's name: a quoted one without its quotes
// (doubled quotes undone), an unquoted one as written.
func unquote(st *sqlparams.Statement, t sqlparams.Token) string {
	s := st.Text(t)
	if t.Kind != sqlparams.Ident || len(s) < 2 {
		return s
	}
	q := s[:1]
	return strings.ReplaceAll(s[1:len(s)-1], q+q, q)
}

// checkConverges refuses an UPDATE whose WHERE names none of the columns it
// sets: its next batch would find the same rows again (forever on
// PostgreSQL; on MySQL, which counts changed rows, it would stop after one
// batch and leave the rest).
func checkConverges(st *sqlparams.Statement, b *ferry.BatchParts) error {
	if b.Where == "" {
		return errors.New("an UPDATE without WHERE would find the same rows in every batch")
	}
	set, err := sqlparams.ParseStatement(st.Dialect, b.Set)
	if err != nil {
		return err
	}
	var cols []string
	segStart := true
	for i, t := range set.Tokens {
		if t.Depth == 0 && t.Kind == sqlparams.Other && set.Text(t) == "," {
			segStart = true
			continue
		}
		if segStart && (t.Kind == sqlparams.Word || t.Kind == sqlparams.Ident) {
			// The column is the last name before '=' (a.b = ... sets b).
			j := i
			for j+2 < len(set.Tokens) && set.Text(set.Tokens[j+1]) == "." {
				j += 2
			}
			cols = append(cols, strings.ToLower(unquote(set, set.Tokens[j])))
			segStart = false
		}
	}
	where, err := sqlparams.ParseStatement(st.Dialect, b.Where)
	if err != nil {
		return err
	}
	for _, t := range where.Tokens {
		if (t.Kind == sqlparams.Word || t.Kind == sqlparams.Ident) && contains(cols, strings.ToLower(unquote(where, t))) {
			return nil
		}
	}
	return fmt.Errorf("the WHERE names none of the columns it sets (%s), so every batch would find the same rows again; add a condition that the update makes false, e.g. WHERE archived = 0 for SET archived = 1", strings.Join(cols, ", "))
}
