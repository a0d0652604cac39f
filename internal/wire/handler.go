package wire

import (
	"context"
	"os"
	"sync"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/steps"
)

// Step is a step as a method expression, e.g. (*steps.Steps).ExportChunk.
type Step[In, Out any] func(s *steps.Steps, ctx context.Context, in In) (Out, error)

// Handler returns the Lambda handler of one step: on the first invocation
// in a container it reads the environment and opens what need names
// (steps.Needs*); later invocations reuse the open pools, which close their
// idle connections when an invocation ends (CloseIdle). A
// configuration or connection failure is returned as the step's typed
// error (ConfigError, or RetryableError for a transient one) and retried
// on the next invocation; a refused login drops the cached secrets (see
// Wire.Fail).
//
// The Wire opens only what opts give it, so a function links only the
// drivers it uses:
//
//	lambda.Start(wire.Handler(steps.NeedsExportChunk, (*steps.Steps).ExportChunk, wire.WithEngines(mysql.Engine{})))
func Handler[In, Out any](need steps.Need, step Step[In, Out], opts ...Option) func(context.Context, In) (Out, error) {
	return handlerFrom(os.Getenv, need, step, opts...)
}

func handlerFrom[In, Out any](getenv func(string) string, need steps.Need, step Step[In, Out], opts ...Option) func(context.Context, In) (Out, error) {
	var (
		once   sync.Once
		wire   *Wire
		envErr error
	)
	return func(ctx context.Context, in In) (Out, error) {
		once.Do(func() {
			env, err := EnvFrom(getenv)
			if err != nil {
				envErr = err
				return
			}
			wire = New(env, opts...)
		})
		var zero Out
		if envErr != nil {
			return zero, ferry.LambdaError(envErr)
		}
		s, err := wire.Steps(ctx, need)
		if err != nil {
			return zero, wire.Fail(err)
		}
		out, err := step(s, ctx, in)
		// Between invocations the environment is frozen: a connection
		// kept open would count against the connection budget while no
		// step uses it.
		wire.CloseIdle()
		if err != nil {
			return out, wire.Fail(err)
		}
		return out, nil
	}
}
