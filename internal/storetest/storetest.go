// Package storetest is the contract suite every ferry.Store implementation
// runs: S3 (internal/s3store) and the local directory (internal/localstore)
// must behave the same for every step of Ferry.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/ferrydata/ferry"
)

// BigSize is the size of the suite's large object: more than two 5 MiB
// parts, so an S3 store configured with the minimum part size uses a
// multipart upload with a short last part.
const BigSize = 11<<20 + 12345

// Run runs the contract suite. newStore returns a fresh, empty store for
// each subtest (and arranges its own clean-up).
func Run(t *testing.T, newStore func(t *testing.T) ferry.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ferry.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"InvisibleBeforeCommit", testInvisibleBeforeCommit},
		{"AbortLeavesNothing", testAbortLeavesNothing},
		{"AbortAfterCommitIsNoop", testAbortAfterCommit},
		{"Overwrite", testOverwrite},
		{"AbortedOverwriteKeepsOld", testAbortedOverwriteKeepsOld},
		{"List", testList},
		{"DeleteIdempotent", testDelete},
		{"NotFound", testNotFound},
		{"ConcurrentWrites", testConcurrentWrites},
		{"CancelDuringWrite", testCancelDuringWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// Data returns n deterministic pseudo-random bytes (incompressible, with
// every byte value, 0x00 included).
func Data(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Put writes data at key in writes of odd sizes and commits.
func Put(t testing.TB, s ferry.Store, key string, data []byte) {
	t.Helper()
	w, err := s.Create(context.Background(), key)
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	if err := writeChunks(w, data); err != nil {
		w.Abort()
		t.Fatalf("Write(%q): %v", key, err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit(%q): %v", key, err)
	}
}

func writeChunks(w io.Writer, data []byte) error {
	sizes := []int{1, 7, 4096, 65536 + 3, 1 << 20}
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		m, err := w.Write(data[:n])
		if err != nil {
			return err
		}
		if m != n {
			return fmt.Errorf("short write: %d of %d", m, n)
		}
		data = data[n:]
	}
	return nil
}

// Get reads key back whole.
func Get(t testing.TB, s ferry.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func wantEqual(t *testing.T, key string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: read %d bytes, wrote %d; first difference at byte %d", key, len(got), len(want), i)
	}
}

// wantMissing checks key cannot be opened (ErrNotFound) nor listed.
func wantMissing(t *testing.T, s ferry.Store, key string) {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err == nil {
		b, _ := io.ReadAll(rc)
		rc.Close()
		t.Fatalf("Open(%q) succeeded with %d bytes, want ErrNotFound", key, len(b))
	}
	if !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("Open(%q) err = %v, want one wrapping ferry.ErrNotFound", key, err)
	}
	keys, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if slices.Contains(keys, key) {
		t.Fatalf("List() = %q, contains %q", keys, key)
	}
}

func testRoundTrip(t *testing.T, s ferry.Store) {
	cases := []struct {
		key  string
		data []byte
	}{
		{"empty", nil},
		{"small.csv.gz", []byte("id,name\n1,\"x\"\n")},
		{"run-1/acme/orders/00001.csv.gz", Data(1, 100_000)},
		{"binary/zeros", make([]byte, 70_000)},
		{"big/object.bin", Data(2, BigSize)},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			Put(t, s, c.key, c.data)
			wantEqual(t, c.key, Get(t, s, c.key), c.data)
		})
	}
}

func testInvisibleBeforeCommit(t *testing.T, s ferry.Store) {
	ctx := context.Background()
	const key = "pending/obj"
	data := Data(3, 200_000)
	w, err := s.Create(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(w, data); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, key)
	keys, err := s.List(ctx, "pending/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("List(pending/) before Commit = %q, want none (no temp files either)", keys)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, key, Get(t, s, key), data)
}

func testAbortLeavesNothing(t *testing.T, s ferry.Store) {
	ctx := context.Background()
	for _, size := range []int{0, 1000, BigSize} {
		key := fmt.Sprintf("aborted/%d", size)
		w, err := s.Create(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeChunks(w, Data(4, size)); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort(%q): %v", key, err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("second Abort(%q): %v", key, err)
		}
		if err := w.Commit(); err == nil {
			t.Fatalf("Commit after Abort(%q) succeeded", key)
		}
		wantMissing(t, s, key)
	}
	keys, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("List after aborts = %q, want none", keys)
	}
}

func testAbortAfterCommit(t *testing.T, s ferry.Store) {
	const key = "committed"
	data := Data(5, 1234)
	w, err := s.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(w, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort after Commit: %v, want a no-op", err)
	}
	wantEqual(t, key, Get(t, s, key), data)
}

func testOverwrite(t *testing.T, s ferry.Store) {
	const key = "a/b/over"
	Put(t, s, key, Data(6, 300_000))
	second := Data(7, 1000) // shorter: no tail of the first may survive
	Put(t, s, key, second)
	wantEqual(t, key, Get(t, s, key), second)
	keys, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{key}) {
		t.Fatalf("List after overwrite = %q, want [%q]", keys, key)
	}
}

