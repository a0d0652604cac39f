// Command list-tables is the list-tables Lambda function: plans a run (ferry.ListTablesInput), or with
// {"action": "finish"} closes it (ferry.FinishRunInput); see steps.Request.
// It only wires the step (internal/awswire) and hands it to the runtime.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ferrydata/ferry/internal/awswire"
	"github.com/ferrydata/ferry/internal/steps"
)

func main() {
	slog.SetDefault(slog.New(lambdacontext.NewLogHandler(lambdacontext.WithFunctionARN())))
	lambda.Start(awswire.Handler(awswire.ForListTables, (*steps.Steps).Function, awswire.WithPostgres()))
}
