package asl

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mapState is a Map state. Inline iterations run as threads of this
// execution; a DISTRIBUTED Map runs each item (or batch) as a child
// execution (map_distributed.go), with its ItemReader, ItemBatcher and
// ResultWriter (map_io.go). Results keep item order whatever the
// concurrency.
type mapState struct {
	dataFlow
	errorHandling
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

	// JSONata: Items, and expressions for the numeric fields.
	itemsTpl                         any
	hasItems                         bool
	mcExpr, tolPctExpr, tolCountExpr any
}

func (*mapState) fields() []string {
	return []string{"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign",
		"Iterator", "ItemProcessor", "ItemsPath", "ItemSelector", "ItemReader", "ItemBatcher", "ResultWriter", "MaxConcurrency", "MaxConcurrencyPath",
		"ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath", "Label", "Items", "Output"}
}

// distributedOnly are the fields valid only in a DISTRIBUTED Map.
var distributedOnly = []string{"ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath", "Label"}

func (s *mapState) parse(p *parser, st *State, o map[string]any, w string) {
	s.dataFlow.parse(p, st, o, w)
	s.parseAssign(p, o, w)
	s.errorHandling.parse(p, o, w)
	s.parseProcessor(p, o, w)
	s.ItemsPath = p.pathField(o, "ItemsPath", w, refPath)
	if v, has := o["ItemSelector"]; has {
		if s.HasParameters {
			p.add(w, "ItemSelector and Parameters are mutually exclusive (Parameters is the legacy name of ItemSelector)")
		}
		s.ItemSelector, s.HasItemSelector = v, true
		if s.jsonata {
			s.ItemSelector = p.jsonataTemplate(v, w+".ItemSelector")
		} else {
			p.template(v, w+".ItemSelector")
		}
	} else if s.HasParameters {
		s.ItemSelector, s.HasItemSelector = s.Parameters, true
	}
	if v, has := o["Items"]; has && s.jsonata {
		s.itemsTpl, s.hasItems = p.jsonataTemplate(v, w+".Items"), true
	}
	if e, ok := p.exprField(o, "MaxConcurrency", w); ok {
		s.mcExpr = e
	} else if _, has := o["MaxConcurrency"]; has {
		n, _ := p.intField(o, "MaxConcurrency", w)
		if n < 0 {
			p.add(w+".MaxConcurrency", "must not be negative")
		}
		s.MaxConcurrency = n
	}
	s.MaxConcurrencyPath = p.strPath(o, "MaxConcurrencyPath", w)
	p.exclusive(o, w, "MaxConcurrency", "MaxConcurrencyPath")
	s.Label = p.str(o, "Label", w)
	if _, has := o["Label"]; has {
		p.checkLabel(s.Label, w+".Label")
	}
	if s.Distributed && p.express {
		p.add(w, "SCHEMA_VALIDATION_FAILED: Express state machine does not support Distributed Map")
	}
	for _, k := range distributedOnly {
		if _, has := o[k]; has && !s.Distributed {
			p.add(w+"."+k, "is only valid when ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED")
		}
	}
	s.parseTolerance(p, o, w)
	s.parseIO(p, o, w)
}

// parseProcessor reads ItemProcessor (or the legacy Iterator) and its
// ProcessorConfig.
func (s *mapState) parseProcessor(p *parser, o map[string]any, w string) {
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
	po, ok := o[key].(map[string]any)
	if !ok {
		if hasIt || hasIP {
			p.add(w+"."+key, "must be an object with StartAt and States")
		}
		return
	}
	if pc, ok := po["ProcessorConfig"].(map[string]any); ok {
		s.parseProcessorConfig(p, pc, w+"."+key+".ProcessorConfig")
		if _, has := pc["ExecutionType"]; s.Distributed && !has {
			p.add(w+"."+key+".ProcessorConfig", "SCHEMA_VALIDATION_FAILED: ExecutionType (STANDARD or EXPRESS) is required when Mode is DISTRIBUTED")
		}
	}
	s.Processor = p.machine(po, w+"."+key+".", false)
}

