package asl

import (
	"fmt"
	"sort"
	"strings"
)

// comparison operators: name -> the Go kind of their literal value.
var choiceOps = map[string]string{
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "bool",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "bool", "IsPresent": "bool", "IsNumeric": "bool", "IsString": "bool", "IsBoolean": "bool", "IsTimestamp": "bool",
}

func init() {
	for _, base := range []string{"String", "Numeric", "Boolean", "Timestamp"} {
		for _, cmp := range []string{"Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"} {
			if base == "Boolean" && cmp != "Equals" {
				continue
			}
			choiceOps[base+cmp+"Path"] = "path"
		}
	}
}

func (p *parser) choice(st *State, o map[string]any, w string) {
	st.Default = p.str(o, "Default", w)
	arr, ok := o["Choices"].([]any)
	if !ok || len(arr) == 0 {
		p.add(w, "a Choice state must have a non-empty Choices array")
		return
	}
	for i, e := range arr {
		rw := fmt.Sprintf("%s.Choices[%d]", w, i)
		ro, ok := e.(map[string]any)
		if !ok {
			p.add(rw, "a choice rule must be an object")
			continue
		}
		r := p.rule(ro, rw, true)
		if r != nil {
			st.Choices = append(st.Choices, r)
		}
	}
}

func (p *parser) rule(o map[string]any, w string, top bool) *ChoiceRule {
	r := &ChoiceRule{}
	var ops []string
	for _, k := range sortedKeys(o) {
		switch {
		case k == "Variable" || k == "Comment":
		case k == "Next" || k == "Assign":
			if !top {
				p.add(w, "%s is only allowed in a top-level choice rule", k)
			}
		case k == "And" || k == "Or" || k == "Not":
			ops = append(ops, k)
		case k == "Condition":
			p.add(w, "field \"Condition\" is only valid with QueryLanguage JSONata, which is not supported yet")
		case choiceOps[k] != "":
			ops = append(ops, k)
		default:
			p.add(w, "field %q is not valid in a choice rule", k)
		}
	}
	if top {
		r.Next = p.str(o, "Next", w)
		if r.Next == "" {
			p.add(w, "a top-level choice rule must have Next")
		}
		r.Assign = p.assign(o, w)
	}
	if len(ops) != 1 {
		p.add(w, "a choice rule needs exactly one comparison operator or And/Or/Not (found %d: %s)", len(ops), strings.Join(ops, ", "))
		return r
	}
	op := ops[0]
	r.Operator = op
	switch op {
	case "And", "Or":
		if _, has := o["Variable"]; has {
			p.add(w, "Variable is not allowed with %s", op)
		}
		arr, ok := o[op].([]any)
		if !ok || len(arr) == 0 {
			p.add(w+"."+op, "must be a non-empty array of choice rules")
			return r
		}
		for i, e := range arr {
			so, ok := e.(map[string]any)
			if !ok {
				p.add(fmt.Sprintf("%s.%s[%d]", w, op, i), "must be an object")
				continue
			}
			sub := p.rule(so, fmt.Sprintf("%s.%s[%d]", w, op, i), false)
			if op == "And" {
				r.And = append(r.And, sub)
			} else {
				r.Or = append(r.Or, sub)
			}
		}
	case "Not":
		if _, has := o["Variable"]; has {
			p.add(w, "Variable is not allowed with Not")
		}
		so, ok := o["Not"].(map[string]any)
		if !ok {
			p.add(w+".Not", "must be a choice rule object")
			return r
		}
		r.Not = p.rule(so, w+".Not", false)
	default:
		r.Variable = p.str(o, "Variable", w)
		if r.Variable == "" {
			p.add(w, "Variable is required with %s", op)
		} else {
			p.checkPath(r.Variable, w+".Variable", false)
		}
		r.Value = o[op]
		switch choiceOps[op] {
		case "string":
			if _, ok := r.Value.(string); !ok {
				p.add(w+"."+op, "must be a string")
			}
		case "number":
			switch r.Value.(type) {
			case int64, float64:
			default:
				p.add(w+"."+op, "must be a number")
			}
		case "bool":
			if _, ok := r.Value.(bool); !ok {
				p.add(w+"."+op, "must be a boolean")
			}
		case "timestamp":
			s, _ := r.Value.(string)
			if _, err := parseTimestamp(s); err != nil {
				p.add(w+"."+op, "%v", err)
			}
		case "path":
			s, ok := r.Value.(string)
			if !ok {
				p.add(w+"."+op, "must be a path string")
			} else {
				p.checkPath(s, w+"."+op, false)
			}
		}
	}
	return r
}

