package deploytest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/maprun"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/statemachine"
)

// The workflow tests run statemachine/ferry.asl.json, substituted as
// CloudFormation would, in the project's ASL engine, with fake functions
// that speak the real step types and return the real typed errors through
// aws-lambda-go (so error names are what Lambda reports). They check the
// data flow between states, the Retry/Catch policy and the Report/Fail
// shape; the real steps are exercised by `ferry run`'s tests.

const (
	bucket  = "ferry-chunks"
	fnARN   = "arn:aws:lambda:eu-west-1:123456789012:function:ferry-"
	runName = "nightly-2026-11-22"
)

var substitutionValues = map[string]string{
	"ListTablesFunctionArn":  fnARN + "list-tables",
	"ExportChunkFunctionArn": fnARN + "export-chunk",
	"LoadChunkFunctionArn":   fnARN + "load-chunk",
	"SwapTablesFunctionArn":  fnARN + "swap-tables",
	"RunJobFunctionArn":      fnARN + "run-job",
	"ChunkBucket":            bucket,
	"CompanyConcurrency":     "2",
	"ChunkConcurrency":       "3",
	"ScheduleTimezone":       "Pacific/Auckland",
}

func substituted(t *testing.T) []byte {
	t.Helper()
	def, err := statemachine.Substitute(read(t, "statemachine/ferry.asl.json"), substitutionValues)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// world is the fake AWS side of one execution.
type world struct {
	mu        sync.Mutex
	companies []ferry.CompanyRun
	manifests map[string][]ferry.ChunkTask // by key

	exportErr func(task ferry.ChunkTask, attempt int) error
	swapErr   func(c ferry.CompanyRun) error
	listErr   error

	listCalls  []steps.Request
	exports    map[string]int // attempts by chunk key
	loads      int
	swaps      map[string]int
	finish     []steps.Request
	outcomes   []ferry.CompanyOutcome // what Report read: its results in the store, and the outcomes given
	results    map[string][]byte      // ResultWriter objects (also in store)
	store      ferry.Store
	parentEvts int
	maxPayload int // largest state output in the parent history
}

func newWorld(chunksPerCompany ...int) *world {
	w := &world{manifests: map[string][]ferry.ChunkTask{}, exports: map[string]int{}, swaps: map[string]int{}, results: map[string][]byte{}}
	for i, n := range chunksPerCompany {
		alias := fmt.Sprintf("c%d", i+1)
		c := ferry.CompanyRun{RunID: runName, CompanyID: int64(i + 1), Alias: alias, Schema: ferry.DefaultSchema(alias),
			ManifestKey: ferry.ManifestKey(runName, alias), Tables: 1, Chunks: n}
		w.companies = append(w.companies, c)
		tasks := []ferry.ChunkTask{}
		for j := range n {
			tasks = append(tasks, ferry.ChunkTask{RunID: runName, CompanyID: c.CompanyID, Alias: alias, Schema: c.Schema,
				Table: "orders", Staging: ferry.StagingName("orders"), Target: ferry.EnginePostgres,
				Chunk: ferry.Chunk{Index: j, Lo: int64(j * 100), Hi: int64(j*100 + 100)}, Chunks: n,
				Key: ferry.ChunkKey(runName, alias, "orders", j), Query: "SELECT id FROM orders WHERE company_id = :company_id",
				Params: map[string]ferry.Param{"company_id": c.CompanyID}, ChunkColumn: "id"})
		}
		w.manifests[c.ManifestKey] = tasks
	}
	return w
}

func (w *world) options(t *testing.T) asl.Options {
	st, err := localstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.store = st
	listTables := func(ctx context.Context, req steps.Request) (any, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if req.Action == steps.ActionFinish {
			w.finish = append(w.finish, req)
			if req.Results != nil {
				read, err := maprun.CompanyOutcomes(ctx, w.store, req.Results.Key)
				if err != nil || req.Results.Bucket != bucket {
					return nil, fmt.Errorf("results %+v: %v", req.Results, err)
				}
				w.outcomes = append(w.outcomes, read...)
			}
			w.outcomes = append(w.outcomes, req.Outcomes...)
			out := ferry.FinishRunOutput{RunID: req.RunID, Companies: len(w.outcomes), Status: "succeeded"}
			for _, o := range w.outcomes {
				if o.Failed {
					out.Failed++
					out.Failures = append(out.Failures, fmt.Sprintf("company %d (%s): %s", o.CompanyID, o.Alias, o.Error))
				}
				out.Rows += o.Rows
			}
			if out.Failed > 0 {
				out.Status = "failed"
			}
			out.Summary = fmt.Sprintf("run %s %s: %d companies, %d failed", req.RunID, out.Status, out.Companies, out.Failed)
			return out, nil
		}
		w.listCalls = append(w.listCalls, req)
		if w.listErr != nil {
			return nil, w.listErr
		}
		return ferry.ListTablesOutput{RunID: req.RunID, RunDate: req.RunDate, Bucket: bucket, CompaniesKey: ferry.CompaniesKey(req.RunID),
			Companies: len(w.companies), Concurrency: ferry.Concurrency{Companies: req.CompanyConcurrency, Chunks: req.ChunkConcurrency}}, nil
	}
	export := func(ctx context.Context, task ferry.ChunkTask) (ferry.ExportChunkOutput, error) {
		w.mu.Lock()
		w.exports[task.Key]++
		attempt := w.exports[task.Key]
		w.mu.Unlock()
		if w.exportErr != nil {
			if err := w.exportErr(task, attempt); err != nil {
				return ferry.ExportChunkOutput{}, err
			}
		}
		return ferry.ExportChunkOutput{ChunkTask: task, Rows: 10, Bytes: 100, RawBytes: 300, SHA256: strings.Repeat("ab", 32)}, nil
	}
	load := func(ctx context.Context, in ferry.ExportChunkOutput) (ferry.LoadChunkOutput, error) {
		w.mu.Lock()
		w.loads++
		w.mu.Unlock()
		if in.Rows != 10 || in.Key == "" {
			return ferry.LoadChunkOutput{}, &ferry.DataError{Msg: "load got no export output"}
		}
		return ferry.LoadChunkOutput{RunID: in.RunID, CompanyID: in.CompanyID, Table: in.Table, Index: in.Chunk.Index, Rows: in.Rows}, nil
	}
	swap := func(ctx context.Context, c ferry.CompanyRun) (ferry.SwapTablesOutput, error) {
		w.mu.Lock()
		w.swaps[c.Alias]++
		w.mu.Unlock()
		if w.swapErr != nil {
			if err := w.swapErr(c); err != nil {
				return ferry.SwapTablesOutput{}, err
			}
		}
		return ferry.SwapTablesOutput{RunID: c.RunID, CompanyID: c.CompanyID, Alias: c.Alias, Rows: int64(10 * c.Chunks),
			Tables: []ferry.TableResult{{Table: "orders", Rows: int64(10 * c.Chunks), Chunks: c.Chunks}}}, nil
	}
	return asl.Options{
		Name:             runName,
		StateMachineName: "ferry-ferry",
		Region:           "eu-west-1",
		Clock:            asl.NewVirtualClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)),
		Tasks: map[string]asl.TaskHandler{
			fnARN + "list-tables":  perCall(listTables),
			fnARN + "export-chunk": perCall(export),
			fnARN + "load-chunk":   perCall(load),
			fnARN + "swap-tables":  perCall(swap),
			// No job is configured: each company's after-swap plan is empty
			// (the jobs are tested in internal/local).
			fnARN + "run-job": func(context.Context, json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(`{"tasks": []}`), nil
			},
		},
		ItemReader: asl.ItemReaderFunc(func(ctx context.Context, resource, b, key string) ([]byte, error) {
			if b != bucket {
				return nil, fmt.Errorf("ItemReader bucket %q", b)
			}
			if key == ferry.CompaniesKey(runName) {
				return json.Marshal(w.companies)
			}
			tasks, ok := w.manifests[key]
			if !ok {
				return nil, &asl.TaskError{Name: "S3.NoSuchKey", Cause: key}
			}
			return json.Marshal(tasks)
		}),
		ResultWriter: asl.ResultWriterFunc(func(ctx context.Context, resource, b, key string, body []byte) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if b != bucket || !strings.HasPrefix(key, "map-results/") {
				return fmt.Errorf("ResultWriter to %s/%s", b, key)
			}
			w.results[key] = body
			o, err := w.store.Create(ctx, key)
			if err != nil {
				return err
			}
			o.Write(body)
			return o.Commit()
		}),
		Observer: func(o asl.Observation) {
			if o.MapRunArn == "" {
				w.mu.Lock()
				w.parentEvts++
				if d := o.Event.StateExitedEventDetails; d != nil {
					w.maxPayload = max(w.maxPayload, len(d.Output))
				}
				w.mu.Unlock()
			}
		},
		Rand: func() float64 { return 0.5 },
	}
}

