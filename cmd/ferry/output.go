package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/ops"
	"github.com/ferrydata/ferry/internal/steps"
)

// Exit codes of the day-2 commands.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// opsCmd is one day-2 (sub)command: its flag set, the database flags it
// takes and where it writes. Flags follow kubectl/gh: --admin-dsn,
// --source-dsn and --target-dsn default to FERRY_ADMIN_DSN,
// FERRY_SOURCE_DSN and FERRY_TARGET_DSN; --json prints JSON for scripts.
type opsCmd struct {
	name           string
	fs             *flag.FlagSet
	stdout, stderr io.Writer
	dsn            map[ops.Database]*string
	jsonOut        *bool
	usage          func(io.Writer)
	// args are the positional arguments; flags may come before, between
	// or after them (ferry company disable 42 --json).
	args []string
	// maxArgs is how many positional arguments parse accepts; -1: any
	// (the command checks them itself).
	maxArgs int
	// runDate is --run-date when the command takes it (withRunDate);
	// date is its value after parse: that day at 00:00 UTC, default today.
	runDate *string
	date    time.Time
	// hidden are flags accepted but left out of --help (the DSN flags a
	// command does not use, so that one set of flags serves every command).
	hidden map[string]bool
}

func (c *opsCmd) nArg() int { return len(c.args) }

func (c *opsCmd) arg(i int) string {
	if i < len(c.args) {
		return c.args[i]
	}
	return ""
}

// newOpsCmd makes a flag set whose --help prints usage (the arguments),
// a description, an example and the flags.
func newOpsCmd(name, args, desc, example string, stdout, stderr io.Writer) *opsCmd {
	c := &opsCmd{name: name, fs: flag.NewFlagSet("ferry "+name, flag.ContinueOnError), stdout: stdout, stderr: stderr,
		dsn: map[ops.Database]*string{}, maxArgs: -1, hidden: map[string]bool{}}
	c.fs.SetOutput(stderr)
	c.usage = func(w io.Writer) {
		fmt.Fprintf(w, "Usage: ferry %s %s\n\n%s\n\nExample:\n%s\n\nFlags:\n", name, args, desc, indent(example))
		c.printFlags(w)
	}
	// The flag package prints its own error; the hint follows in parse.
	c.fs.Usage = func() {}
	return c
}

// printFlags lists the flags as kubectl and gh do: "--name type" then the
// description, aligned, sorted, hidden flags left out.
func (c *opsCmd) printFlags(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	c.fs.VisitAll(func(f *flag.Flag) {
		if c.hidden[f.Name] {
			return
		}
		typ, help := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if typ != "" {
			name += " " + typ
		}
		switch f.DefValue {
		case "", "0", "false", "[]":
		default:
			if typ == "string" {
				help += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				help += " (default " + f.DefValue + ")"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, help)
	})
	tw.Flush()
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

// dbs adds the three DSN flags; those of the databases in used are the
// ones the command reads. The others are accepted and ignored, so that one
// set of flags or variables serves every command, and --help leaves them out.
func (c *opsCmd) dbs(used ...ops.Database) *opsCmd {
	for _, d := range []ops.Database{ops.AdminDB, ops.SourceDB, ops.TargetDB} {
		name := strings.TrimPrefix(ops.Flag(d), "--")
		p := new(string)
		if !slices.Contains(used, d) {
			c.fs.StringVar(p, name, "", "not used by this command")
			c.hidden[name] = true
			continue
		}
		scheme := "mysql://user:pass@host:3306/db"
		if d == ops.TargetDB {
			scheme += " or postgres://..."
		}
		// The environment's value is applied after parsing, so that --help
		// never prints a URL (and its password) as a default.
		c.fs.StringVar(p, name, "", fmt.Sprintf("%s database `URL` (%s); default $%s", d, scheme, d.DSNVar()))
		c.dsn[d] = p
	}
	return c
}

// withJSON adds --json.
func (c *opsCmd) withJSON() *opsCmd {
	c.jsonOut = c.fs.Bool("json", false, "print JSON instead of a table (for scripts)")
	return c
}

// noArgs makes parse refuse any positional argument.
func (c *opsCmd) noArgs() *opsCmd {
	c.maxArgs = 0
	return c
}

// withRunDate adds --run-date YYYY-MM-DD (help says what it is for);
// parse checks it and sets c.date.
func (c *opsCmd) withRunDate(help string) *opsCmd {
	c.runDate = c.fs.String("run-date", "", help)
	return c
}

func (c *opsCmd) url(d ops.Database) string {
	if p := c.dsn[d]; p != nil {
		return strings.TrimSpace(*p)
	}
	return ""
}

func (c *opsCmd) json() bool { return c.jsonOut != nil && *c.jsonOut }

// parse parses args; done is true when the command must return code now
// (--help: 0, bad flags: 2).
func (c *opsCmd) parse(args []string) (code int, done bool) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.usage(c.stdout)
				return exitOK, true
			}
			fmt.Fprintf(c.stderr, "Run 'ferry %s --help' for the flags and an example.\n", c.name)
			return exitUsage, true
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		c.args = append(c.args, args[0])
		args = args[1:]
	}
	if c.maxArgs >= 0 && len(c.args) > c.maxArgs {
		return c.usageErr("unexpected argument %q", c.args[c.maxArgs]), true
	}
	if c.runDate != nil {
		d, err := runDateFlag(*c.runDate)
		if err != nil {
			return c.usageErr("%v", err), true
		}
		c.date = d
	}
	for d, p := range c.dsn {
		if *p == "" {
			*p = os.Getenv(d.DSNVar())
		}
	}
	return 0, false
}

