// Command export-chunk is the export-chunk Lambda function: streams one chunk (ferry.ChunkTask) of
// source rows as gzip CSV into the store.
// It only wires what the step uses (internal/wire) and hands it to the runtime;
// internal/deploytest's TestLambdaLinks checks what it links.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/wire"
)

func main() {
	slog.SetDefault(slog.New(lambdacontext.NewLogHandler(lambdacontext.WithFunctionARN())))
	lambda.Start(wire.Handler(steps.NeedsExportChunk, (*steps.Steps).ExportChunk, wire.WithEngines(mysql.Engine{}, postgres.Engine{})))
}
