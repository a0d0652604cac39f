package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/statemachine"
)

// JobsOptions configure one local execution of the jobs state machine,
// statemachine/jobs.asl.json: what its EventBridge Scheduler schedule
// starts on AWS, and `ferry job run`.
type JobsOptions struct {
	// Steps are the in-process steps (their Deps: the job bookkeeping, the
	// databases jobs run on, the extract store). Required.
	Steps *steps.Steps
	// Template is the SAM template (default ferry.Template).
	Template []byte
	// RunID is the execution name (default "jobs-<UTC timestamp>-<random>").
	RunID string
	// Jobs, Companies and Force are the execution input: with Force, the
	// named jobs run now whether due or not; without, the due ones run.
	Jobs      []string
	Companies []int64
	Force     bool
	// JobConcurrency overrides the template's default when > 0.
	JobConcurrency int
	// Clock is the engine's clock (default real time).
	Clock  asl.Clock
	Logger *slog.Logger
}

// RunJobs executes the jobs state machine once. The error is for an
// execution that could not start; a failed one has Status FAILED, its
// Cause naming each failed job.
func RunJobs(ctx context.Context, o JobsOptions) (*asl.Execution, error) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if o.Steps == nil {
		return nil, errors.New("local: JobsOptions.Steps is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	sm, tasks, err := Prepare(Options{Steps: o.Steps, Template: o.Template, Definition: statemachine.JobsDefinition, Machine: JobsMachine, JobConcurrency: o.JobConcurrency})
	if err != nil {
		return nil, err
	}
	if o.RunID == "" {
		o.RunID = "jobs-" + time.Now().UTC().Format("20060102T150405.000Z") + "-" + randomSuffix()
	}
	input := map[string]any{"force": o.Force}
	if len(o.Jobs) > 0 {
		input["jobs"] = o.Jobs
	}
	if len(o.Companies) > 0 {
		input["companies"] = o.Companies
	}
	in, _ := json.Marshal(input)
	exec, err := sm.Execute(ctx, in, asl.Options{
		Name: o.RunID, StateMachineName: "jobs", Clock: o.Clock, Tasks: tasks, Logger: o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("local: start the jobs execution: %w", err)
	}
	return exec, nil
}
