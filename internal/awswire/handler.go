package awswire

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
// in a container it reads the environment and opens what need names; later
// invocations reuse the open connections. A configuration or connection
// failure is returned as the step's typed error (ConfigError, or
// RetryableError for a transient one) and retried on the next invocation;
// a refused login drops the cached secrets (see Wire.Fail).
//
//	lambda.Start(awswire.Handler(awswire.ForExportChunk, (*steps.Steps).ExportChunk))
func Handler[In, Out any](need Need, step Step[In, Out]) func(context.Context, In) (Out, error) {
	return handlerFrom(os.Getenv, need, step)
}

func handlerFrom[In, Out any](getenv func(string) string, need Need, step Step[In, Out]) func(context.Context, In) (Out, error) {
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
			wire = New(env)
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
		if err != nil {
			return out, wire.Fail(err)
		}
		return out, nil
	}
}
