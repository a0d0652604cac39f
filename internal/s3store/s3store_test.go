package s3store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/storetest"
)

// newStore returns a store on a fresh fake S3 with the smallest part size,
// so that storetest.BigSize objects take three parts.
func newStore(t *testing.T, opts ...s3store.Option) (*s3store.Store, *s3.Client) {
	t.Helper()
	client, bucket := s3test.Server(t)
	opts = append([]s3store.Option{s3store.WithPartSize(s3store.MinPartSize), s3store.WithConcurrency(2)}, opts...)
	s := s3store.New(client, bucket, opts...)
	t.Cleanup(func() {
		if ups := s3test.PendingUploads(t, client, bucket); len(ups) != 0 {
			t.Errorf("multipart uploads left pending: %q", ups)
		}
	})
	return s, client
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ferry.Store {
		s, _ := newStore(t)
		return s
	})
}

// TestMultipartUsed checks that a big object really goes up in parts,
// counted at the fake's HTTP layer (gofakes3 stores a multipart object with
// a plain MD5 ETag, not the -<parts> form S3 uses).
func TestMultipartUsed(t *testing.T) {
	fake := s3test.Start(t)
	s := s3store.New(fake.Client, fake.Bucket, s3store.WithPartSize(s3store.MinPartSize))
	storetest.Put(t, s, "small", []byte("x"))
	if n := fake.UploadParts(); n != 0 {
		t.Fatalf("a 1-byte object took %d UploadPart requests, want a single PutObject", n)
	}
	storetest.Put(t, s, "big", storetest.Data(1, storetest.BigSize))
	if n := fake.UploadParts(); n != 3 {
		t.Fatalf("%d UploadPart requests for %d bytes in 5 MiB parts, want 3", n, storetest.BigSize)
	}
	head, err := fake.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt64(head.ContentLength); got != storetest.BigSize {
		t.Fatalf("ContentLength %d, want %d", got, storetest.BigSize)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestNoPendingUploads drives writers into every way of failing after a
// multipart upload has started and checks ListMultipartUploads is empty.
func TestNoPendingUploads(t *testing.T) {
	boom := errors.New("source database went away")
	tests := []struct {
		name string
		run  func(t *testing.T, s *s3store.Store) error
	}{
		{"abort after parts", func(t *testing.T, s *s3store.Store) error {
			w, err := s.Create(context.Background(), "k")
			if err != nil {
				return err
			}
			if _, err := w.Write(storetest.Data(2, storetest.BigSize)); err != nil {
				return err
			}
			return w.Abort()
		}},
		{"failing reader copied in", func(t *testing.T, s *s3store.Store) error {
			w, err := s.Create(context.Background(), "k")
			if err != nil {
				return err
			}
			_, err = io.Copy(w, &failingReader{data: storetest.Data(3, storetest.BigSize), err: boom})
			if !errors.Is(err, boom) {
				return fmt.Errorf("copy err = %v, want %v", err, boom)
			}
			return w.Abort()
		}},
		{"cancel after parts", func(t *testing.T, s *s3store.Store) error {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := s.Create(ctx, "k")
			if err != nil {
				return err
			}
			if _, err := w.Write(storetest.Data(4, storetest.BigSize)); err != nil {
				return err
			}
			cancel()
			if err := w.Commit(); !errors.Is(err, context.Canceled) {
				return fmt.Errorf("Commit after cancel: %v, want context.Canceled", err)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, client := newStore(t)
			if err := tt.run(t, s); err != nil {
				t.Fatal(err)
			}
			if ups := s3test.PendingUploads(t, client, s.Bucket()); len(ups) != 0 {
				t.Fatalf("pending multipart uploads: %q", ups)
			}
			if _, err := s.Open(context.Background(), "k"); !errors.Is(err, ferry.ErrNotFound) {
				t.Fatalf("Open after failure: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestListPaginates(t *testing.T) {
	s, _ := newStore(t, s3store.WithPageSize(3))
	var want []string
	for i := range 10 {
		k := fmt.Sprintf("p/%02d", 9-i)
		storetest.Put(t, s, k, []byte{byte(i)})
		want = append([]string{k}, want...)
	}
	storetest.Put(t, s, "q/other", []byte("x"))
	got, err := s.List(context.Background(), "p/")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

func TestErrorsNameObject(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.Open(context.Background(), "run/acme/missing.csv.gz")
	if err == nil || !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("Open missing: %v", err)
	}
	if want := "s3://" + s3test.Bucket + "/run/acme/missing.csv.gz"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %s", err, want)
	}
	// A missing bucket is a configuration problem, not a missing object.
	client, _ := s3test.Server(t)
	nb := s3store.New(client, "no-such-bucket")
	if _, err := nb.Open(context.Background(), "k"); err == nil || errors.Is(err, ferry.ErrNotFound) || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("Open in a missing bucket: %v, want an error that is not ErrNotFound and says how to fix it", err)
	}
}
