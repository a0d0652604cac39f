// Package s3test runs an in-process S3 for tests: gofakes3 with its
// in-memory backend behind an httptest server on 127.0.0.1, driven by the
// real aws-sdk-go-v2 client (path-style, static credentials, us-east-1).
// Every call gets its own server and bucket, closed when the test ends.
package s3test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ferrydata/ferry/internal/s3store"
)

// Bucket is the bucket every fake server starts with.
const Bucket = "ferry-test"

// Static credentials the fake accepts (it checks no signature).
const (
	AccessKey = "ferry-test-access"
	SecretKey = "ferry-test-secret"
	Region    = "us-east-1"
)

// Fake is a running in-process S3.
type Fake struct {
	// URL is the endpoint (http://127.0.0.1:port), for s3store.Config.
	URL    string
	Client *s3.Client
	Bucket string
	// Config is what s3store.NewClient needs to reach this server, for
	// code under test that builds its own client.
	Config s3store.Config

	mu    sync.Mutex
	hook  func(w http.ResponseWriter, r *http.Request) bool
	parts int
}

// SetHook installs a function that sees every request before the fake
// does; when it returns true it has answered the request itself (for
// example with a 503 to inject a transient failure). nil removes it.
func (f *Fake) SetHook(hook func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

// UploadParts is the number of UploadPart requests served so far.
func (f *Fake) UploadParts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parts
}

func (f *Fake) serve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		hook := f.hook
		if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") && r.URL.Query().Has("uploadId") {
			f.parts++
		}
		f.mu.Unlock()
		if hook != nil && hook(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Start starts a fake S3 with Bucket created, stopped at the end of tb.
// It sets AWS_EC2_METADATA_DISABLED=true for the process so that no SDK
// code ever looks for instance metadata.
func Start(tb testing.TB) *Fake {
	tb.Helper()
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	f := &Fake{Bucket: Bucket}
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(false))
	srv := httptest.NewServer(f.serve(faker.Server()))
	tb.Cleanup(srv.Close)

	cfg := s3store.Config{
		Region:    Region,
		Endpoint:  srv.URL,
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		PathStyle: true,
	}
	client, err := s3store.NewClient(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("s3test: client: %v", err)
	}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", Bucket, err)
	}
	f.URL, f.Client, f.Config = srv.URL, client, cfg
	return f
}

// Server starts a fake S3 (see Start) and returns its client and bucket.
func Server(tb testing.TB) (*s3.Client, string) {
	tb.Helper()
	f := Start(tb)
	return f.Client, f.Bucket
}

// PendingUploads lists the multipart uploads not yet completed or aborted
// in bucket, as "key uploadID" strings; a test that aborted writes expects
// none. (gofakes3 answers NoSuchUpload for a bucket that never had an
// upload; that is read as none.)
func PendingUploads(tb testing.TB, client *s3.Client, bucket string) []string {
	tb.Helper()
	out, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload" {
		return nil
	}
	if err != nil {
		tb.Fatalf("s3test: list multipart uploads: %v", err)
	}
	var ups []string
	for _, u := range out.Uploads {
		ups = append(ups, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return ups
}

// childEnv marks a process started by StartProcess.
const childEnv = "FERRY_S3TEST_CHILD"

// ServeIfChild must be called first in TestMain of a package that uses
// StartProcess: in the child process it serves a fake S3 until its stdin
// closes, then exits; in the test process it returns at once.
func ServeIfChild() {
	if os.Getenv(childEnv) != "1" {
		return
	}
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(false))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3test child:", err)
		os.Exit(2)
	}
	go http.Serve(ln, faker.Server())
	fmt.Printf("http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// StartProcess is Start with the fake in a child process (the test binary
// itself, see ServeIfChild), so that the test process's heap holds only
// the client side: memory tests use it. SetHook and UploadParts do not
// work on it.
func StartProcess(tb testing.TB) *Fake {
	tb.Helper()
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("s3test: start child: %v", err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("s3test: child did not report its address (does TestMain call s3test.ServeIfChild?): %v", err)
	}
	url := strings.TrimSpace(line)
	cfg := s3store.Config{Region: Region, Endpoint: url, AccessKey: AccessKey, SecretKey: SecretKey, PathStyle: true}
	client, err := s3store.NewClient(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("s3test: client: %v", err)
	}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", Bucket, err)
	}
	return &Fake{URL: url, Client: client, Bucket: Bucket, Config: cfg}
}
