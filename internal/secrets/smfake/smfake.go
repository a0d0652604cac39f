// Package smfake is an in-process Secrets Manager for tests: it speaks the
// JSON 1.1 protocol of GetSecretValue on 127.0.0.1, so the real SDK client
// (signing, serialisation, error decoding) is exercised.
package smfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Fake holds secrets by id (ARN or name) and counts GetSecretValue calls.
type Fake struct {
	// URL is the endpoint to use as BaseEndpoint.
	URL string

	mu      sync.Mutex
	secrets map[string]string
	calls   map[string]int
}

// Start serves a Fake until the test ends and returns it with a real SDK
// client pointed at it (static credentials, no retries).
func Start(t testing.TB) (*Fake, *secretsmanager.Client) {
	t.Helper()
	f := &Fake{secrets: map[string]string{}, calls: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	client := secretsmanager.New(secretsmanager.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
	return f, client
}

// Set stores value as the SecretString of id.
func (f *Fake) Set(id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[id] = value
}

// Count is how many GetSecretValue calls asked for id.
func (f *Fake) Count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// ServeHTTP answers GetSecretValue.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", typ)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		fail(400, "InvalidRequestException", "unsupported operation "+r.Header.Get("X-Amz-Target"))
		return
	}
	if r.Header.Get("Authorization") == "" {
		fail(400, "MissingAuthenticationTokenException", "request is not signed")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in struct{ SecretId string }
	if err := json.Unmarshal(body, &in); err != nil {
		fail(400, "InvalidRequestException", err.Error())
		return
	}
	f.mu.Lock()
	f.calls[in.SecretId]++
	v, ok := f.secrets[in.SecretId]
	f.mu.Unlock()
	if !ok {
		fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{
		"ARN":           in.SecretId,
		"Name":          "ferry/test",
		"SecretString":  v,
		"VersionId":     "v1",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   1.7e9,
	})
}
