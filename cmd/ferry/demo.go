package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/ferrydata/ferry/internal/local"
)

func init() {
	register("demo", "run the whole workflow on an embedded server with generated data (nothing to install)", runDemo)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int("rows", local.DefaultDemoRows, "source rows over all tables and both companies")
	chunkRows := fs.Int64("chunk-rows", 0, "rows per chunk (default rows/20)")
	concurrency := fs.Int("concurrency", 0, "chunks copied at the same time per company (default: the template's ChunkConcurrency)")
	verbose := fs.Bool("v", false, "log the steps' structured logs to stderr")
	source := fs.String("source", "mysql", "mysql: every database on the embedded server; postgres: admin, source and target databases on a PostgreSQL server (--postgres-url)")
	pgURL := fs.String("postgres-url", "", "with --source postgres: the PostgreSQL server `URL` (a role that may CREATE DATABASE); default "+local.DefaultPostgresURL)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: ferry demo [flags]

Starts an embedded MySQL-compatible server (go-mysql-server, in memory) on
127.0.0.1, migrates an admin database, seeds two companies × three tables
of awkward data (NULL vs '', quotes, commas, newlines, backslashes, emoji,
binary with 0x00, decimals, datetimes), runs statemachine/ferry.asl.json
with the steps in-process and a temporary directory as S3, verifies every
target table against its source query (rows and a checksum), prints the
run report and cleans up. Exits 1 if the run or a check fails.

With --source postgres the same happens on a PostgreSQL server (default
the local one, 127.0.0.1:5432): the admin, source and target databases are
three fresh databases, dropped at the end.

Example:
  ferry demo
  ferry demo --rows 20000 --concurrency 4
  ferry demo --source postgres --postgres-url postgres://postgres@127.0.0.1:5432/postgres

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ferry demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *source != "mysql" && *source != "postgres" {
		fmt.Fprintf(stderr, "ferry demo: --source %q: want mysql or postgres\n", *source)
		return 2
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	res, err := local.Demo(ctx, local.DemoOptions{
		Rows: *rows, ChunkRows: *chunkRows, Concurrency: *concurrency,
		Out: stdout, Progress: stdout, Terminal: isTerminal(stdout), Logger: logger,
		Source: *source, PostgresURL: *pgURL,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ferry demo: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout)
	res.Report.Write(stdout)
	fmt.Fprintln(stdout)
	res.WriteChecks(stdout)
	fmt.Fprintf(stdout, "\ndemo finished in %s (seeding %s, workflow %.1fs)\n", res.Total.Round(100_000_000), res.Seed.Round(100_000_000), res.Report.Seconds)
	if res.Failed() {
		fmt.Fprintln(stderr, "ferry demo: FAILED")
		return 1
	}
	return 0
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
