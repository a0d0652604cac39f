package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"

	"github.com/ferrydata/ferry/internal/awswire"
	"github.com/ferrydata/ferry/internal/local"
)

func init() {
	register("run", "execute statemachine/ferry.asl.json locally (steps in-process, S3 or a directory as the store)", runRun)
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	adminDSN := fs.String("admin-dsn", "", "admin database `URL` (mysql://user:pass@host:3306/db); default $FERRY_ADMIN_DSN")
	sourceDSN := fs.String("source-dsn", "", "source database `URL` (mysql://...); default $FERRY_SOURCE_DSN")
	targetDSN := fs.String("target-dsn", "", "target database `URL` (mysql://... or postgres://...); default $FERRY_TARGET_DSN")
	store := fs.String("store", "", "object store: file:///dir or s3://bucket; default $FERRY_STORE")
	s3Endpoint := fs.String("s3-endpoint", "", "S3-compatible endpoint `URL` for an s3:// store (path-style); default $FERRY_S3_ENDPOINT")
	templatePath := fs.String("template", "", "SAM template whose DefinitionSubstitutions fill the definition (default: the embedded template.yaml)")
	definitionPath := fs.String("definition", "", "ASL definition `file` (default: the embedded statemachine/ferry.asl.json)")
	var companies int64List
	fs.Var(&companies, "company", "copy only this company `id` (repeatable, or comma-separated; default all active companies)")
	runDate := fs.String("run-date", "", "run date YYYY-MM-DD for :run_date and :since (default today, UTC)")
	runID := fs.String("run-id", "", "run id, the execution name; a finished run's id cannot be reused (default local-<UTC timestamp>-<random>)")
	concurrency := fs.Int("concurrency", 0, "chunks copied at the same time per company (default: the template's ChunkConcurrency)")
	companyConcurrency := fs.Int("company-concurrency", 0, "companies copied at the same time (default: the template's CompanyConcurrency)")
	jsonOut := fs.Bool("json", false, "print the run report as JSON on stdout (progress goes to stderr)")
	verbose := fs.Bool("v", false, "log the steps' structured logs to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: ferry run [flags]

Executes the workflow (statemachine/ferry.asl.json) on this machine with
Ferry's ASL engine: the four Lambda functions run in-process, the
Distributed Map reads the chunk manifests from the store and writes its
results there, and a progress bar (or progress lines when not on a
terminal) is followed by a run report. Exits 1 if the execution fails
(for example when a company failed; the other companies' swaps stand).

Databases and the store come from the flags or, by default, from the
environment: FERRY_ADMIN_DSN, FERRY_SOURCE_DSN, FERRY_TARGET_DSN,
FERRY_STORE, FERRY_S3_ENDPOINT. With an S3 endpoint and no AWS
credentials in the environment, static placeholder credentials are used.

Example:
  export FERRY_ADMIN_DSN=mysql://ferry:secret@127.0.0.1:3306/ferry_admin
  export FERRY_SOURCE_DSN=mysql://reader:secret@127.0.0.1:3306/production
  export FERRY_TARGET_DSN=postgres://bi:secret@127.0.0.1:5432/reporting
  ferry run --store file:///tmp/ferry-chunks --company 42 --run-date 2026-11-22

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
		fmt.Fprintf(stderr, "ferry run: unexpected argument %q (see ferry run --help)\n", fs.Arg(0))
		return 2
	}
	// Defaults come from the environment after parsing, so that --help
	// never prints a DSN (and its password) as a flag default.
	for _, f := range []struct {
		v   *string
		env string
	}{{adminDSN, "FERRY_ADMIN_DSN"}, {sourceDSN, "FERRY_SOURCE_DSN"}, {targetDSN, "FERRY_TARGET_DSN"}, {store, "FERRY_STORE"}, {s3Endpoint, "FERRY_S3_ENDPOINT"}} {
		if *f.v == "" {
			*f.v = os.Getenv(f.env)
		}
	}
	if *store == "" {
		fmt.Fprintln(stderr, "ferry run: no store: pass --store file:///dir or s3://bucket (or set FERRY_STORE)")
		return 2
	}
	var def, tpl []byte
	for _, f := range []struct {
		path string
		dst  *[]byte
	}{{*definitionPath, &def}, {*templatePath, &tpl}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			fmt.Fprintf(stderr, "ferry run: %v\n", err)
			return 2
		}
		*f.dst = b
	}
	vals := map[string]string{
		"FERRY_ADMIN_DSN": *adminDSN, "FERRY_SOURCE_DSN": *sourceDSN, "FERRY_TARGET_DSN": *targetDSN,
		"FERRY_STORE": *store, "FERRY_S3_ENDPOINT": *s3Endpoint,
	}
	env, err := awswire.EnvFrom(func(k string) string {
		if v, ok := vals[k]; ok {
			return v
		}
		return os.Getenv(k)
	})
	if err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return 2
	}
	bucket := local.DefaultBucket
	if u, err := url.Parse(*store); err == nil && u.Scheme == "s3" {
		bucket = u.Host
		if env.S3Endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			// A local S3-compatible server: static credentials, never the
			// default chain's network lookups.
			os.Setenv("AWS_ACCESS_KEY_ID", "ferry-local")
			os.Setenv("AWS_SECRET_ACCESS_KEY", "ferry-local")
		}
	}

	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	wire := awswire.New(env, awswire.WithLogger(logger))
	defer wire.Close()
	st, err := wire.Steps(ctx, awswire.ForListTables|awswire.ForExportChunk|awswire.ForLoadChunk|awswire.ForSwapTables)
	if err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return 1
	}
	objStore, err := wire.Store(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return 1
	}
	progress := stdout
	if *jsonOut {
		progress = stderr
	}
	res, err := local.Run(ctx, local.Options{
		Steps: st, Store: objStore, Bucket: bucket,
		Definition: def, Template: tpl,
		RunID: *runID, RunDate: *runDate, Companies: companies,
		CompanyConcurrency: *companyConcurrency, ChunkConcurrency: *concurrency,
		Progress: progress, Terminal: isTerminal(progress), Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return 1
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res.Report); err != nil {
			fmt.Fprintf(stderr, "ferry run: %v\n", err)
			return 1
		}
	} else {
		fmt.Fprintln(stdout)
		res.Report.Write(stdout)
	}
	if res.Failed() {
		return 1
	}
	return 0
}
