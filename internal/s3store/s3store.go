// Package s3store is the S3 implementation of ferry.Store.
//
// Writes stream: Create returns a writer whose bytes flow through an
// io.Pipe into a multipart upload (transfermanager), so memory stays at
// about (concurrency+2) parts whatever the object's size. Nothing is
// visible at the key until Commit returns nil; Abort, a failed write, a
// failed Commit or a cancelled context aborts the multipart upload so that
// no pending upload (and no storage charge) is left behind.
//
// The store is byte-level: it neither compresses nor decompresses. Errors
// name the operation and s3://bucket/key; a missing key wraps
// ferry.ErrNotFound and transient failures (5xx, throttling, connection
// resets) are wrapped with ferry.Retryable.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ferrydata/ferry"
)

var _ ferry.Store = (*Store)(nil)

const (
	// MinPartSize is S3's smallest allowed part (all but the last).
	MinPartSize = 5 << 20
	// DefaultPartSize is the part size of a multipart upload.
	DefaultPartSize = 8 << 20
	// DefaultConcurrency is how many parts upload at once.
	DefaultConcurrency = 4
	// abortTimeout bounds the clean-up of a failed upload, which runs on a
	// fresh context so that it also happens after a cancellation.
	abortTimeout = 30 * time.Second
)

// Store is a ferry.Store on one S3 bucket. It is safe for concurrent use.
type Store struct {
	client      *s3.Client
	tm          *transfermanager.Client
	bucket      string
	partSize    int64
	concurrency int
	pageSize    int32
}

// Option configures a Store.
type Option func(*Store)

// WithPartSize sets the multipart part size in bytes; values below
// MinPartSize are raised to it. Memory per writer is about
// (concurrency+2) × part size.
func WithPartSize(n int64) Option {
	return func(s *Store) { s.partSize = max(n, MinPartSize) }
}

// WithConcurrency sets how many parts of one object upload at once (≥ 1).
func WithConcurrency(n int) Option {
	return func(s *Store) { s.concurrency = max(n, 1) }
}

// withPageSize sets ListObjectsV2's MaxKeys (tests use it to force pages).
func withPageSize(n int32) Option {
	return func(s *Store) { s.pageSize = n }
}

// New returns a Store on bucket, which must exist.
func New(client *s3.Client, bucket string, opts ...Option) *Store {
	s := &Store{client: client, bucket: bucket, partSize: DefaultPartSize, concurrency: DefaultConcurrency}
	for _, o := range opts {
		o(s)
	}
	s.tm = transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = s.partSize
		// The first part is read whole before deciding between PutObject
		// and a multipart upload; one part is enough to decide.
		o.MultipartUploadThreshold = s.partSize
		o.Concurrency = s.concurrency
		o.FailTimeout = abortTimeout
	})
	return s
}

// Config is what NewClient needs. With Endpoint empty the client is for
// AWS and uses the default credential chain (env, shared config, IAM role);
// with Endpoint set (an S3-compatible server such as MinIO or an in-process
// fake) it uses BaseEndpoint and, when AccessKey is set, static credentials.
type Config struct {
	Region    string
	Endpoint  string
	AccessKey string
	SecretKey string
	// PathStyle addresses buckets as endpoint/bucket/key instead of
	// bucket.endpoint/key; most local servers need it.
	PathStyle bool
	// DisableIMDS keeps the SDK away from the EC2 metadata endpoint (a
	// run on one machine).
	DisableIMDS bool
}

// NewClient returns an S3 client for cfg. It does not contact S3.
func NewClient(ctx context.Context, cfg Config) (*s3.Client, error) {
	var loadOpts []func(*config.LoadOptions) error
	region := cfg.Region
	if region == "" && cfg.Endpoint != "" {
		region = "us-east-1"
	}
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		if cfg.AccessKey == "" || cfg.SecretKey == "" {
			return nil, errors.New("s3store: new client: set both the access key and the secret key, or neither to use the default credential chain")
		}
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	if cfg.DisableIMDS {
		loadOpts = append(loadOpts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3store: load AWS config: %w", err)
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Multipart objects carry no full-object checksum to validate;
		// do not log that on every Open.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// Bucket is the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

func (s *Store) where(key string) string { return "s3://" + s.bucket + "/" + key }

// errAborted is what the upload reads once Abort closed the pipe.
var errAborted = errors.New("write aborted")

// Create starts a streaming upload of key. See ferry.Store.
func (s *Store) Create(ctx context.Context, key string) (ferry.ObjectWriter, error) {
	if key == "" {
		return nil, errors.New("s3store: create: empty key")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3store: create %s: %w", s.where(key), err)
	}
	uctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w := &writer{ctx: uctx, s: s, key: key, pw: pw, cancel: cancel, done: make(chan struct{})}
	// A cancelled context unblocks a writer waiting on the pipe at once.
	w.stop = context.AfterFunc(uctx, func() { pr.CloseWithError(uctx.Err()) })
	go func() {
		defer close(w.done)
		_, err := s.tm.UploadObject(uctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(s.bucket),
			Key:    aws.String(key),
			Body:   ctxReader{uctx, pr},
		})
		if err != nil {
			pr.CloseWithError(err)
		} else {
			pr.Close()
		}
		w.err = err
	}()
	return w, nil
}

// ctxReader reports the context's error, not io.ErrClosedPipe, once the
// watcher closed the pipe because the context was cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		if cerr := c.ctx.Err(); cerr != nil {
			err = cerr
		}
	}
	return n, err
}

