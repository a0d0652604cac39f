// Command load-chunk is the load-chunk Lambda function: loads one exported chunk
// (ferry.ExportChunkOutput) into its staging table and writes its done marker.
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
	lambda.Start(awswire.Handler(awswire.ForLoadChunk, (*steps.Steps).LoadChunk, awswire.WithPostgres()))
}
