// Command swap-tables is the swap-tables Lambda function: verifies and swaps all tables of one
// company (ferry.CompanyRun) at once.
// It only wires what the step uses (internal/wire) and hands it to the runtime;
// internal/deploytest's TestLambdaLinks checks what it links.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ferrydata/ferry/internal/events"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/wire"
)

func main() {
	slog.SetDefault(slog.New(lambdacontext.NewLogHandler(lambdacontext.WithFunctionARN())))
	lambda.Start(wire.Handler(steps.NeedsSwapTables, (*steps.Steps).SwapTables, wire.WithEngines(mysql.Engine{}, postgres.Engine{}), wire.WithNotifier(events.Open)))
}
