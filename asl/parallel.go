package asl

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// parallelState is a Parallel state: every branch runs on the
// (Parameters-shaped) effective input and the result is their outputs in
// branch order. The first failing branch fails the state with its own
// error; the other branches are cancelled.
type parallelState struct {
	dataFlow
	errorHandling
	Branches []*StateMachine
}

func (*parallelState) fields() []string {
	return []string{"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign", "Branches", "Arguments", "Output"}
}

func (s *parallelState) parse(p *parser, st *State, o map[string]any, w string) {
	s.dataFlow.parse(p, st, o, w)
	s.parseAssign(p, o, w)
	s.errorHandling.parse(p, o, w)
	bs, ok := o["Branches"].([]any)
	if !ok || len(bs) == 0 {
		p.add(w, "a Parallel state must have a non-empty Branches array")
	}
	for i, b := range bs {
		bw := fmt.Sprintf("%s.Branches[%d].", w, i)
		bo, ok := b.(map[string]any)
		if !ok {
			p.add(bw, "a branch must be an object with StartAt and States")
			continue
		}
		s.Branches = append(s.Branches, p.machine(bo, bw, false))
	}
}

func (s *parallelState) run(ctx context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	return t.withErrorHandling(ctx, &s.errorHandling, raw, sr, func() (outcome, error) {
		return t.attempt(&s.dataFlow, raw, sr, func(eff any) (any, error) {
			return s.branches(ctx, t, st, eff, sr)
		})
	})
}

func (s *parallelState) branches(ctx context.Context, t *thread, st *State, eff any, sr *stateRun) (any, error) {
	input, err := t.parameters(&s.dataFlow, eff, sr)
	if err != nil {
		return nil, err
	}
	t.event("ParallelStateStarted", nil)
	start := t.prev
	results := make([]any, len(s.Branches))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.r.limit(0))
	for i, b := range s.Branches {
		child := t.fork(fmt.Sprintf("%s#%d", st.Name, i), start)
		g.Go(func() error {
			out, err := child.runMachine(gctx, b, input)
			results[i] = out
			return err
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() == nil {
			t.event("ParallelStateFailed", nil)
		}
		return nil, err
	}
	t.event("ParallelStateSucceeded", nil)
	return results, nil
}
