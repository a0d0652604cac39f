package intrinsics

import (
	"strconv"
	"strings"
)

// maxNesting bounds how deeply calls may nest. AWS documents "up to 10 nested
// intrinsic functions within a field"; this guard is looser so that no
// workflow AWS accepts is refused, and only protects the parser's stack.
const maxNesting = 64

type nodeKind int

const (
	nString nodeKind = iota
	nNumber
	nBool
	nNull
	nPath
	nCall
)

// node is one argument (or the top-level call) of an intrinsic expression.
type node struct {
	kind nodeKind
	pos  int    // byte offset in the expression, for messages
	text string // string value, number literal, path or function name
	// parts is, for a string literal, its value split at every unescaped
	// "{}" (States.Format placeholders); escaped \{ \} never split.
	parts []string
	b     bool
	fn    *function
	args  []*node
}

type parser struct {
	src   string
	pos   int
	depth int
}

// parse turns expr into a call node, checking syntax, function names and
// argument counts.
func parse(expr string) (*node, error) {
	p := &parser{src: expr}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, failf("empty intrinsic function expression")
	}
	if !isIdentChar(p.src[p.pos]) {
		return nil, p.errf("an intrinsic function must start with a function name such as States.Format, found %q", p.src[p.pos:p.pos+1])
	}
	n, err := p.parseCall()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.errf("unexpected %q after the end of %s(...)", clip(p.src[p.pos:]), n.text)
	}
	return n, nil
}

func (p *parser) errf(format string, args ...any) *Error {
	e := failf(format, args...)
	e.Cause += " (at offset " + strconv.Itoa(p.pos) + " of " + quoteClip(p.src) + ")"
	return e
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func (p *parser) parseCall() (*node, error) {
	start := p.pos
	for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
		p.pos++
	}
	name := p.src[start:p.pos]
	fn, ok := functions[name]
	if !ok {
		p.pos = start
		if strings.HasPrefix(name, "States.") {
			return nil, p.errf("unknown intrinsic function %s", name)
		}
		return nil, p.errf("%q is not an intrinsic function (names begin with \"States.\")", name)
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.errf("%s must be followed immediately by \"(\"", name)
	}
	p.pos++
	p.depth++
	if p.depth > maxNesting {
		return nil, p.errf("intrinsic functions are nested more than %d deep", maxNesting)
	}
	n := &node{kind: nCall, pos: start, text: name, fn: fn}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			arg, err := p.parseArg(name, len(n.args)+1)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, arg)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errf("%s: missing \")\" at the end of the argument list", name)
			}
			c := p.src[p.pos]
			p.pos++
			if c == ')' {
				break
			}
			if c != ',' {
				p.pos--
				return nil, p.errf("%s: expected \",\" or \")\" after argument %d, found %q", name, len(n.args), p.src[p.pos:p.pos+1])
			}
		}
	}
	p.depth--
	if err := fn.checkArity(len(n.args)); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) parseArg(fn string, idx int) (*node, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errf("%s: argument %d is missing and so is the closing \")\"", fn, idx)
	}
	c := p.src[p.pos]
	switch {
	case c == '\'':
		return p.parseString()
	case c == '$':
		return p.parsePath()
	case c == '-' || isDigit(c):
		return p.parseNumber()
	case isIdentChar(c):
		start := p.pos
		for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
			p.pos++
		}
		word := p.src[start:p.pos]
		if p.pos < len(p.src) && p.src[p.pos] == '(' {
			p.pos = start
			return p.parseCall()
		}
		switch word {
		case "true", "false":
			return &node{kind: nBool, pos: start, b: word == "true"}, nil
		case "null":
			return &node{kind: nNull, pos: start}, nil
		}
		p.pos = start
		return nil, p.errf("%s: argument %d: unexpected word %q (string literals take single quotes, Paths begin with \"$\")", fn, idx, word)
	case c == ',' || c == ')':
		return nil, p.errf("%s: argument %d is empty", fn, idx)
	default:
		return nil, p.errf("%s: argument %d: unexpected character %q", fn, idx, string(rune(c)))
	}
}

// parseString reads a single-quoted literal. The only escapes are \' \{ \}
// and \\ (States Language "reserved characters"); any other backslash is an
// error, as the specification requires for an open escape.
func (p *parser) parseString() (*node, error) {
	start := p.pos
	p.pos++ // opening quote
	var cur strings.Builder
	var parts []string
	for {
		if p.pos >= len(p.src) {
			p.pos = start
			return nil, p.errf("unterminated string literal")
		}
		c := p.src[p.pos]
		switch c {
		case '\'':
			p.pos++
			parts = append(parts, cur.String())
			return &node{kind: nString, pos: start, text: strings.Join(parts, "{}"), parts: parts}, nil
		case '\\':
			if p.pos+1 >= len(p.src) {
				return nil, p.errf("open escape: a backslash ends the expression")
			}
			e := p.src[p.pos+1]
			switch e {
			case '\'', '{', '}', '\\':
				cur.WriteByte(e)
				p.pos += 2
			default:
				return nil, p.errf("invalid escape sequence \\%s in string literal (only \\' \\{ \\} and \\\\ are allowed)", string(rune(e)))
			}
		case '{':
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == '}' {
				parts = append(parts, cur.String())
				cur.Reset()
				p.pos += 2
				continue
			}
			cur.WriteByte(c)
			p.pos++
		default:
			cur.WriteByte(c)
			p.pos++
		}
	}
}

// parsePath reads a Path up to the next top-level ",", ")" or white space.
// Brackets, parentheses (filter expressions) and quoted names inside
// brackets may contain those characters: $.a['b, c'] is one Path.
func (p *parser) parsePath() (*node, error) {
	start := p.pos
	depth := 0
	var quote byte
loop:
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if quote != 0 {
			switch c {
			case '\\':
				p.pos++
			case quote:
				quote = 0
			}
			p.pos++
			continue
		}
		switch c {
		case '\\':
			p.pos++ // the escaped character is part of the Path
		case '[', '(':
			depth++
		case ']', ')':
			if depth == 0 {
				if c == ')' {
					break loop
				}
				return nil, p.errf("unbalanced \"]\" in Path %s", quoteClip(p.src[start:p.pos+1]))
			}
			depth--
		case '\'', '"':
			if depth > 0 {
				quote = c
			}
		case ',':
			if depth == 0 {
				break loop
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				break loop
			}
		}
		p.pos++
	}
	if p.pos > len(p.src) {
		p.pos = len(p.src)
	}
	if quote != 0 || depth != 0 {
		p.pos = start
		return nil, p.errf("unterminated bracket or quote in Path %s", quoteClip(p.src[start:]))
	}
	return &node{kind: nPath, pos: start, text: p.src[start:p.pos]}, nil
}

// parseNumber reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) parseNumber() (*node, error) {
	start := p.pos
	s := p.src
	i := p.pos
	bad := func() (*node, error) {
		end := i
		for end < len(s) && !isSpace(s[end]) && s[end] != ',' && s[end] != ')' {
			end++
		}
		p.pos = start
		return nil, p.errf("invalid number %q", s[start:end])
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return bad()
	}
	if s[i] == '0' {
		i++
	} else {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return bad()
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return bad()
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && !isSpace(s[i]) && s[i] != ',' && s[i] != ')' {
		return bad()
	}
	p.pos = i
	return &node{kind: nNumber, pos: start, text: s[start:i]}, nil
}

func isIdentChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

func quoteClip(s string) string {
	const max = 120
	if len(s) > max {
		return "\"" + s[:max] + "…\""
	}
	return "\"" + s + "\""
}
