package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// LambdaHandler adapts an aws-lambda-go handler (for example
// lambda.NewHandler(fn)) to a TaskHandler. The payload goes through
// h.Invoke, the same JSON path the Lambda runtime uses, and a function
// error is named exactly as the Lambda Go runtime names it: the error's
// dynamic type name, one pointer dereferenced (errors.New gives
// "errorString", a *MyError gives "MyError", fmt.Errorf with %w gives
// "wrapError"), with the Cause {"errorMessage":...,"errorType":...}. The
// context carries a lambdacontext.LambdaContext with a request id.
//
// An aws-lambda-go handler is not safe for concurrent use: Invoke returns
// bytes of an output buffer it has already handed back to its pool, as the
// Lambda runtime invokes one event at a time. So calls through one
// LambdaHandler are serialised and the output is copied. Use LambdaFunction
// to run concurrent invocations of a function in parallel.
func LambdaHandler(h lambda.Handler) TaskHandler {
	var mu sync.Mutex
	return lambdaTask(func(ctx context.Context, input []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		out, err := h.Invoke(ctx, input)
		return bytes.Clone(out), err
	})
}

// LambdaFunction is LambdaHandler for a handler function of any signature
// lambda.Start accepts. Each concurrent invocation uses its own
// lambda.NewHandler(fn) instance from a pool, like concurrent Lambda
// execution environments, so invocations run in parallel safely.
func LambdaFunction(fn any) TaskHandler {
	pool := sync.Pool{New: func() any { return lambda.NewHandler(fn) }}
	return lambdaTask(func(ctx context.Context, input []byte) ([]byte, error) {
		h := pool.Get().(lambda.Handler)
		defer pool.Put(h)
		out, err := h.Invoke(ctx, input)
		return bytes.Clone(out), err
	})
}

func lambdaTask(invoke func(ctx context.Context, input []byte) ([]byte, error)) TaskHandler {
	return func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
		if _, ok := lambdacontext.FromContext(ctx); !ok {
			ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: newUUID(string(input))})
		}
		out, err := invoke(ctx, input)
		if err != nil {
			if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				return nil, err
			}
			var ive messages.InvokeResponse_Error
			if errors.As(err, &ive) && err == error(ive) {
				return nil, &TaskError{Name: ive.Type, Cause: lambdaCause(ive.Type, ive.Message)}
			}
			name := typeName(err)
			return nil, &TaskError{Name: name, Cause: lambdaCause(name, err.Error())}
		}
		return out, nil
	}
}