func (s *mapState) parseProcessorConfig(p *parser, pc map[string]any, w string) {
	for _, k := range sortedKeys(pc) {
		switch k {
		case "Mode":
			switch pc[k] {
			case "INLINE":
			case "DISTRIBUTED":
				s.Distributed = true
			default:
				p.add(w+".Mode", "must be INLINE or DISTRIBUTED")
			}
		case "ExecutionType":
			if pc[k] != "STANDARD" && pc[k] != "EXPRESS" {
				p.add(w+".ExecutionType", "must be STANDARD or EXPRESS")
			}
		default:
			p.add(w, "field %q is not valid", k)
		}
	}
}

// checkLabel applies AWS's rules for a Map Run label: at most 40
// characters, unique in the state machine, and none of: white space,
// ? *, < > { } [ ], " # % \ ^ | ~ ` $ & , ; : /, or control characters.
func (p *parser) checkLabel(label, w string) {
	if n := utf8.RuneCountInString(label); n > 40 {
		p.add(w, "SCHEMA_VALIDATION_FAILED: Label %q has %d characters; a Map Run label may have at most 40", label, n)
	}
	for _, r := range label {
		if unicode.IsSpace(r) || r <= 0x1f || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("?*<>{}[]\"#%\\^|~`$&,;:/", r) {
			p.add(w, "SCHEMA_VALIDATION_FAILED: Label %q contains %q, which a Map Run label may not contain (white space, ? * < > { } [ ] \" # %% \\ ^ | ~ ` $ & , ; : / or control characters)", label, r)
			break
		}
	}
	if prev, dup := p.labels[label]; dup {
		p.add(w, "SCHEMA_VALIDATION_FAILED: Label %q is already used at %s: Map labels must be unique in the state machine", label, prev)
	}
	p.labels[label] = w
}

func (s *mapState) parseTolerance(p *parser, o map[string]any, w string) {
	s.tolPctExpr, _ = p.exprField(o, "ToleratedFailurePercentage", w)
	s.tolCountExpr, _ = p.exprField(o, "ToleratedFailureCount", w)
	if s.tolPctExpr == nil {
		if f, has := p.num(o, "ToleratedFailurePercentage", w); has {
			if f < 0 || f > 100 {
				p.add(w+".ToleratedFailurePercentage", "must be between 0 and 100")
			}
			s.ToleratedFailurePercentage = &f
		}
	}
	s.ToleratedFailurePercentagePath = p.strPath(o, "ToleratedFailurePercentagePath", w)
	if s.tolCountExpr == nil {
		if n, has := p.intField(o, "ToleratedFailureCount", w); has {
			if n < 0 {
				p.add(w+".ToleratedFailureCount", "must not be negative")
			}
			s.ToleratedFailureCount = &n
		}
	}
	s.ToleratedFailureCountPath = p.strPath(o, "ToleratedFailureCountPath", w)
}

func (s *mapState) run(ctx context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	return t.withErrorHandling(ctx, &s.errorHandling, raw, sr, func() (outcome, error) {
		return t.attempt(&s.dataFlow, raw, sr, func(eff any) (any, error) {
			if s.Distributed {
				return s.distributed(ctx, t, st, eff, sr)
			}
			return s.inline(ctx, t, st, eff, sr)
		})
	})
}

// items returns the array a Map iterates over (ItemsPath, default $).
func (s *mapState) items(t *thread, st *State, eff any, sr *stateRun) ([]any, error) {
	v := eff
	if s.hasItems {
		var err error
		if v, err = t.jenv(sr, nil).eval(s.itemsTpl, "Items"); err != nil {
			return nil, err
		}
		if arr, ok := v.([]any); ok {
			return arr, nil
		}
		return nil, newErr(ErrQueryEvaluationError, "The Items field of Map state %q must evaluate to an array, got %s", st.Name, kindOf(v))
	}
	if s.ItemsPath.Set && !s.ItemsPath.Null && s.ItemsPath.Path != "$" {
		var err error
		if v, err = t.env(eff, sr).selectPath(s.ItemsPath.Path); err != nil {
			return nil, err
		}
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, newErr(ErrRuntime, "Map state %q: the ItemsPath %q must select an array, got %s", st.Name, pathOr(s.ItemsPath.Path, "$"), kindOf(v))
	}
	return arr, nil
}

