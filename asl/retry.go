package asl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// errorHandling is the Retry and Catch of a Task, Parallel or Map state.
type errorHandling struct {
	Retry []*Retrier
	Catch []*Catcher
}

// Retrier is one element of a Retry field.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64 // 0: no cap
	JitterStrategy  string  // "FULL" or "NONE"
}

// Catcher is one element of a Catch field.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  optPath
	Assign      map[string]any

	jsonata   bool
	Output    any // JSONata: the state's output (default $states.errorOutput)
	HasOutput bool
}

func (e *errorHandling) parse(p *parser, o map[string]any, w string) {
	if _, has := o["Retry"]; has {
		e.Retry = p.retry(o["Retry"], w+".Retry")
	}
	if _, has := o["Catch"]; has {
		e.Catch = p.catch(o["Catch"], w+".Catch")
	}
}

func (e *errorHandling) targets(w string) []target {
	out := make([]target, 0, len(e.Catch))
	for i, c := range e.Catch {
		out = append(out, target{fmt.Sprintf("%s.Catch[%d]", w, i), "Next", c.Next})
	}
	return out
}

func (p *parser) errorEquals(v any, where string) []string {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		p.add(where+".ErrorEquals", "must be a non-empty array of error names")
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			p.add(where+".ErrorEquals", "error names must be strings")
			continue
		}
		out = append(out, s)
	}
	for _, s := range out {
		if s == ErrAll && len(out) > 1 {
			p.add(where+".ErrorEquals", "States.ALL must appear alone in its ErrorEquals array")
		}
	}
	return out
}

// checkAllLast reports a States.ALL rule that is not the last one.
func (p *parser) checkAllLast(lists [][]string, where string) {
	for i, l := range lists {
		for _, s := range l {
			if s == ErrAll && i != len(lists)-1 {
				p.add(fmt.Sprintf("%s[%d]", where, i), "a rule matching States.ALL must be the last one")
			}
		}
	}
}

func (p *parser) retry(v any, where string) []*Retrier {
	var out []*Retrier
	p.rules(v, where, func(w string, o map[string]any) []string {
		p.onlyFields(o, w, "in a retrier", "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")
		r := p.retrier(o, w)
		out = append(out, r)
		return r.ErrorEquals
	})
	return out
}

func (p *parser) retrier(o map[string]any, w string) *Retrier {
	r := &Retrier{IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "NONE"}
	r.ErrorEquals = p.errorEquals(o["ErrorEquals"], w)
	if _, has := o["IntervalSeconds"]; has {
		r.IntervalSeconds = float64(p.posInt(o, "IntervalSeconds", w))
	}
	if n, has := p.intField(o, "MaxAttempts", w); has {
		if n < 0 {
			p.add(w+".MaxAttempts", "must not be negative")
		}
		r.MaxAttempts = n
	}
	if f, has := p.num(o, "BackoffRate", w); has {
		if f < 1 {
			p.add(w+".BackoffRate", "must be at least 1.0")
		}
		r.BackoffRate = f
	}
	if _, has := o["MaxDelaySeconds"]; has {
		r.MaxDelaySeconds = float64(p.posInt(o, "MaxDelaySeconds", w))
	}
	if _, has := o["JitterStrategy"]; has {
		r.JitterStrategy = p.str(o, "JitterStrategy", w)
		if r.JitterStrategy != "FULL" && r.JitterStrategy != "NONE" {
			p.add(w+".JitterStrategy", "must be \"FULL\" or \"NONE\"")
		}
	}
	return r
}

func (p *parser) catch(v any, where string) []*Catcher {
	var out []*Catcher
	p.rules(v, where, func(w string, o map[string]any) []string {
		c := &Catcher{ErrorEquals: p.errorEquals(o["ErrorEquals"], w), jsonata: p.ql == QueryJSONata}
		p.catcherFields(c, o, w)
		c.Next = p.str(o, "Next", w)
		if c.Next == "" {
			p.add(w, "a catcher must have Next")
		}
		out = append(out, c)
		return c.ErrorEquals
	})
	return out
}

// catcherFields checks a catcher's fields and reads ResultPath (JSONPath)
// or Output (JSONata), and Assign.
func (p *parser) catcherFields(c *Catcher, o map[string]any, w string) {
	langField := map[bool]string{false: "ResultPath", true: "Output"}[c.jsonata]
	p.onlyFields(o, w, "in a catcher", "ErrorEquals", "Next", "Assign", "Comment", langField)
	if c.jsonata {
		if v, has := o["Output"]; has {
			c.Output, c.HasOutput = p.jsonataTemplate(v, w+".Output"), true
		}
		c.Assign = p.jsonataAssign(o, w)
		return
	}
	c.ResultPath = p.pathField(o, "ResultPath", w, resultPath)
	c.Assign = p.assign(o, w)
}

