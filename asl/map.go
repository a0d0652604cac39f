package asl

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// items returns the array a Map iterates over (ItemsPath, default $).
func (t *thread) items(st *State, eff any, sr *stateRun) ([]any, error) {
	v := eff
	if st.ItemsPath.Set && !st.ItemsPath.Null && st.ItemsPath.Path != "$" {
		var err error
		if v, err = t.env(eff, sr).path(st.ItemsPath.Path, "ItemsPath"); err != nil {
			return nil, err
		}
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, newErr(ErrRuntime, "Map state %q: the ItemsPath %q must select an array, got %s", st.Name, pathOr(st.ItemsPath.Path, "$"), kindOf(v))
	}
	return arr, nil
}

func pathOr(p, d string) string {
	if p == "" {
		return d
	}
	return p
}

// maxConcurrency evaluates MaxConcurrency / MaxConcurrencyPath.
func (t *thread) maxConcurrency(st *State, eff any, sr *stateRun) (int, error) {
	if st.MaxConcurrencyPath == "" {
		return st.MaxConcurrency, nil
	}
	v, err := t.env(eff, sr).path(st.MaxConcurrencyPath, "MaxConcurrencyPath")
	if err != nil {
		return 0, err
	}
	f, ok := toFloat(v)
	if !ok || f < 0 {
		return 0, newErr(ErrRuntime, "MaxConcurrencyPath %q of state %q must select a non-negative integer, got %s", st.MaxConcurrencyPath, st.Name, mustJSON(v))
	}
	return int(f), nil
}

// selectItem applies ItemSelector (or legacy Parameters) to one item.
func (t *thread) selectItem(st *State, eff any, sr *stateRun, index int, item any) (any, error) {
	if !st.HasItemSelector {
		return item, nil
	}
	isr := *sr
	isr.item = map[string]any{"Index": int64(index), "Value": item}
	return t.env(eff, &isr).template(st.ItemSelector, "ItemSelector")
}

// mapState runs a Map state. Inline iterations run as threads of this
// execution; a DISTRIBUTED Map runs each item (or batch) as a child
// execution. Results keep item order whatever the concurrency.
func (t *thread) mapState(ctx context.Context, st *State, eff any, sr *stateRun) (any, error) {
	if st.Distributed {
		return t.distributedMap(ctx, st, eff, sr)
	}
	items, err := t.items(st, eff, sr)
	if err != nil {
		return nil, err
	}
	mc, err := t.maxConcurrency(st, eff, sr)
	if err != nil {
		return nil, err
	}
	n := len(items)
	t.event("MapStateStarted", func(e *Event) { e.MapStateStartedEventDetails = &MapStateStartedDetails{Length: n} })
	start := t.prev
	results := make([]any, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.r.limit(mc))
	for i, item := range items {
		if gctx.Err() != nil {
			break
		}
		child := t.fork(fmt.Sprintf("%s#%d", st.Name, i), start)
		g.Go(func() error {
			child.event("MapIterationStarted", func(e *Event) { e.MapIterationStartedEventDetails = &MapIterationDetails{Name: st.Name, Index: i} })
			in, err := t.selectItem(st, eff, sr, i, item)
			if err == nil {
				results[i], err = child.runMachine(gctx, st.Processor, in)
			}
			switch {
			case err == nil:
				child.event("MapIterationSucceeded", func(e *Event) { e.MapIterationSucceededEventDetails = &MapIterationDetails{Name: st.Name, Index: i} })
			case gctx.Err() != nil:
				child.event("MapIterationAborted", func(e *Event) { e.MapIterationAbortedEventDetails = &MapIterationDetails{Name: st.Name, Index: i} })
			default:
				child.event("MapIterationFailed", func(e *Event) { e.MapIterationFailedEventDetails = &MapIterationDetails{Name: st.Name, Index: i} })
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() == nil {
			t.event("MapStateFailed", nil)
		}
		return nil, err
	}
	t.event("MapStateSucceeded", nil)
	return results, nil
}
