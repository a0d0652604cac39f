package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/sqlparams"
	"github.com/go-sql-driver/mysql"
)

// Server error numbers Ferry reacts to.
const (
	erAccessDenied         = 1044
	erAccessDeniedUser     = 1045
	erNoDB                 = 1046
	erBadDB                = 1049
	erServerShutdown       = 1053
	erAmbiguousColumn      = 1052
	erBadField             = 1054
	erDupField             = 1060
	erParse                = 1064
	erTableExists          = 1050
	erNoSuchTable          = 1146
	erTableAccessDenied    = 1142
	erColumnAccessDenied   = 1143
	erLocalInfileDisabled  = 1148
	erLockWaitTimeout      = 1205
	erLockDeadlock         = 1213
	erDerivedMustHaveAlias = 1248
	erTooManyConnections   = 1040
	erConCount             = 1203
	erQueryInterrupted     = 1317
	erOptionPreventsStmt   = 1290
	erReadOnlyTx           = 1792
	erRecordFileFull       = 1114 // "The table … is full": no disk or tablespace space left
	erReadOnlyMode         = 1836
	erStatementTimeout     = 1969 // MariaDB max_statement_time
	erConnectionKilled     = 1927 // MariaDB
	erQueryTimeout         = 3024 // MySQL MAX_EXECUTION_TIME
	erLocalInfileMySQL     = 3948 // MySQL: loading local data is disabled
	erTruncated            = 1265
	erWarnDataOutOfRange   = 1264
	erTruncatedWrongValue  = 1292
	erIncorrectValue       = 1366
	erDataTooLong          = 1406
	erBadNull              = 1048
	erDupEntry             = 1062
	erAlterUnsupported     = 1845 // the ALTER's ALGORITHM or LOCK clause is refused
	erAlterUnsupportedWhy  = 1846 // the same, with a reason
)

func mysqlErrNo(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// isTransient reports whether err is worth retrying: connection trouble,
// lock wait timeouts, deadlocks, a server going away or read-only during a
// failover, and statement timeouts that stem from a deadline.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	switch mysqlErrNo(err) {
	case erLockWaitTimeout, erLockDeadlock, erTooManyConnections, erConCount, erServerShutdown,
		erStatementTimeout, erQueryTimeout, erConnectionKilled, erReadOnlyMode, erReadOnlyTx,
		erOptionPreventsStmt, erQueryInterrupted:
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// isConfigProblem reports whether err is the configured query's or the
// account's fault: retrying cannot help.
func isConfigProblem(err error) bool {
	switch mysqlErrNo(err) {
	case erParse, erNoSuchTable, erBadField, erDupField, erAmbiguousColumn, erDerivedMustHaveAlias,
		erTableAccessDenied, erColumnAccessDenied, erAccessDenied, erAccessDeniedUser, erBadDB, erNoDB:
		return true
	}
	return false
}

// classify wraps err with op: transient errors as ferry.Retryable, query
// and privilege errors as *ferry.ConfigError, parameter errors too.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var qe *sqlparams.QueryError
	var ue *sqlparams.UnknownParamError
	switch {
	case errors.As(err, &qe) || errors.As(err, &ue):
		return &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: "correct the table's query in the admin database"}
	case packetTooLarge(err):
		// Before isTransient: the server closes the connection after 1153.
		return packetError(op, err)
	case isTransient(err):
		return ferry.Retryable(op, err)
	case isConfigProblem(err):
		return &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: "correct the table's query, or grant the account the privilege the server names"}
	case mysqlErrNo(err) == erRecordFileFull:
		return &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: "the target database is out of space (a full disk or tablespace, or the table's size limit): free space or grow its storage, then run again; live tables are untouched"}
	}
	if hid := hideValues(err.Error()); hid != err.Error() {
		return &valuesHidden{msg: op + ": " + hid, err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// valuesHidden is a server error whose text quoted a row value ("Duplicate
// entry 'k' for key ...", "Incorrect integer value: 'x'"): its message
// leaves the value out (hideValues), as every cause and run-history row
// must; errors.Is and errors.As still reach the server's error.
type valuesHidden struct {
	msg string
	err error
}

func (e *valuesHidden) Error() string { return e.msg }
func (e *valuesHidden) Unwrap() error { return e.err }
