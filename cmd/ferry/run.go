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
	"runtime"

	"github.com/ferrydata/ferry/internal/events"
	"github.com/ferrydata/ferry/internal/local"
	"github.com/ferrydata/ferry/internal/ops"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/wire"
)

func init() {
	register("run", "execute statemachine/ferry.asl.json locally (steps in-process, S3 or a directory as the store)", runRun)
}

const runUsage = `Usage: ferry run [flags]

Executes the workflow (statemachine/ferry.asl.json) on this machine with
Ferry's ASL engine: the four Lambda functions run in-process, the
Distributed Map reads the chunk manifests from the store and writes its
results there, and a progress bar (or progress lines when not on a
terminal) is followed by a run report. Exits 1 if the execution fails
(for example when a company failed; the other companies' swaps stand).

Databases and the store come from the flags or, by default, from the
environment: %s, %s, %s,
%s, %s. With an S3 endpoint and no AWS
credentials in the environment, static placeholder credentials are used.
FERRY_SWAP_LOCK_TIMEOUT (a duration, default 5s) is how long each swap
statement waits for a BI reader's lock before it retries with backoff.

Example:
  export %s=mysql://ferry:secret@127.0.0.1:3306/ferry_admin
  export %s=mysql://reader:secret@127.0.0.1:3306/production
  export %s=postgres://bi:secret@127.0.0.1:5432/reporting
  ferry run --store file:///tmp/ferry-chunks --company 42 --run-date 2026-11-22

Flags:
`

// runFlags are ferry run's flags. The database and store flags are keyed
// by the environment variable they default to.
type runFlags struct {
	env                             map[string]*string
	template, definition            *string
	companies                       int64List
	runDate, runID                  *string
	concurrency, companyConcurrency *int
	json, verbose                   *bool
}

func newRunFlags(fs *flag.FlagSet) *runFlags {
	f := &runFlags{env: map[string]*string{
		wire.EnvAdminDSN:          fs.String("admin-dsn", "", "admin database `URL` (mysql://user:pass@host:3306/db or postgres://...); default $"+wire.EnvAdminDSN),
		wire.EnvSourceDSN:         fs.String("source-dsn", "", "source database `URL` (mysql://... or postgres://...); default $"+wire.EnvSourceDSN),
		wire.EnvTargetDSN:         fs.String("target-dsn", "", "target database `URL` (mysql://... or postgres://...); default $"+wire.EnvTargetDSN),
		wire.EnvStore:             fs.String("store", "", "object store: file:///dir or s3://bucket; default $"+wire.EnvStore),
		wire.EnvS3Endpoint:        fs.String("s3-endpoint", "", "S3-compatible endpoint `URL` for an s3:// store (path-style); default $"+wire.EnvS3Endpoint),
		wire.EnvSourceConnections: fs.String("source-connections", "", "connection budget on the source: the run holds at most `n` (it lowers the concurrency to fit); default $"+wire.EnvSourceConnections+", else no limit"),
		wire.EnvTargetConnections: fs.String("target-connections", "", "connection budget on the target (`n`); default $"+wire.EnvTargetConnections+", else no limit"),
	}}
	f.template = fs.String("template", "", "SAM template whose DefinitionSubstitutions fill the definition (default: the embedded template.yaml)")
	f.definition = fs.String("definition", "", "ASL definition `file` (default: the embedded statemachine/ferry.asl.json)")
	fs.Var(&f.companies, "company", "copy only this company `id` (repeatable, or comma-separated; default all active companies)")
	f.runDate = fs.String("run-date", "", "run date YYYY-MM-DD for :run_date and :since (default today, UTC)")
	f.runID = fs.String("run-id", "", "run id, the execution name; a finished run's id cannot be reused (default local-<UTC timestamp>-<random>)")
	f.concurrency = fs.Int("concurrency", 0, "chunks copied at the same time per company (default: the number of CPUs, between 2 and 8)")
	f.companyConcurrency = fs.Int("company-concurrency", 0, "companies copied at the same time (default: the template's CompanyConcurrency)")
	f.json = fs.Bool("json", false, "print the run report as JSON on stdout (progress goes to stderr)")
	f.verbose = fs.Bool("v", false, "log the steps' structured logs to stderr")
	return f
}

