package deploytest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/steps"
)

// root is the repository; FERRY_DEPLOY_ROOT points the tests at a copy
// (to check that they catch a broken file).
var root = func() string {
	if r := os.Getenv("FERRY_DEPLOY_ROOT"); r != "" {
		return r
	}
	return "../.."
}()

func read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------- ASL

type state map[string]any

func loadASL(t *testing.T) map[string]any {
	t.Helper()
	var def map[string]any
	if err := json.Unmarshal(read(t, "statemachine/ferry.asl.json"), &def); err != nil {
		t.Fatalf("ferry.asl.json: %v", err)
	}
	return def
}

// allStates returns every state of the machine, nested ones included, by
// name (names are unique across the machine in this definition).
func allStates(t *testing.T, def map[string]any) map[string]state {
	t.Helper()
	out := map[string]state{}
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		states, _ := m["States"].(map[string]any)
		for name, v := range states {
			s := state(v.(map[string]any))
			if _, dup := out[name]; dup {
				t.Fatalf("state name %s used twice", name)
			}
			out[name] = s
			for _, k := range []string{"ItemProcessor", "Iterator"} {
				if p, ok := s[k].(map[string]any); ok {
					walk(p)
				}
			}
			if bs, ok := s["Branches"].([]any); ok {
				for _, b := range bs {
					walk(b.(map[string]any))
				}
			}
		}
	}
	walk(def)
	return out
}

var placeholderRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

