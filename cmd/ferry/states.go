package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrydata/ferry/asl"
)

func init() {
	register("states", "run or validate a States Language definition with Ferry's ASL engine", runStates)
}

const statesHelp = `Usage: ferry states <subcommand> [flags]

Subcommands:
  run       execute a definition locally and print {"status","output","error","cause"}
  validate  check a definition and list every problem

Run 'ferry states <subcommand> --help' for its flags and an example.
`

func runStates(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub, rest := splitSub(args)
	switch sub {
	case "run":
		return runStatesRun(ctx, rest, stdout, stderr)
	case "validate":
		return runStatesValidate(rest, stdout, stderr)
	case "", "help":
		if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help") || sub == "help" {
			fmt.Fprint(stdout, statesHelp)
			return 0
		}
		fmt.Fprint(stderr, statesHelp)
		return 2
	default:
		fmt.Fprintf(stderr, "ferry states: unknown subcommand %q\n\n%s", sub, statesHelp)
		return 2
	}
}

// statesFlagSet makes a flag set whose usage prints a description and an example.
func statesFlagSet(name, args, desc, example string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ferry states "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ferry states %s %s\n\n%s\n\nExample:\n  %s\n\nFlags:\n", name, args, desc, example)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may come before or after positional
// arguments, returning the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func statesParseDefinition(path, typ string) (*asl.StateMachine, []byte, error) {
	def, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read definition: %w", err)
	}
	sm, err := asl.ParseWith(def, asl.ParseOptions{Type: strings.ToUpper(typ)})
	return sm, def, err
}

func runStatesValidate(args []string, stdout, stderr io.Writer) int {
	fs := statesFlagSet("validate", "DEFINITION.json",
		"Parse and validate a States Language definition. Prints every problem, one per line,\n"+
			"and exits 1 if there is any; prints \"valid\" and exits 0 otherwise.",
		"ferry states validate statemachine/ferry.asl.json", stderr)
	typ := fs.String("type", "STANDARD", "state machine type: STANDARD or EXPRESS (EXPRESS refuses .sync and .waitForTaskToken integrations, activities and Distributed Map)")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "ferry states validate: exactly one DEFINITION.json argument is required")
		fs.Usage()
		return 2
	}
	_, _, err = statesParseDefinition(pos[0], *typ)
	var ve *asl.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			fmt.Fprintln(stdout, p.String())
		}
		fmt.Fprintf(stderr, "ferry states validate: %s: %d problem(s)\n", pos[0], len(ve.Problems))
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "ferry states validate: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "valid")
	return 0
}

// statesResult is what `ferry states run` prints.
type statesResult struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  *string         `json:"error"`
	Cause  *string         `json:"cause"`
}

// statesRunFlags are the flags of ferry states run.
type statesRunFlags struct {
	input, mockPath, testCase, name, smName, region, account, histPath, typ *string
	fast                                                                    *bool
}

func newStatesRunFlags(fs *flag.FlagSet) *statesRunFlags {
	return &statesRunFlags{
		input:    fs.String("input", "{}", "execution input: inline JSON, or @FILE to read it from a file"),
		mockPath: fs.String("mock-config", "", "Step Functions Local mock configuration file (needs --test-case)"),
		testCase: fs.String("test-case", "", "test case of the mock configuration to run"),
		name:     fs.String("name", "", "execution name (default: generated)"),
		smName:   fs.String("state-machine-name", "", "state machine name (default: the mock config's only state machine, else the file name)"),
		region:   fs.String("region", "us-east-1", "AWS region used in ARNs"),
		account:  fs.String("account", "123456789012", "AWS account id used in ARNs"),
		fast:     fs.Bool("fast", false, "use a virtual clock: Wait states and retry back-offs do not really sleep (a task's TimeoutSeconds and HeartbeatSeconds still count its real running time)"),
		histPath: fs.String("history", "", "write the execution history ({\"events\":[...]}) to this file"),
		typ:      fs.String("type", "STANDARD", "state machine type: STANDARD or EXPRESS"),
	}
}

func runStatesRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := statesFlagSet("run", "DEFINITION.json [flags]",
		"Execute a definition with the in-process engine and print exactly one JSON object:\n"+
			"{\"status\":...,\"output\":...,\"error\":...,\"cause\":...}. The exit code is 0 whenever the\n"+
			"execution ran, whatever its status; it is non-zero only for usage or definition errors.\n"+
			"Task states are answered by the mock configuration's test case (the Step Functions Local\n"+
			"MockConfigFile.json format); a Lambda task with neither a mock nor a handler fails with\n"+
			"Lambda.ResourceNotFoundException. JSONPath and JSONata definitions both run.",
		"ferry states run statemachine/ferry.asl.json --input @input.json --mock-config MockConfigFile.json --test-case HappyPath --fast --history history.json", stderr)
	f := newStatesRunFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ferry states run: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if len(pos) != 1 {
		return usage("exactly one DEFINITION.json argument is required")
	}
	if (*f.mockPath == "") != (*f.testCase == "") {
		return usage("--mock-config and --test-case go together")
	}
	sm, _, err := statesParseDefinition(pos[0], *f.typ)
	if err != nil {
		fmt.Fprintf(stderr, "ferry states run: %s: %v\n", pos[0], err)
		return 1
	}
	in, opts, err := f.options(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "ferry states run: %v\n", err)
		return 1
	}
	ex, err := sm.Execute(ctx, in, opts)
	if err != nil {
		fmt.Fprintf(stderr, "ferry states run: %v\n", err)
		return 1
	}
	printStatesResult(ex, *f.histPath, stdout, stderr)
	return 0
}

// options reads the input and the mock configuration and builds the
// execution's options.
func (f *statesRunFlags) options(defPath string) (json.RawMessage, asl.Options, error) {
	opts := asl.Options{Name: *f.name, StateMachineName: *f.smName, Region: *f.region, Account: *f.account}
	in := []byte(*f.input)
	if strings.HasPrefix(*f.input, "@") {
		var err error
		if in, err = os.ReadFile(strings.TrimPrefix(*f.input, "@")); err != nil {
			return nil, opts, fmt.Errorf("read --input: %w", err)
		}
	}
	if !json.Valid(in) {
		return nil, opts, errors.New("--input is not valid JSON")
	}
	if *f.mockPath != "" {
		b, err := os.ReadFile(*f.mockPath)
		if err != nil {
			return nil, opts, fmt.Errorf("read --mock-config: %w", err)
		}
		cfg, err := asl.ParseMockConfig(b)
		if err != nil {
			return nil, opts, err
		}
		if opts.StateMachineName == "" && len(cfg.StateMachines) == 1 {
			for k := range cfg.StateMachines {
				opts.StateMachineName = k
			}
		}
		if opts.Mock, err = cfg.TestCase(opts.StateMachineName, *f.testCase); err != nil {
			return nil, opts, err
		}
	}
	if opts.StateMachineName == "" {
		base := filepath.Base(defPath)
		opts.StateMachineName = strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), ".asl")
	}
	if *f.fast {
		opts.Clock = asl.NewVirtualClock(time.Now().UTC().Truncate(time.Millisecond))
	}
	return in, opts, nil
}

// printStatesResult prints the execution as one JSON object and writes its
// history when asked.
func printStatesResult(ex *asl.Execution, histPath string, stdout, stderr io.Writer) {
	res := statesResult{Status: ex.Status, Output: json.RawMessage("null")}
	if ex.Status == asl.StatusSucceeded {
		res.Output = ex.Output
	} else {
		res.Error, res.Cause = &ex.Error, &ex.Cause
	}
	if histPath != "" {
		h, err := ex.HistoryJSON()
		if err == nil {
			err = os.WriteFile(histPath, append(h, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ferry states run: write --history: %v\n", err)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "ferry states run: %v\n", err)
	}
}
