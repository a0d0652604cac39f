package asl

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// childResult is the outcome of one child execution of a Map Run.
type childResult struct {
	exec   *Execution
	output any
}

// mapRun is one Map Run of a DISTRIBUTED Map.
type mapRun struct {
	s          *mapState
	arn, id    string
	label      string
	inputs     []any
	firstIndex []int // index of each input's first item
	tolPct     *float64
	tolCount   *int
	failed     atomic.Int64
	exceeded   atomic.Bool
}

// distributed runs a DISTRIBUTED Map: one child execution per item or
// batch, each with its own history. The parent history only records
// MapStateStarted, MapRunStarted and the Map Run's end.
func (s *mapState) distributed(ctx context.Context, t *thread, st *State, eff any, sr *stateRun) (any, error) {
	env := &fieldEnv{evalEnv: t.env(eff, sr)}
	if s.jsonata {
		env.ata = t.jenv(sr, nil)
	}
	mr, mc, err := s.prepareRun(ctx, t, st, eff, sr, env)
	if err != nil {
		return nil, err
	}
	n := len(mr.inputs)
	t.event("MapStateStarted", func(e *Event) { e.MapStateStartedEventDetails = &MapStateStartedDetails{Length: n} })
	t.event("MapRunStarted", func(e *Event) { e.MapRunStartedEventDetails = &MapRunStartedDetails{MapRunArn: mr.arn} })
	results := mr.runChildren(ctx, t.r, mc)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := t.checkAlive(ctx); err != nil {
		return nil, err
	}
	var out any
	if mr.exceeded.Load() || mr.exceededNow(mr.failed.Load()) {
		err = newErr(ErrExceedToleratedFailure, "%s: %d of %d child executions of Map Run %s failed", toleratedFailureThresholdCause, mr.failed.Load(), n, mr.arn)
	} else {
		out, err = s.mapRunOutput(ctx, t, st, env, mr, results)
	}
	if err != nil {
		te := asTaskError(err)
		t.event("MapRunFailed", func(e *Event) { e.MapRunFailedEventDetails = &ErrorDetails{Error: te.Name, Cause: te.Cause} })
		t.event("MapStateFailed", nil)
		return nil, te
	}
	t.event("MapRunSucceeded", nil)
	t.event("MapStateSucceeded", nil)
	return out, nil
}

// prepareRun reads the items, applies ItemSelector and ItemBatcher, and
// evaluates the concurrency and tolerated failures.
func (s *mapState) prepareRun(ctx context.Context, t *thread, st *State, eff any, sr *stateRun, env *fieldEnv) (*mapRun, int, error) {
	var items []any
	var err error
	if s.ItemReader != nil {
		items, err = s.readItems(ctx, t, st, env)
	} else {
		items, err = s.items(t, st, eff, sr)
	}
	if err != nil {
		return nil, 0, err
	}
	mc, err := s.maxConcurrency(t, st, eff, sr)
	if err != nil {
		return nil, 0, err
	}
	mr := &mapRun{s: s, label: s.Label, inputs: make([]any, len(items))}
	for i, it := range items {
		if mr.inputs[i], err = s.selectItem(t, eff, sr, i, it); err != nil {
			return nil, 0, err
		}
	}
	if s.ItemBatcher != nil {
		mr.inputs, mr.firstIndex, err = s.batch(st, env, mr.inputs)
		if err != nil {
			return nil, 0, err
		}
	} else {
		mr.firstIndex = make([]int, len(mr.inputs))
		for i := range mr.firstIndex {
			mr.firstIndex[i] = i
		}
	}
	if mr.tolPct, mr.tolCount, err = s.tolerance(env); err != nil {
		return nil, 0, err
	}
	if mr.label == "" {
		mr.label = st.Name
	}
	r := t.r
	mr.id = t.nextID("maprun")
	mr.arn = fmt.Sprintf("arn:aws:states:%s:%s:mapRun:%s/%s:%s", r.opts.Region, r.opts.Account, r.smName, mr.label, mr.id)
	return mr, mc, nil
}

// exceededNow reports whether f failed children exceed the tolerance.
func (mr *mapRun) exceededNow(f int64) bool {
	n := len(mr.inputs)
	if mr.tolPct == nil && mr.tolCount == nil {
		return f > 0
	}
	if mr.tolCount != nil && f > int64(*mr.tolCount) {
		return true
	}
	return mr.tolPct != nil && n > 0 && float64(f)*100/float64(n) > *mr.tolPct
}