func placeholders(b []byte) []string {
	set := map[string]bool{}
	for _, m := range placeholderRe.FindAllSubmatch(b, -1) {
		set[string(m[1])] = true
	}
	return sortedKeys(set)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ------------------------------------------------------- minimal YAML

// yline is one significant line of template.yaml. The template is plain
// block YAML, so indentation gives the structure; this is all the tests
// need (the full check is cfn-lint's).
type yline struct {
	n      int // line number
	indent int
	key    string // "" for list items and scalars
	val    string
}

func parseYAML(src string) []yline {
	var out []yline
	for i, raw := range strings.Split(src, "\n") {
		trim := strings.TrimSpace(raw)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		l := yline{n: i + 1, indent: len(raw) - len(strings.TrimLeft(raw, " "))}
		if k, v, ok := strings.Cut(trim, ":"); ok && !strings.HasPrefix(trim, "- ") && !strings.ContainsAny(k, " \"'") {
			l.key, l.val = k, strings.TrimSpace(v)
		} else {
			l.val = trim
		}
		out = append(out, l)
	}
	return out
}

// children returns the direct children of lines[i] (the lines of its block
// at the block's smallest indent), as indexes into lines.
func children(lines []yline, i int) []int {
	var block []int
	min := -1
	for j := i + 1; j < len(lines) && lines[j].indent > lines[i].indent; j++ {
		block = append(block, j)
		if min < 0 || lines[j].indent < min {
			min = lines[j].indent
		}
	}
	var out []int
	for _, j := range block {
		if lines[j].indent == min {
			out = append(out, j)
		}
	}
	return out
}

// lookup follows keys from the top level and returns the line index.
func lookup(lines []yline, keys ...string) (int, bool) {
	cands := []int{}
	for j, l := range lines {
		if l.indent == 0 {
			cands = append(cands, j)
		}
	}
	at := -1
	for _, k := range keys {
		found := -1
		for _, j := range cands {
			if lines[j].key == k {
				found = j
				break
			}
		}
		if found < 0 {
			return -1, false
		}
		at = found
		cands = children(lines, at)
	}
	return at, true
}

func childMap(lines []yline, i int) map[string]string {
	m := map[string]string{}
	for _, j := range children(lines, i) {
		if lines[j].key != "" {
			m[lines[j].key] = lines[j].val
		}
	}
	return m
}

func loadTemplate(t *testing.T) []yline {
	t.Helper()
	src := string(read(t, "template.yaml"))
	if !strings.Contains(src, "Transform: AWS::Serverless-2016-10-31") {
		t.Fatal("template.yaml is not a SAM template")
	}
	return parseYAML(src)
}

func substitutions(t *testing.T, lines []yline) map[string]string {
	t.Helper()
	i, ok := lookup(lines, "Resources", "FerryStateMachine", "Properties", "DefinitionSubstitutions")
	if !ok {
		t.Fatal("template.yaml: FerryStateMachine has no DefinitionSubstitutions")
	}
	return childMap(lines, i)
}

// ---------------------------------------------------------------- tests

// TestSubstitutions: every ${X} in the ASL has a DefinitionSubstitutions
// entry and every entry is used (CloudFormation leaves an unknown ${X} in
// the definition, which then fails at run time).
func TestSubstitutions(t *testing.T) {
	used := placeholders(read(t, "statemachine/ferry.asl.json"))
	subs := substitutions(t, loadTemplate(t))
	defined := sortedKeys(subs)
	if !slices.Equal(used, defined) {
		t.Fatalf("ASL placeholders %v, DefinitionSubstitutions %v", used, defined)
	}
	if i, ok := lookup(loadTemplate(t), "Resources", "FerryStateMachine", "Properties", "DefinitionUri"); !ok ||
		loadTemplate(t)[i].val != "statemachine/ferry.asl.json" {
		t.Fatal("DefinitionUri is not statemachine/ferry.asl.json")
	}
}

// TestFunctions: the four functions exist with CodeUri functions/<name>/,
// BuildMethod go1.x and a main package there; every FunctionName in the
// ASL is a substitution resolving to one of them.
func TestFunctions(t *testing.T) {
	lines := loadTemplate(t)
	want := map[string]string{
		"ListTablesFunction":  "list-tables",
		"ExportChunkFunction": "export-chunk",
		"LoadChunkFunction":   "load-chunk",
		"SwapTablesFunction":  "swap-tables",
		"RunJobFunction":      "run-job",
	}
	res, _ := lookup(lines, "Resources")
	var got []string
	for _, j := range children(lines, res) {
		if childMap(lines, j)["Type"] == "AWS::Serverless::Function" {
			got = append(got, lines[j].key)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, sortedKeys(want)) {
		t.Fatalf("functions %v, want %v", got, sortedKeys(want))
	}
	for fn, dir := range want {
		p, _ := lookup(lines, "Resources", fn, "Properties")
		if cu := childMap(lines, p)["CodeUri"]; cu != "functions/"+dir+"/" {
			t.Errorf("%s CodeUri %q, want functions/%s/", fn, cu, dir)
		}
		m, ok := lookup(lines, "Resources", fn, "Metadata")
		if !ok || childMap(lines, m)["BuildMethod"] != "go1.x" {
			t.Errorf("%s: Metadata BuildMethod is not go1.x", fn)
		}
		src := string(read(t, filepath.Join("functions", dir, "main.go")))
		if !strings.Contains(src, "package main") || !strings.Contains(src, "lambda.Start(") {
			t.Errorf("functions/%s/main.go is not a Lambda main", dir)
		}
		if !strings.Contains(src, "slog.SetDefault(slog.New(lambdacontext.NewLogHandler(") {
			t.Errorf("functions/%s/main.go does not log through lambdacontext.NewLogHandler", dir)
		}
		for _, banned := range []string{"ferry/asl", "cmd/ferry"} {
			if strings.Contains(src, banned) {
				t.Errorf("functions/%s/main.go imports %s: keep mains lean", dir, banned)
			}
		}
	}
	g, _ := lookup(lines, "Globals", "Function")
	gm := childMap(lines, g)
	if gm["Runtime"] != "provided.al2023" || gm["Handler"] != "bootstrap" || gm["Architectures"] != "[arm64]" {
		t.Errorf("Globals.Function: %v", gm)
	}

	subs := substitutions(t, lines)
	for name, s := range allStates(t, loadASL(t)) {
		if s["Type"] != "Task" {
			continue
		}
		params, _ := s["Parameters"].(map[string]any)
		fnName, _ := params["FunctionName"].(string)
		m := placeholderRe.FindStringSubmatch(fnName)
		if s["Resource"] != "arn:aws:states:::lambda:invoke" || m == nil {
			t.Errorf("task %s: Resource %v FunctionName %q, want lambda:invoke of a ${...} substitution", name, s["Resource"], fnName)
			continue
		}
		target := strings.TrimSuffix(strings.TrimPrefix(subs[m[1]], "!GetAtt "), ".Arn")
		if _, ok := want[target]; !ok {
			t.Errorf("task %s: %s = %q is not one of the functions", name, m[1], subs[m[1]])
		}
	}
}

// TestStateMachineIAM: the Distributed Map's own permissions use the fixed
// name (a !Ref on the state machine itself would be circular).
func TestStateMachineIAM(t *testing.T) {
	src := string(read(t, "template.yaml"))
	lines := parseYAML(src)
	i, _ := lookup(lines, "Resources", "FerryStateMachine", "Properties")
	name := childMap(lines, i)["Name"]
	if name != `!Sub "${AWS::StackName}-ferry"` {
		t.Fatalf("state machine Name %q", name)
	}
	for _, want := range []string{
		`:stateMachine:${AWS::StackName}-ferry"`,
		`:execution:${AWS::StackName}-ferry/*"`,
		"states:StartExecution",
		"states:DescribeExecution",
		"states:StopExecution",
		"Type: ScheduleV2",
		"ScheduleExpressionTimezone: !Ref ScheduleTimezone",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("template.yaml lacks %s", want)
		}
	}
	sm, _ := lookup(lines, "Resources", "FerryStateMachine")
	for j := sm + 1; j < len(lines) && lines[j].indent > lines[sm].indent; j++ {
		if strings.Contains(lines[j].val, "FerryStateMachine") {
			t.Errorf("template.yaml:%d: the state machine refers to itself (circular, cfn-lint E3004)", lines[j].n)
		}
	}
}

func errorTypeName(v any) string { return reflect.TypeOf(v).Elem().Name() }

// TestRetryAndErrors: every Task retries the Lambda service errors and
// RetryableError with backoff and full jitter; permanent error types are
// never retried; every Ferry error name in the ASL is a type of errors.go
// (aws-lambda-go reports the outermost error's type name).
func TestRetryAndErrors(t *testing.T) {
	lambdaErrs := []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}
	retryable := errorTypeName(&ferry.RetryableError{})
	permanent := []string{
		errorTypeName(&ferry.ConfigError{}), errorTypeName(&ferry.DataError{}),
		errorTypeName(&ferry.CountMismatchError{}), errorTypeName(&ferry.RunLeaseHeldError{}),
	}
	known := append([]string{retryable, errorTypeName(&ferry.TaskError{})}, permanent...)
	src := string(read(t, "errors.go"))
	for _, n := range known {
		if !strings.Contains(src, "type "+n+" struct") {
			t.Fatalf("errors.go has no type %s", n)
		}
	}

	tasks := 0
	for name, s := range allStates(t, loadASL(t)) {
		var names []string
		retries, _ := s["Retry"].([]any)
		catches, _ := s["Catch"].([]any)
		for _, r := range append(slices.Clone(retries), catches...) {
			for _, e := range r.(map[string]any)["ErrorEquals"].([]any) {
				names = append(names, e.(string))
			}
		}
		for _, n := range names {
			if strings.HasPrefix(n, "States.") || strings.HasPrefix(n, "Lambda.") || strings.HasPrefix(n, "Sandbox.") {
				continue
			}
			if !slices.Contains(known, n) {
				t.Errorf("state %s names error %q, which is no error type of errors.go", name, n)
			}
		}
		for _, r := range retries {
			for _, e := range r.(map[string]any)["ErrorEquals"].([]any) {
				if slices.Contains(permanent, e.(string)) || e == "States.ALL" || e == "States.TaskFailed" {
					t.Errorf("state %s retries %s, a permanent error", name, e)
				}
			}
		}
		if s["Type"] != "Task" {
			continue
		}
		tasks++
		var sawLambda, sawRetryable bool
		for _, r := range retries {
			rm := r.(map[string]any)
			var eq []string
			for _, e := range rm["ErrorEquals"].([]any) {
				eq = append(eq, e.(string))
			}
			if rm["BackoffRate"] != 2.0 || rm["JitterStrategy"] != "FULL" || rm["MaxDelaySeconds"] == nil ||
				rm["IntervalSeconds"] == nil || rm["MaxAttempts"] == nil {
				t.Errorf("task %s: retrier %v lacks IntervalSeconds/BackoffRate 2/MaxAttempts/MaxDelaySeconds/JitterStrategy FULL", name, eq)
			}
			if slices.Equal(eq, lambdaErrs) {
				sawLambda = true
			}
			if slices.Equal(eq, []string{retryable}) {
				sawRetryable = true
			}
		}
		// RunJobOnce runs a job statement that must not run twice: it
		// retries only what certainly did not run (jobs.asl.json's test
		// checks its policy).
		if strings.HasSuffix(name, "RunJobOnce") {
			sawLambda = true
		}
		if !sawLambda || !sawRetryable {
			t.Errorf("task %s: retries Lambda service errors %v, RetryableError %v", name, sawLambda, sawRetryable)
		}
	}
	// ListTables, ExportChunk, LoadChunk, SwapTables, Report, and for each
	// of before-run, after-swap and after-run jobs a plan and two run tasks.
	if tasks != 14 {
		t.Errorf("%d tasks, want 14", tasks)
	}
	// RunLeaseHeldError fails the execution at once: ListTables catches
	// nothing and does not retry it.
	lt := allStates(t, loadASL(t))["ListTables"]
	if lt["Catch"] != nil {
		t.Error("ListTables must not catch: a held lease or a bad config fails the execution")
	}
}

