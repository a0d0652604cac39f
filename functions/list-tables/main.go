// Command list-tables is the list-tables Lambda function: plans a run (ferry.ListTablesInput), or with
// {"action": "finish"} closes it (ferry.FinishRunInput); see steps.Request.
// It only wires what the step uses (internal/wire) and hands it to the runtime;
// internal/deploytest's TestLambdaLinks checks what it links.
package main

import (
	"log/slog"
	_ "time/tzdata" // run_date is taken in the schedule's time zone, whatever zoneinfo the runtime has

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/wire"
)

func main() {
	slog.SetDefault(slog.New(lambdacontext.NewLogHandler(lambdacontext.WithFunctionARN())))
	lambda.Start(wire.Handler(steps.NeedsFunction, (*steps.Steps).Function, wire.WithEngines(mysql.Engine{}, postgres.Engine{})))
}
