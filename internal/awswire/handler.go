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
// The Wire can open MySQL targets, the source, the admin database and the
// store; opts add the rest (WithPostgres, WithEventBridge), so a function
// links only the drivers it uses:
//
//	lambda.Start(awswire.Handler(awswire.ForExportChunk, (*steps.Steps).ExportChunk))
//	lambda.Start(awswire.Handler(awswire.ForLoadChunk, (*steps.Steps).LoadChunk, awswire.WithPostgres()))
func Handler[In, Out any](need Need, step Step[In, Out], opts ...Option) func(context.Context, In) (Out, error) {
	return handlerFrom(os.Getenv, need, step, opts...)
}

func handlerFrom[In, Out any](getenv func(string) string, need Need, step Step[In, Out], opts ...Option) func(context.Context, In) (Out, error) {
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
			wire = newWire(env, opts...)
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
