package mysql

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ferrydata/ferry/internal/admin"
)

// leaseID is the key of the one ferry_lease row.
const leaseID = 1

func readLease(ctx context.Context, q querier, forUpdate bool) (admin.Lease, error) {
	query := "SELECT `holder`, `acquired_at`, `expires_at` FROM `ferry_lease` WHERE `id` = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	var holder sql.NullString
	var acq, exp scanTime
	err := q.QueryRowContext(ctx, query, leaseID).Scan(&holder, &acq, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return admin.Lease{}, nil
	}
	if err != nil {
		return admin.Lease{}, dbErr("admin: read lease", err)
	}
	return admin.Lease{Holder: holder.String, AcquiredAt: acq.T, ExpiresAt: exp.T}, nil
}

// Lease implements admin.Backend.
func (a *Admin) Lease(ctx context.Context) (admin.Lease, error) { return readLease(ctx, a.q, false) }

// UpdateLease implements admin.Backend: the row is read with SELECT ... FOR
// UPDATE, so concurrent runs take turns.
func (a *Admin) UpdateLease(ctx context.Context, next func(admin.Lease) (admin.Lease, error)) error {
	const op = "admin: acquire lease"
	return a.InTx(ctx, func(b admin.Backend) error {
		q := b.(*Admin).q
		if _, err := q.ExecContext(ctx, "INSERT IGNORE INTO `ferry_lease` (`id`) VALUES (?)", leaseID); err != nil {
			return dbErr(op, err)
		}
		cur, err := readLease(ctx, q, true)
		if err != nil {
			return err
		}
		l, err := next(cur)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, "UPDATE `ferry_lease` SET `holder` = ?, `acquired_at` = ?, `expires_at` = ? WHERE `id` = ?",
			l.Holder, l.AcquiredAt.UTC(), l.ExpiresAt.UTC(), leaseID)
		return dbErr(op, err)
	})
}

// ClearLease implements admin.Backend.
func (a *Admin) ClearLease(ctx context.Context, holder string) error {
	query, args := "UPDATE `ferry_lease` SET `holder` = NULL, `acquired_at` = NULL, `expires_at` = NULL WHERE `id` = ?", []any{leaseID}
	if holder != "" {
		query += " AND `holder` = ?"
		args = append(args, holder)
	}
	_, err := a.q.ExecContext(ctx, query, args...)
	return dbErr("admin: release lease", err)
}