// TestBoundedPayloads: the chunk Map is distributed, reads its items from
// S3 and writes its results to S3, and discards its output, so no payload
// and no parent history grows with the number of chunks.
func TestBoundedPayloads(t *testing.T) {
	st := allStates(t, loadASL(t))
	cc := st["CopyChunks"]
	proc := cc["ItemProcessor"].(map[string]any)["ProcessorConfig"].(map[string]any)
	if proc["Mode"] != "DISTRIBUTED" || proc["ExecutionType"] != "STANDARD" {
		t.Errorf("CopyChunks ProcessorConfig %v", proc)
	}
	ir, _ := cc["ItemReader"].(map[string]any)
	if ir["Resource"] != "arn:aws:states:::s3:getObject" || ir["ReaderConfig"].(map[string]any)["InputType"] != "JSON" ||
		ir["Parameters"].(map[string]any)["Key.$"] != "$.company.manifest_key" {
		t.Errorf("CopyChunks ItemReader %v", ir)
	}
	if rw, _ := cc["ResultWriter"].(map[string]any); rw["Resource"] != "arn:aws:states:::s3:putObject" {
		t.Errorf("CopyChunks ResultWriter %v", rw)
	}
	if v, ok := cc["ResultPath"]; !ok || v != nil {
		t.Errorf("CopyChunks ResultPath %v, want null", v)
	}
	if cc["ToleratedFailurePercentage"] != 0.0 {
		t.Errorf("ToleratedFailurePercentage %v", cc["ToleratedFailurePercentage"])
	}
	// ForEachCompany: a Distributed Map over the companies manifest, its
	// results in S3, every company's failure tolerated (each is reported).
	fc := st["ForEachCompany"]
	if p := fc["ItemProcessor"].(map[string]any)["ProcessorConfig"].(map[string]any); p["Mode"] != "DISTRIBUTED" || p["ExecutionType"] != "STANDARD" {
		t.Errorf("ForEachCompany ProcessorConfig %v", p)
	}
	if ir, _ := fc["ItemReader"].(map[string]any); ir["Resource"] != "arn:aws:states:::s3:getObject" || ir["Parameters"].(map[string]any)["Key.$"] != "$.companies_key" {
		t.Errorf("ForEachCompany ItemReader %v", fc["ItemReader"])
	}
	if rw, _ := fc["ResultWriter"].(map[string]any); rw["Resource"] != "arn:aws:states:::s3:putObject" {
		t.Errorf("ForEachCompany ResultWriter %v", fc["ResultWriter"])
	}
	if fc["ToleratedFailurePercentage"] != 100.0 || fc["MaxConcurrencyPath"] != "$.company_concurrency" {
		t.Errorf("ForEachCompany ToleratedFailurePercentage %v MaxConcurrencyPath %v", fc["ToleratedFailurePercentage"], fc["MaxConcurrencyPath"])
	}
	if rs, _ := fc["ResultSelector"].(map[string]any); rs["results.$"] != "$.ResultWriterDetails" {
		t.Errorf("ForEachCompany ResultSelector %v: Report must get only where the results are", rs)
	}
	if cc["MaxConcurrencyPath"] != "$.chunk_concurrency" {
		t.Errorf("CopyChunks MaxConcurrencyPath %v", cc["MaxConcurrencyPath"])
	}
	// The ItemReader's object is a bare JSON array of ChunkTask, as
	// list-tables writes it (internal/steps/testdata/manifest.json).
	var items []ferry.ChunkTask
	dec := json.NewDecoder(bytes.NewReader(read(t, "internal/steps/testdata/manifest.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&items); err != nil || len(items) == 0 {
		t.Fatalf("the manifest list-tables writes is not a JSON array of ChunkTask: %v", err)
	}
}

// jsonNames returns the JSON field names of a struct type, embedded
// structs flattened.
func jsonNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k := range jsonNames(f.Type) {
				out[k] = true
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" {
			out[name] = true
		}
	}
	return out
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, strings.TrimSuffix(k, ".$"))
	}
	sort.Strings(ks)
	return ks
}