// writer is one object being uploaded. Write is not safe for concurrent
// use; Commit and Abort may be called from any goroutine.
type writer struct {
	ctx    context.Context
	s      *Store
	key    string
	pw     *io.PipeWriter
	cancel context.CancelFunc
	stop   func() bool
	done   chan struct{}
	err    error // the upload's result, set before done is closed

	mu    sync.Mutex
	state int // 0 open, 1 committed, 2 aborted
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if err != nil {
		return n, w.s.wrap("write", w.key, err)
	}
	return n, nil
}

// Commit finishes the upload and waits for it; the object is visible at
// key once it returns nil. On error nothing is left behind.
func (w *writer) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case 1:
		return fmt.Errorf("s3store: commit %s: already committed", w.s.where(w.key))
	case 2:
		return fmt.Errorf("s3store: commit %s: already aborted", w.s.where(w.key))
	}
	if err := w.ctx.Err(); err != nil {
		// Do not let a cancelled write look complete (the watcher that
		// closes the pipe may not have run yet).
		w.pw.CloseWithError(err)
	} else {
		w.pw.Close()
	}
	<-w.done
	w.finish()
	if w.err != nil {
		w.state = 2
		if aerr := w.abortPending(w.err); aerr != nil {
			return errors.Join(w.s.wrap("commit", w.key, w.err), aerr)
		}
		return w.s.wrap("commit", w.key, w.err)
	}
	w.state = 1
	return nil
}

// Abort discards the upload; calling it after Commit (or twice) is a no-op.
func (w *writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != 0 {
		return nil
	}
	w.state = 2
	w.pw.CloseWithError(errAborted)
	w.cancel()
	<-w.done
	w.finish()
	if w.err == nil {
		// The upload cannot complete without reading EOF, so this only
		// happens if it finished on its own; remove what it wrote.
		return w.s.Delete(context.Background(), w.key)
	}
	return w.abortPending(w.err)
}

func (w *writer) finish() {
	w.stop()
	w.cancel()
}

// abortPending makes sure a failed multipart upload is aborted. The
// transfer manager aborts it itself, but if that request failed the upload
// would linger (and be billed), so it is aborted again here; NoSuchUpload
// means it is already gone.
func (w *writer) abortPending(uploadErr error) error {
	var mu interface{ UploadID() string }
	if !errors.As(uploadErr, &mu) || mu.UploadID() == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	_, err := w.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(w.s.bucket),
		Key:      aws.String(w.key),
		UploadId: aws.String(mu.UploadID()),
	})
	var nsu *types.NoSuchUpload
	var ae smithy.APIError
	if err == nil || errors.As(err, &nsu) || (errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload") {
		return nil
	}
	return w.s.wrap("abort upload "+mu.UploadID()+" of", w.key, err)
}

// Open streams key. A missing key returns an error wrapping
// ferry.ErrNotFound.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, s.wrap("open", key, err)
	}
	return &reader{s: s, key: key, body: out.Body}, nil
}

// reader wraps a GetObject body so that a broken stream is reported with
// the key and marked retryable when it is transient.
type reader struct {
	s    *Store
	key  string
	body io.ReadCloser
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.wrap("read", r.key, err)
	}
	return n, err
}

func (r *reader) Close() error { return r.body.Close() }

// List returns the keys under prefix, sorted, following every page.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if s.pageSize > 0 {
		in.MaxKeys = aws.Int32(s.pageSize)
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil && !isNotFound(err) {
		return s.wrap("delete", key, err)
	}
	return nil
}

// wrap names the operation and object, maps a missing key to
// ferry.ErrNotFound and marks transient errors retryable.
func (s *Store) wrap(op, key string, err error) error {
	where := s.where(key)
	switch {
	case isNotFound(err):
		return fmt.Errorf("s3store: %s %s: %w: %w", op, where, ferry.ErrNotFound, err)
	case isTransient(err):
		return ferry.Retryable("s3store: "+op+" "+where, err)
	default:
		return fmt.Errorf("s3store: %s %s: %w%s", op, where, err, fixHint(err))
	}
}

// isNotFound reports a missing object (not a missing bucket or upload,
// which are configuration errors).
func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
		return false
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// fixHint says what an operator can do about a permanent S3 error.
func fixHint(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	switch ae.ErrorCode() {
	case "NoSuchBucket":
		return " (fix: create the bucket or correct the configured bucket name and region)"
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return " (fix: check the credentials and that the role may use this bucket and prefix)"
	}
	return ""
}

var (
	retryables = retry.IsErrorRetryables(retry.DefaultRetryables)
	throttles  = retry.IsErrorThrottles(retry.DefaultThrottles)
)

// isTransient reports whether retrying later may succeed: 5xx, throttling,
// request timeouts and broken connections. A cancelled context is not.
func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, errAborted) {
		return false
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() >= 500 || re.HTTPStatusCode() == http.StatusTooManyRequests) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout":
			return true
		}
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if strings.Contains(err.Error(), "connection reset") {
		return true
	}
	return retryables.IsErrorRetryable(err) == aws.TrueTernary || throttles.IsErrorThrottle(err) == aws.TrueTernary
}
