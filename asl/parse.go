package asl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ferrydata/ferry/asl/intrinsics"
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

// State is one state of a definition. Only the fields valid for its Type
// are set.
type State struct {
	Name, Type, Comment string
	Next                string
	End                 bool

	InputPath, OutputPath, ResultPath optPath
	Parameters, ResultSelector        any
	HasParameters, HasResultSelector  bool
	Result                            any
	HasResult                         bool
	Assign                            map[string]any

	// Task
	Resource                                 string
	TimeoutSeconds, HeartbeatSeconds         int
	TimeoutSecondsPath, HeartbeatSecondsPath string
	Retry                                    []*Retrier
	Catch                                    []*Catcher

	// Choice
	Choices []*ChoiceRule
	Default string

	// Wait
	Seconds                               *float64
	Timestamp, SecondsPath, TimestampPath string

	// Fail
	Error, Cause, ErrorPath, CausePath string

	// Parallel
	Branches []*StateMachine

	// Map
	Processor                      *StateMachine
	Distributed                    bool
	ItemsPath                      optPath
	ItemSelector                   any
	HasItemSelector                bool
	ItemReader                     *ItemReaderConfig
	ItemBatcher                    *ItemBatcherConfig
	ResultWriter                   *ResultWriterConfig
	MaxConcurrency                 int
	MaxConcurrencyPath             string
	ToleratedFailurePercentage     *float64
	ToleratedFailurePercentagePath string
	ToleratedFailureCount          *int
	ToleratedFailureCountPath      string
	Label                          string
}

// optPath is an optional path field: absent (default "$"), null, or a path.
type optPath struct {
	Set, Null bool
	Path      string
}

// Retrier is one element of a Retry field.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64 // 0: no cap
	JitterStrategy  string  // "FULL" or "NONE"
}

// Catcher is one element of a Catch field.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  optPath
	Assign      map[string]any
}

// ChoiceRule is a Choice rule or a nested boolean expression.
type ChoiceRule struct {
	Variable string
	Operator string // e.g. "StringEquals", "And", "Not", "IsPresent"
	Value    any    // comparison value; a path string for *Path operators
	And, Or  []*ChoiceRule
	Not      *ChoiceRule
	Next     string
	Assign   map[string]any
}

// ItemReaderConfig is a Distributed Map's ItemReader.
type ItemReaderConfig struct {
	Resource          string
	Parameters        any
	InputType         string // JSON, JSONL, CSV
	CSVHeaderLocation string // FIRST_ROW or GIVEN
	CSVHeaders        []string
	CSVDelimiter      string
	MaxItems          int
	MaxItemsPath      string
}

// ItemBatcherConfig is a Map's ItemBatcher.
type ItemBatcherConfig struct {
	MaxItemsPerBatch          int
	MaxItemsPerBatchPath      string
	MaxInputBytesPerBatch     int
	MaxInputBytesPerBatchPath string
	BatchInput                any
}