// rules walks a Retry or Catch array: each element must be an object,
// parsed by one (which returns its ErrorEquals); then a States.ALL rule
// must be the last.
func (p *parser) rules(v any, where string, one func(w string, o map[string]any) []string) {
	arr, ok := v.([]any)
	if !ok {
		p.add(where, "must be an array")
		return
	}
	var lists [][]string
	for i, e := range arr {
		w := fmt.Sprintf("%s[%d]", where, i)
		o, ok := e.(map[string]any)
		if !ok {
			p.add(w, "must be an object")
			continue
		}
		lists = append(lists, one(w, o))
	}
	p.checkAllLast(lists, where)
}

// withErrorHandling runs attempts of a Task, Parallel or Map state under
// its Retry and Catch rules. Retry counters live here, per state entry.
func (t *thread) withErrorHandling(ctx context.Context, eh *errorHandling, raw any, sr *stateRun, attempt func() (outcome, error)) (outcome, error) {
	counts := make([]int, len(eh.Retry))
	for {
		res, err := attempt()
		if err == nil {
			return res, nil
		}
		err = stateError(err, sr)
		if ctx.Err() != nil || errors.Is(err, errExecTimeout) {
			return outcome{}, err
		}
		if aerr := t.checkAlive(ctx); aerr != nil {
			return outcome{}, aerr
		}
		te := asTaskError(err)
		if i := matchRule(retryLists(eh.Retry), te.Name); i >= 0 && counts[i] < eh.Retry[i].MaxAttempts {
			if err := t.backOff(ctx, eh.Retry[i], counts[i], te, sr); err != nil {
				return outcome{}, err
			}
			counts[i]++
			continue
		}
		if i := matchRule(catchLists(eh.Catch), te.Name); i >= 0 {
			return t.caught(eh.Catch[i], te, raw, sr)
		}
		return outcome{}, te
	}
}

// backOff waits before retry number n (0-based) of rule rt.
func (t *thread) backOff(ctx context.Context, rt *Retrier, n int, te *TaskError, sr *stateRun) error {
	d := retryDelay(rt, n, t.r.opts.Rand)
	sr.retryCount++
	t.r.log.Debug("asl: retrying", "state", sr.st.Name, "error", te.Name, "attempt", sr.retryCount, "delay", d)
	if err := t.r.clock.Sleep(ctx, d); err != nil {
		return err
	}
	return t.checkAlive(ctx)
}

// caught applies a matching catcher: the error output goes to its
// ResultPath and Assign, and the state continues at its Next.
func (t *thread) caught(c *Catcher, te *TaskError, raw any, sr *stateRun) (outcome, error) {
	errOut := map[string]any{"Error": te.Name, "Cause": te.Cause}
	if c.jsonata {
		d := &dataFlow{jsonata: true, Output: c.Output, HasOutput: c.HasOutput, Assign: c.Assign}
		return t.jsonataOutput(d, t.jenv(sr, map[string]any{"errorOutput": errOut}), errOut, c.Next)
	}
	out, err := applyResultPath(c.ResultPath, raw, errOut)
	if err != nil {
		return outcome{}, err
	}
	assign, err := t.evalAssign(c.Assign, errOut, sr)
	if err != nil {
		return outcome{}, err
	}
	return outcome{out: out, next: c.Next, assign: assign}, nil
}

func retryLists(rs []*Retrier) [][]string {
	out := make([][]string, len(rs))
	for i, r := range rs {
		out[i] = r.ErrorEquals
	}
	return out
}

func catchLists(cs []*Catcher) [][]string {
	out := make([][]string, len(cs))
	for i, c := range cs {
		out[i] = c.ErrorEquals
	}
	return out
}

// matchRule returns the index of the first rule whose ErrorEquals matches
// name, or -1. States.ALL matches every error except the terminal
// States.Runtime and States.DataLimitExceeded; States.Timeout also matches
// States.HeartbeatTimeout (a task that failed to heartbeat timed out);
// States.TaskFailed matches what States.ALL matches except both timeouts.
func matchRule(lists [][]string, name string) int {
	terminal := name == statesALLExcludedRuntime || name == statesALLExcludedDataLimit
	for i, l := range lists {
		for _, e := range l {
			switch {
			case e == name,
				e == ErrAll && !terminal,
				e == ErrTimeout && name == ErrHeartbeatTimeout,
				e == ErrTaskFailed && !terminal && name != ErrTimeout && name != ErrHeartbeatTimeout:
				return i
			}
		}
	}
	return -1
}

// retryDelay computes the wait before retry number n (0-based) of rt:
// IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds, then drawn
// uniformly from [0, delay) with JitterStrategy FULL.
func retryDelay(rt *Retrier, n int, rnd func() float64) time.Duration {
	secs := rt.IntervalSeconds * math.Pow(rt.BackoffRate, float64(n))
	if rt.MaxDelaySeconds > 0 && secs > rt.MaxDelaySeconds {
		secs = rt.MaxDelaySeconds
	}
	if rt.JitterStrategy == "FULL" {
		secs *= rnd()
	}
	return time.Duration(secs * float64(time.Second))
}