// printJSON writes v to stdout as indented JSON and returns the exit code.
func (c *opsCmd) printJSON(v any) int {
	if err := writeJSON(c.stdout, v); err != nil {
		return c.fail(err)
	}
	return exitOK
}

// nonNil returns s, or an empty slice for nil, so that --json prints []
// rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// usageErr prints a usage problem and returns exit code 2.
func (c *opsCmd) usageErr(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "ferry %s: %s\nRun 'ferry %s --help' for the flags and an example.\n", c.name, fmt.Sprintf(format, a...), c.name)
	return exitUsage
}

// fail prints err, one problem a line, and returns exit code 1.
func (c *opsCmd) fail(err error) int {
	printProblems(c.stderr, "ferry "+c.name, err)
	return exitFail
}

// printProblems writes err to w: one line, or a count and one problem a
// line when err joins several.
func printProblems(w io.Writer, prefix string, err error) {
	ps := ops.Problems(err)
	if len(ps) == 1 {
		fmt.Fprintf(w, "%s: %v\n", prefix, ps[0])
		return
	}
	fmt.Fprintf(w, "%s: %d problems:\n", prefix, len(ps))
	for _, p := range ps {
		fmt.Fprintf(w, "  - %v\n", p)
	}
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable prints an aligned table with an upper-case header, as
// kubectl and gh do.
func writeTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// humanInt prints n with thousands separators.
func humanInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func fmtDuration(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return d.Round(time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// int64List is a repeatable integer flag (--company 1 --company 2, or
// --company 1,2).
type int64List []int64

func (l *int64List) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *int64List) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("%q is not a company id (a positive integer)", p)
		}
		*l = append(*l, v)
	}
	return nil
}

// kvList is a repeatable name=value flag.
type kvList map[string]string

func (m kvList) String() string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (m kvList) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("%q is not name=value (e.g. days=30)", s)
	}
	if _, dup := m[k]; dup {
		return fmt.Errorf("configuration %s given twice", k)
	}
	m[k] = v
	return nil
}

// runDateFlag parses --run-date (YYYY-MM-DD); empty is today (UTC).
func runDateFlag(s string) (time.Time, error) {
	t, err := steps.ParseRunDate(s, time.Now())
	if err != nil {
		return time.Time{}, fmt.Errorf("--run-date %q is not a date YYYY-MM-DD", s)
	}
	return t, nil
}

// subcommands dispatches "ferry <group> <sub> ...". An empty sub runs def
// (when not nil).
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func dispatch(group string, subs []subcommand, def func(ctx context.Context, args []string, stdout, stderr io.Writer) int) func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		sub, rest := splitSub(args)
		groupUsage := func(w io.Writer) {
			fmt.Fprintf(w, "Usage: ferry %s <command> [flags]\n\nCommands:\n", group)
			for _, s := range subs {
				fmt.Fprintf(w, "  %-9s %s\n", s.name, s.summary)
			}
			fmt.Fprintf(w, "\nRun 'ferry %s <command> --help' for a command's flags and an example.\n", group)
		}
		if sub == "help" {
			groupUsage(stdout)
			return exitOK
		}
		if sub == "" {
			if def != nil {
				return def(ctx, args, stdout, stderr)
			}
			if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
				groupUsage(stdout)
				return exitOK
			}
			groupUsage(stderr)
			return exitUsage
		}
		for _, s := range subs {
			if s.name == sub {
				return s.run(ctx, rest, stdout, stderr)
			}
		}
		fmt.Fprintf(stderr, "ferry %s: unknown command %q\n\n", group, sub)
		groupUsage(stderr)
		return exitUsage
	}
}

// notFoundFix turns ferry.ErrNotFound into a message with a fix.
func notFoundFix(err error, what, listCmd string) error {
	if errors.Is(err, ferry.ErrNotFound) {
		return fmt.Errorf("%s does not exist (fix: see `%s`)", what, listCmd)
	}
	return err
}

// listing is what a list command reads from the admin database and how
// it prints one row.
type listing[T any] struct {
	read   func(*admin.DB, context.Context) ([]T, error)
	empty  string // printed instead of an empty table
	header []string
	row    func(T) []string
}

// runList runs a list command: parse args, read every row, print them as
// JSON (an array, [] when empty) or as a table.
func runList[T any](ctx context.Context, c *opsCmd, args []string, l listing[T]) int {
	if code, done := c.parse(args); done {
		return code
	}
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	rows, err := l.read(db, ctx)
	if err != nil {
		return c.fail(err)
	}
	if c.json() {
		return c.printJSON(nonNil(rows))
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.stdout, l.empty)
		return exitOK
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = l.row(r)
	}
	writeTable(c.stdout, l.header, out)
	return exitOK
}

// clip shortens s to at most n runes, ending in "..." when cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
