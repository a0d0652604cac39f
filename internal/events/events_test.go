package events

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/events/eventstest"
)

func swapped() ferry.SwapTablesOutput {
	return ferry.SwapTablesOutput{
		RunID: "run-1", CompanyID: 42, Alias: "acme", Rows: 15,
		Tables:    []ferry.TableResult{{Table: "orders", Rows: 10, Chunks: 2}, {Table: "customers", Rows: 5, Chunks: 1}},
		SwappedAt: time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC),
	}
}

func TestTablesSwapped(t *testing.T) {
	tests := []struct {
		name      string
		bus       *eventstest.Bus
		wantErr   bool
		retryable bool
	}{
		{"published", &eventstest.Bus{}, false, false},
		{"entry rejected", &eventstest.Bus{Fail: "ThrottlingException"}, true, true},
		{"service error", &eventstest.Bus{Status: 500}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(eventstest.Start(t, tt.bus), "")
			err := p.TablesSwapped(context.Background(), "bi_acme", swapped())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var re *ferry.RetryableError
			if tt.retryable && !errors.As(err, &re) {
				t.Fatalf("err = %T %v, want RetryableError", err, err)
			}
			if tt.wantErr {
				return
			}
			entries := tt.bus.Entries()
			if len(entries) != 1 {
				t.Fatalf("entries = %d, want 1", len(entries))
			}
			e := entries[0]
			if e["Source"] != Source || e["DetailType"] != DetailType || e["EventBusName"] != "default" {
				t.Fatalf("entry = %v", e)
			}
			var d Detail
			if err := json.Unmarshal([]byte(e["Detail"].(string)), &d); err != nil {
				t.Fatal(err)
			}
			if d.CompanyID != 42 || d.Company != "acme" || d.Schema != "bi_acme" || d.Rows != 15 || len(d.Tables) != 2 || d.Tables[1].Table != "customers" {
				t.Fatalf("detail = %+v", d)
			}
		})
	}
}

func TestNilPublisher(t *testing.T) {
	var p *Publisher
	if err := p.TablesSwapped(context.Background(), "s", swapped()); err != nil {
		t.Fatal(err)
	}
}

// The event as a downstream rule and consumer see it: the PutEvents entry
// that reached the (fake) bus, its Detail decoded, against
// testdata/tables_swapped.golden.json. A change here breaks subscribers.
func TestTablesSwappedGolden(t *testing.T) {
	bus := &eventstest.Bus{}
	if err := New(eventstest.Start(t, bus), "ferry-bi").TablesSwapped(context.Background(), "bi_acme", swapped()); err != nil {
		t.Fatal(err)
	}
	entries := bus.Entries()
	if len(entries) != 1 {
		t.Fatalf("entries = %d, want 1", len(entries))
	}
	got := map[string]any{}
	for _, k := range []string{"Source", "DetailType", "EventBusName"} {
		got[k] = entries[0][k]
	}
	var detail any
	if err := json.Unmarshal([]byte(entries[0]["Detail"].(string)), &detail); err != nil {
		t.Fatal(err)
	}
	got["Detail"] = detail
	raw, err := os.ReadFile(filepath.Join("testdata", "tables_swapped.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("event\n got %s\nwant %s", g, w)
	}
	if _, ok := entries[0]["Time"]; !ok {
		t.Error("the entry has no Time")
	}
}
