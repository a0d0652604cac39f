package local

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Template is what a local run needs from template.yaml: each state
// machine's DefinitionSubstitutions (raw YAML values such as
// "!GetAtt ListTablesFunction.Arn" or "!Ref ChunkBucket") and the
// Parameters' defaults.
type Template struct {
	// Substitutions are FerryStateMachine's (the copy workflow's).
	Substitutions map[string]string
	// Machines are every state machine's substitutions, by logical id.
	Machines map[string]map[string]string
	Defaults map[string]string
}

// The state machines' logical ids in template.yaml.
const (
	FerryMachine = "FerryStateMachine"
	JobsMachine  = "JobsStateMachine"
)

// Machine returns the template with id's substitutions as Substitutions;
// an id the template lacks is an error.
func (t *Template) Machine(id string) (*Template, error) {
	subs, ok := t.Machines[id]
	if !ok {
		return nil, fmt.Errorf("local: the template has no state machine %s", id)
	}
	c := *t
	c.Substitutions = subs
	return &c, nil
}

// ParseTemplate reads the two parts of a SAM template that a local run
// uses. It understands the block YAML the project's template.yaml is
// written in (no flow mappings for these two parts); a template without
// DefinitionSubstitutions is an error.
func ParseTemplate(b []byte) (*Template, error) {
	t := &Template{Machines: map[string]map[string]string{}, Defaults: map[string]string{}}
	type line struct {
		indent int
		text   string
		n      int
	}
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimLeft(raw, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		lines = append(lines, line{indent: len(raw) - len(trimmed), text: trimmed, n: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("local: read template: %w", err)
	}
	resource := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l.indent == 2 && strings.HasSuffix(l.text, ":") {
			resource = strings.TrimSuffix(l.text, ":")
		}
		switch {
		case l.indent == 0 && l.text == "Parameters:":
			// Children at the first deeper indent are parameter names; a
			// "Default:" one level below them is the default.
			var pindent = -1
			var cur string
			for j := i + 1; j < len(lines) && lines[j].indent > 0; j++ {
				c := lines[j]
				if pindent < 0 {
					pindent = c.indent
				}
				if c.indent == pindent {
					cur = strings.TrimSuffix(c.text, ":")
					continue
				}
				if k, v, ok := keyValue(c.text); ok && k == "Default" && cur != "" && c.indent > pindent {
					if _, dup := t.Defaults[cur]; !dup {
						t.Defaults[cur] = v
					}
				}
			}
		case l.text == "DefinitionSubstitutions:":
			if _, dup := t.Machines[resource]; dup {
				return nil, fmt.Errorf("local: template line %d: a second DefinitionSubstitutions in %s", l.n, resource)
			}
			subs := map[string]string{}
			for j := i + 1; j < len(lines) && lines[j].indent > l.indent; j++ {
				k, v, ok := keyValue(lines[j].text)
				if !ok || v == "" {
					return nil, fmt.Errorf("local: template line %d: DefinitionSubstitutions entry %q is not \"Key: value\"", lines[j].n, lines[j].text)
				}
				subs[k] = v
			}
			t.Machines[resource] = subs
		}
	}
	if len(t.Machines) == 0 {
		return nil, fmt.Errorf("local: the template has no DefinitionSubstitutions (is it Ferry's template.yaml?)")
	}
	t.Substitutions = t.Machines[FerryMachine]
	if t.Substitutions == nil && len(t.Machines) == 1 {
		for _, subs := range t.Machines {
			t.Substitutions = subs
		}
	}
	return t, nil
}

// keyValue splits "Key: value", unquoting the value and dropping a
// trailing comment.
func keyValue(s string) (string, string, bool) {
	i := strings.Index(s, ":")
	if i <= 0 {
		return "", "", false
	}
	k := strings.TrimSpace(s[:i])
	v := strings.TrimSpace(s[i+1:])
	if j := strings.Index(v, " #"); j >= 0 && !strings.HasPrefix(v, `"`) && !strings.HasPrefix(v, "'") {
		v = strings.TrimSpace(v[:j])
	}
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	return k, v, true
}

// FunctionARN is the fake ARN a local run gives a template function
// (logical id, e.g. ListTablesFunction): the ASL's lambda:invoke
// FunctionName resolves to the in-process handler registered under it.
func FunctionARN(logicalID string) string {
	return "arn:aws:lambda:us-east-1:123456789012:function:ferry-" + logicalID
}

// Resolved is the outcome of resolving DefinitionSubstitutions.
type Resolved struct {
	// Values are the substitution values by placeholder.
	Values map[string]string
	// Functions maps each function ARN used to the template's logical id.
	Functions map[string]string
}

// Resolve turns the raw substitutions into values: "!GetAtt X.Arn" becomes
// FunctionARN(X); "!Ref P" becomes params[P], else the parameter's default,
// else (a resource such as the bucket) resources[P]; a plain scalar stays.
// Anything unresolvable is an error naming the key.
func (t *Template) Resolve(params, resources map[string]string) (*Resolved, error) {
	r := &Resolved{Values: map[string]string{}, Functions: map[string]string{}}
	keys := make([]string, 0, len(t.Substitutions))
	for k := range t.Substitutions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := t.Substitutions[k]
		switch {
		case strings.HasPrefix(raw, "!GetAtt "):
			ref := strings.TrimSpace(strings.TrimPrefix(raw, "!GetAtt "))
			id, attr, ok := strings.Cut(ref, ".")
			if !ok || attr != "Arn" {
				return nil, fmt.Errorf("local: DefinitionSubstitutions %s: %q: only !GetAtt <Function>.Arn is supported", k, raw)
			}
			arn := FunctionARN(id)
			r.Values[k] = arn
			r.Functions[arn] = id
		case strings.HasPrefix(raw, "!Ref "):
			name := strings.TrimSpace(strings.TrimPrefix(raw, "!Ref "))
			if v, ok := params[name]; ok {
				r.Values[k] = v
			} else if v, ok := t.Defaults[name]; ok {
				r.Values[k] = v
			} else if v, ok := resources[name]; ok {
				r.Values[k] = v
			} else {
				return nil, fmt.Errorf("local: DefinitionSubstitutions %s: !Ref %s has no value (not a parameter with a default, nor a resource the local run provides)", k, name)
			}
		case strings.HasPrefix(raw, "!"):
			return nil, fmt.Errorf("local: DefinitionSubstitutions %s: %q: intrinsic not supported locally", k, raw)
		default:
			r.Values[k] = raw
		}
	}
	return r, nil
}
