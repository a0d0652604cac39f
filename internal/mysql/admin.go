package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// Admin is the admin database on MySQL or MariaDB: the admin.Backend with
// MySQL's SQL, migrations (migrations/*.sql) and error classification.
// Transient errors (isTransient, the classifier every MySQL statement of
// Ferry goes through) are returned wrapped by ferry.Retryable.
type Admin struct {
	db *sql.DB
	q  querier // db, or the transaction of InTx
}

var _ admin.Backend = (*Admin)(nil)

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// NewAdmin returns the admin database on db (from Open).
func NewAdmin(db *sql.DB) *admin.DB { return admin.New(&Admin{db: db, q: db}) }

// InTx runs fn on a Backend inside one transaction.
func (a *Admin) InTx(ctx context.Context, fn func(admin.Backend) error) error {
	if _, nested := a.q.(*sql.Tx); nested {
		return fn(a)
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return dbErr("admin: begin", err)
	}
	defer tx.Rollback()
	if err := fn(&Admin{db: a.db, q: tx}); err != nil {
		return err
	}
	return dbErr("admin: commit", tx.Commit())
}

// Close closes the pool.
func (a *Admin) Close() error { return a.db.Close() }

// dbErr wraps err with op, marking it retryable when it is transient. It
// is for the admin database, where a query or privilege error is the
// operator's to fix, not the configured query's (see classify).
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if isTransient(err) {
		return ferry.Retryable(op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// scanTime scans a DATE, DATETIME or TIMESTAMP whatever the DSN's
// parseTime (Open reads them as text), in UTC. NULL and MySQL's zero
// dates are not Valid. It is the one time scanner of the MySQL adapter.
type scanTime struct {
	T     time.Time
	Valid bool
}

func (d *scanTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.Valid = false
		return nil
	case time.Time:
		d.T, d.Valid = x.UTC(), true
		return nil
	case []byte:
		return d.parse(string(x))
	case string:
		return d.parse(x)
	}
	return fmt.Errorf("mysql: cannot scan %T as a time", v)
}

func (d *scanTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", "2006-01-02", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			d.T, d.Valid = t, true
			return nil
		}
	}
	if s == "0000-00-00 00:00:00" || s == "0000-00-00" {
		d.Valid = false
		return nil
	}
	return fmt.Errorf("mysql: cannot parse time %q", s)
}

// ptr is the scanned time, or nil when it is not Valid.
func (d scanTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}
