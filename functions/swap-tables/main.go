// Command swap-tables is the swap-tables Lambda function: verifies and swaps all tables of one
// company (ferry.CompanyRun) at once.
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
	lambda.Start(awswire.Handler(awswire.ForSwapTables, (*steps.Steps).SwapTables, awswire.WithPostgres(), awswire.WithEventBridge()))
}
