package s3store_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/storetest"
)

// noRetryStore is a store on fake whose client does not retry, so that an
// injected failure reaches the store at once.
func noRetryStore(fake *s3test.Fake) *s3store.Store {
	client := s3.New(fake.Client.Options(), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	return s3store.New(client, fake.Bucket, s3store.WithPartSize(s3store.MinPartSize), s3store.WithConcurrency(2))
}

func respond(status int, code string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>injected</Message><RequestId>1</RequestId></Error>`)
		return true
	}
}

// resetConn answers by closing the TCP connection with no response.
func resetConn(w http.ResponseWriter, r *http.Request) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
	return true
}

func only(method string, withQuery string, h func(http.ResponseWriter, *http.Request) bool) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != method || (withQuery != "" && !r.URL.Query().Has(withQuery)) {
			return false
		}
		return h(w, r)
	}
}

func TestErrorClassification(t *testing.T) {
	type want int
	const (
		retryable want = iota
		notFound
		permanent
	)
	tests := []struct {
		name string
		hook func(http.ResponseWriter, *http.Request) bool
		want want
	}{
		{"503 SlowDown", respond(503, "SlowDown"), retryable},
		{"500 InternalError", respond(500, "InternalError"), retryable},
		{"503 ServiceUnavailable", respond(503, "ServiceUnavailable"), retryable},
		{"400 RequestTimeout", respond(400, "RequestTimeout"), retryable},
		{"429 throttled", respond(429, "TooManyRequestsException"), retryable},
		{"connection reset", resetConn, retryable},
		{"404 NoSuchKey", respond(404, "NoSuchKey"), notFound},
		{"403 AccessDenied", respond(403, "AccessDenied"), permanent},
		{"404 NoSuchBucket", respond(404, "NoSuchBucket"), permanent},
	}
	ops := []struct {
		name string
		do   func(s *s3store.Store) error
	}{
		{"open", func(s *s3store.Store) error { _, err := s.Open(context.Background(), "k"); return err }},
		{"list", func(s *s3store.Store) error { _, err := s.List(context.Background(), "p/"); return err }},
		{"delete", func(s *s3store.Store) error { return s.Delete(context.Background(), "k") }},
	}
	for _, tt := range tests {
		for _, op := range ops {
			t.Run(tt.name+"/"+op.name, func(t *testing.T) {
				fake := s3test.Start(t)
				s := noRetryStore(fake)
				fake.SetHook(tt.hook)
				err := op.do(s)
				fake.SetHook(nil)
				var re *ferry.RetryableError
				isRetry, isNF := errors.As(err, &re), errors.Is(err, ferry.ErrNotFound)
				switch {
				case op.name == "delete" && tt.want == notFound:
					if err != nil {
						t.Fatalf("Delete with %s: %v, want nil (missing is fine)", tt.name, err)
					}
				case op.name == "list" && tt.want == notFound:
					// A List never reports a missing key; it is just an error.
					if err == nil || isRetry {
						t.Fatalf("List with %s: %v", tt.name, err)
					}
				case tt.want == retryable && (!isRetry || isNF):
					t.Fatalf("%s with %s: %v (%T), want a ferry.RetryableError", op.name, tt.name, err, err)
				case tt.want == notFound && (!isNF || isRetry):
					t.Fatalf("%s with %s: %v, want ErrNotFound only", op.name, tt.name, err)
				case tt.want == permanent && (err == nil || isRetry || isNF):
					t.Fatalf("%s with %s: %v, want a permanent error", op.name, tt.name, err)
				}
			})
		}
	}
}

// TestFailedPartIsRetryableAndAborted: an UploadPart answered 503 fails
// Commit with a retryable error and leaves no pending upload.
func TestFailedPartIsRetryableAndAborted(t *testing.T) {
	for _, hook := range []struct {
		name string
		h    func(http.ResponseWriter, *http.Request) bool
	}{{"503", respond(503, "SlowDown")}, {"reset", resetConn}} {
		t.Run(hook.name, func(t *testing.T) {
			fake := s3test.Start(t)
			s := noRetryStore(fake)
			fake.SetHook(only(http.MethodPut, "partNumber", hook.h))
			w, err := s.Create(context.Background(), "k")
			if err != nil {
				t.Fatal(err)
			}
			_, werr := w.Write(storetest.Data(1, storetest.BigSize))
			cerr := w.Commit()
			fake.SetHook(nil)
			if cerr == nil {
				t.Fatalf("Commit succeeded though every part failed (write err %v)", werr)
			}
			var re *ferry.RetryableError
			if !errors.As(cerr, &re) {
				t.Fatalf("Commit: %v, want a ferry.RetryableError", cerr)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort after failed Commit: %v", err)
			}
			if ups := s3test.PendingUploads(t, fake.Client, fake.Bucket); len(ups) != 0 {
				t.Fatalf("pending uploads after a failed part: %q", ups)
			}
			if _, err := s.Open(context.Background(), "k"); !errors.Is(err, ferry.ErrNotFound) {
				t.Fatalf("Open: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestAbortIsRetriedWhenTheSDKsAbortFails: the first AbortMultipartUpload
// fails; the store's own abort must still remove the upload.
func TestAbortIsRetriedWhenTheSDKsAbortFails(t *testing.T) {
	fake := s3test.Start(t)
	s := noRetryStore(fake)
	failed := 0
	fake.SetHook(only(http.MethodDelete, "uploadId", func(w http.ResponseWriter, r *http.Request) bool {
		if failed > 0 {
			return false
		}
		failed++
		return respond(500, "InternalError")(w, r)
	}))
	w, err := s.Create(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(storetest.Data(1, storetest.BigSize)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if failed != 1 {
		t.Fatalf("the injected abort failure was hit %d times, want 1", failed)
	}
	if ups := s3test.PendingUploads(t, fake.Client, fake.Bucket); len(ups) != 0 {
		t.Fatalf("pending uploads: %q", ups)
	}
}

func TestNewClient(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, err := s3store.NewClient(context.Background(), s3store.Config{Endpoint: "http://127.0.0.1:1", AccessKey: "only-half"}); err == nil {
		t.Fatal("NewClient with an access key and no secret succeeded")
	}
	fake := s3test.Start(t)
	c, err := s3store.NewClient(context.Background(), fake.Config)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if aws.ToString(o.BaseEndpoint) != fake.URL || !o.UsePathStyle || o.Region != "us-east-1" {
		t.Fatalf("options: endpoint %q path-style %v region %q", aws.ToString(o.BaseEndpoint), o.UsePathStyle, o.Region)
	}
	s := s3store.New(c, fake.Bucket)
	storetest.Put(t, s, "via/new-client", []byte("ok"))
	if got := storetest.Get(t, s, "via/new-client"); string(got) != "ok" {
		t.Fatalf("read back %q", got)
	}
	// AWS mode: no endpoint, region given; the default chain is used.
	c, err = s3store.NewClient(context.Background(), s3store.Config{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Options(); o.BaseEndpoint != nil || o.Region != "eu-west-1" {
		t.Fatalf("AWS options: endpoint %v region %q", o.BaseEndpoint, o.Region)
	}
}

// TestBrokenDownloadIsRetryable: a GetObject body cut short reads as a
// retryable error naming the object, never as a clean EOF.
func TestBrokenDownloadIsRetryable(t *testing.T) {
	fake := s3test.Start(t)
	s := noRetryStore(fake)
	storetest.Put(t, s, "k", storetest.Data(1, 100_000))
	fake.SetHook(only(http.MethodGet, "", func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	}))
	rc, err := s.Open(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	var re *ferry.RetryableError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "s3://ferry-test/k") {
		t.Fatalf("reading a cut body: %v, want a retryable error naming the object", err)
	}
}
