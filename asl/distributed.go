package asl

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// ItemReader fetches the object a Distributed Map's ItemReader names. The
// engine evaluates the ItemReader's Parameters and parses the returned
// bytes itself (JSON array, JSON Lines or CSV per ReaderConfig.InputType).
type ItemReader interface {
	// ReadObject returns the object's bytes. resource is the ItemReader's
	// Resource (e.g. arn:aws:states:::s3:getObject).
	ReadObject(ctx context.Context, resource, bucket, key string) ([]byte, error)
}

// ItemReaderFunc adapts a function to ItemReader.
type ItemReaderFunc func(ctx context.Context, resource, bucket, key string) ([]byte, error)

// ReadObject calls f.
func (f ItemReaderFunc) ReadObject(ctx context.Context, resource, bucket, key string) ([]byte, error) {
	return f(ctx, resource, bucket, key)
}

// ResultWriter stores the objects a Distributed Map's ResultWriter
// exports: the result files and manifest.json under
// Prefix/<map run id>/. Writes must be idempotent (same key, same bytes).
type ResultWriter interface {
	WriteObject(ctx context.Context, resource, bucket, key string, body []byte) error
}

// ResultWriterFunc adapts a function to ResultWriter.
type ResultWriterFunc func(ctx context.Context, resource, bucket, key string, body []byte) error

// WriteObject calls f.
func (f ResultWriterFunc) WriteObject(ctx context.Context, resource, bucket, key string, body []byte) error {
	return f(ctx, resource, bucket, key, body)
}

// childResult is the outcome of one child execution of a Map Run.
type childResult struct {
	exec   *Execution
	output any
}

