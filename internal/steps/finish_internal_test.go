package steps

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBoundFailures(t *testing.T) {
	line := func(n int) string { return strings.Repeat("é", n/2) }
	tests := []struct {
		name     string
		in       []string
		wantKept int
	}{
		{"few short lines are kept", []string{"a", "b"}, 2},
		{"the line count is capped", repeat("x", maxFailures+5), maxFailures},
		{"the byte size is capped", repeat(line(1500), 200), maxFailureBytes / 1501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := boundFailures(append([]string(nil), tt.in...), "run-1")
			kept := len(got)
			if kept != len(tt.in) {
				kept--
				if want := fmt.Sprintf("… and %d more (see `ferry runs show run-1`)", len(tt.in)-kept); got[kept] != want {
					t.Fatalf("last line = %q, want %q", got[kept], want)
				}
			}
			if kept != tt.wantKept {
				t.Fatalf("kept %d lines, want %d", kept, tt.wantKept)
			}
			if size := len(strings.Join(got, "\n")); size > maxFailureBytes+200 {
				t.Fatalf("summary lines are %d bytes, over the bound", size)
			}
		})
	}
}

func TestClipKeepsRunes(t *testing.T) {
	for n := 0; n < 8; n++ {
		if got := clip("ééééé", n); !utf8.ValidString(got) {
			t.Fatalf("clip(%d) = %q is not valid UTF-8", n, got)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