// runChildren runs one child execution per input, mc at a time, and stops
// starting new ones once the tolerated failures are exceeded.
func (mr *mapRun) runChildren(ctx context.Context, r *run, mc int) []childResult {
	results := make([]childResult, len(mr.inputs))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := new(errgroup.Group)
	g.SetLimit(r.limit(mc))
	for i, in := range mr.inputs {
		if rctx.Err() != nil {
			break
		}
		g.Go(func() error {
			name := newUUID(fmt.Sprintf("%s|%d", mr.arn, i))
			child := r.childRun(fmt.Sprintf("%s/%s", r.smName, mr.label), name, mr.arn, mr.firstIndex[i], in)
			out := child.runChild(rctx, mr.s.Processor, in)
			results[i] = childResult{exec: child.exec, output: out}
			if child.exec.Status != StatusSucceeded && rctx.Err() == nil {
				if mr.exceededNow(mr.failed.Add(1)) {
					mr.exceeded.Store(true)
					cancel()
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// childRun prepares a child execution of a Map Run.
func (r *run) childRun(smLabel, name, mapRunArn string, index int, input any) *run {
	arn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", r.opts.Region, r.opts.Account, smLabel, name)
	c := &run{opts: r.opts, clock: r.clock, input: input, smArn: r.smArn, smName: r.smName, mock: r.mock, obs: r.obs, log: r.log}
	c.exec = &Execution{Arn: arn, Name: name, StateMachineArn: r.smArn}
	c.hist = &history{obs: r.obs, arn: arn, mapRun: mapRunArn, index: index}
	c.exec.hist = c.hist
	c.deadline = r.deadline
	return c
}

// runChild runs a child execution; it returns its decoded output.
func (c *run) runChild(ctx context.Context, sm *StateMachine, input any) any {
	c.runExecution(ctx, sm, input, "")
	if c.exec.Status != StatusSucceeded {
		return nil
	}
	v, _ := decodeJSON(c.exec.Output)
	return v
}

// batch groups item inputs per ItemBatcher into {"Items": [...],
// "BatchInput": ...} inputs; it also returns each batch's first index.
func (s *mapState) batch(st *State, env *fieldEnv, inputs []any) ([]any, []int, error) {
	b := s.ItemBatcher
	maxItems, err := env.positiveInt(st, b.MaxItemsPerBatch, b.MaxItemsPerBatchPath, b.maxItemsExpr, "MaxItemsPerBatch")
	if err != nil {
		return nil, nil, err
	}
	maxBytes, err := env.positiveInt(st, b.MaxInputBytesPerBatch, b.MaxInputBytesPerBatchPath, b.maxBytesExpr, "MaxInputBytesPerBatch")
	if err != nil {
		return nil, nil, err
	}
	if maxBytes == 0 || maxBytes > maxPayloadBytes {
		maxBytes = maxPayloadBytes
	}
	var batchInput any
	if b.BatchInput != nil {
		if batchInput, err = env.template(b.BatchInput, "ItemBatcher.BatchInput"); err != nil {
			return nil, nil, err
		}
	}
	var out []any
	var first []int
	var cur []any
	curBytes := 0
	flush := func(end int) {
		if len(cur) == 0 {
			return
		}
		m := map[string]any{"Items": cur}
		if batchInput != nil {
			m["BatchInput"] = batchInput
		}
		out = append(out, m)
		first = append(first, end-len(cur))
		cur, curBytes = nil, 0
	}
	for i, in := range inputs {
		sz := len(mustJSON(in)) + 1
		if len(cur) > 0 && ((maxItems > 0 && len(cur) >= maxItems) || curBytes+sz > maxBytes) {
			flush(i)
		}
		cur = append(cur, in)
		curBytes += sz
	}
	flush(len(inputs))
	return out, first, nil
}

// tolerance evaluates the tolerated failure percentage and count (their
// Path forms accept numbers and numeric strings; AWS's causes).
func (s *mapState) tolerance(env *fieldEnv) (*float64, *int, error) {
	pct, cnt := s.ToleratedFailurePercentage, s.ToleratedFailureCount
	if s.tolPctExpr != nil || s.tolCountExpr != nil {
		return s.jsonataTolerance(env.ata, pct, cnt)
	}
	if p := s.ToleratedFailurePercentagePath; p != "" {
		v, err := env.path(p, "ToleratedFailurePercentagePath")
		if err != nil {
			return nil, nil, err
		}
		f, ok := numberOrNumeric(v, false)
		switch {
		case !ok:
			return nil, nil, newErr(ErrRuntime, "The ToleratedFailurePercentagePath field refers to value \"%s\" which is not a valid float: %s", rawValue(v), p)
		case f < 0 || f > 100:
			return nil, nil, newErr(ErrRuntime, "ToleratedFailurePercentage must be between 0 and 100.")
		}
		pct = &f
	}
	if p := s.ToleratedFailureCountPath; p != "" {
		v, err := env.path(p, "ToleratedFailureCountPath")
		if err != nil {
			return nil, nil, err
		}
		f, ok := numberOrNumeric(v, true)
		switch {
		case !ok:
			return nil, nil, newErr(ErrRuntime, "The ToleratedFailureCountPath field refers to value \"%s\" which is not a valid integer: %s", rawValue(v), p)
		case f < 0:
			return nil, nil, newErr(ErrRuntime, "ToleratedFailureCount cannot be negative.")
		}
		c := int(f)
		cnt = &c
	}
	return pct, cnt, nil
}

// jsonataTolerance evaluates JSONata ToleratedFailurePercentage and
// ToleratedFailureCount expressions.
func (s *mapState) jsonataTolerance(env *jsonataEnv, pct *float64, cnt *int) (*float64, *int, error) {
	if s.tolPctExpr != nil {
		v, err := env.eval(s.tolPctExpr, "ToleratedFailurePercentage")
		if err != nil {
			return nil, nil, err
		}
		f, ok := numberOrNumeric(v, false)
		if !ok || f < 0 || f > 100 {
			return nil, nil, newErr(ErrQueryEvaluationError, "ToleratedFailurePercentage must be between 0 and 100, got %s", mustJSON(v))
		}
		pct = &f
	}
	if s.tolCountExpr != nil {
		n, err := env.integer(s.tolCountExpr, "ToleratedFailureCount", 0)
		if err != nil {
			return nil, nil, err
		}
		cnt = &n
	}
	return pct, cnt, nil
}

// fieldEnv evaluates a Map state's fields in its query language: JSONPath
// templates and paths, or JSONata (ata set).
type fieldEnv struct {
	*evalEnv
	ata *jsonataEnv
}

// template evaluates a payload template (Parameters, or JSONata Arguments).
func (f *fieldEnv) template(tpl any, field string) (any, error) {
	if f.ata != nil {
		return f.ata.eval(tpl, strings.ReplaceAll(field, ".Parameters", ".Arguments"))
	}
	return f.evalEnv.template(tpl, field)
}

// positiveInt evaluates a positive integer field: fixed, its Path form or
// a JSONata expression.
func (f *fieldEnv) positiveInt(st *State, fixed int, path string, expr any, field string) (int, error) {
	if expr != nil {
		return f.ata.integer(expr, field, 1)
	}
	return positiveInt(f.evalEnv, st, fixed, path, field+"Path")
}

// numberOrNumeric reads a number, or a string holding an integer; integer
// refuses non-integers.
func numberOrNumeric(v any, integer bool) (float64, bool) {
	if s, ok := v.(string); ok {
		n, err := strconv.ParseInt(s, 10, 64)
		return float64(n), err == nil
	}
	if n, ok := v.(int64); ok {
		return float64(n), true
	}
	f, ok := v.(float64)
	return f, ok && !integer
}

// executionRecord is one child execution in NONE transformation form.
func executionRecord(e *Execution) map[string]any {
	m := map[string]any{
		"ExecutionArn":    e.Arn,
		"Name":            e.Name,
		"Input":           string(e.Input),
		"InputDetails":    map[string]any{"Included": true},
		"StartDate":       isoTime(e.StartDate),
		"StopDate":        isoTime(e.StopDate),
		"StateMachineArn": e.StateMachineArn,
		"Status":          e.Status,
		"RedriveCount":    int64(0),
	}
	if e.Status == StatusSucceeded {
		m["Output"] = string(e.Output)
		m["OutputDetails"] = map[string]any{"Included": true}
	} else {
		m["Error"], m["Cause"] = e.Error, e.Cause
	}
	return m
}

// shape returns a child's records in the ResultWriter's transformation.
func shape(c childResult, transformation string) []any {
	if c.exec.Status != StatusSucceeded || transformation == "NONE" {
		return []any{executionRecord(c.exec)}
	}
	if arr, ok := c.output.([]any); ok && transformation == "FLATTEN" {
		return arr
	}
	return []any{c.output}
}

// mapRunOutput builds the Map state's result, exporting it through the
// ResultWriter when one is configured.
func (s *mapState) mapRunOutput(ctx context.Context, t *thread, st *State, env *fieldEnv, mr *mapRun, results []childResult) (any, error) {
	rw := s.ResultWriter
	if rw == nil || rw.Resource == "" {
		transformation := "COMPACT"
		if rw != nil {
			transformation = rw.Transformation
		}
		out := make([]any, 0, len(results))
		for _, c := range results {
			out = append(out, shape(c, transformation)...)
		}
		return out, nil
	}
	w := &resultExport{ctx: ctx, t: t, rw: rw, st: st, files: map[string]any{"SUCCEEDED": []any{}, "FAILED": []any{}, "PENDING": []any{}}}
	if t.r.opts.ResultWriter == nil {
		return nil, w.fail("no ResultWriter is configured in Options to export the results")
	}
	params, err := env.template(rw.Parameters, "ResultWriter.Parameters")
	if err != nil {
		return nil, err
	}
	var prefix string
	w.bucket, prefix = bucketKey(params, "Prefix")
	if w.bucket == "" {
		return nil, w.fail("the ResultWriter Parameters must give Bucket, got %s", mustJSON(params))
	}
	w.base = mr.id + "/"
	if p := strings.TrimSuffix(prefix, "/"); p != "" {
		w.base = p + "/" + w.base
	}
	return w.export(mr, results)
}

// resultExport writes a Map Run's result files and manifest.
type resultExport struct {
	ctx          context.Context
	t            *thread
	rw           *ResultWriterConfig
	st           *State
	bucket, base string
	files        map[string]any
}

func (w *resultExport) fail(format string, args ...any) error {
	return newErr(ErrResultWriterFailed, "Map state %q: "+format, append([]any{w.st.Name}, args...)...)
}

func (w *resultExport) export(mr *mapRun, results []childResult) (any, error) {
	var succeeded, failed []any
	for _, c := range results {
		if c.exec.Status == StatusSucceeded {
			succeeded = append(succeeded, shape(c, w.rw.Transformation)...)
		} else {
			failed = append(failed, executionRecord(c.exec))
		}
	}
	if err := w.write("SUCCEEDED", succeeded); err != nil {
		return nil, err
	}
	if err := w.write("FAILED", failed); err != nil {
		return nil, err
	}
	manifest, _ := encodeJSON(map[string]any{"DestinationBucket": w.bucket, "MapRunArn": mr.arn, "ResultFiles": w.files})
	key := w.base + "manifest.json"
	if err := w.t.r.opts.ResultWriter.WriteObject(w.ctx, w.rw.Resource, w.bucket, key, manifest); err != nil {
		return nil, w.fail("write s3://%s/%s: %v", w.bucket, key, err)
	}
	return map[string]any{
		"MapRunArn":           mr.arn,
		"ResultWriterDetails": map[string]any{"Bucket": w.bucket, "Key": key},
	}, nil
}

// write stores one result file (SUCCEEDED_0 or FAILED_0) unless empty.
func (w *resultExport) write(status string, recs []any) error {
	if len(recs) == 0 {
		return nil
	}
	var body []byte
	ext := ".json"
	if w.rw.OutputType == "JSONL" {
		ext = ".jsonl"
		var buf bytes.Buffer
		for _, rec := range recs {
			b, _ := encodeJSON(rec)
			buf.Write(b)
			buf.WriteByte('\n')
		}
		body = buf.Bytes()
	} else {
		body, _ = encodeJSON(recs)
	}
	key := w.base + status + "_0" + ext
	if err := w.t.r.opts.ResultWriter.WriteObject(w.ctx, w.rw.Resource, w.bucket, key, body); err != nil {
		return w.fail("write s3://%s/%s: %v", w.bucket, key, err)
	}
	w.files[status] = []any{map[string]any{"Key": key, "Size": int64(len(body))}}
	return nil
}
