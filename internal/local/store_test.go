package local

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/localstore"
)

// TestStorePlugs checks the Distributed Map's ItemReader and ResultWriter
// against a directory store: the run's bucket only, missing keys wrap
// ferry.ErrNotFound, and what is written is what is read.
func TestStorePlugs(t *testing.T) {
	ctx := context.Background()
	st, err := localstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := storeWriter{store: st, bucket: "b"}
	r := storeReader{store: st, bucket: "b"}
	const res = "arn:aws:states:::s3:putObject"
	tests := []struct {
		name    string
		bucket  string
		key     string
		write   bool
		wantErr string
	}{
		{name: "write and read", bucket: "b", key: "map-results/run/manifest.json", write: true},
		{name: "other bucket write", bucket: "other", key: "k", write: true, wantErr: `bucket "other"`},
		{name: "other bucket read", bucket: "other", key: "map-results/run/manifest.json", wantErr: `bucket "other"`},
		{name: "missing key", bucket: "b", key: "nope.json", wantErr: "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`[{"a":1}]`)
			if tc.write {
				err := w.WriteObject(ctx, res, tc.bucket, tc.key, body)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("write error %v, want %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.ReadObject(ctx, "arn:aws:states:::s3:getObject", tc.bucket, tc.key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("read error %v, want %q", err, tc.wantErr)
				}
				if tc.name == "missing key" && !errors.Is(err, ferry.ErrNotFound) {
					t.Errorf("missing key error %v does not wrap ferry.ErrNotFound", err)
				}
				return
			}
			if err != nil || string(got) != string(body) {
				t.Fatalf("read %q, %v; want %q", got, err, body)
			}
		})
	}
}
