package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/maprun"
)

// maxFailures and maxFailureBytes bound the failure lines of a summary. The
// summary becomes the Fail state's Cause, which Step Functions caps at 32,768
// characters, and the output (summary plus lines) must stay far below the
// 256 KB payload limit whatever the number of companies; the full detail is
// in the admin database (`ferry runs show`).
const (
	maxFailures     = 200
	maxFailureBytes = 24 << 10
)

// causeMessage extracts the message of a Step Functions Catch "Cause": for
// a Lambda error it is JSON {"errorMessage": ..., "errorType": ...}.
func causeMessage(cause string) (typ, msg string) {
	var c struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal([]byte(cause), &c) == nil && c.ErrorMessage != "" {
		return c.ErrorType, c.ErrorMessage
	}
	return "", cause
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// boundFailures keeps the leading failure lines that fit maxFailures and
// maxFailureBytes, and says how many more there are.
func boundFailures(failures []string, runID string) []string {
	size := 0
	for i, f := range failures {
		size += len(f) + 1
		if i == maxFailures || size > maxFailureBytes {
			return append(failures[:i:i], fmt.Sprintf("… and %d more (see `ferry runs show %s`)", len(failures)-i, runID))
		}
	}
	return failures
}

// FinishRun closes a run: it counts the outcomes, names every failed
// company and, from the store, every table of a failed company whose chunks
// were not all loaded, and, from the admin database, every table whose swap
// failed; records the run's end in ferry_runs (succeeded when no company
// failed); and releases the run lease. It returns the summary, not an
// error, when companies failed (Failed > 0; the state machine fails the
// execution on it). Idempotent.
func (s *Steps) FinishRun(ctx context.Context, in ferry.FinishRunInput) (ferry.FinishRunOutput, error) {
	log := s.d.Logger.With("step", "finish-run", "run_id", in.RunID)
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	out, err := s.finishRun(ctx, in)
	if err != nil {
		return ferry.FinishRunOutput{}, s.fail(ctx, log, "finish-run", err)
	}
	log.InfoContext(ctx, "run finished", "status", out.Status, "companies", out.Companies, "failed", out.Failed, "rows", out.Rows)
	return out, nil
}

func (s *Steps) finishRun(ctx context.Context, in ferry.FinishRunInput) (ferry.FinishRunOutput, error) {
	if err := s.check("finish-run", NeedsFinishRun); err != nil {
		return ferry.FinishRunOutput{}, err
	}
	if err := ferry.ValidRunID(in.RunID); err != nil {
		return ferry.FinishRunOutput{}, err
	}
	outcomes, err := s.outcomes(ctx, in)
	if err != nil {
		return ferry.FinishRunOutput{}, err
	}
	out := ferry.FinishRunOutput{RunID: in.RunID, Companies: len(outcomes)}
	failures, failed := s.companyFailures(ctx, in.RunID, outcomes, &out)
	loads, err := s.d.Ledger.TableLoads(ctx, in.RunID)
	if err != nil {
		return out, err
	}
	mine, err := s.recordUnswapped(ctx, in.RunID, failed, loads)
	if err != nil {
		return out, err
	}
	failures = append(failures, notSwappedLines(loads, mine)...)
	out.Status = admin.RunSucceeded
	if out.Failed > 0 {
		out.Status = admin.RunFailed
	}
	failures = boundFailures(failures, in.RunID)
	out.Failures = failures
	out.Summary = fmt.Sprintf("run %s %s: %d companies, %d failed, %d rows published", in.RunID, out.Status, out.Companies, out.Failed, out.Rows)
	if len(failures) > 0 {
		out.Summary += "\n" + strings.Join(failures, "\n")
	}
	fin := s.now()
	if err := s.d.Ledger.FinishRun(ctx, admin.Run{RunID: in.RunID, FinishedAt: &fin, Status: out.Status,
		Companies: out.Companies, Failed: out.Failed, Rows: out.Rows, Summary: clip(out.Summary, 60000)}); err != nil {
		return out, err
	}
	if err := s.d.Ledger.ReleaseLease(ctx, in.RunID); err != nil {
		return out, err
	}
	return out, nil
}

// companyFailures counts the outcomes into out and returns the summary's
// line for each failed company, followed (for the first maxFailures) by
// its unloaded tables' lines, and each failed company's tables as the
// store knows them (failedCompany).
func (s *Steps) companyFailures(ctx context.Context, runID string, outcomes []ferry.CompanyOutcome, out *ferry.FinishRunOutput) ([]string, []failedCompany) {
	var failures []string
	var failed []failedCompany
	for _, o := range outcomes {
		if !o.Failed {
			out.Rows += o.Rows
			continue
		}
		out.Failed++
		typ, msg := causeMessage(o.Cause)
		if typ == "" {
			typ = o.Error
		}
		line := "company " + companyName(o.CompanyID, o.Alias) + ": " + typ
		if msg != "" {
			line += ": " + clip(msg, 1500)
		}
		failures = append(failures, line)
		fc := failedCompany{id: o.CompanyID, line: line}
		if s.d.Store != nil && o.Alias != "" && o.Alias != "*" {
			var problem string
			fc.tables, problem = s.unloadedTables(ctx, runID, o)
			// The summary names the unloaded tables only for the
			// failures it shows (hundreds may have failed).
			if len(failures) <= maxFailures {
				failures = append(failures, unloadedLines(fc.tables, problem)...)
			}
		}
		failed = append(failed, fc)
	}
	return failures, failed
}

// outcomes are the companies' outcomes: read from where ForEachCompany's
// ResultWriter exported them (in.Results, in the run's bucket), else
// in.Outcomes.
func (s *Steps) outcomes(ctx context.Context, in ferry.FinishRunInput) ([]ferry.CompanyOutcome, error) {
	if in.Results == nil {
		return in.Outcomes, nil
	}
	if s.d.Store == nil {
		return nil, &ferry.ConfigError{Msg: "the run's results are in the store, which finish-run was not given", Fix: "configure the chunk bucket (FERRY_BUCKET) for the list-tables function"}
	}
	if s.d.Bucket != "" && in.Results.Bucket != s.d.Bucket {
		return nil, &ferry.ConfigError{Msg: fmt.Sprintf("the run's results are in bucket %s, not in this function's bucket %s", in.Results.Bucket, s.d.Bucket),
			Fix: "deploy the state machine and the functions from the same template (one ChunkBucket)"}
	}
	outcomes, err := maprun.CompanyOutcomes(ctx, s.d.Store, in.Results.Key)
	if err != nil {
		return nil, ferry.Retryable("read the companies' outcomes", err)
	}
	return append(outcomes, in.Outcomes...), nil
}

// unloadedTables lists the tables of a failed company's plan (planTables),
// each with its number of chunks and, when some chunks have no done marker
// (a failed export or load inside the Distributed Map reports only a
// tolerated-failure error, not which chunk), the line naming them. Best
// effort: a problem reading the store is returned as a line instead.
func (s *Steps) unloadedTables(ctx context.Context, runID string, o ferry.CompanyOutcome) ([]tableLine, string) {
	var tasks []ferry.ChunkTask
	if err := getJSON(ctx, s.d.Store, ferry.ManifestKey(runID, o.Alias), &tasks); err != nil {
		return nil, fmt.Sprintf("company %s: cannot read its manifest: %v", companyName(o.CompanyID, o.Alias), err)
	}
	keys, err := s.d.Store.List(ctx, path.Join(runID, o.Alias)+"/")
	if err != nil {
		return nil, fmt.Sprintf("company %s: cannot list its chunks: %v", companyName(o.CompanyID, o.Alias), err)
	}
	have := make(map[string]bool, len(keys))
	for _, k := range keys {
		have[k] = true
	}
	type miss struct {
		n, of int
		first string
		// The first unloaded chunk that left a failure note, and its key.
		failed, note string
	}
	per := map[string]*miss{}
	var order []string
	for _, t := range tasks {
		m := per[t.Table]
		if m == nil {
			m = &miss{}
			per[t.Table] = m
			order = append(order, t.Table)
		}
		m.of++
		if !have[ferry.DoneKey(runID, t.Alias, t.Table, t.Chunk.Index)] {
			if m.n == 0 {
				m.first = ferry.ChunkName(t.Table, t.Chunk)
			}
			if k := ferry.FailedKey(runID, t.Alias, t.Table, t.Chunk.Index); m.note == "" && have[k] {
				m.failed, m.note = ferry.ChunkName(t.Table, t.Chunk), k
			}
			m.n++
		}
	}
	out := make([]tableLine, 0, len(order))
	for _, tb := range s.planTables(ctx, runID, o.Alias, order) {
		m := per[tb]
		if m == nil {
			out = append(out, tableLine{table: tb}) // planned without chunks
			continue
		}
		tl := tableLine{table: tb, chunks: m.of}
		if m.n > 0 {
			tl.line = fmt.Sprintf("company %s, table %s: %d of %d chunks not loaded (first: %s)", companyName(o.CompanyID, o.Alias), tb, m.n, m.of, m.first)
			if m.note != "" {
				tl.line += s.chunkFailureLine(ctx, m.failed, m.note)
			}
		}
		out = append(out, tl)
	}
	return out, ""
}

// EndRunOutput says what EndRun did.
type EndRunOutput struct {
	RunID string `json:"run_id"`
	// Recorded is true when the run had not finished and was recorded as
	// failed now; false when its Report had already recorded it, or when no
	// such run exists (nothing to do).
	Recorded bool   `json:"recorded"`
	Status   string `json:"status,omitempty"`
}

// EndRun is the safety net for an execution that ended without its Report
// state: an uncatchable error (States.Runtime, States.DataLimitExceeded),
// a timeout or an abort. The state machine's status-change rule calls it
// for every FAILED, TIMED_OUT or ABORTED execution. It releases the run
// lease if runID still holds it and, when the run was started but never
// finished, records it as failed with a summary naming the execution
// status. A run its Report already recorded is left as it is, and an
// unknown run id (another state machine's, a Distributed Map child) is a
// no-op. Idempotent.
func (s *Steps) EndRun(ctx context.Context, runID, status string) (EndRunOutput, error) {
	log := s.d.Logger.With("step", "end-run", "run_id", runID, "execution_status", status)
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	out, err := s.endRun(ctx, runID, status)
	if err != nil {
		return EndRunOutput{}, s.fail(ctx, log, "end-run", err)
	}
	log.InfoContext(ctx, "execution ended", "recorded", out.Recorded)
	return out, nil
}

func (s *Steps) endRun(ctx context.Context, runID, status string) (EndRunOutput, error) {
	if err := s.check("end-run", NeedsFinishRun); err != nil {
		return EndRunOutput{}, err
	}
	if err := ferry.ValidRunID(runID); err != nil {
		return EndRunOutput{}, err
	}
	switch status {
	case "FAILED", "TIMED_OUT", "ABORTED":
	default:
		return EndRunOutput{}, &ferry.ConfigError{Msg: fmt.Sprintf("execution_status %q is not FAILED, TIMED_OUT or ABORTED", status), Fix: "send the status of an execution that ended unsuccessfully"}
	}
	out := EndRunOutput{RunID: runID}
	if err := s.d.Ledger.ReleaseLease(ctx, runID); err != nil {
		return out, err
	}
	run, _, err := s.d.Ledger.GetRun(ctx, runID)
	if errors.Is(err, ferry.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if run.FinishedAt != nil {
		out.Status = run.Status
		return out, nil
	}
	fin := s.now()
	run.FinishedAt, run.Status = &fin, admin.RunFailed
	run.Summary = fmt.Sprintf("run %s failed: the execution ended %s before its Report state; some companies may not have been refreshed (their live tables are unchanged unless their swap happened). See the execution's history in Step Functions, and `ferry runs show %s`.", runID, status, runID)
	if err := s.d.Ledger.FinishRun(ctx, run); err != nil {
		return out, err
	}
	out.Recorded, out.Status = true, run.Status
	return out, nil
}
