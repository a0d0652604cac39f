package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

var (
	errTaskTimedOut      = errors.New("asl: task timed out")
	errHeartbeatTimedOut = errors.New("asl: task heartbeat timed out")
)

type heartbeatKey struct{}

// Heartbeat tells the engine that the task whose handler got ctx is still
// making progress, as SendTaskHeartbeat does on AWS: it restarts the
// state's HeartbeatSeconds countdown. A task whose handler lets
// HeartbeatSeconds pass without a heartbeat (counting from its start or
// its last heartbeat) fails with States.HeartbeatTimeout. Heartbeat reports
// false, and does nothing, when ctx belongs to no task with HeartbeatSeconds.
func Heartbeat(ctx context.Context) bool {
	beat, ok := ctx.Value(heartbeatKey{}).(func())
	if ok {
		beat()
	}
	return ok
}

// callHandler runs h with the task timeout and the heartbeat timeout (0:
// none) measured on clock, turning panics into errors and a timeout into
// States.Timeout or States.HeartbeatTimeout. The handler's context is
// cancelled when either timeout fires.
func callHandler(ctx context.Context, clock Clock, h TaskHandler, in []byte, timeout, heartbeat time.Duration) ([]byte, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopTimeout := afterFunc(clock, timeout, func() { cancel(errTaskTimedOut) })
	defer stopTimeout()
	if heartbeat > 0 {
		var mu sync.Mutex
		stopBeat := afterFunc(clock, heartbeat, func() { cancel(errHeartbeatTimedOut) })
		cctx = context.WithValue(cctx, heartbeatKey{}, func() {
			mu.Lock()
			defer mu.Unlock()
			if cctx.Err() != nil || !stopBeat() {
				return // too late: the countdown already ran out
			}
			stopBeat = afterFunc(clock, heartbeat, func() { cancel(errHeartbeatTimedOut) })
		})
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			stopBeat()
		}()
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				name := typeName(p)
				msg := fmt.Sprint(p)
				ch <- result{err: &TaskError{Name: name, Cause: panicCause(name, msg, string(debug.Stack()))}}
			}
		}()
		b, err := h(cctx, json.RawMessage(in))
		ch <- result{b, err}
	}()
	timedOut := func() error {
		if errors.Is(context.Cause(cctx), errHeartbeatTimedOut) {
			return &TaskError{Name: ErrHeartbeatTimeout, Cause: fmt.Sprintf("Task sent no heartbeat for %s (HeartbeatSeconds)", heartbeat)}
		}
		return &TaskError{Name: ErrTimeout, Cause: fmt.Sprintf("Task timed out after %s", timeout)}
	}
	select {
	case res := <-ch:
		if res.err != nil && ctx.Err() == nil && cctx.Err() != nil {
			return nil, timedOut()
		}
		return res.b, res.err
	case <-cctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, timedOut()
	}
}

func panicCause(name, msg, stack string) string {
	lines := strings.Split(strings.TrimSpace(stack), "\n")
	if len(lines) > 12 {
		lines = lines[:12]
	}
	b, _ := json.Marshal(map[string]any{"errorMessage": msg, "errorType": name, "stackTrace": lines})
	return string(b)
}