func (p *parser) mapState(st *State, o map[string]any, w string) {
	_, hasIt := o["Iterator"]
	_, hasIP := o["ItemProcessor"]
	switch {
	case hasIt && hasIP:
		p.add(w, "Iterator and ItemProcessor are mutually exclusive")
	case !hasIt && !hasIP:
		p.add(w, "a Map state needs an ItemProcessor (or the legacy Iterator)")
	}
	key := "ItemProcessor"
	if hasIt {
		key = "Iterator"
	}
	if po, ok := o[key].(map[string]any); ok {
		if pc, ok := po["ProcessorConfig"].(map[string]any); ok {
			for _, k := range sortedKeys(pc) {
				switch k {
				case "Mode":
					switch pc[k] {
					case "INLINE":
					case "DISTRIBUTED":
						st.Distributed = true
					default:
						p.add(w+"."+key+".ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED")
					}
				case "ExecutionType":
					if pc[k] != "STANDARD" && pc[k] != "EXPRESS" {
						p.add(w+"."+key+".ProcessorConfig.ExecutionType", "must be STANDARD or EXPRESS")
					}
				default:
					p.add(w+"."+key+".ProcessorConfig", "field %q is not valid", k)
				}
			}
		}
		st.Processor = p.machine(po, w+"."+key+".", false)
	} else if hasIt || hasIP {
		p.add(w+"."+key, "must be an object with StartAt and States")
	}
	st.ItemsPath = p.pathField(o, "ItemsPath", w, true)
	if v, has := o["ItemSelector"]; has {
		if st.HasParameters {
			p.add(w, "ItemSelector and Parameters are mutually exclusive (Parameters is the legacy name of ItemSelector)")
		}
		st.ItemSelector, st.HasItemSelector = v, true
		p.template(v, w+".ItemSelector")
	} else if st.HasParameters {
		st.ItemSelector, st.HasItemSelector = st.Parameters, true
	}
	if _, has := o["MaxConcurrency"]; has {
		n, _ := p.intField(o, "MaxConcurrency", w)
		if n < 0 {
			p.add(w+".MaxConcurrency", "must not be negative")
		}
		st.MaxConcurrency = n
	}
	st.MaxConcurrencyPath = p.strPath(o, "MaxConcurrencyPath", w)
	if _, has := o["MaxConcurrency"]; has && st.MaxConcurrencyPath != "" {
		p.add(w, "MaxConcurrency and MaxConcurrencyPath are mutually exclusive")
	}
	st.Label = p.str(o, "Label", w)
	distOnly := func(k string) {
		if _, has := o[k]; has && !st.Distributed {
			p.add(w+"."+k, "is only valid when ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED")
		}
	}
	for _, k := range []string{"ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath", "Label"} {
		distOnly(k)
	}
	if f, has := p.num(o, "ToleratedFailurePercentage", w); has {
		if f < 0 || f > 100 {
			p.add(w+".ToleratedFailurePercentage", "must be between 0 and 100")
		}
		st.ToleratedFailurePercentage = &f
	}
	st.ToleratedFailurePercentagePath = p.strPath(o, "ToleratedFailurePercentagePath", w)
	if n, has := p.intField(o, "ToleratedFailureCount", w); has {
		if n < 0 {
			p.add(w+".ToleratedFailureCount", "must not be negative")
		}
		st.ToleratedFailureCount = &n
	}
	st.ToleratedFailureCountPath = p.strPath(o, "ToleratedFailureCountPath", w)
	if v, has := o["ItemReader"]; has {
		st.ItemReader = p.itemReader(v, w+".ItemReader")
	}
	if v, has := o["ItemBatcher"]; has {
		st.ItemBatcher = p.itemBatcher(v, w+".ItemBatcher")
	}
	if v, has := o["ResultWriter"]; has {
		st.ResultWriter = p.resultWriter(v, w+".ResultWriter")
	}
}

