package asl

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

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
	maxItemsExpr      any // JSONata
}

// ItemBatcherConfig is a Map's ItemBatcher.
type ItemBatcherConfig struct {
	MaxItemsPerBatch           int
	MaxItemsPerBatchPath       string
	MaxInputBytesPerBatch      int
	MaxInputBytesPerBatchPath  string
	BatchInput                 any
	maxItemsExpr, maxBytesExpr any // JSONata
}

// ResultWriterConfig is a Distributed Map's ResultWriter.
type ResultWriterConfig struct {
	Resource       string
	Parameters     any
	OutputType     string // JSON (default) or JSONL
	Transformation string // NONE, COMPACT, FLATTEN
}

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

// parseIO reads ItemReader, ItemBatcher and ResultWriter.
func (s *mapState) parseIO(p *parser, o map[string]any, w string) {
	if v, has := o["ItemReader"]; has {
		s.ItemReader = p.itemReader(v, w+".ItemReader")
	}
	if v, has := o["ItemBatcher"]; has {
		s.ItemBatcher = p.itemBatcher(v, w+".ItemBatcher")
	}
	if v, has := o["ResultWriter"]; has {
		s.ResultWriter = p.resultWriter(v, w+".ResultWriter")
	}
}

func (p *parser) itemReader(v any, w string) *ItemReaderConfig {
	o, ok := p.object(v, w)
	if !ok {
		return nil
	}
	r := &ItemReaderConfig{InputType: "JSON"}
	r.Resource = p.str(o, "Resource", w)
	if r.Resource == "" {
		p.add(w, "Resource is required")
	}
	r.Parameters = p.arguments(o, w, "in an ItemReader", "Resource", "ReaderConfig")
	if rc, ok := o["ReaderConfig"].(map[string]any); ok {
		p.readerConfig(r, rc, w+".ReaderConfig")
	}
	if r.InputType == "CSV" && r.CSVHeaderLocation == "" {
		p.add(w+".ReaderConfig", "CSVHeaderLocation is required for CSV input")
	}
	if r.CSVHeaderLocation == "GIVEN" && len(r.CSVHeaders) == 0 {
		p.add(w+".ReaderConfig", "CSVHeaders is required when CSVHeaderLocation is GIVEN")
	}
	return r
}

func (p *parser) readerConfig(r *ItemReaderConfig, rc map[string]any, rw string) {
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
			if e, ok := p.exprField(rc, k, rw); ok {
				r.maxItemsExpr = e
				continue
			}
			r.MaxItems = p.posInt(rc, k, rw)
		case "MaxItemsPath":
			r.MaxItemsPath = p.strPath(rc, k, rw)
		default:
			p.add(rw, "field %q is not valid in a ReaderConfig", k)
		}
	}
}

var csvDelimiters = map[string]rune{"": ',', "COMMA": ',', "PIPE": '|', "SEMICOLON": ';', "SPACE": ' ', "TAB": '\t'}

func (p *parser) itemBatcher(v any, w string) *ItemBatcherConfig {
	o, ok := p.object(v, w)
	if !ok {
		return nil
	}
	b := &ItemBatcherConfig{}
	for _, k := range sortedKeys(o) {
		switch k {
		case "MaxItemsPerBatch":
			if e, ok := p.exprField(o, k, w); ok {
				b.maxItemsExpr = e
				continue
			}
			b.MaxItemsPerBatch = p.posInt(o, k, w)
		case "MaxItemsPerBatchPath":
			b.MaxItemsPerBatchPath = p.strPath(o, k, w)
		case "MaxInputBytesPerBatch":
			if e, ok := p.exprField(o, k, w); ok {
				b.maxBytesExpr = e
				continue
			}
			b.MaxInputBytesPerBatch = p.posInt(o, k, w)
		case "MaxInputBytesPerBatchPath":
			b.MaxInputBytesPerBatchPath = p.strPath(o, k, w)
		case "BatchInput":
			b.BatchInput = p.payload(o[k], w+".BatchInput")
		default:
			p.add(w, "field %q is not valid in an ItemBatcher", k)
		}
	}
	if b.MaxItemsPerBatch == 0 && b.MaxItemsPerBatchPath == "" && b.MaxInputBytesPerBatch == 0 && b.MaxInputBytesPerBatchPath == "" && b.maxItemsExpr == nil && b.maxBytesExpr == nil {
		p.add(w, "an ItemBatcher needs MaxItemsPerBatch, MaxInputBytesPerBatch or one of their Path forms")
	}
	return b
}

