package jobs

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/ferrydata/ferry"
)

// memBook is an in-memory Book.
type memBook struct {
	mu        sync.Mutex
	jobs      map[string]ferry.Job
	companies []ferry.Company
	leases    map[string]lease
	runs      map[string]JobRun
}

type lease struct {
	holder string
	until  time.Time
}

func newBook(jobs ...ferry.Job) *memBook {
	b := &memBook{jobs: map[string]ferry.Job{}, leases: map[string]lease{}, runs: map[string]JobRun{},
		companies: []ferry.Company{{ID: 42, Alias: "acme", Schema: "bi_acme", Config: map[string]string{"days": "30"}}, {ID: 43, Alias: "globex", Schema: "bi_globex"}}}
	for _, j := range jobs {
		b.jobs[j.Name] = j
	}
	return b
}

func lk(job string, c int64) string { return fmt.Sprintf("%s/%d", job, c) }

func (b *memBook) Job(_ context.Context, name string) (ferry.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	j, ok := b.jobs[name]
	if !ok {
		return j, fmt.Errorf("job %s: %w", name, ferry.ErrNotFound)
	}
	return j, nil
}

func (b *memBook) Jobs(context.Context) ([]ferry.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ferry.Job
	for _, j := range b.jobs {
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool {
		if out[i].Position != out[k].Position {
			return out[i].Position < out[k].Position
		}
		return out[i].Name < out[k].Name
	})
	return out, nil
}

func (b *memBook) Companies(_ context.Context, ids []int64) ([]ferry.Company, error) {
	var out []ferry.Company
	for _, c := range b.companies {
		for _, id := range ids {
			if id == c.ID {
				out = append(out, c)
			}
		}
		if len(ids) == 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

func (b *memBook) SetNextDue(_ context.Context, job string, next *time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	j := b.jobs[job]
	j.NextDue = next
	b.jobs[job] = j
	return nil
}

func (b *memBook) Claim(_ context.Context, job string, c int64, holder string, now, until time.Time) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.leases[lk(job, c)]
	if ok && l.holder != holder && l.until.After(now) {
		return false, nil
	}
	b.leases[lk(job, c)] = lease{holder, until}
	return true, nil
}

func (b *memBook) Release(_ context.Context, holder, job string, c int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, l := range b.leases {
		if l.holder == holder && (job == "" || k == lk(job, c)) {
			delete(b.leases, k)
		}
	}
	return nil
}

func (b *memBook) JobRun(_ context.Context, runID, job string, c int64) (JobRun, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.runs[runID+"/"+lk(job, c)]
	if !ok {
		return r, ferry.ErrNotFound
	}
	return r, nil
}

func (b *memBook) RecordJobRun(_ context.Context, r JobRun) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.runs[r.RunID+"/"+lk(r.Job, r.CompanyID)] = r
	return nil
}

// fakeDB is a JobDB over a counter of rows.
type fakeDB struct {
	mu        sync.Mutex
	engine    ferry.Engine
	remaining int64
	execErr   error
	batchErrs []error
	got       []ferry.JobSQL
	csv       string
}

func (d *fakeDB) Engine() ferry.Engine { return d.engine }
func (d *fakeDB) CheckJob(context.Context, ferry.JobSQL, *ferry.BatchParts) error {
	return nil
}
func (d *fakeDB) ExecJob(_ context.Context, q ferry.JobSQL) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, q)
	return 7, d.execErr
}
func (d *fakeDB) BatchJob(_ context.Context, b ferry.JobBatch) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, b.JobSQL)
	if len(d.batchErrs) > 0 {
		err := d.batchErrs[0]
		d.batchErrs = d.batchErrs[1:]
		return 0, err
	}
	n := min(int64(b.Rows), d.remaining)
	d.remaining -= n
	return n, nil
}
func (d *fakeDB) ExtractJob(_ context.Context, q ferry.JobSQL, w io.Writer) (ferry.ExportStats, error) {
	d.got = append(d.got, q)
	_, err := io.WriteString(w, d.csv)
	return ferry.ExportStats{Rows: 2}, err
}

func (b *memBook) AbandonJobRuns(_ context.Context, job string, c int64, runID, msg string, at time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, r := range b.runs {
		if r.Job == job && r.CompanyID == c && r.RunID != runID && r.Status == RunRunning {
			r.Status, r.Error, r.FinishedAt = RunFailed, msg, &at
			b.runs[k] = r
		}
	}
	return nil
}
