package steps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/ferrydata/ferry"
)

func (s *Steps) chunkLog(t ferry.ChunkTask, step string) *slog.Logger {
	return s.d.Logger.With("step", step, "run_id", t.RunID, "company", companyName(t.CompanyID, t.Alias), "table", t.Table, "chunk", ferry.ChunkName(t.Table, t.Chunk))
}

func checkTask(t ferry.ChunkTask) error {
	w := ferry.Where{Company: companyName(t.CompanyID, t.Alias), Table: t.Table, Chunk: ferry.ChunkName(t.Table, t.Chunk)}
	switch {
	case t.RunID == "" || t.Key == "" || t.Query == "":
		return &ferry.ConfigError{Where: w, Msg: "chunk task lacks run_id, key or query", Fix: "pass an item of the company's manifest unchanged"}
	case ferry.ValidIdent(t.ChunkColumn) != nil || ferry.ValidIdent(t.Schema) != nil || ferry.ValidIdent(t.Staging) != nil:
		return &ferry.ConfigError{Where: w, Msg: "chunk task has an invalid schema, staging or chunk column name", Fix: "pass an item of the company's manifest unchanged"}
	case t.Chunk.Hi <= t.Chunk.Lo:
		return &ferry.ConfigError{Where: w, Msg: fmt.Sprintf("empty range [%d,%d)", t.Chunk.Lo, t.Chunk.Hi), Fix: "pass an item of the company's manifest unchanged"}
	}
	return nil
}

func where(t ferry.ChunkTask) string {
	return fmt.Sprintf("company %s, chunk %s", companyName(t.CompanyID, t.Alias), ferry.ChunkName(t.Table, t.Chunk))
}

// ExportChunk streams the rows of task's range from the source as CSV,
// compresses them (s.compression: none on a local directory, gzip on S3)
// into the store at task.Key and returns the counts and the CRC-32C of the
// uncompressed CSV, the chunk's one end-to-end checksum (the only hash of
// its bytes in Ferry; the store adds its own integrity checks). Memory is
// constant: rows flow from the source through the codec into the store's
// writer. On any error the object is
// aborted (nothing is left at the key); a retry rewrites the same key.
func (s *Steps) ExportChunk(ctx context.Context, task ferry.ChunkTask) (ferry.ExportChunkOutput, error) {
	log := s.chunkLog(task, "export-chunk")
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	out, err := s.exportChunk(ctx, task)
	if err != nil {
		out := s.fail(ctx, log, "export-chunk", err)
		s.noteChunkFailure(ctx, task, "export-chunk", out)
		return ferry.ExportChunkOutput{}, out
	}
	log.InfoContext(ctx, "chunk exported", "rows", out.Rows, "bytes", out.Bytes, "raw_bytes", out.RawBytes, "seconds", out.Seconds)
	s.emit(ctx, s.d.Metrics.Chunk("Export", task.Alias, task.Table, task.RunID, task.Chunk.Index, out.Rows, out.Bytes, out.Seconds))
	return out, nil
}

func (s *Steps) exportChunk(ctx context.Context, task ferry.ChunkTask) (ferry.ExportChunkOutput, error) {
	if err := s.check("export-chunk", NeedsExportChunk); err != nil {
		return ferry.ExportChunkOutput{}, err
	}
	if err := checkTask(task); err != nil {
		return ferry.ExportChunkOutput{}, err
	}
	start := s.now()
	w, err := s.d.Store.Create(ctx, task.Key)
	if err != nil {
		return ferry.ExportChunkOutput{}, fmt.Errorf("export %s: create %s: %w", where(task), task.Key, err)
	}
	zc := &countWriter{w: w}
	// A codec writes one block at a time; batch them into large store
	// writes (one syscall or one pipe hand-off per buffer, not per block).
	bw := bufio.NewWriterSize(zc, ioBuffer)
	comp := s.compression()
	zw, err := newEncoder(bw, comp)
	if err != nil {
		w.Abort()
		return ferry.ExportChunkOutput{}, fmt.Errorf("export %s: %s: %w", where(task), comp, err)
	}
	h := newChecksum()
	raw := &countWriter{w: io.MultiWriter(zw, h)}
	stats, err := s.d.Source.Export(ctx, ferry.ExportRequest{
		Query: task.Query, Params: task.Params, ChunkColumn: task.ChunkColumn,
		Lo: task.Chunk.Lo, Hi: task.Chunk.Hi, ZeroDates: task.ZeroDates, Target: task.Target,
	}, raw)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		w.Abort()
		return ferry.ExportChunkOutput{}, fmt.Errorf("export %s: %w", where(task), err)
	}
	if err := w.Commit(); err != nil {
		return ferry.ExportChunkOutput{}, fmt.Errorf("export %s: commit %s: %w", where(task), task.Key, err)
	}
	return ferry.ExportChunkOutput{
		ChunkTask: task,
		Rows:      stats.Rows,
		Bytes:     zc.n,
		RawBytes:  raw.n,
		Codec:     comp.Codec,
		Checksum:  formatChecksum(h),
		ZeroDates: stats.ZeroDates,
		Seconds:   s.now().Sub(start).Seconds(),
	}, nil
}

