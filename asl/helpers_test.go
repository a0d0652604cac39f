package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// mustParse parses a definition or fails the test.
func mustParse(t testing.TB, def string) *StateMachine {
	t.Helper()
	sm, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return sm
}

// runDef parses and executes def with a virtual clock and the given options.
func runDef(t testing.TB, def, input string, opts Options) *Execution {
	t.Helper()
	sm := mustParse(t, def)
	if opts.Clock == nil {
		opts.Clock = NewVirtualClock(epoch)
	}
	if opts.Name == "" {
		opts.Name = "test-exec"
	}
	ex, err := sm.Execute(context.Background(), json.RawMessage(input), opts)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return ex
}

// jsonEq reports whether two JSON documents are equal.
func jsonEq(t testing.TB, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("got is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// golden compares got (JSON) with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("golden %s: not JSON: %v", name, err)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	pretty = append(pretty, '\n')
	if *update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", name, err)
	}
	if !bytes.Equal(want, pretty) {
		t.Errorf("golden %s differs:\n--- got\n%s\n--- want\n%s", name, pretty, want)
	}
}

// static returns a handler that always returns out.
func static(out string) TaskHandler {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(out), nil }
}

// echo returns its input.
func echo(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