func (p *parser) resultWriter(v any, w string) *ResultWriterConfig {
	o, ok := p.object(v, w)
	if !ok {
		return nil
	}
	r := &ResultWriterConfig{OutputType: "JSON"}
	r.Resource = p.str(o, "Resource", w)
	r.Parameters = p.arguments(o, w, "in a ResultWriter", "Resource", "WriterConfig")
	if (r.Resource == "") != (r.Parameters == nil) {
		p.add(w, "Resource and Parameters (JSONata: Arguments) must be given together")
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

// arguments reads an ItemReader's or ResultWriter's Parameters (JSONPath)
// or Arguments (JSONata) and checks its fields (others besides that one).
func (p *parser) arguments(o map[string]any, w, what string, others ...string) any {
	key := "Parameters"
	if p.ql == QueryJSONata {
		key = "Arguments"
	}
	p.onlyFields(o, w, what, append(others, key)...)
	return p.payload(o[key], w+"."+key)
}

// payload reads a payload template in the query language in force:
// JSONPath ".$" keys are checked, JSONata expressions compiled.
func (p *parser) payload(v any, w string) any {
	if p.ql == QueryJSONata {
		return p.jsonataTemplate(v, w)
	}
	p.template(v, w)
	return v
}

// bucketKey extracts Bucket and Key (or Prefix) from evaluated Parameters.
func bucketKey(v any, keyField string) (string, string) {
	m, _ := v.(map[string]any)
	b, _ := m["Bucket"].(string)
	k, _ := m[keyField].(string)
	return b, k
}

// readItems fetches and parses the ItemReader's object.
func (s *mapState) readItems(ctx context.Context, t *thread, st *State, env *fieldEnv) ([]any, error) {
	rc := s.ItemReader
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
	if rc.maxItemsExpr != nil {
		if maxItems, err = env.ata.integer(rc.maxItemsExpr, "ItemReader/ReaderConfig/MaxItems", 0); err != nil {
			return nil, err
		}
	} else if rc.MaxItemsPath != "" {
		v, err := env.path(rc.MaxItemsPath, "ItemReader.ReaderConfig.MaxItemsPath")
		if err != nil {
			return nil, err
		}
		f, _ := toFloat(v)
		maxItems = int(f)
	}
	src := "s3://" + bucket + "/" + key
	items, err := rc.parseItems(body, maxItems, func(format string, args ...any) error {
		return fail("%s"+format, append([]any{src}, args...)...)
	})
	if err != nil {
		return nil, err
	}
	if maxItems > 0 && len(items) > maxItems {
		items = items[:maxItems]
	}
	return items, nil
}

// parseItems parses an ItemReader object per its InputType; fail builds
// the error for a problem in it.
func (rc *ItemReaderConfig) parseItems(body []byte, maxItems int, fail func(string, ...any) error) ([]any, error) {
	switch rc.InputType {
	case "", "JSON":
		v, err := decodeJSON(body)
		if err != nil {
			return nil, fail(" is not valid JSON: %v", err)
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, fail(" must hold a JSON array, got %s", kindOf(v))
		}
		return arr, nil
	case "JSONL":
		var items []any
		for i, line := range bytes.Split(body, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			v, err := decodeJSON(line)
			if err != nil {
				return nil, fail(" line %d is not valid JSON: %v", i+1, err)
			}
			items = append(items, v)
		}
		return items, nil
	case "CSV":
		return rc.parseCSV(body, maxItems, fail)
	}
	return nil, fail(": ReaderConfig.InputType %q is not supported", rc.InputType)
}

func (rc *ItemReaderConfig) parseCSV(body []byte, maxItems int, fail func(string, ...any) error) ([]any, error) {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.Comma = csvDelimiters[rc.CSVDelimiter]
	cr.FieldsPerRecord = -1
	headers := rc.CSVHeaders
	first := rc.CSVHeaderLocation == "FIRST_ROW"
	var items []any
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		if err != nil {
			return nil, fail(": CSV: %v", err)
		}
		if first {
			headers, first = rec, false
			continue
		}
		if len(rec) != len(headers) {
			return nil, fail(": CSV row %d has %d fields but there are %d headers", row, len(rec), len(headers))
		}
		m := make(map[string]any, len(rec))
		for i, h := range headers {
			m[h] = rec[i]
		}
		items = append(items, m)
		if maxItems > 0 && len(items) >= maxItems {
			return items, nil
		}
	}
}
