package asl

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// parallel runs every branch on the (Parameters-shaped) effective input and
// returns their outputs in branch order. The first failing branch fails the
// state with its own error; the other branches are cancelled.
func (t *thread) parallel(ctx context.Context, st *State, eff any, sr *stateRun) (any, error) {
	input := eff
	if st.HasParameters {
		var err error
		if input, err = t.env(eff, sr).template(st.Parameters, "Parameters"); err != nil {
			return nil, err
		}
	}
	t.event("ParallelStateStarted", nil)
	start := t.prev
	results := make([]any, len(st.Branches))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.r.limit(0))
	for i, b := range st.Branches {
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
