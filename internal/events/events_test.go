package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/ferrydata/ferry"
)

// fakeBus serves the PutEvents action of the EventBridge JSON 1.1 protocol.
type fakeBus struct {
	mu      sync.Mutex
	entries []map[string]any
	fail    string // ErrorCode to reject entries with
	status  int    // HTTP status to answer with, when not 200
}

func (f *fakeBus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("X-Amz-Target"); got != "AWSEvents.PutEvents" {
		http.Error(w, "unexpected target "+got, http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") == "" {
		http.Error(w, "unsigned request", http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in struct{ Entries []map[string]any }
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(f.status)
		io.WriteString(w, `{"__type":"InternalException","message":"try later"}`)
		return
	}
	f.mu.Lock()
	f.entries = append(f.entries, in.Entries...)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if f.fail != "" {
		json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": 1, "Entries": []any{map[string]any{"ErrorCode": f.fail, "ErrorMessage": "no"}}})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": 0, "Entries": []any{map[string]any{"EventId": "e-1"}}})
}

func client(t *testing.T, h http.Handler) *eventbridge.Client {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return eventbridge.New(eventbridge.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}

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
		bus       *fakeBus
		wantErr   bool
		retryable bool
	}{
		{"published", &fakeBus{}, false, false},
		{"entry rejected", &fakeBus{fail: "ThrottlingException"}, true, true},
		{"service error", &fakeBus{status: 500}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(client(t, tt.bus), "")
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
			if len(tt.bus.entries) != 1 {
				t.Fatalf("entries = %d, want 1", len(tt.bus.entries))
			}
			e := tt.bus.entries[0]
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
