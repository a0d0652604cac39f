package mysql

import (
	"fmt"
	"strings"

	"github.com/ferrydata/ferry/internal/sqlparams"
)

// checkDeferred refuses a record entry that is not one secondary index
// definition as SHOW CREATE TABLE spells it. The record is read back from
// staging's table comment, which anyone allowed to ALTER the company's
// schema can edit, and its definitions go into an ALTER TABLE run with
// Ferry's privileges: an entry is a key line (UNIQUE, plain, FULLTEXT or
// SPATIAL KEY), its quoted name (the entry's Name), one balanced list of
// key parts, then options with no unquoted comma, semicolon, parenthesis or
// comment, so that no other clause of ALTER TABLE can ride along.
func checkDeferred(d deferredIndex) error {
	m := keyLine.FindString(d.Def)
	if m == "" || m == "PRIMARY KEY " {
		return fmt.Errorf("index %q: %q is not a secondary key definition", d.Name, d.Def)
	}
	name, rest, err := readIdent(strings.TrimPrefix(d.Def, m))
	if err != nil || name != d.Name {
		return fmt.Errorf("index %q: %q does not name it", d.Name, d.Def)
	}
	end, err := listEnd(strings.TrimLeft(rest, " "))
	if err != nil {
		return fmt.Errorf("index %q: %q: %w", d.Name, d.Def, err)
	}
	if err := plainTail(strings.TrimLeft(rest, " ")[end:]); err != nil {
		return fmt.Errorf("index %q: %q: %w", d.Name, d.Def, err)
	}
	return nil
}

// listEnd returns the length of the parenthesised list s starts with
// (backquoted names and quoted strings may hold parentheses).
func listEnd(s string) (int, error) {
	if !strings.HasPrefix(s, "(") {
		return 0, fmt.Errorf("no list of key parts")
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '`', '\'', '"':
			j, err := sqlparams.QuotedEnd(s, i)
			if err != nil {
				return 0, err
			}
			i = j - 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("unterminated list of key parts")
}

// plainTail refuses an unquoted comma, semicolon, parenthesis or comment
// start in what follows the key parts (USING BTREE, COMMENT '...', ...).
func plainTail(s string) error {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`' || c == '\'' || c == '"':
			j, err := sqlparams.QuotedEnd(s, i)
			if err != nil {
				return err
			}
			i = j - 1
		case strings.IndexByte(",;()#", c) >= 0, strings.HasPrefix(s[i:], "--"), strings.HasPrefix(s[i:], "/*"):
			return fmt.Errorf("unexpected %q after the key parts", s[i:])
		}
	}
	return nil
}
