// Package local runs Ferry's real workflow, statemachine/ferry.asl.json,
// on one machine: the ASL engine (package asl) executes the definition,
// its lambda:invoke Tasks call the steps (internal/steps) in-process
// through aws-lambda-go's handler path, and the Distributed Map reads its
// manifests from, and writes its results to, a ferry.Store (a directory,
// or any S3-compatible server). It backs `ferry run` and `ferry demo`;
// the demo also starts an embedded MySQL-compatible server (Server).
//
// Nothing here is imported by functions/*: the Lambda binaries stay lean.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/statemachine"
)

// DefaultBucket is the bucket name a local run substitutes for
// ${ChunkBucket} when the store is a directory.
const DefaultBucket = "ferry-local"

// Options configure one local run.
type Options struct {
	// Steps are the in-process steps (their Deps: admin DB, source,
	// target, store). Required.
	Steps *steps.Steps
	// Store is the store the steps use; the Distributed Map's ItemReader
	// and ResultWriter go to it too. Required.
	Store ferry.Store
	// Bucket is the value of ${ChunkBucket}; the ItemReader refuses any
	// other bucket. Default DefaultBucket.
	Bucket string

	// Definition is the ASL with its ${X} placeholders (default
	// statemachine.Definition); Template is the SAM template whose
	// DefinitionSubstitutions fill them (default ferry.Template).
	Definition []byte
	Template   []byte
	// Machine is the template's state machine whose substitutions fill
	// Definition (default FerryMachine).
	Machine string

	// RunID is the execution name, hence the run id (default
	// "local-<UTC timestamp>-<random>"). RunDate (YYYY-MM-DD) and Companies go into
	// the execution input when set.
	RunID     string
	RunDate   string
	Companies []int64
	// CompanyConcurrency and ChunkConcurrency override the template's
	// parameter defaults when > 0.
	CompanyConcurrency int
	ChunkConcurrency   int
	// JobConcurrency overrides the jobs state machine's default when > 0.
	JobConcurrency int

	// Progress receives the progress display (nil: none). Terminal draws a
	// one-line bar redrawn in place; otherwise plain lines are printed.
	Progress io.Writer
	Terminal bool

	// Clock is the engine's clock (default real time).
	Clock  asl.Clock
	Logger *slog.Logger
}

// Result is a finished run.
type Result struct {
	Execution *asl.Execution
	Report    *Report
}

// Failed reports whether the execution did not succeed.
func (r *Result) Failed() bool { return r.Execution.Status != asl.StatusSucceeded }

// Function logical ids of template.yaml and the step each one runs: the
// same funcs functions/*/main.go hand to lambda.Start.
var functionSteps = map[string]func(*steps.Steps) any{
	"ListTablesFunction":  func(s *steps.Steps) any { return s.Function },
	"ExportChunkFunction": func(s *steps.Steps) any { return s.ExportChunk },
	"LoadChunkFunction":   func(s *steps.Steps) any { return s.LoadChunk },
	"SwapTablesFunction":  func(s *steps.Steps) any { return s.SwapTables },
	"RunJobFunction":      func(s *steps.Steps) any { return s.RunJob },
}