func (p *parser) itemReader(v any, w string) *ItemReaderConfig {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(w, "must be an object")
		return nil
	}
	r := &ItemReaderConfig{InputType: "JSON"}
	for _, k := range sortedKeys(o) {
		if k != "Resource" && k != "Parameters" && k != "ReaderConfig" {
			p.add(w, "field %q is not valid in an ItemReader", k)
		}
	}
	r.Resource = p.str(o, "Resource", w)
	if r.Resource == "" {
		p.add(w, "Resource is required")
	}
	r.Parameters = o["Parameters"]
	p.template(r.Parameters, w+".Parameters")
	if rc, ok := o["ReaderConfig"].(map[string]any); ok {
		rw := w + ".ReaderConfig"
		for _, k := range sortedKeys(rc) {
			switch k {
			case "InputType":
				r.InputType = p.str(rc, k, rw)
				switch r.InputType {
				case "JSON", "JSONL", "CSV":
				case "MANIFEST", "PARQUET":
					p.add(rw+".InputType", "%s is not supported yet by this engine", r.InputType)
				default:
					p.add(rw+".InputType", "must be JSON, JSONL or CSV")
				}
			case "CSVHeaderLocation":
				r.CSVHeaderLocation = p.str(rc, k, rw)
				if r.CSVHeaderLocation != "FIRST_ROW" && r.CSVHeaderLocation != "GIVEN" {
					p.add(rw+".CSVHeaderLocation", "must be FIRST_ROW or GIVEN")
				}
			case "CSVHeaders":
				arr, _ := rc[k].([]any)
				for _, h := range arr {
					s, _ := h.(string)
					r.CSVHeaders = append(r.CSVHeaders, s)
				}
			case "CSVDelimiter":
				r.CSVDelimiter = p.str(rc, k, rw)
				if _, ok := csvDelimiters[r.CSVDelimiter]; !ok {
					p.add(rw+".CSVDelimiter", "must be COMMA, PIPE, SEMICOLON, SPACE or TAB")
				}
			case "MaxItems":
				r.MaxItems = p.posInt(rc, k, rw)
			case "MaxItemsPath":
				r.MaxItemsPath = p.strPath(rc, k, rw)
			default:
				p.add(rw, "field %q is not valid in a ReaderConfig", k)
			}
		}
	}
	if r.InputType == "CSV" && r.CSVHeaderLocation == "" {
		p.add(w+".ReaderConfig", "CSVHeaderLocation is required for CSV input")
	}
	if r.CSVHeaderLocation == "GIVEN" && len(r.CSVHeaders) == 0 {
		p.add(w+".ReaderConfig", "CSVHeaders is required when CSVHeaderLocation is GIVEN")
	}
	return r
}

var csvDelimiters = map[string]rune{"": ',', "COMMA": ',', "PIPE": '|', "SEMICOLON": ';', "SPACE": ' ', "TAB": '\t'}

