package admin

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/go-sql-driver/mysql"
)

func ferryRetryable(op string, err error) error { return ferry.Retryable(op, err) }

// transient reports the MySQL errors worth retrying: a lost or refused
// connection, lock wait timeout (1205), deadlock (1213), too many
// connections (1040), server shutdown (1053), query interrupted by a
// timeout (3024, 1969) and a statement context deadline.
func transient(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1205, 1213, 1040, 1053, 3024, 1969, 2006, 2013:
			return true
		}
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.As(err, &ne):
		return true
	}
	return false
}

// dbErr wraps err with op, marking it retryable when it is transient.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if transient(err) {
		return ferry.Retryable(op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// dbTime scans a DATETIME whether or not the DSN sets parseTime.
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(v any) error {
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
	return fmt.Errorf("admin: cannot scan %T as a time", v)
}

func (d *dbTime) parse(s string) error {
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
	return fmt.Errorf("admin: cannot parse time %q", s)
}