func pathOr(p, d string) string {
	if p == "" {
		return d
	}
	return p
}

// maxConcurrency evaluates MaxConcurrency / MaxConcurrencyPath, which
// must select a non-negative integer (AWS's causes).
func (s *mapState) maxConcurrency(t *thread, _ *State, eff any, sr *stateRun) (int, error) {
	if s.mcExpr != nil {
		return t.jenv(sr, nil).integer(s.mcExpr, "MaxConcurrency", 0)
	}
	if s.MaxConcurrencyPath == "" {
		return s.MaxConcurrency, nil
	}
	v, err := t.env(eff, sr).path(s.MaxConcurrencyPath, "MaxConcurrencyPath")
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	switch {
	case !ok:
		return 0, newErr(ErrRuntime, "The MaxConcurrencyPath field refers to value \"%s\" which is not a valid integer: %s", rawValue(v), s.MaxConcurrencyPath)
	case n < 0:
		return 0, newErr(ErrRuntime, "Expected non-negative integer for MaxConcurrency, got '%d' instead.", n)
	}
	return int(n), nil
}

// selectItem applies ItemSelector (or legacy Parameters) to one item.
func (s *mapState) selectItem(t *thread, eff any, sr *stateRun, index int, item any) (any, error) {
	if !s.HasItemSelector {
		return item, nil
	}
	isr := *sr
	isr.item = map[string]any{"Index": int64(index), "Value": item}
	if s.jsonata {
		return t.jenv(&isr, nil).eval(s.ItemSelector, "ItemSelector")
	}
	return t.env(eff, &isr).template(s.ItemSelector, "ItemSelector")
}

// inlineMaxConcurrency is how many iterations an INLINE Map runs at once
// at most, as on AWS (MaxConcurrency 0 or above it means this many).
const inlineMaxConcurrency = 40

// inline runs an INLINE Map: one thread per item, at most
// inlineMaxConcurrency at once.
func (s *mapState) inline(ctx context.Context, t *thread, st *State, eff any, sr *stateRun) (any, error) {
	items, err := s.items(t, st, eff, sr)
	if err != nil {
		return nil, err
	}
	mc, err := s.maxConcurrency(t, st, eff, sr)
	if err != nil {
		return nil, err
	}
	n := len(items)
	t.event("MapStateStarted", func(e *Event) { e.MapStateStartedEventDetails = &MapStateStartedDetails{Length: n} })
	start := t.prev
	results := make([]any, n)
	limit := t.r.limit(mc)
	if limit < 0 || limit > inlineMaxConcurrency {
		limit = inlineMaxConcurrency
	}
	err = forEach(ctx, n, limit, func(ctx context.Context, i int) error {
		child := t.fork(st.Name+"#"+strconv.Itoa(i), start)
		var err error
		results[i], err = s.iteration(ctx, t, child, eff, sr, i, items[i])
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			t.event("MapStateFailed", nil)
		}
		return nil, err
	}
	t.event("MapStateSucceeded", nil)
	return results, nil
}

// iteration runs item i of an inline Map on thread child.
func (s *mapState) iteration(ctx context.Context, t, child *thread, eff any, sr *stateRun, i int, item any) (any, error) {
	name := sr.st.Name
	child.event("MapIterationStarted", func(e *Event) { e.MapIterationStartedEventDetails = &MapIterationDetails{Name: name, Index: i} })
	in, err := s.selectItem(t, eff, sr, i, item)
	var out any
	if err == nil {
		out, err = child.runMachine(ctx, s.Processor, in)
	}
	switch {
	case err == nil:
		child.event("MapIterationSucceeded", func(e *Event) { e.MapIterationSucceededEventDetails = &MapIterationDetails{Name: name, Index: i} })
	case ctx.Err() != nil:
		child.event("MapIterationAborted", func(e *Event) { e.MapIterationAbortedEventDetails = &MapIterationDetails{Name: name, Index: i} })
	default:
		child.event("MapIterationFailed", func(e *Event) { e.MapIterationFailedEventDetails = &MapIterationDetails{Name: name, Index: i} })
	}
	return out, err
}