// distributedMap runs a DISTRIBUTED Map: one child execution per item or
// batch, each with its own history. The parent history only records
// MapStateStarted, MapRunStarted and the Map Run's end.
func (t *thread) distributedMap(ctx context.Context, st *State, eff any, sr *stateRun) (any, error) {
	r := t.r
	env := t.env(eff, sr)
	var items []any
	var err error
	if st.ItemReader != nil {
		items, err = t.readItems(ctx, st, env)
	} else {
		items, err = t.items(st, eff, sr)
	}
	if err != nil {
		return nil, err
	}
	mc, err := t.maxConcurrency(st, eff, sr)
	if err != nil {
		return nil, err
	}
	// Apply ItemSelector, then batch.
	inputs := make([]any, len(items))
	for i, it := range items {
		if inputs[i], err = t.selectItem(st, eff, sr, i, it); err != nil {
			return nil, err
		}
	}
	firstIndex := make([]int, 0, len(inputs))
	if b := st.ItemBatcher; b != nil {
		inputs, firstIndex, err = t.batch(st, env, inputs)
		if err != nil {
			return nil, err
		}
	} else {
		for i := range inputs {
			firstIndex = append(firstIndex, i)
		}
	}
	tolPct, tolCount, err := t.tolerance(st, env)
	if err != nil {
		return nil, err
	}
	label := st.Label
	if label == "" {
		label = st.Name
	}
	runID := t.nextID("maprun")
	mapRunArn := fmt.Sprintf("arn:aws:states:%s:%s:mapRun:%s/%s:%s", r.opts.Region, r.opts.Account, r.smName, label, runID)
	n := len(inputs)
	t.event("MapStateStarted", func(e *Event) { e.MapStateStartedEventDetails = &MapStateStartedDetails{Length: n} })
	t.event("MapRunStarted", func(e *Event) { e.MapRunStartedEventDetails = &MapRunStartedDetails{MapRunArn: mapRunArn} })

	results := make([]childResult, n)
	var failed atomic.Int64
	var exceeded atomic.Bool
	exceededNow := func(f int64) bool {
		if tolPct == nil && tolCount == nil {
			return f > 0
		}
		if tolCount != nil && f > int64(*tolCount) {
			return true
		}
		return tolPct != nil && n > 0 && float64(f)*100/float64(n) > *tolPct
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := new(errgroup.Group)
	g.SetLimit(r.limit(mc))
	for i, in := range inputs {
		if rctx.Err() != nil {
			break
		}
		g.Go(func() error {
			name := newUUID(fmt.Sprintf("%s|%d", mapRunArn, i))
			child := r.childRun(fmt.Sprintf("%s/%s", r.smName, label), name, mapRunArn, firstIndex[i], in)
			out := child.runChild(rctx, st.Processor, in)
			results[i] = childResult{exec: child.exec, output: out}
			if child.exec.Status != StatusSucceeded && rctx.Err() == nil {
				if exceededNow(failed.Add(1)) {
					exceeded.Store(true)
					cancel()
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := t.checkAlive(ctx); err != nil {
		return nil, err
	}
	if exceeded.Load() || exceededNow(failed.Load()) {
		te := newErr(ErrExceedToleratedFailure, "%s: %d of %d child executions of Map Run %s failed", toleratedFailureThresholdCause, failed.Load(), n, mapRunArn)
		t.event("MapRunFailed", func(e *Event) { e.MapRunFailedEventDetails = &ErrorDetails{Error: te.Name, Cause: te.Cause} })
		t.event("MapStateFailed", nil)
		return nil, te
	}
	out, err := t.mapRunOutput(ctx, st, env, mapRunArn, runID, results)
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
// "BatchInput": ...} inputs.
func (t *thread) batch(st *State, env *evalEnv, inputs []any) ([]any, []int, error) {
	b := st.ItemBatcher
	maxItems, maxBytes := b.MaxItemsPerBatch, b.MaxInputBytesPerBatch
	num := func(p, field string) (int, error) {
		v, err := env.path(p, field)
		if err != nil {
			return 0, err
		}
		f, ok := toFloat(v)
		if !ok || f < 1 {
			return 0, newErr(ErrRuntime, "%s %q of state %q must select a positive integer, got %s", field, p, st.Name, mustJSON(v))
		}
		return int(f), nil
	}
	var err error
	if b.MaxItemsPerBatchPath != "" {
		if maxItems, err = num(b.MaxItemsPerBatchPath, "MaxItemsPerBatchPath"); err != nil {
			return nil, nil, err
		}
	}
	if b.MaxInputBytesPerBatchPath != "" {
		if maxBytes, err = num(b.MaxInputBytesPerBatchPath, "MaxInputBytesPerBatchPath"); err != nil {
			return nil, nil, err
		}
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

func (t *thread) tolerance(st *State, env *evalEnv) (*float64, *int, error) {
	pct, cnt := st.ToleratedFailurePercentage, st.ToleratedFailureCount
	if p := st.ToleratedFailurePercentagePath; p != "" {
		v, err := env.path(p, "ToleratedFailurePercentagePath")
		if err != nil {
			return nil, nil, err
		}
		f, ok := toFloat(v)
		if !ok || f < 0 || f > 100 {
			return nil, nil, newErr(ErrRuntime, "ToleratedFailurePercentagePath %q must select a number between 0 and 100, got %s", p, mustJSON(v))
		}
		pct = &f
	}
	if p := st.ToleratedFailureCountPath; p != "" {
		v, err := env.path(p, "ToleratedFailureCountPath")
		if err != nil {
			return nil, nil, err
		}
		f, ok := toFloat(v)
		if !ok || f < 0 {
			return nil, nil, newErr(ErrRuntime, "ToleratedFailureCountPath %q must select a non-negative integer, got %s", p, mustJSON(v))
		}
		c := int(f)
		cnt = &c
	}
	return pct, cnt, nil
}

// bucketKey extracts Bucket and Key (or Prefix) from evaluated Parameters.
func bucketKey(v any, keyField string) (string, string) {
	m, _ := v.(map[string]any)
	b, _ := m["Bucket"].(string)
	k, _ := m[keyField].(string)
	return b, k
}

// readItems fetches and parses the ItemReader's object.
func (t *thread) readItems(ctx context.Context, st *State, env *evalEnv) ([]any, error) {
	rc := st.ItemReader
	fail := func(format string, args ...any) error {
		return newErr(ErrItemReaderFailed, "Map state %q: "+format, append([]any{st.Name}, args...)...)
	}
	if !strings.HasSuffix(rc.Resource, ":s3:getObject") {
		return nil, fail("the ItemReader Resource %q is not supported: only arn:aws:states:::s3:getObject is", rc.Resource)
	}
	if t.r.opts.ItemReader == nil {
		return nil, fail("no ItemReader is configured in Options to fetch objects")
	}
	params, err := env.template(rc.Parameters, "ItemReader.Parameters")
	if err != nil {
		return nil, err
	}
	bucket, key := bucketKey(params, "Key")
	if bucket == "" || key == "" {
		return nil, fail("the ItemReader Parameters must give Bucket and Key, got %s", mustJSON(params))
	}
	body, err := t.r.opts.ItemReader.ReadObject(ctx, rc.Resource, bucket, key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fail("read s3://%s/%s: %v", bucket, key, err)
	}
	maxItems := rc.MaxItems
	if rc.MaxItemsPath != "" {
		v, err := env.path(rc.MaxItemsPath, "ItemReader.ReaderConfig.MaxItemsPath")
		if err != nil {
			return nil, err
		}
		f, _ := toFloat(v)
		maxItems = int(f)
	}
	var items []any
	switch rc.InputType {
	case "", "JSON":
		v, err := decodeJSON(body)
		if err != nil {
			return nil, fail("s3://%s/%s is not valid JSON: %v", bucket, key, err)
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, fail("s3://%s/%s must hold a JSON array, got %s", bucket, key, kindOf(v))
		}
		items = arr
	case "JSONL":
		for i, line := range bytes.Split(body, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			v, err := decodeJSON(line)
			if err != nil {
				return nil, fail("s3://%s/%s line %d is not valid JSON: %v", bucket, key, i+1, err)
			}
			items = append(items, v)
		}
	case "CSV":
		cr := csv.NewReader(bytes.NewReader(body))
		cr.Comma = csvDelimiters[rc.CSVDelimiter]
		cr.FieldsPerRecord = -1
		headers := rc.CSVHeaders
		first := rc.CSVHeaderLocation == "FIRST_ROW"
		for row := 1; ; row++ {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fail("s3://%s/%s: CSV: %v", bucket, key, err)
			}
			if first {
				headers, first = rec, false
				continue
			}
			if len(rec) != len(headers) {
				return nil, fail("s3://%s/%s: CSV row %d has %d fields but there are %d headers", bucket, key, row, len(rec), len(headers))
			}
			m := make(map[string]any, len(rec))
			for i, h := range headers {
				m[h] = rec[i]
			}
			items = append(items, m)
			if maxItems > 0 && len(items) >= maxItems {
				break
			}
		}
	default:
		return nil, fail("ReaderConfig.InputType %q is not supported", rc.InputType)
	}
	if maxItems > 0 && len(items) > maxItems {
		items = items[:maxItems]
	}
	return items, nil
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

// mapRunOutput builds the Map state's result, exporting it through the
// ResultWriter when one is configured.
func (t *thread) mapRunOutput(ctx context.Context, st *State, env *evalEnv, mapRunArn, runID string, results []childResult) (any, error) {
	transformation, outputType := "COMPACT", "JSON"
	rw := st.ResultWriter
	if rw != nil {
		transformation, outputType = rw.Transformation, rw.OutputType
	}
	shape := func(c childResult) []any {
		if c.exec.Status != StatusSucceeded || transformation == "NONE" {
			return []any{executionRecord(c.exec)}
		}
		if arr, ok := c.output.([]any); ok && transformation == "FLATTEN" {
			return arr
		}
		return []any{c.output}
	}
	if rw == nil || rw.Resource == "" {
		out := make([]any, 0, len(results))
		for _, c := range results {
			out = append(out, shape(c)...)
		}
		return out, nil
	}
	fail := func(format string, args ...any) error {
		return newErr(ErrResultWriterFailed, "Map state %q: "+format, append([]any{st.Name}, args...)...)
	}
	if t.r.opts.ResultWriter == nil {
		return nil, fail("no ResultWriter is configured in Options to export the results")
	}
	params, err := env.template(rw.Parameters, "ResultWriter.Parameters")
	if err != nil {
		return nil, err
	}
	bucket, prefix := bucketKey(params, "Prefix")
	if bucket == "" {
		return nil, fail("the ResultWriter Parameters must give Bucket, got %s", mustJSON(params))
	}
	base := runID + "/"
	if p := strings.TrimSuffix(prefix, "/"); p != "" {
		base = p + "/" + base
	}
	var succeeded, failed []any
	for _, c := range results {
		if c.exec.Status == StatusSucceeded {
			succeeded = append(succeeded, shape(c)...)
		} else {
			failed = append(failed, executionRecord(c.exec))
		}
	}
	files := map[string]any{"SUCCEEDED": []any{}, "FAILED": []any{}, "PENDING": []any{}}
	write := func(status string, recs []any) error {
		if len(recs) == 0 {
			return nil
		}
		var body []byte
		ext := ".json"
		if outputType == "JSONL" {
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
		key := base + status + "_0" + ext
		if err := t.r.opts.ResultWriter.WriteObject(ctx, rw.Resource, bucket, key, body); err != nil {
			return fail("write s3://%s/%s: %v", bucket, key, err)
		}
		files[status] = []any{map[string]any{"Key": key, "Size": int64(len(body))}}
		return nil
	}
	if err := write("SUCCEEDED", succeeded); err != nil {
		return nil, err
	}
	if err := write("FAILED", failed); err != nil {
		return nil, err
	}
	manifest, _ := encodeJSON(map[string]any{"DestinationBucket": bucket, "MapRunArn": mapRunArn, "ResultFiles": files})
	key := base + "manifest.json"
	if err := t.r.opts.ResultWriter.WriteObject(ctx, rw.Resource, bucket, key, manifest); err != nil {
		return nil, fail("write s3://%s/%s: %v", bucket, key, err)
	}
	return map[string]any{
		"MapRunArn":           mapRunArn,
		"ResultWriterDetails": map[string]any{"Bucket": bucket, "Key": key},
	}, nil
}