var payloadFieldRe = regexp.MustCompile(`^\$\.Payload\.([a-z_]+)$`)

// TestFieldNames: what the ASL sends and reads matches the steps' JSON.
func TestFieldNames(t *testing.T) {
	st := allStates(t, loadASL(t))
	request := jsonNames(reflect.TypeOf(steps.Request{}))
	for _, n := range []string{"ListTables", "Report"} {
		p := st[n]["Parameters"].(map[string]any)["Payload"].(map[string]any)
		for _, k := range keysOf(p) {
			if !request[k] {
				t.Errorf("%s sends %q, which steps.Request does not have", n, k)
			}
		}
	}
	outputs := map[string]reflect.Type{
		"ListTables": reflect.TypeOf(ferry.ListTablesOutput{}),
		"SwapTables": reflect.TypeOf(ferry.SwapTablesOutput{}),
	}
	for n, typ := range outputs {
		names := jsonNames(typ)
		for k, v := range st[n]["ResultSelector"].(map[string]any) {
			m := payloadFieldRe.FindStringSubmatch(v.(string))
			if m == nil || !names[m[1]] {
				t.Errorf("%s ResultSelector %s = %v: not a field of %s", n, k, v, typ)
			}
		}
	}
	outcome := jsonNames(reflect.TypeOf(ferry.CompanyOutcome{}))
	for _, n := range []string{"CompanySucceeded", "CompanyFailed", "AllCompaniesFailed"} {
		for _, k := range keysOf(st[n]["Parameters"].(map[string]any)) {
			if !outcome[k] {
				t.Errorf("%s shapes %q, which ferry.CompanyOutcome does not have", n, k)
			}
		}
	}
	fin := jsonNames(reflect.TypeOf(ferry.FinishRunOutput{}))
	choice := st["AnyCompanyFailed"]["Choices"].([]any)[0].(map[string]any)
	if choice["Variable"] != "$.failed" || !fin["failed"] {
		t.Errorf("AnyCompanyFailed reads %v", choice["Variable"])
	}
	if f := st["RunFailed"]; f["Error"] != "Ferry.CompaniesFailed" || f["CausePath"] != "$.summary" || !fin["summary"] {
		t.Errorf("RunFailed %v", f)
	}
	if st["SwapTables"]["Parameters"].(map[string]any)["Payload.$"] != "$.company" {
		t.Error("SwapTables must get the CompanyRun")
	}
	company := jsonNames(reflect.TypeOf(ferry.CompanyRun{}))
	for _, f := range []string{"company_id", "alias", "manifest_key"} {
		if !company[f] {
			t.Errorf("ferry.CompanyRun has no %s, which the ASL reads", f)
		}
	}
}