func (p *parser) itemBatcher(v any, w string) *ItemBatcherConfig {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(w, "must be an object")
		return nil
	}
	b := &ItemBatcherConfig{}
	for _, k := range sortedKeys(o) {
		switch k {
		case "MaxItemsPerBatch":
			b.MaxItemsPerBatch = p.posInt(o, k, w)
		case "MaxItemsPerBatchPath":
			b.MaxItemsPerBatchPath = p.strPath(o, k, w)
		case "MaxInputBytesPerBatch":
			b.MaxInputBytesPerBatch = p.posInt(o, k, w)
		case "MaxInputBytesPerBatchPath":
			b.MaxInputBytesPerBatchPath = p.strPath(o, k, w)
		case "BatchInput":
			b.BatchInput = o[k]
			p.template(b.BatchInput, w+".BatchInput")
		default:
			p.add(w, "field %q is not valid in an ItemBatcher", k)
		}
	}
	if b.MaxItemsPerBatch == 0 && b.MaxItemsPerBatchPath == "" && b.MaxInputBytesPerBatch == 0 && b.MaxInputBytesPerBatchPath == "" {
		p.add(w, "an ItemBatcher needs MaxItemsPerBatch, MaxInputBytesPerBatch or one of their Path forms")
	}
	return b
}

func (p *parser) resultWriter(v any, w string) *ResultWriterConfig {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(w, "must be an object")
		return nil
	}
	r := &ResultWriterConfig{OutputType: "JSON"}
	for _, k := range sortedKeys(o) {
		if k != "Resource" && k != "Parameters" && k != "WriterConfig" {
			p.add(w, "field %q is not valid in a ResultWriter", k)
		}
	}
	r.Resource = p.str(o, "Resource", w)
	r.Parameters = o["Parameters"]
	p.template(r.Parameters, w+".Parameters")
	if (r.Resource == "") != (r.Parameters == nil) {
		p.add(w, "Resource and Parameters must be given together")
	}
	if wc, ok := o["WriterConfig"].(map[string]any); ok {
		ww := w + ".WriterConfig"
		r.OutputType = p.str(wc, "OutputType", ww)
		if r.OutputType != "JSON" && r.OutputType != "JSONL" {
			p.add(ww+".OutputType", "must be JSON or JSONL")
		}
		r.Transformation = p.str(wc, "Transformation", ww)
		switch r.Transformation {
		case "NONE", "COMPACT", "FLATTEN":
		default:
			p.add(ww+".Transformation", "must be NONE, COMPACT or FLATTEN")
		}
	} else if r.Resource == "" {
		p.add(w, "a ResultWriter needs Resource and Parameters, WriterConfig, or both")
	}
	if r.Transformation == "" {
		r.Transformation = "COMPACT"
		if r.Resource != "" {
			r.Transformation = "NONE"
		}
	}
	return r
}

// checkTransitions verifies Next/Default/catcher targets and reachability
// within one scope (a state machine, branch or item processor).
func (p *parser) checkTransitions(sm *StateMachine, where string) {
	names := make([]string, 0, len(sm.States))
	for n := range sm.States {
		names = append(names, n)
	}
	sort.Strings(names)
	target := func(w, field, t string) {
		if t == "" {
			return
		}
		if _, ok := sm.States[t]; !ok {
			p.add(w, "%s target %q is not a state in this scope", field, t)
		}
	}
	for _, n := range names {
		st := sm.States[n]
		w := where + "States." + n
		target(w, "Next", st.Next)
		target(w, "Default", st.Default)
		for i, r := range st.Choices {
			target(fmt.Sprintf("%s.Choices[%d]", w, i), "Next", r.Next)
		}
		for i, c := range st.Catch {
			target(fmt.Sprintf("%s.Catch[%d]", w, i), "Next", c.Next)
		}
	}
	// reachability from StartAt
	if _, ok := sm.States[sm.StartAt]; !ok {
		return
	}
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
		next := []string{st.Next, st.Default}
		for _, r := range st.Choices {
			next = append(next, r.Next)
		}
		for _, c := range st.Catch {
			next = append(next, c.Next)
		}
		for _, x := range next {
			if x != "" && !seen[x] {
				stack = append(stack, x)
			}
		}
	}
	for _, n := range names {
		if !seen[n] {
			p.add(where+"States."+n, "state is unreachable from StartAt %q", sm.StartAt)
		}
	}
}
