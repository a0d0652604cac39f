package asl

import (
	"encoding/json"
	"sync"
	"time"
)

// Event is one execution history event, shaped like an element of the
// Step Functions GetExecutionHistory "events" array. Exactly one *Details
// field is set, matching Type (some types have none).
type Event struct {
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`
	Timestamp       time.Time `json:"timestamp"`
	Type            string    `json:"type"`

	ExecutionStartedEventDetails        *ExecutionStartedDetails `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails      *OutputDetails           `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails         *ErrorDetails            `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails        *ErrorDetails            `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails       *ErrorDetails            `json:"executionTimedOutEventDetails,omitempty"`
	StateEnteredEventDetails            *StateEnteredDetails     `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails             *StateExitedDetails      `json:"stateExitedEventDetails,omitempty"`
	TaskScheduledEventDetails           *TaskScheduledDetails    `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails             *TaskDetails             `json:"taskStartedEventDetails,omitempty"`
	TaskSucceededEventDetails           *TaskSucceededDetails    `json:"taskSucceededEventDetails,omitempty"`
	TaskFailedEventDetails              *TaskFailedDetails       `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails            *TaskFailedDetails       `json:"taskTimedOutEventDetails,omitempty"`
	LambdaFunctionScheduledEventDetails *LambdaScheduledDetails  `json:"lambdaFunctionScheduledEventDetails,omitempty"`
	LambdaFunctionSucceededEventDetails *OutputDetails           `json:"lambdaFunctionSucceededEventDetails,omitempty"`
	LambdaFunctionFailedEventDetails    *ErrorDetails            `json:"lambdaFunctionFailedEventDetails,omitempty"`
	LambdaFunctionTimedOutEventDetails  *ErrorDetails            `json:"lambdaFunctionTimedOutEventDetails,omitempty"`
	MapStateStartedEventDetails         *MapStateStartedDetails  `json:"mapStateStartedEventDetails,omitempty"`
	MapIterationStartedEventDetails     *MapIterationDetails     `json:"mapIterationStartedEventDetails,omitempty"`
	MapIterationSucceededEventDetails   *MapIterationDetails     `json:"mapIterationSucceededEventDetails,omitempty"`
	MapIterationFailedEventDetails      *MapIterationDetails     `json:"mapIterationFailedEventDetails,omitempty"`
	MapIterationAbortedEventDetails     *MapIterationDetails     `json:"mapIterationAbortedEventDetails,omitempty"`
	MapRunStartedEventDetails           *MapRunStartedDetails    `json:"mapRunStartedEventDetails,omitempty"`
	MapRunFailedEventDetails            *ErrorDetails            `json:"mapRunFailedEventDetails,omitempty"`
}

// PayloadDetails says whether a payload was truncated (never, here).
type PayloadDetails struct {
	Truncated bool `json:"truncated"`
}

// ExecutionStartedDetails details ExecutionStarted.
type ExecutionStartedDetails struct {
	Input        string         `json:"input"`
	InputDetails PayloadDetails `json:"inputDetails"`
	RoleArn      string         `json:"roleArn,omitempty"`
}

// OutputDetails carries an output payload.
type OutputDetails struct {
	Output        string         `json:"output"`
	OutputDetails PayloadDetails `json:"outputDetails"`
}

// ErrorDetails carries an error name and cause.
type ErrorDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// StateEnteredDetails details *StateEntered events.
type StateEnteredDetails struct {
	Name         string         `json:"name"`
	Input        string         `json:"input"`
	InputDetails PayloadDetails `json:"inputDetails"`
}

// StateExitedDetails details *StateExited events.
type StateExitedDetails struct {
	Name          string         `json:"name"`
	Output        string         `json:"output"`
	OutputDetails PayloadDetails `json:"outputDetails"`
}

// TaskScheduledDetails details TaskScheduled.
type TaskScheduledDetails struct {
	ResourceType     string `json:"resourceType"`
	Resource         string `json:"resource"`
	Region           string `json:"region"`
	Parameters       string `json:"parameters"`
	TimeoutInSeconds int64  `json:"timeoutInSeconds,omitempty"`
}

// TaskDetails details TaskStarted.
type TaskDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
}

// TaskSucceededDetails details TaskSucceeded.
type TaskSucceededDetails struct {
	ResourceType  string         `json:"resourceType"`
	Resource      string         `json:"resource"`
	Output        string         `json:"output"`
	OutputDetails PayloadDetails `json:"outputDetails"`
}

// TaskFailedDetails details TaskFailed and TaskTimedOut.
type TaskFailedDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
}

// LambdaScheduledDetails details LambdaFunctionScheduled.
type LambdaScheduledDetails struct {
	Resource         string         `json:"resource"`
	Input            string         `json:"input"`
	InputDetails     PayloadDetails `json:"inputDetails"`
	TimeoutInSeconds int64          `json:"timeoutInSeconds,omitempty"`
}

// MapStateStartedDetails details MapStateStarted.
type MapStateStartedDetails struct {
	Length int `json:"length"`
}

// MapIterationDetails details MapIteration* events.
type MapIterationDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// MapRunStartedDetails details MapRunStarted.
type MapRunStartedDetails struct {
	MapRunArn string `json:"mapRunArn"`
}

// Observation is what an Observer receives: one history event of the
// execution, or of one of its Distributed Map child executions.
type Observation struct {
	ExecutionArn string // the execution the event belongs to
	MapRunArn    string // set for events of Distributed Map child executions
	ItemIndex    int    // index of the child's first item in the Map Run; -1 for the parent
	Event        Event
}

// Observer is called for every history event, one call at a time (calls
// are serialized across goroutines). It must not block for long.
type Observer func(Observation)

type history struct {
	mu     sync.Mutex
	events []*Event
	obs    *observerHub
	arn    string
	mapRun string
	index  int
}

type observerHub struct {
	mu sync.Mutex
	fn Observer
}

func (h *history) add(prev int64, ts time.Time, typ string, fill func(*Event)) int64 {
	h.mu.Lock()
	ev := &Event{ID: int64(len(h.events) + 1), PreviousEventID: prev, Timestamp: ts.UTC(), Type: typ}
	if fill != nil {
		fill(ev)
	}
	h.events = append(h.events, ev)
	h.mu.Unlock()
	if h.obs != nil && h.obs.fn != nil {
		h.obs.mu.Lock()
		h.obs.fn(Observation{ExecutionArn: h.arn, MapRunArn: h.mapRun, ItemIndex: h.index, Event: *ev})
		h.obs.mu.Unlock()
	}
	return ev.ID
}

func (h *history) list() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Event, len(h.events))
	for i, e := range h.events {
		out[i] = *e
	}
	return out
}

// History returns the execution's events in order.
func (e *Execution) History() []Event { return e.hist.list() }

// HistoryJSON returns the history as {"events":[...]}, like
// GetExecutionHistory.
func (e *Execution) HistoryJSON() ([]byte, error) {
	return json.MarshalIndent(struct {
		Events []Event `json:"events"`
	}{e.hist.list()}, "", "  ")
}
