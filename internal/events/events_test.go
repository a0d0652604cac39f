package events

import (
	"context"
	"encoding/json"
	"errors"
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
