package admin

import (
	"context"
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

// NextLease is the lease rule, whatever the engine: runID takes cur until
// now+ttl unless another run holds it unexpired, which is a
// *ferry.RunLeaseHeldError. The same run extends its lease and keeps its
// acquired_at; an expired lease is taken over.
func NextLease(cur Lease, runID string, ttl time.Duration, now time.Time) (Lease, error) {
	now = now.UTC()
	if cur.Held(now) && cur.Holder != runID {
		return cur, &ferry.RunLeaseHeldError{Holder: cur.Holder, Expires: cur.ExpiresAt.Format(time.RFC3339)}
	}
	acquired := now
	if cur.Holder == runID && !cur.AcquiredAt.IsZero() {
		acquired = cur.AcquiredAt
	}
	return Lease{Holder: runID, AcquiredAt: acquired, ExpiresAt: now.Add(ttl)}, nil
}

// AcquireLease takes the single run lease for runID until now+ttl
// (NextLease). It returns *ferry.RunLeaseHeldError, and changes nothing,
// when another run holds an unexpired lease. For the same runID it is
// idempotent.
func (db *DB) AcquireLease(ctx context.Context, runID string, ttl time.Duration, now time.Time) error {
	if runID == "" {
		return fmt.Errorf("admin: acquire lease: empty run id")
	}
	return db.b.UpdateLease(ctx, func(cur Lease) (Lease, error) { return NextLease(cur, runID, ttl, now) })
}

// GetLease returns the lease row (zero Lease when none was ever taken).
func (db *DB) GetLease(ctx context.Context) (Lease, error) { return db.b.Lease(ctx) }

// ReleaseLease releases the lease if runID holds it; otherwise (released
// already, expired and taken by another run) it does nothing. Idempotent.
func (db *DB) ReleaseLease(ctx context.Context, runID string) error {
	if runID == "" {
		return nil
	}
	return db.b.ClearLease(ctx, runID)
}

// ForceRelease releases the lease whoever holds it (`ferry runs release`,
// for a run that died without finishing). It returns the lease it cleared.
func (db *DB) ForceRelease(ctx context.Context) (Lease, error) {
	l, err := db.b.Lease(ctx)
	if err != nil {
		return l, err
	}
	return l, db.b.ClearLease(ctx, "")
}
