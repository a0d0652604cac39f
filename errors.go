package ferry

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is what every Store (and the admin reader) wraps when the
// object or row asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrSwappedUnrecorded is wrapped by a Target.Swap error that comes after the
// tables were swapped: the new data is live, only its bookkeeping (the
// freshness rows) failed. A retry finds the swap done and records it.
var ErrSwappedUnrecorded = errors.New("the tables were swapped, but recording it failed")

// The error types below cross the Lambda edge. aws-lambda-go reports the
// outermost error's type name as the errorType, so the state machine's Retry
// and Catch name them: "RetryableError", "ConfigError", "DataError",
// "CountMismatchError", "RunLeaseHeldError". Steps return them through
// LambdaError so that the outermost error is always one of them.

// Where names the thing an error is about. Empty fields are omitted.
type Where struct {
	Company string `json:"company,omitempty"`
	Table   string `json:"table,omitempty"`
	Chunk   string `json:"chunk,omitempty"`
}

func (w Where) String() string {
	var parts []string
	if w.Company != "" {
		parts = append(parts, "company "+w.Company)
	}
	if w.Table != "" {
		parts = append(parts, "table "+w.Table)
	}
	if w.Chunk != "" {
		parts = append(parts, "chunk "+w.Chunk)
	}
	return strings.Join(parts, ", ")
}

func prefix(w Where) string {
	if s := w.String(); s != "" {
		return s + ": "
	}
	return ""
}

// ConfigError is a permanent error in the admin configuration: retrying
// cannot help; Fix says what the operator should change.
type ConfigError struct {
	Where
	Msg string
	Fix string
}

func (e *ConfigError) Error() string {
	s := prefix(e.Where) + e.Msg
	if e.Fix != "" {
		s += " (fix: " + e.Fix + ")"
	}
	return s
}

// DataError is a permanent error in the data of one chunk: a value the
// target cannot hold or a policy refused. Row is the chunk-column value of
// the offending row when known.
type DataError struct {
	Where
	Row    string
	Column string
	Msg    string
	Fix    string
	// Detail is what the database added to its error (PostgreSQL's DETAIL
	// and CONTEXT lines), which may quote row values. Error() puts it on
	// lines of its own, each starting with DetailMark, after the message;
	// LambdaError (so Step Functions causes) and the run history drop them
	// (WithoutDetail). Logs keep them.
	Detail string
}

func (e *DataError) Error() string {
	s := prefix(e.Where)
	if e.Row != "" {
		s += "row " + e.Row + ": "
	}
	if e.Column != "" {
		s += "column " + e.Column + ": "
	}
	s += e.Msg
	if e.Fix != "" {
		s += " (fix: " + e.Fix + ")"
	}
	if e.Detail != "" {
		for _, line := range strings.Split(strings.ReplaceAll(e.Detail, "\r\n", "\n"), "\n") {
			s += "\n" + DetailMark + line
		}
	}
	return s
}

// DetailMark starts each line of a database detail in an error message
// (see DataError.Detail).
const DetailMark = "[database detail] "

// WithoutDetail is msg without its database detail lines (DetailMark):
// what Ferry shows of an error outside its logs, since those lines can
// quote row values. Other lines (errors.Join's list) stay.
func WithoutDetail(msg string) string {
	if !strings.Contains(msg, DetailMark) {
		return msg
	}
	lines := strings.Split(msg, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, DetailMark) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// CountMismatchError refuses a swap whose staging count differs from the
// sum of the exported chunk counts. Live is left untouched.
type CountMismatchError struct {
	Where
	Staging  int64
	Expected int64
	// msg, when set (by LambdaError), is the whole wrapped chain's message.
	msg string
}

func (e *CountMismatchError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("%sstaging has %d rows, the exported chunks have %d; live left unchanged (fix: rerun the workflow)",
		prefix(e.Where), e.Staging, e.Expected)
}

// RunLeaseHeldError refuses a run while another run holds the lease.
type RunLeaseHeldError struct {
	Holder  string
	Expires string
	// msg, when set (by LambdaError), is the whole wrapped chain's message.
	msg string
}

func (e *RunLeaseHeldError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("another run (%s) holds the run lease until %s; nothing was touched (fix: wait for it to finish, or release a stale lease with `ferry runs release`)", e.Holder, e.Expires)
}

// RetryableError is a transient failure (connection reset, lock wait
// timeout, deadlock, throttling, a 5xx from S3). The state machine retries
// it with backoff.
type RetryableError struct {
	Op  string
	Err error
}

func (e *RetryableError) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable marks err as transient. nil stays nil.
func Retryable(op string, err error) error {
	if err == nil {
		return nil
	}
	var r *RetryableError
	if errors.As(err, &r) {
		return err
	}
	return &RetryableError{Op: op, Err: err}
}

// TaskError is any other failure at the Lambda edge. It is not retried by
// the state machine beyond the Lambda service retries.
type TaskError struct {
	Err error
}

func (e *TaskError) Error() string { return e.Err.Error() }
func (e *TaskError) Unwrap() error { return e.Err }

// LambdaError returns err with one of the typed errors above outermost, so
// that aws-lambda-go reports its type name and Step Functions can match it.
// The message keeps the whole wrapped chain without its database detail
// lines (WithoutDetail): they may quote row values, and Step Functions
// keeps causes in the execution history. When the chain holds several
// typed errors, the first of RunLeaseHeldError, ConfigError, DataError,
// CountMismatchError and RetryableError wins, so a permanent cause is never
// retried; any other error becomes a TaskError. nil stays nil.
func LambdaError(err error) error {
	if err == nil {
		return nil
	}
	msg := WithoutDetail(err.Error())
	var (
		ce *ConfigError
		de *DataError
		me *CountMismatchError
		le *RunLeaseHeldError
		re *RetryableError
	)
	switch {
	case errors.As(err, &le):
		return &RunLeaseHeldError{Holder: le.Holder, Expires: le.Expires, msg: msg}
	case errors.As(err, &ce):
		return &ConfigError{Msg: msg}
	case errors.As(err, &de):
		return &DataError{Msg: msg}
	case errors.As(err, &me):
		c := *me
		c.msg = msg
		return &c
	case errors.As(err, &re):
		return &RetryableError{Op: "", Err: errors.New(msg)}
	default:
		var te *TaskError
		if msg != err.Error() {
			return &TaskError{Err: firstLineError{msg: msg, err: err}}
		}
		if errors.As(err, &te) && te == err {
			return err
		}
		return &TaskError{Err: err}
	}
}

// firstLineError shows err's message without its details and unwraps to it.
type firstLineError struct {
	msg string
	err error
}

func (e firstLineError) Error() string { return e.msg }
func (e firstLineError) Unwrap() error { return e.err }
