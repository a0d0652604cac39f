package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/maprun"
	"github.com/ferrydata/ferry/internal/steps"
)

// Report is a finished run's summary: per company and table, what was
// copied and how fast, and the execution's outcome.
type Report struct {
	RunID   string          `json:"run_id"`
	Status  string          `json:"status"`
	Error   string          `json:"error,omitempty"`
	Cause   string          `json:"cause,omitempty"`
	Summary string          `json:"summary,omitempty"`
	Seconds float64         `json:"seconds"`
	Chunks  int             `json:"chunks"`
	Rows    int64           `json:"rows"`
	Bytes   int64           `json:"bytes"`
	Tables  []TableReport   `json:"tables"`
	Outcome []CompanyReport `json:"companies"`
}

// CompanyReport is one company's outcome.
type CompanyReport struct {
	CompanyID int64  `json:"company_id"`
	Alias     string `json:"alias"`
	Status    string `json:"status"` // swapped, failed, not run
	Rows      int64  `json:"rows"`
	Error     string `json:"error,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// TableReport is one table of one company. Bytes is the CSV size (the
// uncompressed data moved); Gzip the objects' size in the store.
type TableReport struct {
	CompanyID int64   `json:"company_id"`
	Alias     string  `json:"alias"`
	Table     string  `json:"table"`
	Chunks    int     `json:"chunks"`
	Loaded    int     `json:"chunks_loaded"`
	Rows      int64   `json:"rows"`
	Bytes     int64   `json:"bytes"`
	Gzip      int64   `json:"gzip_bytes"`
	Seconds   float64 `json:"seconds"`
	MBps      float64 `json:"mb_per_s"`
	Status    string  `json:"status"`
	Error     string  `json:"error,omitempty"`
}

type tableStats struct {
	alias, table    string
	companyID       int64
	chunks, loaded  int
	rows, raw, gzip int64
	first, last     time.Time
	err             string
}

// progress is the Observer: it follows the execution's history (and its
// Distributed Map children's) and draws progress.
type progress struct {
	w        io.Writer
	terminal bool

	mu        sync.Mutex
	start     time.Time
	state     map[string]string          // "execution ARN#event id" → the state the event belongs to
	items     map[string]ferry.ChunkTask // child execution ARN → its chunk
	tables    map[string]*tableStats     // alias/table
	plan      *ferry.ListTablesOutput
	outcomes  []ferry.CompanyOutcome // given to Report directly
	results   *ferry.MapResults      // where Report reads the others
	finish    *ferry.FinishRunOutput
	total     int
	done      int
	rows, raw int64
	lastDraw  time.Time
	drawn     bool
	stopped   bool
}

func newProgress(w io.Writer, terminal bool) *progress {
	return &progress{
		w: w, terminal: terminal, start: time.Now(),
		state: map[string]string{}, items: map[string]ferry.ChunkTask{}, tables: map[string]*tableStats{},
	}
}

func (p *progress) table(alias, table string) *tableStats {
	k := alias + "/" + table
	t := p.tables[k]
	if t == nil {
		t = &tableStats{alias: alias, table: table}
		p.tables[k] = t
	}
	return t
}

// payload extracts the Lambda result's Payload from a lambda:invoke output.
func payload(out string, v any) bool {
	var env struct {
		Payload json.RawMessage `json:"Payload"`
	}
	if json.Unmarshal([]byte(out), &env) != nil || len(env.Payload) == 0 {
		return false
	}
	return json.Unmarshal(env.Payload, v) == nil
}

func (p *progress) observe(o asl.Observation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := o.Event
	arn := o.ExecutionArn
	// An event belongs to the state of the event before it on its thread:
	// an inline Map's iterations (ForEachCompany) share one execution, so
	// "the execution's current state" would mix the companies up.
	state := p.state[arn+"#"+strconv.FormatInt(e.PreviousEventID, 10)]
	if strings.HasSuffix(e.Type, "StateEntered") && e.StateEnteredEventDetails != nil {
		state = e.StateEnteredEventDetails.Name
	}
	p.state[arn+"#"+strconv.FormatInt(e.ID, 10)] = state
	switch {
	case e.Type == "ExecutionStarted" && o.MapRunArn != "" && e.ExecutionStartedEventDetails != nil:
		var task ferry.ChunkTask
		if json.Unmarshal([]byte(e.ExecutionStartedEventDetails.Input), &task) == nil && task.Table != "" {
			p.items[arn] = task
		}
	case e.Type == "TaskScheduled" && e.TaskScheduledEventDetails != nil:
		p.scheduled(state, arn, e)
	case e.Type == "TaskSucceeded" && e.TaskSucceededEventDetails != nil:
		p.succeeded(state, arn, e)
	case e.TaskFailedEventDetails != nil || e.TaskTimedOutEventDetails != nil:
		p.failed(state, arn, e)
	}
}

// scheduled notes when a table's first export started, and the outcomes
// the Report state is given.
func (p *progress) scheduled(state, arn string, e asl.Event) {
	switch state {
	case "ExportChunk":
		if task, ok := p.items[arn]; ok {
			t := p.table(task.Alias, task.Table)
			t.companyID = task.CompanyID
			if t.first.IsZero() || e.Timestamp.Before(t.first) {
				t.first = e.Timestamp
			}
		}
	case "Report":
		var params struct {
			Payload struct {
				Results  *ferry.MapResults      `json:"results"`
				Outcomes []ferry.CompanyOutcome `json:"outcomes"`
			} `json:"Payload"`
		}
		if json.Unmarshal([]byte(e.TaskScheduledEventDetails.Parameters), &params) == nil {
			p.outcomes, p.results = params.Payload.Outcomes, params.Payload.Results
		}
	}
}

// succeeded counts what a step's output reports.
func (p *progress) succeeded(state, arn string, e asl.Event) {
	out := e.TaskSucceededEventDetails.Output
	switch state {
	case "ListTables":
		var lt ferry.ListTablesOutput
		if payload(out, &lt) {
			p.plan = &lt
			p.total = lt.Chunks
			p.start = time.Now()
			p.line(fmt.Sprintf("planned run %s: %d companies, %d tables, %d chunks", lt.RunID, lt.Companies, lt.Tables, lt.Chunks))
		}
	case "ExportChunk":
		var ex ferry.ExportChunkOutput
		if payload(out, &ex) {
			t := p.table(ex.Alias, ex.Table)
			t.companyID = ex.CompanyID
			t.raw += ex.RawBytes
			t.gzip += ex.Bytes
			p.raw += ex.RawBytes
		}
	case "LoadChunk":
		var ld ferry.LoadChunkOutput
		if payload(out, &ld) {
			task := p.items[arn]
			t := p.table(task.Alias, ld.Table)
			t.loaded++
			t.rows += ld.Rows
			if e.Timestamp.After(t.last) {
				t.last = e.Timestamp
			}
			p.done++
			p.rows += ld.Rows
			p.draw(false)
		}
	case "SwapTables":
		var sw ferry.SwapTablesOutput
		if payload(out, &sw) {
			p.line(fmt.Sprintf("swapped %s: %d tables, %d rows", sw.Alias, len(sw.Tables), sw.Rows))
		}
	case "Report":
		var fr ferry.FinishRunOutput
		if payload(out, &fr) {
			p.finish = &fr
		}
	}
}

// failed prints a failed task, naming its chunk when it was one.
func (p *progress) failed(state, arn string, e asl.Event) {
	d := e.TaskFailedEventDetails
	if d == nil {
		d = e.TaskTimedOutEventDetails
	}
	msg := d.Error
	if c := causeMessage(d.Cause); c != "" {
		msg += ": " + c
	}
	if task, ok := p.items[arn]; ok {
		t := p.table(task.Alias, task.Table)
		t.err = msg
		p.line(fmt.Sprintf("chunk %s of %s failed: %s", ferry.ChunkName(task.Table, task.Chunk), task.Alias, msg))
	} else {
		p.line(fmt.Sprintf("%s failed: %s", state, msg))
	}
}

// causeMessage returns the errorMessage of a Lambda error cause, or the
// cause itself.
func causeMessage(cause string) string {
	var c struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &c) == nil && c.Message != "" {
		return c.Message
	}
	return cause
}

// line prints a plain line (clearing the bar on a terminal first).
func (p *progress) line(s string) {
	if p.w == nil {
		return
	}
	if p.terminal && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, s)
	p.draw(true)
}

func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / d.Seconds()
}

// draw shows the progress: a bar redrawn in place on a terminal (at most
// 10 times a second), else a line at most every 2 seconds and at the end.
func (p *progress) draw(force bool) {
	if p.w == nil || p.stopped || p.total == 0 {
		return
	}
	now := time.Now()
	every := 2 * time.Second
	if p.terminal {
		every = 100 * time.Millisecond
	}
	if !force && now.Sub(p.lastDraw) < every && p.done < p.total {
		return
	}
	p.lastDraw = now
	el := now.Sub(p.start)
	stats := fmt.Sprintf("%d/%d chunks  %d rows  %.1f MB/s  %s", p.done, p.total, p.rows, mbps(p.raw, el), el.Truncate(100*time.Millisecond))
	if !p.terminal {
		if !force {
			fmt.Fprintln(p.w, "progress: "+stats)
		}
		return
	}
	const width = 30
	filled := width * p.done / p.total
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	fmt.Fprintf(p.w, "\r\033[K%s %3d%%  %s", bar, 100*p.done/p.total, stats)
	p.drawn = true
}

func (p *progress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if p.terminal && p.drawn {
		fmt.Fprintln(p.w)
	} else if !p.terminal && p.w != nil && p.total > 0 && p.lastDraw.IsZero() {
		p.draw(false)
	}
	p.stopped = true
}

// report builds the Report from what was observed and the companies'
// plans in the store (which list every table, even one with no chunks).
func (p *progress) report(ctx context.Context, store ferry.Store, exec *asl.Execution) *Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &Report{
		RunID: exec.Name, Status: exec.Status, Error: exec.Error, Cause: exec.Cause,
		Seconds: exec.StopDate.Sub(exec.StartDate).Seconds(),
	}
	if p.finish != nil {
		r.Summary = p.finish.Summary
	}
	outcome := map[int64]ferry.CompanyOutcome{}
	for _, o := range p.companyOutcomes(ctx, store) {
		outcome[o.CompanyID] = o
	}
	if p.plan != nil {
		companies, _ := steps.Companies(ctx, store, *p.plan) // none when the plan is unreadable
		for _, c := range companies {
			cr := CompanyReport{CompanyID: c.CompanyID, Alias: c.Alias, Status: "not run"}
			if o, ok := outcome[c.CompanyID]; ok {
				cr.Rows, cr.Error, cr.Cause = o.Rows, o.Error, causeMessage(o.Cause)
				cr.Status = "swapped"
				if o.Failed {
					cr.Status = "failed"
				}
			}
			r.Outcome = append(r.Outcome, cr)
			for _, tr := range p.companyTables(ctx, store, c, cr.Status) {
				r.Tables = append(r.Tables, tr)
				r.Chunks += tr.Loaded
				r.Rows += tr.Rows
				r.Bytes += tr.Bytes
			}
		}
	}
	sort.SliceStable(r.Tables, func(i, j int) bool { return r.Tables[i].CompanyID < r.Tables[j].CompanyID })
	return r
}

// companyOutcomes are the outcomes Report was given and those it read from
// ForEachCompany's results in the store.
func (p *progress) companyOutcomes(ctx context.Context, store ferry.Store) []ferry.CompanyOutcome {
	out := p.outcomes
	if p.results != nil {
		if read, err := maprun.CompanyOutcomes(ctx, store, p.results.Key); err == nil {
			out = append(read, out...)
		}
	}
	return out
}

// companyTables reports a company's tables: those of its plan (read from
// the store, in plan order), then any other the run touched.
func (p *progress) companyTables(ctx context.Context, store ferry.Store, c ferry.CompanyRun, status string) []TableReport {
	var plan ferry.Manifest
	key := c.PlanKey
	if key == "" {
		key = ferry.PlanKey(c.RunID, c.Alias)
	}
	planned := map[string]int{}
	var order []string
	if rc, err := store.Open(ctx, key); err == nil {
		if json.NewDecoder(rc).Decode(&plan) == nil {
			for _, tp := range plan.Tables {
				planned[tp.Table] = tp.Chunks
				order = append(order, tp.Table)
			}
		}
		rc.Close()
	}
	for _, t := range p.tables {
		if _, ok := planned[t.table]; t.alias == c.Alias && !ok {
			order = append(order, t.table)
		}
	}
	var out []TableReport
	for _, name := range order {
		t := p.tables[c.Alias+"/"+name]
		if t == nil {
			t = &tableStats{}
		}
		tr := TableReport{
			CompanyID: c.CompanyID, Alias: c.Alias, Table: name, Chunks: planned[name], Loaded: t.loaded,
			Rows: t.rows, Bytes: t.raw, Gzip: t.gzip, Error: t.err,
		}
		if !t.first.IsZero() && t.last.After(t.first) {
			tr.Seconds = t.last.Sub(t.first).Seconds()
			tr.MBps = mbps(t.raw, t.last.Sub(t.first))
		}
		switch {
		case status == "swapped":
			tr.Status, tr.Error = "ok", ""
		case t.err != "":
			tr.Status = "FAILED"
		case status == "failed":
			tr.Status = "not swapped"
		default:
			tr.Status = status
		}
		out = append(out, tr)
	}
	return out
}

// Write prints the report as a table, then the outcome.
func (r *Report) Write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "company\ttable\tchunks\trows\tMB\tseconds\tMB/s\tstatus\t")
	for _, t := range r.Tables {
		chunks := fmt.Sprintf("%d", t.Chunks)
		if t.Loaded != t.Chunks {
			chunks = fmt.Sprintf("%d/%d", t.Loaded, t.Chunks)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f\t%.2f\t%.1f\t%s\t\n", t.Alias, t.Table, chunks, t.Rows, float64(t.Bytes)/1e6, t.Seconds, t.MBps, t.Status)
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%.2f\t%.2f\t%.1f\t%s\t\n", r.Chunks, r.Rows, float64(r.Bytes)/1e6, r.Seconds,
		mbps(r.Bytes, time.Duration(r.Seconds*float64(time.Second))), r.Status)
	tw.Flush()
	for _, c := range r.Outcome {
		if c.Status == "failed" {
			fmt.Fprintf(w, "company %s (%d) failed: %s: %s\n", c.Alias, c.CompanyID, c.Error, c.Cause)
		}
	}
	for _, t := range r.Tables {
		if t.Status == "FAILED" && t.Error != "" {
			fmt.Fprintf(w, "  table %s of %s: %s\n", t.Table, t.Alias, t.Error)
		}
	}
	if r.Summary != "" {
		fmt.Fprintln(w, r.Summary)
	}
	if r.Status != asl.StatusSucceeded {
		if r.Cause == r.Summary {
			fmt.Fprintf(w, "execution %s %s (%s)\n", r.RunID, r.Status, r.Error)
		} else {
			fmt.Fprintf(w, "execution %s %s: %s: %s\n", r.RunID, r.Status, r.Error, r.Cause)
		}
	}
}
