package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATEs Ferry treats as transient.
var transientCodes = map[string]bool{
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
	"55P03": true, // lock_not_available (lock_timeout)
	"57P01": true, // admin_shutdown (pg_terminate_backend, failover)
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now
	"53300": true, // too_many_connections
	"53400": true, // configuration_limit_exceeded
}

// classify wraps err with op and marks transient errors retryable. Data
// errors are mapped by the callers that know the chunk.
func classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if isTransient(ctx, err) {
		return ferry.Retryable(op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isTransient(ctx context.Context, err error) bool {
	if errors.Is(err, context.Canceled) && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if transientCodes[pe.Code] || strings.HasPrefix(pe.Code, "08") {
			return true
		}
		if pe.Code == "57014" { // query_canceled: statement_timeout or our deadline
			return ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded)
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "unexpected EOF")
}

func asPgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