func testAbortedOverwriteKeepsOld(t *testing.T, s ferry.Store) {
	const key = "keep"
	old := Data(8, 5000)
	Put(t, s, key, old)
	w, err := s.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(w, Data(9, 9000)); err != nil {
		t.Fatal(err)
	}
	// Until Commit, readers still see the old object.
	wantEqual(t, key, Get(t, s, key), old)
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, key, Get(t, s, key), old)
}

func testList(t *testing.T, s ferry.Store) {
	ctx := context.Background()
	keys := []string{
		"run/acme/t2/00002.csv.gz", "run/acme/t1/00010.csv.gz", "run/acme/t1/00002.csv.gz",
		"run/acme/t1/00001.csv.gz", "run/acme-2/t1/00001.csv.gz", "run/acme.manifest.json",
		"run/b/x", "other/file", "run/acme/t1/00001.csv.gz.done",
	}
	for i, k := range keys {
		Put(t, s, k, []byte(fmt.Sprintf("object %d", i)))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{
			"other/file", "run/acme-2/t1/00001.csv.gz", "run/acme.manifest.json",
			"run/acme/t1/00001.csv.gz", "run/acme/t1/00001.csv.gz.done", "run/acme/t1/00002.csv.gz",
			"run/acme/t1/00010.csv.gz", "run/acme/t2/00002.csv.gz", "run/b/x",
		}},
		{"run/acme/", []string{
			"run/acme/t1/00001.csv.gz", "run/acme/t1/00001.csv.gz.done", "run/acme/t1/00002.csv.gz",
			"run/acme/t1/00010.csv.gz", "run/acme/t2/00002.csv.gz",
		}},
		{"run/acme", []string{
			"run/acme-2/t1/00001.csv.gz", "run/acme.manifest.json",
			"run/acme/t1/00001.csv.gz", "run/acme/t1/00001.csv.gz.done", "run/acme/t1/00002.csv.gz",
			"run/acme/t1/00010.csv.gz", "run/acme/t2/00002.csv.gz",
		}},
		{"run/acme/t1/00001", []string{"run/acme/t1/00001.csv.gz", "run/acme/t1/00001.csv.gz.done"}},
		{"run/b/x", []string{"run/b/x"}},
		{"missing/", nil},
		{"run/acme/t3", nil},
	}
	for _, tt := range tests {
		got, err := s.List(ctx, tt.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", tt.prefix, err)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && !slices.Equal(got, tt.want)) {
			t.Errorf("List(%q) =\n  %q\nwant\n  %q", tt.prefix, got, tt.want)
		}
	}
}

func testDelete(t *testing.T, s ferry.Store) {
	ctx := context.Background()
	Put(t, s, "d/one", []byte("1"))
	Put(t, s, "d/two", []byte("2"))
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, "d/one")
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Fatalf("second Delete: %v, want nil", err)
	}
	if err := s.Delete(ctx, "never/existed"); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
	wantEqual(t, "d/two", Get(t, s, "d/two"), []byte("2"))
	keys, err := s.List(ctx, "d/")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"d/two"}) {
		t.Fatalf("List(d/) = %q, want [d/two]", keys)
	}
}

func testNotFound(t *testing.T, s ferry.Store) {
	Put(t, s, "present/x", []byte("x"))
	for _, key := range []string{"missing", "present/y", "present/x/deeper", "present"} {
		wantMissing(t, s, key)
	}
}

func testConcurrentWrites(t *testing.T, s ferry.Store) {
	const n = 8
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(n)
	for i := range n {
		g.Go(func() error {
			key := fmt.Sprintf("concurrent/%02d", i)
			w, err := s.Create(ctx, key)
			if err != nil {
				return err
			}
			if err := writeChunks(w, Data(uint64(100+i), 150_000+i)); err != nil {
				w.Abort()
				return fmt.Errorf("%s: %w", key, err)
			}
			return w.Commit()
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	keys, err := s.List(context.Background(), "concurrent/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Fatalf("List = %q, want %d keys", keys, n)
	}
	for i := range n {
		key := fmt.Sprintf("concurrent/%02d", i)
		wantEqual(t, key, Get(t, s, key), Data(uint64(100+i), 150_000+i))
	}
}

func testCancelDuringWrite(t *testing.T, s ferry.Store) {
	for _, size := range []int{1000, BigSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := fmt.Sprintf("cancelled/%d", size)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := s.Create(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if err := writeChunks(w, Data(10, size)); err != nil {
				t.Fatalf("write before cancel: %v", err)
			}
			cancel()
			// Writing after the cancellation must fail, now or at
			// Commit; either way Commit must not publish the object.
			_, werr := w.Write(Data(11, 1<<20))
			cerr := w.Commit()
			if cerr == nil {
				t.Fatalf("Commit after cancel succeeded (write err %v)", werr)
			}
			if !errors.Is(cerr, context.Canceled) && !errors.Is(werr, context.Canceled) {
				t.Errorf("errors after cancel (write %v, commit %v) do not wrap context.Canceled", werr, cerr)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort after a failed Commit: %v", err)
			}
			wantMissing(t, s, key)
			keys, err := s.List(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 0 {
				t.Fatalf("List after cancelled write = %q, want none", keys)
			}
		})
	}
}
