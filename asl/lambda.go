package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
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
		out, err := invokeRecovered(ctx, invoke, input)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return nil, err
		}
		resp := functionError(err)
		return nil, &TaskError{Name: resp.Type, Cause: string(errorPayload(resp))}
	}
}

// invokeRecovered calls invoke, turning a panic into the error response
// the Lambda Go runtime reports for it (message, type, stack trace).
func invokeRecovered(ctx context.Context, invoke func(context.Context, []byte) ([]byte, error), input []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, messages.InvokeResponse_Error{Message: fmt.Sprintf("%v", p), Type: typeName(p), StackTrace: panicStack(), ShouldExit: true}
		}
	}()
	return invoke(ctx, input)
}

// functionError is the error response the Lambda Go runtime builds for a
// handler error: an InvokeResponse_Error as is, otherwise the error's
// message and dynamic type name (one pointer dereferenced).
func functionError(err error) messages.InvokeResponse_Error {
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return ive
	}
	return messages.InvokeResponse_Error{Message: err.Error(), Type: typeName(err)}
}

// errorPayload serialises a function error exactly as the runtime posts it
// to the Lambda API, which Step Functions passes on as the Cause:
// json.Marshal of the response ({"errorMessage","errorType"[,"stackTrace"]},
// HTML characters escaped).
func errorPayload(resp messages.InvokeResponse_Error) []byte {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(messages.InvokeResponse_Error{Type: "Runtime.SerializationError", Message: err.Error()})
	}
	return b
}

// panicStack is the panicking goroutine's stack in the runtime's frame
// form (path relative to its package root, label without the package).
func panicStack() []*messages.InvokeResponse_Error_StackFrame {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs) // runtime.Callers, panicStack, the deferred func
	frames := runtime.CallersFrames(pcs[:n])
	var out []*messages.InvokeResponse_Error_StackFrame
	for {
		f, more := frames.Next()
		path, label := f.File, f.Function
		i := len(path)
		for k := 0; k < strings.Count(label, "/")+2 && i >= 0; k++ {
			i = strings.LastIndex(path[:i], "/")
		}
		label = label[strings.LastIndex(label, "/")+1:]
		label = label[strings.Index(label, ".")+1:]
		out = append(out, &messages.InvokeResponse_Error_StackFrame{Path: path[i+1:], Line: int32(f.Line), Label: label})
		if !more {
			return out
		}
	}
}
