package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/ferrydata/ferry/internal/admin"
	"github.com/jackc/pgx/v5"
)

// leaseID is the key of the one ferry_lease row.
const leaseID = 1

func readLease(ctx context.Context, q adminQuerier, forUpdate bool) (admin.Lease, error) {
	query := `SELECT coalesce(holder, ''), acquired_at, expires_at FROM ferry_lease WHERE id = $1`
	if forUpdate {
		query += " FOR UPDATE"
	}
	var l admin.Lease
	var acq, exp *time.Time
	err := q.QueryRow(ctx, query, leaseID).Scan(&l.Holder, &acq, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return admin.Lease{}, nil
	}
	if err != nil {
		return admin.Lease{}, adminErr(ctx, "admin: read lease", err)
	}
	if acq != nil {
		l.AcquiredAt = acq.UTC()
	}
	if exp != nil {
		l.ExpiresAt = exp.UTC()
	}
	return l, nil
}

// Lease implements admin.Backend.
func (a *Admin) Lease(ctx context.Context) (admin.Lease, error) { return readLease(ctx, a.q, false) }

// UpdateLease implements admin.Backend: the row is read with SELECT ... FOR
// UPDATE, so concurrent runs take turns.
func (a *Admin) UpdateLease(ctx context.Context, next func(admin.Lease) (admin.Lease, error)) error {
	const op = "admin: acquire lease"
	return a.InTx(ctx, func(b admin.Backend) error {
		q := b.(*Admin).q
		if _, err := q.Exec(ctx, `INSERT INTO ferry_lease (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, leaseID); err != nil {
			return adminErr(ctx, op, err)
		}
		cur, err := readLease(ctx, q, true)
		if err != nil {
			return err
		}
		l, err := next(cur)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE ferry_lease SET holder = $1, acquired_at = $2, expires_at = $3 WHERE id = $4`,
			nullIfZero(l.Holder), l.AcquiredAt.UTC(), l.ExpiresAt.UTC(), leaseID)
		return adminErr(ctx, op, err)
	})
}

// ClearLease implements admin.Backend.
func (a *Admin) ClearLease(ctx context.Context, holder string) error {
	_, err := a.q.Exec(ctx, `UPDATE ferry_lease SET holder = NULL, acquired_at = NULL, expires_at = NULL
		WHERE id = $1 AND ($2::text IS NULL OR holder = $2)`, leaseID, nullIfZero(holder))
	return adminErr(ctx, "admin: release lease", err)
}
