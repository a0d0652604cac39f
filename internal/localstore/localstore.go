// Package localstore is a ferry.Store on a local directory, used by
// `ferry run`, `ferry demo` and tests in place of S3.
//
// A key "a/b/c.csv" is the file <root>/a/b/c.csv. Keys are
// slash-separated, relative and clean: empty segments, "." and ".."
// segments, a leading "/" and backslashes are refused, so no key can reach
// outside the root. Writes go to a temporary file in the target directory
// (named ".ferry-tmp-*", never listed) which Commit fsyncs and renames over
// the key atomically; readers see the old object or the new one, never a
// partial one.
package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/ferrydata/ferry"
)

var _ ferry.Store = (*Store)(nil)

// tmpPrefix starts the name of every file being written.
const tmpPrefix = ".ferry-tmp-"

// Store is a ferry.Store rooted at a directory. It is safe for concurrent
// use, also by several processes on one directory.
type Store struct {
	root string
}

// New returns a Store rooted at dir, creating it if needed.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("localstore: empty directory (fix: give the store a directory path)")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localstore: root %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("localstore: create root %s: %w", abs, err)
	}
	return &Store{root: abs}, nil
}

// PreferredCompression is none: on a local directory compressing a chunk
// costs CPU twice (export and load) and saves only disk space for
// minutes (docs/performance.md has the measurements).
func (s *Store) PreferredCompression() ferry.Compression {
	return ferry.Compression{Codec: ferry.CodecNone}
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// ValidKey reports why key cannot name an object, or nil when it can.
func ValidKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("key %q is absolute (fix: use a relative key such as run/alias/table/000001.csv)", key)
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("key %q contains a backslash or NUL", key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("key %q has an empty path segment (fix: remove the doubled or trailing '/')", key)
		case seg == "." || seg == "..":
			return fmt.Errorf("key %q has a %q segment, which could leave the store's directory", key, seg)
		case strings.HasPrefix(seg, tmpPrefix):
			return fmt.Errorf("key %q uses the reserved prefix %s", key, tmpPrefix)
		}
	}
	return nil
}

func (s *Store) path(op, key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", fmt.Errorf("localstore: %s: %w", op, err)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Create starts writing key into a temporary file beside it. See
// ferry.Store: nothing is visible at key until Commit returns nil.
func (s *Store) Create(ctx context.Context, key string) (ferry.ObjectWriter, error) {
	p, err := s.path("create", key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localstore: create %s: %w", key, err)
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localstore: create %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("localstore: create %s: %w", key, err)
	}
	return &writer{ctx: ctx, key: key, path: p, f: f}, nil
}

type writer struct {
	ctx  context.Context
	key  string
	path string

	mu    sync.Mutex
	f     *os.File
	state int // 0 open, 1 committed, 2 aborted
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, fmt.Errorf("localstore: write %s: %w", w.key, err)
	}
	if w.f == nil {
		return 0, fmt.Errorf("localstore: write %s: writer is closed", w.key)
	}
	n, err := w.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("localstore: write %s: %w", w.key, err)
	}
	return n, nil
}

// Commit fsyncs the temporary file and renames it over key. On error the
// temporary file is removed and nothing is published.
func (w *writer) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case 1:
		return fmt.Errorf("localstore: commit %s: already committed", w.key)
	case 2:
		return fmt.Errorf("localstore: commit %s: already aborted", w.key)
	}
	if err := w.commit(); err != nil {
		w.discard()
		return fmt.Errorf("localstore: commit %s: %w", w.key, err)
	}
	w.state = 1
	return nil
}

func (w *writer) commit() error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	tmp := w.f.Name()
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	if err := os.Rename(tmp, w.path); err != nil {
		os.Remove(tmp)
		return err
	}
	// Make the rename itself durable.
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// discard closes and removes the temporary file, if still there.
func (w *writer) discard() error {
	w.state = 2
	if w.f == nil {
		return nil
	}
	tmp := w.f.Name()
	w.f.Close()
	w.f = nil
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localstore: abort %s: %w", w.key, err)
	}
	return nil
}

// Abort removes the temporary file; after Commit (or twice) it is a no-op.
func (w *writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != 0 {
		return nil
	}
	return w.discard()
}

// Open streams key. A missing key (or a directory) returns an error
// wrapping ferry.ErrNotFound.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path("open", key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localstore: open %s: %w", key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("localstore: open %s: %w", key, ferry.ErrNotFound)
		}
		return nil, fmt.Errorf("localstore: open %s: %w", key, err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("localstore: open %s: %w (it is a directory of keys)", key, ferry.ErrNotFound)
	}
	return f, nil
}

// List returns the keys under prefix, sorted bytewise like S3. A prefix
// need not end at a '/'.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	// Walk only the deepest directory the prefix names for sure.
	start := s.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir := prefix[:i]
		if ValidKey(dir) != nil {
			// No valid key lives under an invalid directory.
			return nil, nil
		}
		start = filepath.Join(s.root, filepath.FromSlash(dir))
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("localstore: list %q: %w", prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// Delete removes key; a missing key is not an error. Directories left
// empty are kept (they are harmless and racing writers may need them).
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path("delete", key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localstore: delete %s: %w", key, err)
	}
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return nil // a directory of keys, not a key
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("localstore: delete %s: %w", key, err)
	}
	return nil
}