// ResultWriterConfig is a Distributed Map's ResultWriter.
type ResultWriterConfig struct {
	Resource       string
	Parameters     any
	OutputType     string // JSON (default) or JSONL
	Transformation string // NONE, COMPACT, FLATTEN
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

// fields valid per state type (besides Type, Comment, QueryLanguage).
var stateFields = map[string][]string{
	"Task":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials", "Arguments", "Output"},
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result", "Assign", "Output"},
	"Choice":   {"InputPath", "OutputPath", "Choices", "Default", "Assign", "Output"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign", "Output"},
	"Succeed":  {"InputPath", "OutputPath", "Output"},
	"Fail":     {"Error", "Cause", "ErrorPath", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign", "Branches", "Arguments", "Output"},
	"Map": {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign",
		"Iterator", "ItemProcessor", "ItemsPath", "ItemSelector", "ItemReader", "ItemBatcher", "ResultWriter", "MaxConcurrency", "MaxConcurrencyPath",
		"ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath", "Label", "Items", "Output"},
}

// jsonataOnly fields are refused in JSONPath states.
var jsonataOnly = map[string]bool{"Arguments": true, "Output": true, "Items": true}

// Parse parses and validates a definition. On any problem it returns a
// *ValidationError listing all of them.
func Parse(def []byte) (*StateMachine, error) {
	p := &parser{names: map[string]string{}}
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

type parser struct {
	problems []Problem
	names    map[string]string // state name -> where first defined
}

func (p *parser) add(where, format string, args ...any) {
	p.problems = append(p.problems, Problem{Where: where, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) machine(obj map[string]any, where string, top bool) *StateMachine {
	sm := &StateMachine{States: map[string]*State{}}
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
	if top {
		if _, ok := obj["TimeoutSeconds"]; ok {
			sm.TimeoutSeconds = p.posInt(obj, "TimeoutSeconds", where)
		}
		if v, ok := obj["Version"]; ok {
			if s, _ := v.(string); s != "1.0" {
				p.add(where+"Version", "only version \"1.0\" is supported")
			}
		}
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
			p.add(w, "state name %q is already used at %s: state names must be unique in the whole state machine", name, prev)
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

func (p *parser) queryLanguage(v any, where string) {
	switch v {
	case "JSONPath":
	case "JSONata":
		p.add(where+"QueryLanguage", "QueryLanguage \"JSONata\" is not supported yet by this engine: use JSONPath")
	default:
		p.add(where+"QueryLanguage", "QueryLanguage must be \"JSONPath\" or \"JSONata\", got %s", mustJSON(v))
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (p *parser) str(obj map[string]any, k, where string) string {
	v, ok := obj[k]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add(where+"."+k, "must be a string")
	}
	return s
}

func (p *parser) num(obj map[string]any, k, where string) (float64, bool) {
	v, ok := obj[k]
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	p.add(where+"."+k, "must be a number")
	return 0, false
}

func (p *parser) intField(obj map[string]any, k, where string) (int, bool) {
	v, ok := obj[k]
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	p.add(where+"."+k, "must be an integer")
	return 0, false
}

func (p *parser) posInt(obj map[string]any, k, where string) int {
	n, ok := p.intField(obj, k, where)
	if ok && n <= 0 {
		p.add(where+"."+k, "must be a positive integer")
	}
	return n
}

func (p *parser) pathField(obj map[string]any, k, where string, ref bool) optPath {
	v, ok := obj[k]
	if !ok {
		return optPath{}
	}
	if v == nil {
		return optPath{Set: true, Null: true}
	}
	s, ok := v.(string)
	if !ok {
		p.add(where+"."+k, "must be a string path or null")
		return optPath{}
	}
	p.checkPath(s, where+"."+k, ref)
	return optPath{Set: true, Path: s}
}

func (p *parser) strPath(obj map[string]any, k, where string) string {
	s := p.str(obj, k, where)
	if s != "" {
		p.checkPath(s, where+"."+k, false)
	}
	return s
}

// dynPath reads a field that takes a path or an intrinsic function.
func (p *parser) dynPath(obj map[string]any, k, where string) string {
	s := p.str(obj, k, where)
	if s != "" && !intrinsics.IsIntrinsic(s) {
		p.checkPath(s, where+"."+k, false)
	}
	return s
}

func (p *parser) checkPath(s, where string, ref bool) {
	var err error
	if ref {
		var cp *compiledPath
		cp, err = compileRefPath(s)
		if err == nil && cp.kind != '$' {
			err = fmt.Errorf("%q must refer to the state's input ($...), not the context object or a variable", s)
		}
	} else {
		_, err = compilePath(s)
	}
	if err != nil {
		p.add(where, "invalid path: %v", err)
	}
}

// template validates a payload template's ".$" entries.
func (p *parser) template(v any, where string) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			w := where + "." + k
			if strings.HasSuffix(k, ".$") {
				s, ok := x[k].(string)
				if !ok {
					p.add(w, "a field ending in \".$\" must have a string value (a path or an intrinsic function)")
					continue
				}
				if intrinsics.IsIntrinsic(s) {
					continue
				}
				p.checkPath(s, w, false)
				continue
			}
			p.template(x[k], w)
		}
	case []any:
		for i, e := range x {
			p.template(e, fmt.Sprintf("%s[%d]", where, i))
		}
	}
}

func (p *parser) assign(obj map[string]any, where string) map[string]any {
	v, ok := obj["Assign"]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(where+".Assign", "must be an object")
		return nil
	}
	for k := range m {
		name := strings.TrimSuffix(k, ".$")
		cp, err := parsePath("$" + name)
		if err != nil || cp.kind != 'v' || len(cp.expr) != 1 {
			p.add(where+".Assign."+k, "invalid variable name %q", name)
		}
		if name == "states" {
			p.add(where+".Assign."+k, "\"states\" is a reserved variable name")
		}
	}
	p.template(m, where+".Assign")
	return m
}

func (p *parser) state(name string, o map[string]any, w string) *State {
	st := &State{Name: name}
	t, _ := o["Type"].(string)
	st.Type = t
	allowed, known := stateFields[t]
	if !known {
		if _, ok := o["Type"]; !ok {
			p.add(w, "Type is required")
		} else {
			p.add(w+".Type", "unknown state type %s: expected one of Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map", mustJSON(o["Type"]))
		}
		return nil
	}
	ok := map[string]bool{"Type": true, "Comment": true, "QueryLanguage": true}
	for _, f := range allowed {
		ok[f] = true
	}
	for _, k := range sortedKeys(o) {
		if !ok[k] {
			p.add(w, "field %q is not valid for a %s state", k, t)
		} else if jsonataOnly[k] {
			p.add(w, "field %q is only valid with QueryLanguage JSONata, which is not supported yet", k)
		}
	}
	if ql, has := o["QueryLanguage"]; has {
		p.queryLanguage(ql, w+".")
	}
	st.Comment = p.str(o, "Comment", w)
	st.Next = p.str(o, "Next", w)
	if e, has := o["End"]; has {
		b, isBool := e.(bool)
		if !isBool {
			p.add(w+".End", "must be a boolean")
		}
		st.End = b
	}
	terminal := t == "Choice" || t == "Succeed" || t == "Fail"
	if !terminal {
		_, hasNext := o["Next"]
		switch {
		case hasNext && st.End:
			p.add(w, "a state cannot have both Next and End: true")
		case !hasNext && !st.End:
			p.add(w, "a %s state must have Next or End: true", t)
		}
	}
	st.InputPath = p.pathField(o, "InputPath", w, false)
	st.OutputPath = p.pathField(o, "OutputPath", w, false)
	st.ResultPath = p.pathField(o, "ResultPath", w, true)
	if v, has := o["Parameters"]; has {
		st.Parameters, st.HasParameters = v, true
		p.template(v, w+".Parameters")
	}
	if v, has := o["ResultSelector"]; has {
		st.ResultSelector, st.HasResultSelector = v, true
		p.template(v, w+".ResultSelector")
	}
	if v, has := o["Result"]; has {
		st.Result, st.HasResult = v, true
	}
	st.Assign = p.assign(o, w)
	if _, has := o["Retry"]; has {
		st.Retry = p.retry(o["Retry"], w+".Retry")
	}
	if _, has := o["Catch"]; has {
		st.Catch = p.catch(o["Catch"], w+".Catch")
	}
	switch t {
	case "Task":
		st.Resource = p.str(o, "Resource", w)
		if st.Resource == "" {
			p.add(w, "a Task state must have a Resource (an ARN)")
		} else if !strings.HasPrefix(st.Resource, "arn:") {
			p.add(w+".Resource", "Resource %q is not an ARN", st.Resource)
		}
		st.TimeoutSeconds = defaultTaskTimeoutSeconds
		if _, has := o["TimeoutSeconds"]; has {
			st.TimeoutSeconds = p.posInt(o, "TimeoutSeconds", w)
		}
		st.TimeoutSecondsPath = p.strPath(o, "TimeoutSecondsPath", w)
		if _, has := o["HeartbeatSeconds"]; has {
			st.HeartbeatSeconds = p.posInt(o, "HeartbeatSeconds", w)
		}
		st.HeartbeatSecondsPath = p.strPath(o, "HeartbeatSecondsPath", w)
		if _, a := o["TimeoutSeconds"]; a && st.TimeoutSecondsPath != "" {
			p.add(w, "TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
		}
		if _, a := o["HeartbeatSeconds"]; a && st.HeartbeatSecondsPath != "" {
			p.add(w, "HeartbeatSeconds and HeartbeatSecondsPath are mutually exclusive")
		}
		if st.HeartbeatSeconds > 0 && st.HeartbeatSeconds >= st.TimeoutSeconds {
			p.add(w+".HeartbeatSeconds", "must be smaller than TimeoutSeconds (%d)", st.TimeoutSeconds)
		}
	case "Choice":
		p.choice(st, o, w)
	case "Wait":
		n := 0
		if _, has := o["Seconds"]; has {
			n++
			if s, ok := p.num(o, "Seconds", w); ok {
				if s < 0 {
					p.add(w+".Seconds", "must not be negative")
				}
				st.Seconds = &s
			}
		}
		if _, has := o["Timestamp"]; has {
			n++
			st.Timestamp = p.str(o, "Timestamp", w)
			if _, err := parseTimestamp(st.Timestamp); err != nil {
				p.add(w+".Timestamp", "%v", err)
			}
		}
		if _, has := o["SecondsPath"]; has {
			n++
			st.SecondsPath = p.strPath(o, "SecondsPath", w)
		}
		if _, has := o["TimestampPath"]; has {
			n++
			st.TimestampPath = p.strPath(o, "TimestampPath", w)
		}
		if n != 1 {
			p.add(w, "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath (found %d)", n)
		}
	case "Fail":
		st.Error = p.str(o, "Error", w)
		st.Cause = p.str(o, "Cause", w)
		st.ErrorPath = p.dynPath(o, "ErrorPath", w)
		st.CausePath = p.dynPath(o, "CausePath", w)
		if _, a := o["Error"]; a && st.ErrorPath != "" {
			p.add(w, "Error and ErrorPath are mutually exclusive")
		}
		if _, a := o["Cause"]; a && st.CausePath != "" {
			p.add(w, "Cause and CausePath are mutually exclusive")
		}
	case "Parallel":
		bs, ok := o["Branches"].([]any)
		if !ok || len(bs) == 0 {
			p.add(w, "a Parallel state must have a non-empty Branches array")
		}
		for i, b := range bs {
			bw := fmt.Sprintf("%s.Branches[%d].", w, i)
			bo, ok := b.(map[string]any)
			if !ok {
				p.add(bw, "a branch must be an object with StartAt and States")
				continue
			}
			st.Branches = append(st.Branches, p.machine(bo, bw, false))
		}
	case "Map":
		p.mapState(st, o, w)
	}
	return st
}

func (p *parser) errorEquals(v any, where string) []string {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		p.add(where+".ErrorEquals", "must be a non-empty array of error names")
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			p.add(where+".ErrorEquals", "error names must be strings")
			continue
		}
		out = append(out, s)
	}
	for _, s := range out {
		if s == ErrAll && len(out) > 1 {
			p.add(where+".ErrorEquals", "States.ALL must appear alone in its ErrorEquals array")
		}
	}
	return out
}

// checkAllLast reports a States.ALL rule that is not the last one.
func (p *parser) checkAllLast(lists [][]string, where string) {
	for i, l := range lists {
		for _, s := range l {
			if s == ErrAll && i != len(lists)-1 {
				p.add(fmt.Sprintf("%s[%d]", where, i), "a rule matching States.ALL must be the last one")
			}
		}
	}
}

func (p *parser) retry(v any, where string) []*Retrier {
	var out []*Retrier
	p.rules(v, where, func(w string, o map[string]any) []string {
		for _, k := range sortedKeys(o) {
			switch k {
			case "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment":
			default:
				p.add(w, "field %q is not valid in a retrier", k)
			}
		}
		r := &Retrier{IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "NONE"}
		r.ErrorEquals = p.errorEquals(o["ErrorEquals"], w)
		if _, has := o["IntervalSeconds"]; has {
			r.IntervalSeconds = float64(p.posInt(o, "IntervalSeconds", w))
		}
		if n, has := p.intField(o, "MaxAttempts", w); has {
			if n < 0 {
				p.add(w+".MaxAttempts", "must not be negative")
			}
			r.MaxAttempts = n
		}
		if f, has := p.num(o, "BackoffRate", w); has {
			if f < 1 {
				p.add(w+".BackoffRate", "must be at least 1.0")
			}
			r.BackoffRate = f
		}
		if _, has := o["MaxDelaySeconds"]; has {
			r.MaxDelaySeconds = float64(p.posInt(o, "MaxDelaySeconds", w))
		}
		if _, has := o["JitterStrategy"]; has {
			r.JitterStrategy = p.str(o, "JitterStrategy", w)
			if r.JitterStrategy != "FULL" && r.JitterStrategy != "NONE" {
				p.add(w+".JitterStrategy", "must be \"FULL\" or \"NONE\"")
			}
		}
		out = append(out, r)
		return r.ErrorEquals
	})
	return out
}

func (p *parser) catch(v any, where string) []*Catcher {
	var out []*Catcher
	p.rules(v, where, func(w string, o map[string]any) []string {
		for _, k := range sortedKeys(o) {
			switch k {
			case "ErrorEquals", "Next", "ResultPath", "Assign", "Comment":
			case "Output":
				p.add(w, "field \"Output\" is only valid with QueryLanguage JSONata, which is not supported yet")
			default:
				p.add(w, "field %q is not valid in a catcher", k)
			}
		}
		c := &Catcher{ErrorEquals: p.errorEquals(o["ErrorEquals"], w)}
		c.Next = p.str(o, "Next", w)
		if c.Next == "" {
			p.add(w, "a catcher must have Next")
		}
		c.ResultPath = p.pathField(o, "ResultPath", w, true)
		c.Assign = p.assign(o, w)
		out = append(out, c)
		return c.ErrorEquals
	})
	return out
}

// rules walks a Retry or Catch array: each element must be an object,
// parsed by one (which returns its ErrorEquals); then a States.ALL rule
// must be the last.
func (p *parser) rules(v any, where string, one func(w string, o map[string]any) []string) {
	arr, ok := v.([]any)
	if !ok {
		p.add(where, "must be an array")
		return
	}
	var lists [][]string
	for i, e := range arr {
		w := fmt.Sprintf("%s[%d]", where, i)
		o, ok := e.(map[string]any)
		if !ok {
			p.add(w, "must be an object")
			continue
		}
		lists = append(lists, one(w, o))
	}
	p.checkAllLast(lists, where)
}