// TestSAMEvents: every sam/events payload decodes strictly into its step's
// input type and carries at least the fields of the steps' own golden
// payload.
func TestSAMEvents(t *testing.T) {
	type input struct {
		Companies          []int64 `json:"companies"`
		RunDate            string  `json:"run_date"`
		CompanyConcurrency int     `json:"company_concurrency"`
		ChunkConcurrency   int     `json:"chunk_concurrency"`
	}
	cases := map[string]struct {
		v      any
		golden string
	}{
		"list-tables.json":     {&steps.Request{}, "list-tables.json"},
		"finish-run.json":      {&steps.Request{}, "finish-run.json"},
		"export-chunk.json":    {&ferry.ChunkTask{}, "export-chunk.json"},
		"load-chunk.json":      {&ferry.ExportChunkOutput{}, "load-chunk.json"},
		"swap-tables.json":     {&ferry.CompanyRun{}, "swap-tables.json"},
		"start-execution.json": {&input{}, ""},
		// A PostgreSQL source (sam/source-postgres.sql).
		"list-tables-postgres.json":  {&steps.Request{}, "list-tables.json"},
		"export-chunk-postgres.json": {&ferry.ChunkTask{}, "export-chunk.json"},
		"load-chunk-postgres.json":   {&ferry.ExportChunkOutput{}, "load-chunk.json"},
		"run-job-due.json":           {&steps.JobRequest{}, ""},
		"run-job-run.json":           {&steps.JobRequest{}, ""},
		"run-job-finish.json":        {&steps.JobRequest{}, ""},
	}
	files, _ := filepath.Glob(filepath.Join(root, "sam/events/*.json"))
	if len(files) != len(cases) {
		t.Errorf("sam/events has %d files, want %d", len(files), len(cases))
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := read(t, "sam/events/"+name)
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(c.v); err != nil {
				t.Fatalf("decode into %T: %v", c.v, err)
			}
			if reflect.ValueOf(c.v).Elem().IsZero() {
				t.Fatal("decodes to a zero value")
			}
			if c.golden == "" {
				return
			}
			var ev, gold map[string]any
			json.Unmarshal(b, &ev)
			if err := json.Unmarshal(read(t, "internal/steps/testdata/"+c.golden), &gold); err != nil {
				t.Fatal(err)
			}
			for k := range gold {
				if _, ok := ev[k]; !ok {
					t.Errorf("lacks %q, which internal/steps/testdata/%s has", k, c.golden)
				}
			}
		})
	}
	// The start-execution example carries every input the ASL's Defaults
	// state merges.
	def := allStates(t, loadASL(t))["Defaults"]["Parameters"].(map[string]any)["defaults"].(map[string]any)
	var ev map[string]any
	json.Unmarshal(read(t, "sam/events/start-execution.json"), &ev)
	for _, k := range keysOf(ev) {
		if _, ok := def[k]; !ok {
			if _, ok := def[k+".$"]; !ok {
				t.Errorf("start-execution.json has %q, which the Defaults state does not merge", k)
			}
		}
	}
}

