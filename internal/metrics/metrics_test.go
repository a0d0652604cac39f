package metrics

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmitGolden(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		emit   func(e *Emitter) error
		golden string
	}{
		{"chunk", func(e *Emitter) error { return e.Chunk("Export", "acme", "orders", "run-1", 3, 1000, 2048, 1.5) }, "chunk.golden.json"},
		{"table", func(e *Emitter) error {
			return e.Table("acme", "orders", "run-1", TableStats{Rows: 5000, Bytes: 8192, Chunks: 5, Seconds: 42.5})
		}, "table.golden.json"},
		{"job per company", func(e *Emitter) error {
			return e.Job("refresh_sales", "acme", "run-1", JobStats{Rows: 0, Batches: 0, Seconds: 2.5})
		}, "job_company.golden.json"},
		{"job failed", func(e *Emitter) error {
			return e.Job("purge_events", "", "jobs-1", JobStats{Rows: 120000, Batches: 12, Seconds: 30, Failed: true})
		}, "job_failed.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.emit(New(&buf).WithClock(func() time.Time { return at })); err != nil {
				t.Fatal(err)
			}
			line := buf.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Fatalf("want exactly one line, got %q", line)
			}
			var got, want any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("EMF record\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestEmitRejectsCollision(t *testing.T) {
	var buf bytes.Buffer
	err := New(&buf).Emit(map[string]string{"Rows": "x"}, []Metric{{Name: "Rows", Unit: Count, Value: 1}}, nil)
	if err == nil || buf.Len() != 0 {
		t.Fatalf("collision: err=%v, wrote %q", err, buf.String())
	}
}

func TestNilEmitterDiscards(t *testing.T) {
	var e *Emitter
	if err := e.Table("a", "b", "r", TableStats{Rows: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.Chunk("Export", "a", "b", "r", 0, 1, 1, 1); err != nil {
		t.Fatal(err)
	}
}
