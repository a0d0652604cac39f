// Command run-job is the run-job Lambda function: it runs Ferry's scheduled
// SQL jobs (one statement, a batched DELETE/UPDATE across invocations, an
// extract to S3) for the jobs state machine and the copy workflow, and
// plans, claims and records them.
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
	lambda.Start(wire.Handler(steps.NeedsRunJob, (*steps.Steps).RunJob, wire.WithEngines(mysql.Engine{}, postgres.Engine{})))
}
