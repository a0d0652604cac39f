// Command export-chunk is the export-chunk Lambda function: streams one chunk (ferry.ChunkTask) of
// source rows as gzip CSV into the store.
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
	lambda.Start(awswire.Handler(awswire.ForExportChunk, (*steps.Steps).ExportChunk))
}
