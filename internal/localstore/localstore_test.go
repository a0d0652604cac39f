package localstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/storetest"
)

func newStore(t *testing.T) *localstore.Store {
	t.Helper()
	s, err := localstore.New(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ferry.Store { return newStore(t) })
}

func TestInvalidKeys(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tests := []struct{ key, want string }{
		{"", "empty key"},
		{"/etc/passwd", "absolute"},
		{"../escape", `".." segment`},
		{"a/../../escape", `".." segment`},
		{"a/./b", `"." segment`},
		{"a//b", "empty path segment"},
		{"a/b/", "empty path segment"},
		{`a\b`, "backslash"},
		{"a/.ferry-tmp-123", "reserved prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			checks := map[string]error{}
			_, checks["Create"] = s.Create(ctx, tt.key)
			_, checks["Open"] = s.Open(ctx, tt.key)
			checks["Delete"] = s.Delete(ctx, tt.key)
			for op, err := range checks {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s(%q) err = %v, want it to mention %q", op, tt.key, err, tt.want)
				}
				if errors.Is(err, ferry.ErrNotFound) {
					t.Errorf("%s(%q): an invalid key must not look like a missing one", op, tt.key)
				}
			}
		})
	}
	// Nothing was created outside (or inside) the root.
	if keys, err := s.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("List = %q, %v; want nothing", keys, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Root()), "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file escaped the root: %v", err)
	}
}

func TestLayoutAndTempFiles(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	storetest.Put(t, s, "run/acme/t/00001.csv.gz", []byte("x"))
	b, err := os.ReadFile(filepath.Join(s.Root(), "run", "acme", "t", "00001.csv.gz"))
	if err != nil || string(b) != "x" {
		t.Fatalf("file under root = %q, %v", b, err)
	}
	w, err := s.Create(ctx, "run/acme/t/00002.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("pending"))
	ents, _ := os.ReadDir(filepath.Join(s.Root(), "run", "acme", "t"))
	if len(ents) != 2 {
		t.Fatalf("want the object and one temp file in the directory, got %d entries", len(ents))
	}
	if keys, _ := s.List(ctx, "run/"); len(keys) != 1 {
		t.Fatalf("List shows a temp file: %q", keys)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	ents, _ = os.ReadDir(filepath.Join(s.Root(), "run", "acme", "t"))
	if len(ents) != 1 {
		t.Fatalf("Abort left %d entries, want only the committed object", len(ents))
	}
}

func TestNewRejectsEmpty(t *testing.T) {
	if _, err := localstore.New(""); err == nil {
		t.Fatal("New(\"\") succeeded")
	}
}
