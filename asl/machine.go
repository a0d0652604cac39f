package asl

import (
	"fmt"
	"sort"
	"strings"
)

// StateMachine is a parsed, validated definition (or one of its nested
// branches and item processors). It is immutable and safe to execute
// concurrently; all per-execution state lives in the Execution.
type StateMachine struct {
	Comment        string
	StartAt        string
	TimeoutSeconds int // 0: no execution timeout
	States         map[string]*State
	QueryLanguage  string
}

// Problem is one validation problem: Where locates it in the definition.
type Problem struct {
	Where   string `json:"where"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.Message
	}
	return p.Where + ": " + p.Message
}

// ValidationError lists every problem found in a definition.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "asl: invalid state machine definition (%d problem(s))", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// jsonataOnly fields are refused in JSONPath states.
var jsonataOnly = map[string]bool{"Arguments": true, "Output": true, "Items": true}

// ParseOptions choose the checks that depend on how the state machine is
// created.
type ParseOptions struct {
	// Type is the state machine type, "STANDARD" (the default) or
	// "EXPRESS". EXPRESS refuses what AWS does not run in Express
	// workflows: .sync and .waitForTaskToken integrations, activities and
	// Distributed Map states.
	Type string
}

// Parse parses and validates a definition for a STANDARD state machine.
// On any problem it returns a *ValidationError listing all of them.
func Parse(def []byte) (*StateMachine, error) {
	return ParseWith(def, ParseOptions{})
}

// ParseWith is Parse with options.
func ParseWith(def []byte, opts ParseOptions) (*StateMachine, error) {
	p := &parser{names: map[string]string{}, labels: map[string]string{}, express: opts.Type == "EXPRESS", ql: QueryJSONPath}
	switch opts.Type {
	case "", "STANDARD", "EXPRESS":
	default:
		return nil, fmt.Errorf("asl: state machine type %q: want STANDARD or EXPRESS", opts.Type)
	}
	raw, err := decodeJSON(def)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{Message: "definition is not valid JSON: " + err.Error()}}}
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, &ValidationError{Problems: []Problem{{Message: "definition must be a JSON object"}}}
	}
	sm := p.machine(obj, "", true)
	if len(p.problems) > 0 {
		sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Where < p.problems[j].Where })
		return nil, &ValidationError{Problems: p.problems}
	}
	return sm, nil
}

// machine parses a state machine, a Parallel branch or a Map's item
// processor (top is true for the definition itself).
func (p *parser) machine(obj map[string]any, where string, top bool) *StateMachine {
	sm := &StateMachine{States: map[string]*State{}}
	p.machineFields(sm, obj, where, top)
	inherited := p.ql
	defer func() { p.ql = inherited }()
	if sm.QueryLanguage == QueryJSONata || sm.QueryLanguage == QueryJSONPath {
		p.ql = sm.QueryLanguage
	}
	if top {
		p.topQL = p.ql
	}
	states, ok := obj["States"].(map[string]any)
	if !ok {
		p.add(where, "States is required and must be an object")
		return sm
	}
	if len(states) == 0 {
		p.add(where+"States", "at least one state is required")
	}
	for _, name := range sortedKeys(states) {
		w := where + "States." + name
		if prev, dup := p.names[name]; dup {
			p.add(w, "DUPLICATE_STATE_NAME: Duplicate State name: %s (already used at %s; state names must be unique in the whole state machine)", name, prev)
		}
		p.names[name] = w
		if len(name) > 80 {
			p.add(w, "state name is longer than 80 characters")
		}
		so, ok := states[name].(map[string]any)
		if !ok {
			p.add(w, "a state must be a JSON object")
			continue
		}
		if st := p.state(name, so, w); st != nil {
			sm.States[name] = st
		}
	}
	if sm.StartAt != "" && len(states) > 0 {
		if _, ok := states[sm.StartAt]; !ok {
			p.add(where+"StartAt", "StartAt %q is not a state in this scope", sm.StartAt)
		}
	}
	p.checkTransitions(sm, where)
	return sm
}

// machineFields reads the fields of a scope besides States.
func (p *parser) machineFields(sm *StateMachine, obj map[string]any, where string, top bool) {
	allowed := map[string]bool{"StartAt": true, "States": true, "Comment": true, "QueryLanguage": true}
	if top {
		allowed["Version"], allowed["TimeoutSeconds"] = true, true
	} else {
		allowed["ProcessorConfig"] = true
	}
	for _, k := range sortedKeys(obj) {
		if !allowed[k] {
			p.add(where, "field %q is not valid here", k)
		}
	}
	sm.Comment = p.str(obj, "Comment", where)
	sm.StartAt = p.str(obj, "StartAt", where)
	if _, ok := obj["StartAt"]; !ok {
		p.add(where, "StartAt is required")
	}
	if ql, ok := obj["QueryLanguage"]; ok {
		sm.QueryLanguage, _ = ql.(string)
		p.queryLanguage(ql, where)
	}
	if !top {
		return
	}
	if _, ok := obj["TimeoutSeconds"]; ok {
		sm.TimeoutSeconds = p.posInt(obj, "TimeoutSeconds", where)
	}
	if v, ok := obj["Version"]; ok {
		if s, _ := v.(string); s != "1.0" {
			p.add(where+"Version", "only version \"1.0\" is supported")
		}
	}
}

func (p *parser) queryLanguage(v any, where string) {
	switch v {
	case "JSONPath":
	case "JSONata":
	default:
		p.add(where+"QueryLanguage", "QueryLanguage must be \"JSONPath\" or \"JSONata\", got %s", mustJSON(v))
	}
}

// checkTransitions verifies Next/Default/catcher targets and reachability
// within one scope (a state machine, branch or item processor).
func (p *parser) checkTransitions(sm *StateMachine, where string) {
	names := make([]string, 0, len(sm.States))
	for n := range sm.States {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, tg := range sm.States[n].targets(where + "States." + n) {
			if _, ok := sm.States[tg.name]; tg.name != "" && !ok {
				p.add(tg.where+"."+tg.field, "MISSING_TRANSITION_TARGET: Missing '%s' target: %s (no state of that name in this scope)", tg.field, tg.name)
			}
		}
	}
	if _, ok := sm.States[sm.StartAt]; !ok {
		return
	}
	seen := reachable(sm)
	for _, n := range names {
		if !seen[n] {
			p.add(where+"States."+n, "UNREACHABLE_STATE: State '%s' is not reachable from StartAt '%s'", n, sm.StartAt)
		}
	}
}

// reachable returns the states reachable from StartAt.
func reachable(sm *StateMachine) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sm.StartAt}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		st, ok := sm.States[n]
		if !ok || seen[n] {
			continue
		}
		seen[n] = true
		for _, tg := range st.targets("") {
			if tg.name != "" && !seen[tg.name] {
				stack = append(stack, tg.name)
			}
		}
	}
	return seen
}