// LoadChunk loads the object an export wrote (any codec: newDecoder) into
// the staging table, replacing the rows of the chunk's range
// (Target.Load), verifies the checksum (CRC-32C; SHA-256 for an export of
// an earlier release) and size of what was read, before the load commits, and the row count against the export,
// then writes the ferry.ChunkDone marker at ferry.DoneKey. A mismatch is a
// *ferry.DataError and no marker is written, so the swap cannot happen; a
// truncated read is retryable. Running it twice leaves the same rows and
// the same marker.
func (s *Steps) LoadChunk(ctx context.Context, in ferry.ExportChunkOutput) (ferry.LoadChunkOutput, error) {
	log := s.chunkLog(in.ChunkTask, "load-chunk")
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	out, err := s.loadChunk(ctx, in)
	if err != nil {
		fail := s.fail(ctx, log, "load-chunk", err)
		s.noteChunkFailure(ctx, in.ChunkTask, "load-chunk", fail)
		return ferry.LoadChunkOutput{}, fail
	}
	log.InfoContext(ctx, "chunk loaded", "rows", out.Rows, "seconds", out.Seconds)
	s.emit(ctx, s.d.Metrics.Chunk("Load", in.Alias, in.Table, in.RunID, in.Chunk.Index, out.Rows, in.Bytes, out.Seconds))
	return out, nil
}

func (s *Steps) loadChunk(ctx context.Context, in ferry.ExportChunkOutput) (ferry.LoadChunkOutput, error) {
	if err := s.check("load-chunk", NeedsLoadChunk); err != nil {
		return ferry.LoadChunkOutput{}, err
	}
	if err := checkTask(in.ChunkTask); err != nil {
		return ferry.LoadChunkOutput{}, err
	}
	wh := ferry.Where{Company: companyName(in.CompanyID, in.Alias), Table: in.Table, Chunk: ferry.ChunkName(in.Table, in.Chunk)}
	mismatch := func(sum string, n int64) error {
		return &ferry.DataError{Where: wh,
			Msg: fmt.Sprintf("the object %s does not match its export (checksum %s, %d bytes; export said %s%s, %d bytes); nothing of it was committed to staging", in.Key, sum, n, in.Checksum, in.SHA256, in.RawBytes),
			Fix: "rerun the workflow so the chunk is exported again"}
	}
	if _, ok := newVerifyReader(nil, in, mismatch); !ok {
		return ferry.LoadChunkOutput{}, &ferry.ConfigError{Where: wh, Msg: "load input has no checksum of the export", Fix: "pass export-chunk's output unchanged"}
	}
	start := s.now()
	r, err := s.d.Store.Open(ctx, in.Key)
	if err != nil {
		if errors.Is(err, ferry.ErrNotFound) {
			return ferry.LoadChunkOutput{}, &ferry.DataError{Where: wh, Msg: "the chunk object " + in.Key + " does not exist", Fix: "rerun the workflow so the chunk is exported again"}
		}
		return ferry.LoadChunkOutput{}, fmt.Errorf("load %s: open %s: %w", where(in.ChunkTask), in.Key, err)
	}
	defer r.Close()
	tr := &trackReader{r: r}
	zr, closeDecoder, err := newDecoder(bufio.NewReaderSize(tr, ioBuffer))
	if err != nil {
		return ferry.LoadChunkOutput{}, readErr(wh, in.Key, tr, err)
	}
	defer closeDecoder()
	hr, _ := newVerifyReader(zr, in, mismatch)
	loaded, err := s.d.Target.Load(ctx, ferry.LoadRequest{Schema: in.Schema, Staging: in.Staging, ChunkColumn: in.ChunkColumn, Lo: in.Chunk.Lo, Hi: in.Chunk.Hi, Rows: in.Rows, RowsKnown: true}, hr)
	if err != nil {
		return ferry.LoadChunkOutput{}, fmt.Errorf("load %s: %w", where(in.ChunkTask), err)
	}
	// A loader may stop at the last record without reading EOF: read to the
	// end so that the codec checks its own CRC and hr verifies the checksum
	// and size
	// (a mismatch is hr's DataError; staging rows of the range are then
	// not marked loaded, and the swap cannot happen).
	if _, err := io.Copy(io.Discard, hr); err != nil {
		var de *ferry.DataError
		if errors.As(err, &de) {
			return ferry.LoadChunkOutput{}, err
		}
		return ferry.LoadChunkOutput{}, readErr(wh, in.Key, tr, err)
	}
	if loaded != in.Rows {
		return ferry.LoadChunkOutput{}, &ferry.DataError{Where: wh,
			Msg: fmt.Sprintf("loaded %d rows, the export wrote %d", loaded, in.Rows),
			Fix: "check the staging table's keys and the target's warnings; then rerun the workflow"}
	}
	done := ferry.ChunkDone{Table: in.Table, Index: in.Chunk.Index, Exported: in.Rows, Loaded: loaded, Bytes: in.Bytes, Checksum: in.Checksum, SHA256: in.SHA256, At: s.now()}
	if err := putJSON(ctx, s.d.Store, ferry.DoneKey(in.RunID, in.Alias, in.Table, in.Chunk.Index), done); err != nil {
		return ferry.LoadChunkOutput{}, fmt.Errorf("load %s: marker: %w", where(in.ChunkTask), err)
	}
	return ferry.LoadChunkOutput{RunID: in.RunID, CompanyID: in.CompanyID, Table: in.Table, Index: in.Chunk.Index, Rows: loaded, Seconds: s.now().Sub(start).Seconds()}, nil
}

// trackReader remembers the store stream's own error, so that a cut
// download (retryable) is told apart from a short or corrupt object.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// readErr classifies a failure reading a chunk object: the store stream
// failing is retryable; a stream that ended cleanly but does not hold a
// valid compressed CSV is a DataError.
func readErr(wh ferry.Where, key string, tr *trackReader, err error) error {
	if tr.err != nil || errors.Is(err, context.DeadlineExceeded) {
		return ferry.Retryable("load "+wh.String()+": read "+key, err)
	}
	return &ferry.DataError{Where: wh, Msg: "the chunk object " + key + " is not a valid chunk object: " + err.Error(), Fix: "rerun the workflow so the chunk is exported again"}
}
