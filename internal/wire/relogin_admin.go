package wire

import (
	"context"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// reloginAdmin is the admin database read from a secret under `ferry run`
// (Wire.relogins), as the steps' Config and Ledger: each call uses the
// Wire's current pool, and a refused login (the secret was rotated) drops
// the cached secret and the pool and is returned retryable, so the retried
// step opens the admin database with the re-read secret (Wire.relogin).
// Run jobs (steps.Deps.Jobs) keep the pool they were given.
type reloginAdmin struct{ w *Wire }

// call runs f on the current admin pool, re-logging in on a refused login.
func (a reloginAdmin) call(ctx context.Context, f func(*admin.DB) error) error {
	db, gen, err := a.w.adminGen(ctx)
	if err == nil {
		err = f(db)
	}
	return a.w.relogin(Admin, gen, err)
}

func (a reloginAdmin) ActiveCompanies(ctx context.Context, ids []int64) (out []ferry.Company, err error) {
	err = a.call(ctx, func(db *admin.DB) error { out, err = db.ActiveCompanies(ctx, ids); return err })
	return out, err
}

func (a reloginAdmin) ActiveTables(ctx context.Context) (out []ferry.TableSpec, err error) {
	err = a.call(ctx, func(db *admin.DB) error { out, err = db.ActiveTables(ctx); return err })
	return out, err
}

func (a reloginAdmin) GetRun(ctx context.Context, runID string) (run admin.Run, loads []admin.TableLoad, err error) {
	err = a.call(ctx, func(db *admin.DB) error { run, loads, err = db.GetRun(ctx, runID); return err })
	return run, loads, err
}

func (a reloginAdmin) StartRun(ctx context.Context, runID, runDate string, companies int, at time.Time) error {
	return a.call(ctx, func(db *admin.DB) error { return db.StartRun(ctx, runID, runDate, companies, at) })
}

func (a reloginAdmin) FinishRun(ctx context.Context, r admin.Run) error {
	return a.call(ctx, func(db *admin.DB) error { return db.FinishRun(ctx, r) })
}

func (a reloginAdmin) RecordTableLoad(ctx context.Context, l admin.TableLoad) error {
	return a.call(ctx, func(db *admin.DB) error { return db.RecordTableLoad(ctx, l) })
}

func (a reloginAdmin) TableLoads(ctx context.Context, runID string) (out []admin.TableLoad, err error) {
	err = a.call(ctx, func(db *admin.DB) error { out, err = db.TableLoads(ctx, runID); return err })
	return out, err
}

func (a reloginAdmin) AcquireLease(ctx context.Context, runID string, ttl time.Duration, now time.Time) error {
	return a.call(ctx, func(db *admin.DB) error { return db.AcquireLease(ctx, runID, ttl, now) })
}

func (a reloginAdmin) ReleaseLease(ctx context.Context, runID string) error {
	return a.call(ctx, func(db *admin.DB) error { return db.ReleaseLease(ctx, runID) })
}