// perCall builds a fresh aws-lambda-go handler for every invocation: the
// bytes a handler's Invoke returns alias a pooled buffer that the handler
// reuses on its next Invoke, which in Lambda never overlaps but here runs
// concurrently (Distributed Map children).
func perCall(fn any) asl.TaskHandler {
	return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		return asl.LambdaHandler(lambda.NewHandler(fn))(ctx, in)
	}
}

func execute(t *testing.T, w *world, input string) *asl.Execution {
	t.Helper()
	sm, err := asl.Parse(substituted(t))
	if err != nil {
		t.Fatalf("the engine refuses ferry.asl.json: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exec, err := sm.Execute(ctx, json.RawMessage(input), w.options(t))
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	return exec
}

func outcomes(t *testing.T, w *world) []ferry.CompanyOutcome {
	t.Helper()
	if len(w.finish) != 1 {
		t.Fatalf("Report called %d times, want 1", len(w.finish))
	}
	out := slices.Clone(w.outcomes)
	slices.SortFunc(out, func(a, b ferry.CompanyOutcome) int { return int(a.CompanyID - b.CompanyID) })
	return out
}

func TestWorkflowAllSucceed(t *testing.T) {
	w := newWorld(4, 0, 7)
	exec := execute(t, w, `{}`)
	if exec.Status != "SUCCEEDED" {
		t.Fatalf("status %s: %s %s", exec.Status, exec.Error, exec.Cause)
	}
	if len(w.listCalls) != 1 {
		t.Fatalf("ListTables called %d times", len(w.listCalls))
	}
	lc := w.listCalls[0]
	if lc.RunID != runName || lc.RunDate != "" || lc.ScheduledTime != "2026-11-22T03:00:00.000Z" || lc.TimeZone != "Pacific/Auckland" || len(lc.Companies) != 0 || lc.Action != "" {
		t.Fatalf("ListTables input %+v: want run_id from the execution name, the start time and the schedule's time zone", lc)
	}
	// 03:00 UTC is 16:00 in Auckland: the run date is the schedule's day.
	if d, err := steps.RunDate(ferry.ListTablesInput{ScheduledTime: lc.ScheduledTime, TimeZone: lc.TimeZone}, time.Time{}); err != nil || d.Format("2006-01-02") != "2026-11-22" {
		t.Fatalf("run date %v %v", d, err)
	}
	if lc.CompanyConcurrency != 2 || lc.ChunkConcurrency != 3 {
		t.Fatalf("ListTables got concurrency %d/%d, want the template's 2/3", lc.CompanyConcurrency, lc.ChunkConcurrency)
	}
	if len(w.exports) != 11 || w.loads != 11 {
		t.Fatalf("%d chunks exported, %d loaded, want 11", len(w.exports), w.loads)
	}
	want := []ferry.CompanyOutcome{
		{CompanyID: 1, Alias: "c1", Rows: 40},
		{CompanyID: 2, Alias: "c2", Rows: 0},
		{CompanyID: 3, Alias: "c3", Rows: 70},
	}
	if got := outcomes(t, w); !slices.Equal(got, want) {
		t.Fatalf("outcomes %+v, want %+v", got, want)
	}
	if w.finish[0].Action != steps.ActionFinish || w.finish[0].RunID != runName {
		t.Fatalf("Report input %+v", w.finish[0])
	}
	var fin ferry.FinishRunOutput
	if err := json.Unmarshal(exec.Output, &fin); err != nil || fin.Failed != 0 || fin.Companies != 3 {
		t.Fatalf("execution output %s", exec.Output)
	}
	if len(w.results) == 0 {
		t.Fatal("CopyChunks wrote no results to S3")
	}
}

func TestWorkflowNoCompanies(t *testing.T) {
	w := newWorld()
	w.companies = []ferry.CompanyRun{}
	exec := execute(t, w, `{}`)
	if exec.Status != "SUCCEEDED" || len(w.finish) != 1 || len(w.outcomes) != 0 {
		t.Fatalf("status %s %s %s, finish %+v", exec.Status, exec.Error, exec.Cause, w.finish)
	}
}

func TestWorkflowInputOverrides(t *testing.T) {
	w := newWorld(1)
	exec := execute(t, w, `{"companies": [1], "run_date": "2026-01-31", "company_concurrency": 1, "chunk_concurrency": 1}`)
	if exec.Status != "SUCCEEDED" {
		t.Fatalf("status %s: %s %s", exec.Status, exec.Error, exec.Cause)
	}
	if lc := w.listCalls[0]; !slices.Equal(lc.Companies, []int64{1}) || lc.RunDate != "2026-01-31" {
		t.Fatalf("ListTables input %+v", lc)
	}
}

func TestWorkflowFailures(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(w *world)
		wantStatus string
		wantError  string
		check      func(t *testing.T, w *world, exec *asl.Execution)
	}{
		{
			name: "retryable export is retried and succeeds",
			setup: func(w *world) {
				w.exportErr = func(task ferry.ChunkTask, attempt int) error {
					if task.Chunk.Index == 1 && attempt < 3 {
						return ferry.LambdaError(ferry.Retryable("mysql: export", fmt.Errorf("connection reset")))
					}
					return nil
				}
			},
			wantStatus: "SUCCEEDED",
			check: func(t *testing.T, w *world, _ *asl.Execution) {
				if n := w.exports[ferry.ChunkKey(runName, "c1", "orders", 1)]; n != 3 {
					t.Fatalf("chunk 1 exported %d times, want 3", n)
				}
			},
		},
		{
			name: "a data error fails only its company; the others swap",
			setup: func(w *world) {
				w.exportErr = func(task ferry.ChunkTask, attempt int) error {
					if task.Alias == "c2" && task.Chunk.Index == 0 {
						return ferry.LambdaError(&ferry.DataError{Where: ferry.Where{Company: "c2"}, Msg: "zero date"})
					}
					return nil
				}
			},
			wantStatus: "FAILED",
			wantError:  "Ferry.CompaniesFailed",
			check: func(t *testing.T, w *world, exec *asl.Execution) {
				if n := w.exports[ferry.ChunkKey(runName, "c2", "orders", 0)]; n != 1 {
					t.Fatalf("DataError retried: %d attempts", n)
				}
				got := outcomes(t, w)
				if got[0].Failed || got[0].Rows != 20 || !got[1].Failed || got[1].Error == "" || got[1].Cause == "" {
					t.Fatalf("outcomes %+v", got)
				}
				if w.swaps["c1"] != 1 || w.swaps["c2"] != 0 {
					t.Fatalf("swaps %v: c1 must swap, c2 must not", w.swaps)
				}
				if !strings.Contains(exec.Cause, "1 failed") {
					t.Fatalf("cause %q is not the summary", exec.Cause)
				}
			},
		},
		{
			name: "a count mismatch is not retried and is reported",
			setup: func(w *world) {
				w.swapErr = func(c ferry.CompanyRun) error {
					if c.Alias == "c1" {
						return ferry.LambdaError(&ferry.CountMismatchError{Where: ferry.Where{Company: "c1", Table: "orders"}, Staging: 19, Expected: 20})
					}
					return nil
				}
			},
			wantStatus: "FAILED",
			wantError:  "Ferry.CompaniesFailed",
			check: func(t *testing.T, w *world, _ *asl.Execution) {
				if w.swaps["c1"] != 1 {
					t.Fatalf("CountMismatchError retried: %d swaps", w.swaps["c1"])
				}
				got := outcomes(t, w)
				if !got[0].Failed || got[0].Error != "CountMismatchError" || !strings.Contains(got[0].Cause, "staging has 19 rows") || got[1].Failed {
					t.Fatalf("outcomes %+v", got)
				}
			},
		},
		{
			name: "a held lease fails the execution at once",
			setup: func(w *world) {
				w.listErr = ferry.LambdaError(&ferry.RunLeaseHeldError{Holder: "nightly-2026-11-21", Expires: "2026-11-22T15:00:00Z"})
			},
			wantStatus: "FAILED",
			wantError:  "RunLeaseHeldError",
			check: func(t *testing.T, w *world, exec *asl.Execution) {
				if len(w.listCalls) != 1 || len(w.finish) != 0 || len(w.exports) != 0 {
					t.Fatalf("list %d, finish %d, exports %d", len(w.listCalls), len(w.finish), len(w.exports))
				}
				if !strings.Contains(exec.Cause, "nightly-2026-11-21") {
					t.Fatalf("cause %q", exec.Cause)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(2, 3)
			tt.setup(w)
			exec := execute(t, w, `{}`)
			if exec.Status != tt.wantStatus || exec.Error != tt.wantError {
				t.Fatalf("status %s error %q (%s), want %s %q", exec.Status, exec.Error, exec.Cause, tt.wantStatus, tt.wantError)
			}
			tt.check(t, w, exec)
		})
	}
}

// TestWorkflowHistoryBounded: the parent execution's history and every
// payload of it stay the same size whatever the number of chunks and of
// companies (both maps run child executions and write their results to
// S3); internal/scaletest checks the same at 10,000 companies.
func TestWorkflowHistoryBounded(t *testing.T) {
	var events, payloads []int
	for _, w := range []*world{newWorld(2, 2), newWorld(200, 200), newWorld(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)} {
		exec := execute(t, w, `{}`)
		if exec.Status != "SUCCEEDED" {
			t.Fatalf("%s %s", exec.Error, exec.Cause)
		}
		events = append(events, w.parentEvts)
		payloads = append(payloads, w.maxPayload)
	}
	if events[0] != events[1] || events[0] != events[2] {
		t.Fatalf("parent history has %v events with 2 companies × 2 chunks, 2 × 200 and 11 × 1", events)
	}
	// Only the counts' digits may differ.
	for _, p := range payloads[1:] {
		if d := p - payloads[0]; d < 0 || d > 16 {
			t.Fatalf("largest parent state output %v bytes", payloads)
		}
	}
}

// TestWorkflowRefusesBadInput: a concurrency override that is not a
// non-negative number is refused before ListTables (so before the lease).
func TestWorkflowRefusesBadInput(t *testing.T) {
	for _, in := range []string{
		`{"chunk_concurrency": "8"}`,
		`{"company_concurrency": -1}`,
		`{"chunk_concurrency": null}`,
	} {
		t.Run(in, func(t *testing.T) {
			w := newWorld(1)
			exec := execute(t, w, in)
			if exec.Status != "FAILED" || exec.Error != "Ferry.InvalidInput" {
				t.Fatalf("status %s error %s, want FAILED Ferry.InvalidInput", exec.Status, exec.Error)
			}
			if len(w.listCalls) != 0 {
				t.Fatalf("ListTables ran %d times on bad input", len(w.listCalls))
			}
		})
	}
}
