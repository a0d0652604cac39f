package jobs

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/ferrydata/ferry"
	"github.com/klauspost/compress/gzip"
)

// extract streams the job's SELECT as gzip CSV to the store at the
// expanded key pattern. Nothing is visible at the key unless the whole
// object was written; a retry rewrites it.
func (r *Runner) extract(ctx context.Context, p *prepared) (ferry.JobProgress, error) {
	prog := ferry.JobProgress{JobTask: p.task}
	if r.Store == nil {
		return prog, &ferry.ConfigError{Msg: p.where + ": no store for extracts is configured", Fix: "set FERRY_EXTRACT_BUCKET (on AWS) or --store"}
	}
	key := Key(p.job.KeyPattern, p.task)
	obj, err := WriteGzip(ctx, r.Store, key, func(w io.Writer) (int64, error) {
		st, err := p.db.ExtractJob(ctx, p.sql, w)
		return st.Rows, err
	})
	if err != nil {
		return prog, fmt.Errorf("extract to %s: %w", key, err)
	}
	prog.Done, prog.Rows, prog.Key, prog.Bytes, prog.SHA256 = true, obj.Rows, key, obj.Bytes, obj.SHA256
	return prog, nil
}

// Object is what WriteGzip wrote.
type Object struct {
	Rows int64
	// Bytes is the gzip object's size, RawBytes the content's; SHA256 the
	// hex SHA-256 of the uncompressed content.
	Bytes, RawBytes int64
	SHA256          string
}

// WriteGzip writes what fill writes, gzip-compressed, to the store at key,
// hashing and counting it on the way, with constant memory. fill returns
// the rows it wrote. On any error the object is aborted: nothing is left at
// the key.
func WriteGzip(ctx context.Context, st ferry.Store, key string, fill func(w io.Writer) (int64, error)) (Object, error) {
	w, err := st.Create(ctx, key)
	if err != nil {
		return Object{}, fmt.Errorf("create %s: %w", key, err)
	}
	zc := &counter{w: w}
	bw := bufio.NewWriterSize(zc, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		w.Abort()
		return Object{}, err
	}
	h := sha256.New()
	raw := &counter{w: io.MultiWriter(zw, h)}
	rows, err := fill(raw)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		w.Abort()
		return Object{}, err
	}
	if err := w.Commit(); err != nil {
		return Object{}, fmt.Errorf("commit %s: %w", key, err)
	}
	return Object{Rows: rows, Bytes: zc.n, RawBytes: raw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
