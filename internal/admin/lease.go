package admin

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
)

// Lease is the ferry_lease row: which run may write, until when.
type Lease struct {
	Holder     string    `json:"holder,omitempty"`
	AcquiredAt time.Time `json:"acquired_at,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitempty"`
}

// Held reports whether the lease is held by someone at now.
func (l Lease) Held(now time.Time) bool { return l.Holder != "" && now.Before(l.ExpiresAt) }

const leaseID = 1

// AcquireLease takes the single run lease for runID until now+ttl. It
// returns *ferry.RunLeaseHeldError, and changes nothing, when another run
// holds an unexpired lease. For the same runID it is idempotent: the
// expiry is extended and acquired_at kept. An expired lease is taken over.
func AcquireLease(ctx context.Context, db *sql.DB, runID string, ttl time.Duration, now time.Time) error {
	if runID == "" {
		return fmt.Errorf("admin: acquire lease: empty run id")
	}
	now = now.UTC()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return dbErr("admin: acquire lease", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT IGNORE INTO `ferry_lease` (`id`) VALUES (?)", leaseID); err != nil {
		return dbErr("admin: acquire lease", err)
	}
	l, err := readLease(ctx, tx, true)
	if err != nil {
		return err
	}
	if l.Held(now) && l.Holder != runID {
		return &ferry.RunLeaseHeldError{Holder: l.Holder, Expires: l.ExpiresAt.Format(time.RFC3339)}
	}
	acquired := now
	if l.Holder == runID && !l.AcquiredAt.IsZero() {
		acquired = l.AcquiredAt
	}
	if _, err := tx.ExecContext(ctx, "UPDATE `ferry_lease` SET `holder` = ?, `acquired_at` = ?, `expires_at` = ? WHERE `id` = ?",
		runID, acquired, now.Add(ttl), leaseID); err != nil {
		return dbErr("admin: acquire lease", err)
	}
	return dbErr("admin: acquire lease", tx.Commit())
}

func readLease(ctx context.Context, q Querier, forUpdate bool) (Lease, error) {
	query := "SELECT `holder`, `acquired_at`, `expires_at` FROM `ferry_lease` WHERE `id` = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	var holder sql.NullString
	var acq, exp dbTime
	err := q.QueryRowContext(ctx, query, leaseID).Scan(&holder, &acq, &exp)
	if err == sql.ErrNoRows {
		return Lease{}, nil
	}
	if err != nil {
		return Lease{}, dbErr("admin: read lease", err)
	}
	return Lease{Holder: holder.String, AcquiredAt: acq.T, ExpiresAt: exp.T}, nil
}

// GetLease returns the lease row (zero Lease when none was ever taken).
func GetLease(ctx context.Context, q Querier) (Lease, error) { return readLease(ctx, q, false) }

// ReleaseLease releases the lease if runID holds it; otherwise (released
// already, expired and taken by another run) it does nothing. Idempotent.
func ReleaseLease(ctx context.Context, q Querier, runID string) error {
	_, err := q.ExecContext(ctx, "UPDATE `ferry_lease` SET `holder` = NULL, `acquired_at` = NULL, `expires_at` = NULL WHERE `id` = ? AND `holder` = ?", leaseID, runID)
	return dbErr("admin: release lease", err)
}

// ForceRelease releases the lease whoever holds it (`ferry runs release`,
// for a run that died without finishing). It returns the lease it cleared.
func ForceRelease(ctx context.Context, q Querier) (Lease, error) {
	l, err := readLease(ctx, q, false)
	if err != nil {
		return l, err
	}
	_, err = q.ExecContext(ctx, "UPDATE `ferry_lease` SET `holder` = NULL, `acquired_at` = NULL, `expires_at` = NULL WHERE `id` = ?", leaseID)
	return l, dbErr("admin: force release lease", err)
}