// getenv is the environment with the flags that are set in front; the
// defaults are read after parsing, so that --help never prints a DSN (and
// its password) as a flag default.
func (f *runFlags) getenv(k string) string {
	if p, ok := f.env[k]; ok && *p != "" {
		return *p
	}
	return os.Getenv(k)
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := newRunFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, runUsage, wire.EnvAdminDSN, wire.EnvSourceDSN, wire.EnvTargetDSN, wire.EnvStore, wire.EnvS3Endpoint,
			wire.EnvAdminDSN, wire.EnvSourceDSN, wire.EnvTargetDSN)
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
	opts, env, code := f.options(stderr)
	if code != 0 {
		return code
	}
	return runLocal(ctx, env, opts, *f.json, *f.verbose, stdout, stderr)
}

// defaultChunkConcurrency is ferry run's chunk concurrency: one chunk per
// CPU (at least 2, so one chunk's export overlaps another's load; at most
// 8). On one machine the databases share the CPUs: on 2 cores, 8 chunks at
// once were slower and larger than 2 (docs/performance.md).
func defaultChunkConcurrency() int { return min(max(runtime.NumCPU(), 2), 8) }

// options reads the files and the environment the flags name; a non-zero
// code is the exit code of a usage problem it printed.
func (f *runFlags) options(stderr io.Writer) (local.Options, wire.Env, int) {
	o := local.Options{RunID: *f.runID, RunDate: *f.runDate, Companies: f.companies,
		CompanyConcurrency: *f.companyConcurrency, ChunkConcurrency: *f.concurrency, Bucket: local.DefaultBucket}
	if o.ChunkConcurrency == 0 {
		o.ChunkConcurrency = defaultChunkConcurrency()
	}
	store := f.getenv(wire.EnvStore)
	if store == "" {
		fmt.Fprintf(stderr, "ferry run: no store: pass --store file:///dir or s3://bucket (or set %s)\n", wire.EnvStore)
		return o, wire.Env{}, 2
	}
	for _, file := range []struct {
		path string
		dst  *[]byte
	}{{*f.definition, &o.Definition}, {*f.template, &o.Template}} {
		if file.path == "" {
			continue
		}
		b, err := os.ReadFile(file.path)
		if err != nil {
			fmt.Fprintf(stderr, "ferry run: %v\n", err)
			return o, wire.Env{}, 2
		}
		*file.dst = b
	}
	env, err := wire.EnvFrom(f.getenv)
	if err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return o, wire.Env{}, 2
	}
	if u, err := url.Parse(store); err == nil && u.Scheme == "s3" {
		o.Bucket = u.Host
	}
	return o, env, 0
}

// runLocal wires the steps as the Lambda functions are wired (the very
// same step functions, every engine), runs the workflow and prints the
// report.
func runLocal(ctx context.Context, env wire.Env, o local.Options, jsonOut, verbose bool, stdout, stderr io.Writer) int {
	o.Logger = slog.New(slog.DiscardHandler)
	if verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	w := wire.New(env, wire.WithEngines(ops.Engines...), wire.WithNotifier(events.Open), wire.WithLogger(o.Logger), wire.Local())
	defer w.Close()
	var err error
	if o.Steps, err = w.Steps(ctx, steps.NeedsFunction|steps.NeedsExportChunk|steps.NeedsLoadChunk|steps.NeedsSwapTables|steps.NeedsRunJob); err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return 1
	}
	if o.Store, err = w.Store(ctx); err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return 1
	}
	o.Progress = stdout
	if jsonOut {
		o.Progress = stderr
	}
	o.Terminal = isTerminal(o.Progress)
	res, err := local.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "ferry run: %v\n", err)
		return 1
	}
	if jsonOut {
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
