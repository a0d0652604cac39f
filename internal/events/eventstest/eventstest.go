// Package eventstest is an in-process fake of the EventBridge PutEvents
// endpoint (JSON 1.1 protocol over HTTP on 127.0.0.1), driven by the real
// aws-sdk-go-v2 client, for tests.
package eventstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// Bus records the entries it receives. Set Fail to reject entries with that
// ErrorCode, or Status to answer every request with that HTTP status.
type Bus struct {
	mu      sync.Mutex
	entries []map[string]any
	Fail    string
	Status  int
}

// Entries returns a copy of the entries received so far.
func (b *Bus) Entries() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]map[string]any(nil), b.entries...)
}

func (b *Bus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if b.Status != 0 {
		w.WriteHeader(b.Status)
		io.WriteString(w, `{"__type":"InternalException","message":"try later"}`)
		return
	}
	b.mu.Lock()
	b.entries = append(b.entries, in.Entries...)
	b.mu.Unlock()
	if b.Fail != "" {
		json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": 1, "Entries": []any{map[string]any{"ErrorCode": b.Fail, "ErrorMessage": "rejected"}}})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": 0, "Entries": []any{map[string]any{"EventId": "e-1"}}})
}

// Start serves b on 127.0.0.1 until the test ends and returns a real
// EventBridge client pointed at it (static credentials, no retries).
func Start(t testing.TB, b *Bus) *eventbridge.Client {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return eventbridge.New(eventbridge.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}
