package asl

import (
	"context"
	"encoding/json"
	"errors"

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
func LambdaHandler(h lambda.Handler) TaskHandler {
	return func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
		if _, ok := lambdacontext.FromContext(ctx); !ok {
			ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: newUUID(string(input))})
		}
		out, err := h.Invoke(ctx, input)
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