// TestEnvJSON: sam local invoke only overrides variables the template
// declares, so every sam/env.json variable must be in Globals.
func TestEnvJSON(t *testing.T) {
	var env struct {
		Parameters map[string]string `json:"Parameters"`
	}
	dec := json.NewDecoder(bytes.NewReader(read(t, "sam/env.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		t.Fatal(err)
	}
	lines := loadTemplate(t)
	i, ok := lookup(lines, "Globals", "Function", "Environment", "Variables")
	if !ok {
		t.Fatal("no Globals.Function.Environment.Variables")
	}
	declared := childMap(lines, i)
	for k := range env.Parameters {
		if _, ok := declared[k]; !ok {
			t.Errorf("sam/env.json sets %s, which template.yaml does not declare", k)
		}
	}
	for _, k := range []string{"FERRY_ADMIN_SECRET_ARN", "FERRY_SOURCE_SECRET_ARN", "FERRY_TARGET_SECRET_ARN", "FERRY_BUCKET", "FERRY_TARGET_ENGINE"} {
		if _, ok := declared[k]; !ok {
			t.Errorf("template.yaml does not set %s", k)
		}
	}
	toml := string(read(t, "samconfig.toml"))
	for _, want := range []string{"[default.build.parameters]", "[default.deploy.parameters]", `capabilities = "CAPABILITY_IAM"`,
		"confirm_changeset = true", "resolve_s3 = true", "[default.validate.parameters]", "lint = true",
		"[default.local_invoke.parameters]", `env_vars = "sam/env.json"`} {
		if !strings.Contains(toml, want) {
			t.Errorf("samconfig.toml lacks %s", want)
		}
	}
}

// TestNotifications: the failed-execution alarm watches this state machine
// (with the optional email topic), and swap-tables gets the event bus and a
// PutEvents grant on that bus only when one is configured.
func TestNotifications(t *testing.T) {
	lines := parseYAML(string(read(t, "template.yaml")))
	alarm, ok := lookup(lines, "Resources", "FailedExecutionsAlarm", "Properties")
	if !ok {
		t.Fatal("template.yaml has no FailedExecutionsAlarm")
	}
	props := childMap(lines, alarm)
	if props["AlarmActions"] != "!If [AlarmEmailOn, [!Ref FailedExecutionsTopic], !Ref AWS::NoValue]" {
		t.Fatalf("FailedExecutionsAlarm = %v", props)
	}
	// It adds the failed executions of both state machines (metric math).
	var block []string
	for j := alarm + 1; j < len(lines) && lines[j].indent > lines[alarm].indent; j++ {
		block = append(block, lines[j].key+": "+lines[j].val)
	}
	b := strings.Join(block, "\n")
	for _, want := range []string{"Expression: copy + jobs", "MetricName: ExecutionsFailed", "Value: !Ref FerryStateMachine }]", "Value: !Ref JobsStateMachine }]"} {
		if !strings.Contains(b, want) {
			t.Fatalf("FailedExecutionsAlarm lacks %q:\n%s", want, b)
		}
	}
	if _, ok := lookup(lines, "Resources", "FailedExecutionsTopic"); !ok {
		t.Fatal("no FailedExecutionsTopic")
	}
	env, ok := lookup(lines, "Resources", "SwapTablesFunction", "Properties", "Environment", "Variables")
	if !ok || childMap(lines, env)["FERRY_EVENT_BUS"] != "!Ref TablesSwappedEventBus" {
		t.Fatal("SwapTablesFunction does not get FERRY_EVENT_BUS from TablesSwappedEventBus")
	}
	pol, _ := lookup(lines, "Resources", "SwapTablesFunction", "Properties", "Policies")
	var grant []string
	for j := pol + 1; j < len(lines) && lines[j].indent > lines[pol].indent; j++ {
		grant = append(grant, lines[j].val)
	}
	g := strings.Join(grant, "\n")
	if !strings.Contains(g, "EventsOn") || !strings.Contains(g, "events:PutEvents") || !strings.Contains(g, "event-bus/${TablesSwappedEventBus}") {
		t.Fatalf("SwapTablesFunction's PutEvents grant is not conditional on EventsOn and scoped to the bus:\n%s", g)
	}
	for _, other := range []string{"ListTablesFunction", "ExportChunkFunction", "LoadChunkFunction"} {
		p, _ := lookup(lines, "Resources", other, "Properties", "Policies")
		for j := p + 1; j < len(lines) && lines[j].indent > lines[p].indent; j++ {
			if strings.Contains(lines[j].val, "events:") {
				t.Errorf("%s may call EventBridge; only swap-tables needs it", other)
			}
		}
	}
}

var actionRe = regexp.MustCompile(`\b(s3|secretsmanager|events|states|logs|lambda|kms):[A-Za-z*]+`)

// TestLeastPrivilege pins every function's and the state machine's IAM
// actions to what its code calls, so a widened grant is a visible change:
// export-chunk only writes its object, swap-tables only reads, and only the
// vended-logs statement (which Step Functions requires) has Resource "*".
func TestLeastPrivilege(t *testing.T) {
	lines := parseYAML(string(read(t, "template.yaml")))
	want := map[string][]string{
		// Every function that reads a secret may also read the CA bundle
		// (s3:GetObject) and, with SecretsKmsKeyArn, decrypt through
		// Secrets Manager (kms:Decrypt).
		"ListTablesFunction":  {"kms:Decrypt", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "secretsmanager:GetSecretValue"},
		"ExportChunkFunction": {"kms:Decrypt", "s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "secretsmanager:GetSecretValue"},
		"LoadChunkFunction":   {"kms:Decrypt", "s3:AbortMultipartUpload", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "secretsmanager:GetSecretValue"},
		"SwapTablesFunction":  {"events:PutEvents", "kms:Decrypt", "s3:GetObject", "s3:ListBucket", "secretsmanager:GetSecretValue"},
		// run-job only writes extracts (to their own bucket).
		"RunJobFunction": {"kms:Decrypt", "s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "secretsmanager:GetSecretValue"},
		"JobsStateMachine": {"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
			"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"},
		"FerryStateMachine": {"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
			"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
			"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject",
			"states:DescribeExecution", "states:RedriveExecution", "states:StartExecution", "states:StopExecution"},
	}
	for res, actions := range want {
		p, ok := lookup(lines, "Resources", res, "Properties", "Policies")
		if !ok {
			t.Errorf("%s has no Policies", res)
			continue
		}
		set := map[string]bool{}
		var block []yline
		for j := p + 1; j < len(lines) && lines[j].indent > lines[p].indent; j++ {
			block = append(block, lines[j])
			for _, m := range actionRe.FindAllString(lines[j].val, -1) {
				set[m] = true
			}
		}
		if got := sortedKeys(set); !slices.Equal(got, actions) {
			t.Errorf("%s may call %v, want %v", res, got, actions)
		}
		for i, l := range block {
			if strings.Contains(l.val, ":*") && actionRe.MatchString(l.val) {
				t.Errorf("template.yaml:%d: %s grants a wildcard action %q", l.n, res, l.val)
			}
			if l.key == "Resource" && strings.Trim(l.val, `"'`) == "*" {
				sid := ""
				for k := i; k >= 0; k-- {
					if strings.HasPrefix(block[k].val, "- Sid:") {
						sid = strings.TrimSpace(strings.TrimPrefix(block[k].val, "- Sid:"))
						break
					}
				}
				if sid != "VendedLogDelivery" {
					t.Errorf("template.yaml:%d: %s statement %s has Resource \"*\"", l.n, res, sid)
				}
			}
		}
	}
}

// TestTemplateEssentials: the parts of template.yaml the issue asks for
// that cfn-lint does not require: JSON logs, the functions in the VPC,
// chunk objects expiring, the schedule's time zone, and the outputs.
func TestTemplateEssentials(t *testing.T) {
	lines := loadTemplate(t)
	get := func(keys ...string) map[string]string {
		i, ok := lookup(lines, keys...)
		if !ok {
			t.Fatalf("template.yaml has no %s", strings.Join(keys, "."))
		}
		return childMap(lines, i)
	}
	if lc := get("Globals", "Function", "LoggingConfig"); lc["LogFormat"] != "JSON" {
		t.Errorf("Globals.Function.LoggingConfig %v, want LogFormat JSON", lc)
	}
	if vpc := get("Globals", "Function", "VpcConfig"); vpc["SubnetIds"] != "!Ref SubnetIds" || vpc["SecurityGroupIds"] != "!Ref SecurityGroupIds" {
		t.Errorf("Globals.Function.VpcConfig %v", vpc)
	}
	for _, p := range []string{"SubnetIds", "SecurityGroupIds", "ScheduleTimezone", "ChunkExpirationDays"} {
		get("Parameters", p)
	}
	rules, _ := lookup(lines, "Resources", "ChunkBucket", "Properties", "LifecycleConfiguration", "Rules")
	var rule []string
	for j := rules + 1; j < len(lines) && lines[j].indent > lines[rules].indent; j++ {
		rule = append(rule, lines[j].key+": "+lines[j].val)
	}
	if r := strings.Join(rule, "\n"); !strings.Contains(r, "ExpirationInDays: !Ref ChunkExpirationDays") || !strings.Contains(r, "Status: Enabled") {
		t.Errorf("the chunk bucket's lifecycle rules do not expire objects:\n%s", r)
	}
	if s := get("Resources", "FerryStateMachine", "Properties", "Events", "Nightly", "Properties"); s["ScheduleExpressionTimezone"] != "!Ref ScheduleTimezone" {
		t.Errorf("schedule %v", s)
	}
	if ev := get("Resources", "FerryStateMachine", "Properties", "Events", "Nightly"); ev["Type"] != "ScheduleV2" {
		t.Errorf("schedule type %q, want ScheduleV2", ev["Type"])
	}
	out := get("Outputs")
	for _, o := range []string{"StateMachineArn", "ChunkBucketName", "ListTablesFunctionArn", "ExportChunkFunctionArn", "LoadChunkFunctionArn", "SwapTablesFunctionArn"} {
		if _, ok := out[o]; !ok {
			t.Errorf("no output %s", o)
		}
	}
}

// TestExecutionEndedRule: executions that end without their Report state
// reach list-tables' EndRun: the rule matches this state machine's FAILED,
// TIMED_OUT and ABORTED status changes, may invoke the function, and its
// input template decodes (strictly) into the router's request.
func TestExecutionEndedRule(t *testing.T) {
	src := string(read(t, "template.yaml"))
	lines := parseYAML(src)
	rule, ok := lookup(lines, "Resources", "ExecutionEndedRule", "Properties")
	if !ok {
		t.Fatal("template.yaml has no ExecutionEndedRule")
	}
	var body []string
	for j := rule + 1; j < len(lines) && lines[j].indent > lines[rule].indent; j++ {
		body = append(body, lines[j].key+": "+lines[j].val)
	}
	b := strings.Join(body, "\n")
	for _, want := range []string{"status: [FAILED, TIMED_OUT, ABORTED]", "stateMachineArn: [!Ref FerryStateMachine]",
		"Arn: !GetAtt ListTablesFunction.Arn", "name: $.detail.name", "status: $.detail.status"} {
		if !strings.Contains(b, want) {
			t.Errorf("ExecutionEndedRule lacks %q:\n%s", want, b)
		}
	}
	perm, ok := lookup(lines, "Resources", "ExecutionEndedPermission", "Properties")
	if !ok {
		t.Fatal("no ExecutionEndedPermission: EventBridge may not invoke list-tables")
	}
	if p := childMap(lines, perm); p["Principal"] != "events.amazonaws.com" || p["SourceArn"] != "!GetAtt ExecutionEndedRule.Arn" {
		t.Fatalf("ExecutionEndedPermission = %v", p)
	}
	tmpl := ""
	for _, l := range body {
		if strings.HasPrefix(l, "InputTemplate: ") {
			tmpl = strings.Trim(strings.TrimPrefix(l, "InputTemplate: "), "'")
		}
	}
	in := strings.NewReplacer("<name>", `"exec-1"`, "<status>", `"TIMED_OUT"`).Replace(tmpl)
	dec := json.NewDecoder(strings.NewReader(in))
	dec.DisallowUnknownFields()
	var req steps.Request
	if err := dec.Decode(&req); err != nil || req.Action != steps.ActionFinish || req.RunID != "exec-1" || req.ExecutionStatus != "TIMED_OUT" {
		t.Fatalf("InputTemplate %q gives %+v, %v", tmpl, req, err)
	}
}