// Prepare resolves the definition's substitutions from the template and
// parses it. It returns the state machine and the task handlers by
// function ARN.
func Prepare(o Options) (*asl.StateMachine, map[string]asl.TaskHandler, error) {
	def := o.Definition
	if def == nil {
		def = statemachine.Definition
	}
	tpl := o.Template
	if tpl == nil {
		tpl = ferry.Template
	}
	t, err := ParseTemplate(tpl)
	if err != nil {
		return nil, nil, err
	}
	if o.Machine != "" {
		if t, err = t.Machine(o.Machine); err != nil {
			return nil, nil, err
		}
	}
	bucket := o.Bucket
	if bucket == "" {
		bucket = DefaultBucket
	}
	params := map[string]string{}
	if o.CompanyConcurrency > 0 {
		params["CompanyConcurrency"] = strconv.Itoa(o.CompanyConcurrency)
	}
	if o.ChunkConcurrency > 0 {
		params["ChunkConcurrency"] = strconv.Itoa(o.ChunkConcurrency)
	}
	if o.JobConcurrency > 0 {
		params["JobConcurrency"] = strconv.Itoa(o.JobConcurrency)
	}
	res, err := t.Resolve(params, map[string]string{"ChunkBucket": bucket})
	if err != nil {
		return nil, nil, err
	}
	filled, err := statemachine.Substitute(def, res.Values)
	if err != nil {
		return nil, nil, fmt.Errorf("local: %w", err)
	}
	sm, err := asl.Parse(filled)
	if err != nil {
		return nil, nil, fmt.Errorf("local: the state machine definition is invalid: %w", err)
	}
	tasks := map[string]asl.TaskHandler{}
	for arn, id := range res.Functions {
		mk, ok := functionSteps[id]
		if !ok {
			return nil, nil, fmt.Errorf("local: the template's function %s has no in-process step (known: ListTablesFunction, ExportChunkFunction, LoadChunkFunction, SwapTablesFunction, RunJobFunction)", id)
		}
		if o.Steps == nil {
			return nil, nil, errors.New("local: Options.Steps is required")
		}
		// One lambda.NewHandler instance per concurrent invocation (see
		// asl.LambdaFunction), through the real JSON path.
		tasks[arn] = asl.LambdaFunction(mk(o.Steps))
	}
	return sm, tasks, nil
}

// Run executes the workflow once and returns the execution and its
// report. The error is for a run that could not start (bad definition,
// template or options); a failed execution is a Result with Failed().
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Store == nil {
		return nil, errors.New("local: Options.Store is required")
	}
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	sm, tasks, err := Prepare(o)
	if err != nil {
		return nil, err
	}
	if o.RunID == "" {
		// Unique even for runs started in the same second: a finished
		// run's id cannot be used again.
		o.RunID = "local-" + time.Now().UTC().Format("20060102T150405.000Z") + "-" + randomSuffix()
	}
	input := map[string]any{}
	if o.RunDate != "" {
		input["run_date"] = o.RunDate
	}
	if len(o.Companies) > 0 {
		input["companies"] = o.Companies
	}
	in, _ := json.Marshal(input)

	prog := newProgress(o.Progress, o.Terminal)
	defer prog.stop()
	exec, err := sm.Execute(ctx, in, asl.Options{
		Name:             o.RunID,
		StateMachineName: "ferry",
		Clock:            o.Clock,
		Tasks:            tasks,
		ItemReader:       storeReader{store: o.Store, bucket: o.Bucket},
		ResultWriter:     storeWriter{store: o.Store, bucket: o.Bucket},
		Observer:         prog.observe,
		Logger:           o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("local: start execution: %w", err)
	}
	prog.stop()
	rep := prog.report(ctx, o.Store, exec)
	return &Result{Execution: exec, Report: rep}, nil
}

// storeReader is the Distributed Map's ItemReader: s3:getObject on the
// run's bucket, served from the store.
type storeReader struct {
	store  ferry.Store
	bucket string
}

func (r storeReader) ReadObject(ctx context.Context, resource, bucket, key string) ([]byte, error) {
	if bucket != r.bucket {
		return nil, fmt.Errorf("local: ItemReader: bucket %q is not this run's bucket %q", bucket, r.bucket)
	}
	rc, err := r.store.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("local: ItemReader: s3://%s/%s: %w", bucket, key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("local: ItemReader: read s3://%s/%s: %w", bucket, key, err)
	}
	return b, nil
}

// storeWriter is the Distributed Map's ResultWriter (s3:putObject).
type storeWriter struct {
	store  ferry.Store
	bucket string
}

func (w storeWriter) WriteObject(ctx context.Context, resource, bucket, key string, body []byte) error {
	if bucket != w.bucket {
		return fmt.Errorf("local: ResultWriter: bucket %q is not this run's bucket %q", bucket, w.bucket)
	}
	ow, err := w.store.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("local: ResultWriter: s3://%s/%s: %w", bucket, key, err)
	}
	if _, err := io.Copy(ow, bytes.NewReader(body)); err != nil {
		ow.Abort()
		return fmt.Errorf("local: ResultWriter: write s3://%s/%s: %w", bucket, key, err)
	}
	if err := ow.Commit(); err != nil {
		return fmt.Errorf("local: ResultWriter: commit s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// randomSuffix is 4 random hex digits.
func randomSuffix() string {
	b := make([]byte, 2)
	rand.Read(b)
	return hex.EncodeToString(b)
}
