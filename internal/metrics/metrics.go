// Package metrics writes CloudWatch Embedded Metric Format (EMF) records to
// the Lambda log stream: CloudWatch extracts the metrics from the log line,
// so emitting costs no API call and cannot fail a step.
//
// Dimensions are kept low-cardinality: company alias and table name only;
// run ids and chunk indexes travel as properties, never as dimensions.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of Ferry's metrics.
const Namespace = "Ferry"

// Unit is a CloudWatch metric unit.
type Unit string

// The units Ferry uses.
const (
	Count   Unit = "Count"
	Bytes   Unit = "Bytes"
	Seconds Unit = "Seconds"
)

// Metric is one value.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Emitter writes EMF records, one JSON object per line. The zero value is
// not usable; a nil *Emitter discards everything.
type Emitter struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New returns an Emitter writing to w (os.Stdout in a Lambda).
func New(w io.Writer) *Emitter {
	return &Emitter{w: w, namespace: Namespace, now: time.Now}
}

// WithClock returns e with its clock replaced (tests).
func (e *Emitter) WithClock(now func() time.Time) *Emitter {
	e.now = now
	return e
}

// Emit writes one record with the given dimensions, metrics and extra
// properties. Dimension and property names must not collide with metric
// names. A nil Emitter does nothing.
func (e *Emitter) Emit(dims map[string]string, ms []Metric, props map[string]any) error {
	if e == nil {
		return nil
	}
	rec := make(map[string]any, len(dims)+len(ms)+len(props)+1)
	for k, v := range props {
		rec[k] = v
	}
	dimNames := make([]string, 0, len(dims))
	for k, v := range dims {
		dimNames = append(dimNames, k)
		rec[k] = v
	}
	sort.Strings(dimNames)
	defs := make([]map[string]string, 0, len(ms))
	for _, m := range ms {
		if _, dup := rec[m.Name]; dup {
			return fmt.Errorf("metrics: %q is both a metric and a dimension or property", m.Name)
		}
		rec[m.Name] = m.Value
		defs = append(defs, map[string]string{"Name": m.Name, "Unit": string(m.Unit)})
	}
	rec["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  e.namespace,
			"Dimensions": [][]string{dimNames},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("metrics: encode: %w", err)
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("metrics: write: %w", err)
	}
	return nil
}

// Chunk records one chunk's step (export or load): rows, bytes, seconds.
func (e *Emitter) Chunk(step, company, table, runID string, chunk int, rows, bytes int64, seconds float64) error {
	return e.Emit(
		map[string]string{"Company": company, "Table": table},
		[]Metric{
			{Name: step + "Rows", Unit: Count, Value: float64(rows)},
			{Name: step + "Bytes", Unit: Bytes, Value: float64(bytes)},
			{Name: step + "Seconds", Unit: Seconds, Value: seconds},
		},
		map[string]any{"run_id": runID, "chunk": chunk, "step": step},
	)
}

// TableStats is what one swapped table measured.
type TableStats struct {
	Rows   int64
	Bytes  int64
	Chunks int
	// Seconds is how long the table took, from the run's plan to its swap.
	Seconds float64
}

// Table records one swapped table: rows, bytes, chunks and seconds.
func (e *Emitter) Table(company, table, runID string, s TableStats) error {
	return e.Emit(
		map[string]string{"Company": company, "Table": table},
		[]Metric{
			{Name: "TableRows", Unit: Count, Value: float64(s.Rows)},
			{Name: "TableBytes", Unit: Bytes, Value: float64(s.Bytes)},
			{Name: "TableChunks", Unit: Count, Value: float64(s.Chunks)},
			{Name: "TableSeconds", Unit: Seconds, Value: s.Seconds},
		},
		map[string]any{"run_id": runID},
	)
}

// JobStats is what one job task measured.
type JobStats struct {
	Rows, Batches int64
	Seconds       float64
	Failed        bool
}

// Job records one job task's end: rows affected, batches, seconds and
// JobFailed (1 or 0, for an alarm per job). Dimensions are the job, and
// the company alias when the job runs per company (company "").
func (e *Emitter) Job(job, company, runID string, s JobStats) error {
	dims := map[string]string{"Job": job}
	if company != "" {
		dims["Company"] = company
	}
	failed := 0.0
	if s.Failed {
		failed = 1
	}
	return e.Emit(dims,
		[]Metric{
			{Name: "JobRows", Unit: Count, Value: float64(s.Rows)},
			{Name: "JobBatches", Unit: Count, Value: float64(s.Batches)},
			{Name: "JobSeconds", Unit: Seconds, Value: s.Seconds},
			{Name: "JobFailed", Unit: Count, Value: failed},
		},
		map[string]any{"run_id": runID},
	)
}
