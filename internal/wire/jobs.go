package wire

import (
	"context"
	"errors"
	"log/slog"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/steps"
)

// JobEngine is an engine SQL jobs can run on (as the source or a target).
type JobEngine interface {
	Engine
	OpenJobs(ctx context.Context, dsn string, log *slog.Logger) (ferry.JobDB, func(), error)
}

// OpenJobs opens the database at d for jobs, as role.
func (es Engines) OpenJobs(ctx context.Context, role Role, d DSN, log *slog.Logger) (ferry.JobDB, func(), error) {
	e, err := engineFor[JobEngine](es, role, d)
	if err != nil {
		return nil, nil, err
	}
	return e.OpenJobs(ctx, d.Driver, log)
}

// jobRole is the database a job runs on: the source, or the target (its
// default schema, or a company's schema).
func jobRole(on ferry.JobDatabase) Role {
	if on == ferry.JobOnSource {
		return Source
	}
	return Target
}

// JobDB returns the database jobs on on run on, opened once (its own pool:
// a job's session settings never reach the copy's connections).
func (w *Wire) JobDB(ctx context.Context, on ferry.JobDatabase) (ferry.JobDB, error) {
	role := jobRole(on)
	l := &w.jobSource
	if role == Target {
		l = &w.jobTarget
	}
	return l.get(func() (ferry.JobDB, error) {
		db, done, err := open(ctx, w, role, func(ctx context.Context, d DSN) (ferry.JobDB, func(), error) {
			return w.engines.OpenJobs(ctx, role, d, w.log)
		})
		if err != nil {
			return nil, err
		}
		w.keepCloser(role+"-jobs", done)
		return db, nil
	})
}

// Extracts returns the store extract jobs write to: the EnvExtractBucket
// bucket (on AWS, the template's ExtractBucket), else the run's store.
func (w *Wire) Extracts(ctx context.Context) (ferry.Store, error) {
	if w.env.ExtractBucket == "" {
		return w.Store(ctx)
	}
	return w.extracts.get(func() (ferry.Store, error) {
		client, err := s3store.NewClient(ctx, w.s3Config())
		if err != nil {
			return nil, err
		}
		return s3store.New(client, w.env.ExtractBucket), nil
	})
}

// jobDeps fills the run-job step's dependencies: the admin database's job
// bookkeeping, the job databases (opened when a job first needs one) and
// the extracts' store (nil when none is configured: an extract then fails
// naming the variable to set).
func (w *Wire) jobDeps(ctx context.Context, d *steps.Deps) error {
	adm, err := w.Admin(ctx)
	if err != nil {
		return err
	}
	// An admin engine that keeps no jobs leaves Jobs nil: run-job then
	// says so, the other steps work.
	if d.Jobs, err = adm.Jobs(); err != nil && !errors.Is(err, ferry.ErrNotFound) {
		return err
	}
	d.JobDBs = w.JobDB
	if st, err := w.Extracts(ctx); err == nil {
		d.Extracts = st
	}
	return nil
}
