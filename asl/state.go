package asl

import (
	"context"
	"fmt"
)

// StateType is the Type of a state.
type StateType string

// The state types of the States Language.
const (
	TypeTask     StateType = "Task"
	TypePass     StateType = "Pass"
	TypeChoice   StateType = "Choice"
	TypeWait     StateType = "Wait"
	TypeSucceed  StateType = "Succeed"
	TypeFail     StateType = "Fail"
	TypeParallel StateType = "Parallel"
	TypeMap      StateType = "Map"
)

// State is one state of a definition: the fields every type has, and its
// type's own fields, parsing, validation and execution (one file per type:
// task.go, pass.go, choice.go, wait.go, succeed.go, fail.go, parallel.go,
// map.go).
type State struct {
	Name          string
	Type          StateType
	Comment       string
	QueryLanguage string // effective: the state's own, else inherited (JSONPath by default)
	Next          string // "" for a terminal state
	End           bool

	kind kind
}

// kind is the part of a state that depends on its Type.
type kind interface {
	// fields lists the fields valid for the type, besides Type, Comment
	// and QueryLanguage.
	fields() []string
	// parse reads and validates the type's own fields from the state's
	// JSON object o; problems go to p, located under w.
	parse(p *parser, st *State, o map[string]any, w string)
	// run executes one entry into the state on its raw input.
	run(ctx context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error)
}

// outcome is what a state's run yields: its output, the next state ("" when
// the scope ends) and the variables it assigns.
type outcome struct {
	out    any
	next   string
	assign map[string]any
}

// kinds makes the kind of each state type.
var kinds = map[StateType]func() kind{
	TypeTask:     func() kind { return &taskState{} },
	TypePass:     func() kind { return &passState{} },
	TypeChoice:   func() kind { return &choiceState{} },
	TypeWait:     func() kind { return &waitState{} },
	TypeSucceed:  func() kind { return &succeedState{} },
	TypeFail:     func() kind { return &failState{} },
	TypeParallel: func() kind { return &parallelState{} },
	TypeMap:      func() kind { return &mapState{} },
}

// targeter is implemented by kinds that transition elsewhere than Next
// (Choice rules and Default, Catch).
type targeter interface {
	targets(w string) []target
}

// target is one transition of a state, located for validation messages.
type target struct {
	where, field, name string
}

// targets lists every transition of st.
func (st *State) targets(w string) []target {
	ts := []target{{w, "Next", st.Next}}
	if tg, ok := st.kind.(targeter); ok {
		ts = append(ts, tg.targets(w)...)
	}
	return ts
}

// terminal reports whether the type ends a scope by itself (no Next/End).
func (st *State) terminal() bool {
	for _, f := range st.kind.fields() {
		if f == "Next" {
			return false
		}
	}
	return true
}

// state parses one state object.
func (p *parser) state(name string, o map[string]any, w string) *State {
	t, _ := o["Type"].(string)
	newKind, known := kinds[StateType(t)]
	if !known {
		if _, ok := o["Type"]; !ok {
			p.add(w, "Type is required")
		} else {
			p.add(w+".Type", "unknown state type %s: expected one of Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map", mustJSON(o["Type"]))
		}
		return nil
	}
	st := &State{Name: name, Type: StateType(t), kind: newKind()}
	st.QueryLanguage = p.stateQueryLanguage(o, w)
	p.stateFields(st, o, w)
	st.Comment = p.str(o, "Comment", w)
	p.flow(st, o, w)
	inherited := p.ql
	p.ql = st.QueryLanguage // nested branches and item processors inherit it
	st.kind.parse(p, st, o, w)
	p.ql = inherited
	return st
}

// stateQueryLanguage is a state's QueryLanguage, else the inherited one.
// A JSONata state machine cannot have JSONPath states.
func (p *parser) stateQueryLanguage(o map[string]any, w string) string {
	v, has := o["QueryLanguage"]
	if !has {
		return p.ql
	}
	p.queryLanguage(v, w+".")
	ql, _ := v.(string)
	if ql != QueryJSONata && ql != QueryJSONPath {
		return p.ql
	}
	if ql == QueryJSONPath && p.topQL == QueryJSONata {
		p.add(w+".QueryLanguage", "SCHEMA_VALIDATION_FAILED: a state cannot use QueryLanguage JSONPath when the state machine's QueryLanguage is JSONata")
	}
	return ql
}

// stateFields reports the fields not valid for the state's type.
func (p *parser) stateFields(st *State, o map[string]any, w string) {
	ok := map[string]bool{"Type": true, "Comment": true, "QueryLanguage": true}
	for _, f := range st.kind.fields() {
		ok[f] = true
	}
	jsonata := st.QueryLanguage == QueryJSONata
	for _, k := range sortedKeys(o) {
		switch {
		case !ok[k]:
			p.add(w, "field %q is not valid for a %s state", k, st.Type)
		case !jsonata && jsonataOnly[k]:
			p.add(w, "field %q is only valid with QueryLanguage JSONata", k)
		case jsonata && jsonpathOnly[k]:
			p.add(w, "field %q is not valid with QueryLanguage JSONata (JSONata states use Arguments, Output and {%% expressions %%})", k)
		}
	}
}

// flow reads Next and End.
func (p *parser) flow(st *State, o map[string]any, w string) {
	st.Next = p.str(o, "Next", w)
	if e, has := o["End"]; has {
		b, isBool := e.(bool)
		if !isBool {
			p.add(w+".End", "must be a boolean")
		}
		st.End = b
	}
	if st.terminal() {
		return
	}
	_, hasNext := o["Next"]
	switch {
	case hasNext && st.End:
		p.add(w, "a state cannot have both Next and End: true")
	case !hasNext && !st.End:
		p.add(w, "a %s state must have Next or End: true", st.Type)
	}
}

// runState runs one state: it returns the state output (and its JSON) and
// the next state name ("" when the scope ends), or the error the state
// failed with. inStr is raw's JSON when the previous state encoded it
// already ("" otherwise).
func (t *thread) runState(ctx context.Context, st *State, raw any, inStr string) (any, string, string, error) {
	sr := &stateRun{st: st, entered: t.r.clock.Now(), raw: raw}
	if st.QueryLanguage == QueryJSONata {
		sr.jin = &jsonataCache{}
	}
	if inStr == "" {
		var err error
		if inStr, err = encodeChecked(raw, func() string {
			return fmt.Sprintf("The input to state '%s' has a size exceeding the maximum number of bytes service limit.", st.Name)
		}); err != nil {
			return nil, "", "", err
		}
	}
	t.event(string(st.Type)+"StateEntered", func(e *Event) {
		e.StateEnteredEventDetails = &StateEnteredDetails{Name: st.Name, Input: inStr}
	})
	sr.enteredID = t.prev
	res, err := st.kind.run(ctx, t, st, raw, sr)
	if err != nil {
		return nil, "", "", stateError(err, sr)
	}
	outStr, err := encodeChecked(res.out, resultTooBig(st.Name))
	if err != nil {
		return nil, "", "", err
	}
	for k, v := range res.assign {
		t.vars.set(k, v)
	}
	t.event(string(st.Type)+"StateExited", func(e *Event) {
		e.StateExitedEventDetails = &StateExitedDetails{Name: st.Name, Output: outStr}
	})
	return res.out, outStr, res.next, nil
}
