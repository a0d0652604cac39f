package wire

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// relogins reports whether role's database is read from a secret in a
// process that runs steps concurrently (Local: `ferry run`). There Fail's
// Reset would close pools other steps are using, and the steps keep the
// Deps they were given, so the admin database, the source and the target
// re-login by themselves: reloginAdmin, reloginSource and reloginTarget.
func (w *Wire) relogins(r Role) bool {
	dsn, arn := w.env.dsnAndSecret(r)
	return w.local && dsn == "" && arn != ""
}

// relogin handles err from a call on role's database of generation gen:
// a refused login (the secret was rotated, and a new connection still used
// the old password) drops the role's cached secret and, if it is still
// the one that failed, its pool, so the next call opens the database with
// the re-read secret; the error is returned retryable, so the workflow's
// Retry makes that call. Other errors are returned as they are.
//
// A call whose pool was closed and replaced while it ran (another call's
// refused login reset it: "closed pool", "database is closed") fails
// with whatever that pool said; that error is returned retryable too, so
// the retry uses the new pool. Any other error of such a call (bad data, a
// count mismatch) keeps its type: a retry would not change it.
func (w *Wire) relogin(r Role, gen uint64, err error) error {
	if err == nil {
		return nil
	}
	if !w.engines.LoginRefused(err) {
		if gen != 0 && poolClosed(err) && w.replaced(r, gen) {
			return &ferry.RetryableError{Op: "database pool reopened while in use (secret rotated? the retry uses the new pool)", Err: flatten(err)}
		}
		return err
	}
	if c, ok := w.smOnce.peek(); ok {
		_, arn := w.env.dsnAndSecret(r)
		c.Invalidate(arn)
	}
	w.log.Warn("wire: the database refused the login; re-reading its secret and reconnecting on retry", "role", string(r))
	switch r {
	case Admin:
		w.admin.resetGen(gen, func(db *admin.DB) { db.Close() })
	case Source:
		w.source.resetGen(gen, func(ferry.Source) { w.closeRole(Source) })
	case Target:
		w.target.resetGen(gen, func(ferry.Target) { w.closeRole(Target) })
	}
	// Flattened, as in Fail: a ConfigError inside would otherwise win.
	return &ferry.RetryableError{Op: "database login refused (secret rotated? it is re-read on retry)", Err: flatten(err)}
}

// poolClosed reports an error of a call whose pool was closed under it:
// database/sql's "sql: database is closed" or a done connection, pgxpool's
// "closed pool".
func poolClosed(err error) bool {
	msg := err.Error()
	return errors.Is(err, sql.ErrConnDone) || strings.Contains(msg, "database is closed") || strings.Contains(msg, "closed pool")
}

// flatten is err's message without its types (a ConfigError inside must
// not decide the outcome of a retryable error), except
// ferry.ErrSwappedUnrecorded, which it keeps: swap-tables must never
// record as not swapped the tables of a swap that happened.
func flatten(err error) error {
	if errors.Is(err, ferry.ErrSwappedUnrecorded) {
		return swappedUnrecorded(err.Error())
	}
	return errors.New(err.Error())
}

// swappedUnrecorded is a flattened error that is ferry.ErrSwappedUnrecorded.
type swappedUnrecorded string

func (e swappedUnrecorded) Error() string { return string(e) }

// Is reports target == ferry.ErrSwappedUnrecorded.
func (e swappedUnrecorded) Is(target error) bool { return target == ferry.ErrSwappedUnrecorded }

// replaced reports whether role's pool is no longer generation gen.
func (w *Wire) replaced(r Role, gen uint64) bool {
	var cur uint64
	var ok bool
	switch r {
	case Admin:
		cur, ok = w.admin.current()
	case Source:
		cur, ok = w.source.current()
	case Target:
		cur, ok = w.target.current()
	default:
		return false
	}
	return !ok || cur != gen
}

