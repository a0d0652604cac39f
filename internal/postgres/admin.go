package postgres

import (
	"context"
	"log/slog"

	"github.com/ferrydata/ferry/internal/admin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Admin is the admin database on PostgreSQL or Aurora PostgreSQL: the
// admin.Backend with PostgreSQL's SQL and migrations (migrations/*.sql:
// the original tool's four tables and Ferry's own, with the same names and
// columns as on MySQL). The tables live in the connection's schema (the
// first of its search_path, usually public). Transient errors are wrapped
// by ferry.Retryable.
type Admin struct {
	pool *pgxpool.Pool
	q    adminQuerier // pool, or the transaction of InTx
}

var _ admin.Backend = (*Admin)(nil)

// adminQuerier is what *pgxpool.Pool and pgx.Tx have in common.
type adminQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// NewAdmin returns the admin database on pool.
func NewAdmin(pool *pgxpool.Pool) *admin.DB { return admin.New(&Admin{pool: pool, q: pool}) }

// InTx implements admin.Backend: fn's statements form one transaction.
func (a *Admin) InTx(ctx context.Context, fn func(admin.Backend) error) error {
	if _, nested := a.q.(pgx.Tx); nested {
		return fn(a)
	}
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		return adminErr(ctx, "admin: begin", err)
	}
	defer rollback(tx)
	if err := fn(&Admin{pool: a.pool, q: tx}); err != nil {
		return err
	}
	return adminErr(ctx, "admin: commit", tx.Commit(ctx))
}

// Close closes the pool.
func (a *Admin) Close() error {
	a.pool.Close()
	return nil
}

// adminErr wraps err with op, marking transient errors retryable. On the
// admin database a query or privilege error is the operator's to fix.
func adminErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	return classify(ctx, op, err)
}

// nullIfZero is v, or NULL for v's zero value.
func nullIfZero[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// OpenAdmin opens the admin database at dsn (not migrated).
func (Engine) OpenAdmin(ctx context.Context, dsn string, _ *slog.Logger) (*admin.DB, error) {
	pool, err := OpenPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return NewAdmin(pool), nil
}
