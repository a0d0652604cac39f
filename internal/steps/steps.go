// Package steps holds Ferry's four workflow steps as plain functions,
// func(ctx, In) (Out, error), over the narrow interfaces of the root
// package. functions/*/main.go hand them to lambda.Start; `ferry run`
// calls them in-process through the ASL engine.
//
//	ListTables   (list-tables)  lease, validate, plan, staging, manifests
//	ExportChunk  (export-chunk) source rows of [lo, hi) → gzip CSV object
//	LoadChunk    (load-chunk)   object → staging, verified; ChunkDone marker
//	SwapTables   (swap-tables)  markers → expected counts → atomic swap
//	FinishRun    (list-tables, action "finish") run record, lease, summary
//
// Every step is idempotent: Lambda and Step Functions retries give the same
// result. Every exported step returns its error through ferry.LambdaError,
// so the outermost error is a type the state machine names
// (RetryableError, ConfigError, DataError, CountMismatchError,
// RunLeaseHeldError, else TaskError). Every database statement runs under a
// context whose deadline is the invocation's deadline minus a margin.
package steps

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ferrydata/ferry"
)

func (s *Steps) now() time.Time { return s.d.Clock().UTC() }

// withDeadline derives the context every statement of a step runs under:
// the invocation's deadline minus the margin (never more than a quarter of
// the remaining time), so no statement outlives the Lambda.
func (s *Steps) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := s.d.DeadlineMargin
	if rem := time.Until(dl); margin > rem/4 {
		margin = rem / 4
	}
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// edge turns a step's error into the error the Lambda returns: a step
// context deadline (ours, under the invocation's) is retryable; the
// outermost type is one of ferry's typed errors.
func edge(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var re *ferry.RetryableError
	if !errors.As(err, &re) && (errors.Is(err, context.DeadlineExceeded) || (errors.Is(err, context.Canceled) && ctx.Err() == nil)) {
		err = ferry.Retryable("deadline", err)
	}
	return ferry.LambdaError(err)
}

func (s *Steps) fail(ctx context.Context, log *slog.Logger, step string, err error) error {
	out := edge(ctx, err)
	log.ErrorContext(ctx, step+" failed", "error_type", fmt.Sprintf("%T", out), "error", err.Error())
	return out
}

func companyName(id int64, alias string) string { return fmt.Sprintf("%d (%s)", id, alias) }

// putJSON writes v as JSON at key (replacing it). Nothing is visible at key
// unless the whole object was written.
func putJSON(ctx context.Context, st ferry.Store, key string, v any) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", key, err)
	}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		w.Abort()
		return fmt.Errorf("store: write %s: %w", key, err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("store: commit %s: %w", key, err)
	}
	return nil
}

// getJSON reads the JSON object at key into v. A missing key wraps
// ferry.ErrNotFound.
func getJSON(ctx context.Context, st ferry.Store, key string, v any) error {
	r, err := st.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", key, err)
	}
	defer r.Close()
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return ferry.Retryable("store: read "+key, err)
		}
		return fmt.Errorf("store: decode %s: %w", key, err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeArray writes items as a JSON array, one item per line, buffered.
func writeArray[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString("[")
	for i, it := range items {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

// emit logs a metrics record that could not be written; metrics never fail
// a step.
func (s *Steps) emit(ctx context.Context, err error) {
	if err != nil {
		s.d.Logger.WarnContext(ctx, "metrics not written", "error", err)
	}
}
