package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Predefined error names of the States Language.
const (
	ErrAll                    = "States.ALL"
	ErrTaskFailed             = "States.TaskFailed"
	ErrTimeout                = "States.Timeout"
	ErrHeartbeatTimeout       = "States.HeartbeatTimeout"
	ErrRuntime                = "States.Runtime"
	ErrDataLimitExceeded      = "States.DataLimitExceeded"
	ErrPermissions            = "States.Permissions"
	ErrNoChoiceMatched        = "States.NoChoiceMatched"
	ErrIntrinsicFailure       = "States.IntrinsicFailure"
	ErrResultPathMatchFailure = "States.ResultPathMatchFailure"
	ErrParameterPathFailure   = "States.ParameterPathFailure"
	ErrBranchFailed           = "States.BranchFailed"
	ErrExceedToleratedFailure = "States.ExceedToleratedFailureThreshold"
	ErrItemReaderFailed       = "States.ItemReaderFailed"
	ErrResultWriterFailed     = "States.ResultWriterFailed"
	ErrQueryEvaluationError   = "States.QueryEvaluationError"
	ErrAborted                = "States.Aborted" // the Error of an ABORTED execution
)

const (
	maxPayloadBytes                = 256 * 1024
	defaultTaskTimeoutSeconds      = 99999999
	executionTimedOutCause         = "The execution timed out: it ran longer than the state machine's TimeoutSeconds."
	toleratedFailureThresholdCause = "The specified tolerated failure threshold was exceeded"
	statesALLExcludedDataLimit     = ErrDataLimitExceeded
	statesALLExcludedRuntime       = ErrRuntime
)

// TaskError is an error with a States Language error name and cause. A
// TaskHandler may return one to choose the name that Retry and Catch match
// (ErrorEquals); any other error is named the way AWS Lambda names it (see
// ErrorName). The engine also uses it for its own failures.
type TaskError struct {
	Name  string // e.g. "States.Timeout" or "MyErrorType"
	Cause string // human readable, often JSON

	// inState marks an error the engine raised while executing a state
	// whose Cause still lacks AWS's "An error occurred while executing the
	// state ..." prefix (see stateError).
	inState bool
}

func (e *TaskError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// newErr makes an error the engine raises itself. Those named
// States.Runtime, States.ItemReaderFailed, States.ResultWriterFailed,
// States.QueryEvaluationError and States.IntrinsicFailure get AWS's state
// prefix when they leave the state (stateError).
func newErr(name, format string, args ...any) *TaskError {
	te := &TaskError{Name: name, Cause: fmt.Sprintf(format, args...)}
	switch name {
	case ErrRuntime, ErrItemReaderFailed, ErrResultWriterFailed, ErrQueryEvaluationError, ErrIntrinsicFailure:
		te.inState = true
	}
	return te
}

// stateError gives an engine error raised in a state AWS's cause prefix:
// "An error occurred while executing the state 'NAME' (entered at the
// event id #N). " (N is the state's StateEntered event). Other errors
// pass unchanged.
func stateError(err error, sr *stateRun) error {
	var te *TaskError
	if !errors.As(err, &te) || !te.inState {
		return err
	}
	return &TaskError{Name: te.Name, Cause: fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", sr.st.Name, sr.enteredID, te.Cause)}
}

// ErrorName returns the error name AWS Lambda's Go runtime reports for err:
// the name of its dynamic type, dereferencing one pointer (so
// errors.New gives "errorString" and a *MyError gives "MyError"). A
// *TaskError gives its Name.
func ErrorName(err error) string {
	var te *TaskError
	if errors.As(err, &te) && te == err {
		return te.Name
	}
	return typeName(err)
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// lambdaCause is the JSON Lambda returns for a function error.
func lambdaCause(name, message string) string {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, name})
	return string(b)
}

// asTaskError converts any handler error to a *TaskError, naming it as AWS
// Lambda would.
func asTaskError(err error) *TaskError {
	var te *TaskError
	if errors.As(err, &te) {
		return te
	}
	name := typeName(err)
	return &TaskError{Name: name, Cause: lambdaCause(name, err.Error())}
}

// errAborted marks an execution stopped by its context.
var errAborted = errors.New("asl: execution aborted")

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errAborted)
}