// reloginSource is the source read from a secret under `ferry run`: each
// call uses the Wire's current pool, and a refused login reopens it with
// the re-read secret (Wire.relogin).
type reloginSource struct {
	w      *Wire
	engine ferry.Engine
}

func (s reloginSource) Engine() ferry.Engine { return s.engine }

func (s reloginSource) Columns(ctx context.Context, query string, params map[string]ferry.Param) ([]ferry.Column, error) {
	src, gen, err := s.w.sourceGen(ctx)
	if err != nil {
		return nil, s.w.relogin(Source, gen, err)
	}
	cols, err := src.Columns(ctx, query, params)
	return cols, s.w.relogin(Source, gen, err)
}

func (s reloginSource) Bounds(ctx context.Context, query string, params map[string]ferry.Param, chunkColumn string) (ferry.Bounds, error) {
	src, gen, err := s.w.sourceGen(ctx)
	if err != nil {
		return ferry.Bounds{}, s.w.relogin(Source, gen, err)
	}
	b, err := src.Bounds(ctx, query, params, chunkColumn)
	return b, s.w.relogin(Source, gen, err)
}

func (s reloginSource) Boundaries(ctx context.Context, query string, params map[string]ferry.Param, chunkColumn string, lo, hi, every int64) ([]int64, error) {
	src, gen, err := s.w.sourceGen(ctx)
	if err != nil {
		return nil, s.w.relogin(Source, gen, err)
	}
	b, err := src.Boundaries(ctx, query, params, chunkColumn, lo, hi, every)
	return b, s.w.relogin(Source, gen, err)
}

func (s reloginSource) Export(ctx context.Context, req ferry.ExportRequest, out io.Writer) (ferry.ExportStats, error) {
	src, gen, err := s.w.sourceGen(ctx)
	if err != nil {
		return ferry.ExportStats{}, s.w.relogin(Source, gen, err)
	}
	st, err := src.Export(ctx, req, out)
	return st, s.w.relogin(Source, gen, err)
}

// reloginTarget is reloginSource for the target.
type reloginTarget struct {
	w      *Wire
	engine ferry.Engine
}

func (t reloginTarget) Engine() ferry.Engine { return t.engine }

// call runs f on the current target pool, re-logging in on a refused login.
func (t reloginTarget) call(ctx context.Context, f func(ferry.Target) error) error {
	tg, gen, err := t.w.targetGen(ctx)
	if err == nil {
		err = f(tg)
	}
	return t.w.relogin(Target, gen, err)
}

func (t reloginTarget) EnsureSchema(ctx context.Context, schema string) error {
	return t.call(ctx, func(tg ferry.Target) error { return tg.EnsureSchema(ctx, schema) })
}

func (t reloginTarget) PrepareStaging(ctx context.Context, schema, table, staging string, cols []ferry.Column, chunkColumn string) error {
	return t.call(ctx, func(tg ferry.Target) error { return tg.PrepareStaging(ctx, schema, table, staging, cols, chunkColumn) })
}

func (t reloginTarget) SchemaChanges(ctx context.Context, schema, table string, cols []ferry.Column, chunkColumn string) (out []ferry.SchemaChange, err error) {
	err = t.call(ctx, func(tg ferry.Target) error {
		out, err = tg.SchemaChanges(ctx, schema, table, cols, chunkColumn)
		return err
	})
	return out, err
}

func (t reloginTarget) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (n int64, err error) {
	err = t.call(ctx, func(tg ferry.Target) error {
		n, err = tg.Load(ctx, req, r)
		return err
	})
	return n, err
}

func (t reloginTarget) Count(ctx context.Context, schema, table string) (n int64, err error) {
	err = t.call(ctx, func(tg ferry.Target) error {
		n, err = tg.Count(ctx, schema, table)
		return err
	})
	return n, err
}

func (t reloginTarget) Swap(ctx context.Context, req ferry.SwapRequest) (res ferry.SwapResult, err error) {
	err = t.call(ctx, func(tg ferry.Target) error {
		res, err = tg.Swap(ctx, req)
		return err
	})
	return res, err
}
