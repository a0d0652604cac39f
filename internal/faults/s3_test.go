package faults

import (
	"net/http"
	"testing"

	"github.com/ferrydata/ferry"
)

// TestS3Faults: S3 answers 500 and 503, resets connections, answers slowly
// and cuts a download in the middle of the body, on the chunks' uploads
// (export-chunk) and downloads (load-chunk). Each fault hits every chunk
// object's first requests, more of them than the SDK's own three attempts
// where it can, so that both the SDK's retries and the workflow's Retry
// (RetryableError, on the engine) are used. The run must succeed with
// every live table equal to the source, value by value.
func TestS3Faults(t *testing.T) {
	t.Parallel()
	// onChunks gives f to the first requests of each chunk object's upload
	// (PUT, export-chunk) and download (GET, load-chunk).
	onChunks := func(f fault, first int) rule {
		return func(r *http.Request, n int) fault {
			if (r.Method == http.MethodPut || r.Method == http.MethodGet) && chunkObject(r) && n <= first {
				return f
			}
			return pass
		}
	}
	cutDownloads := func(r *http.Request, n int) fault {
		if r.Method == http.MethodGet && chunkObject(r) && n == 1 {
			return cutMidBody
		}
		return pass
	}
	for _, tc := range []struct {
		name     string
		engine   ferry.Engine
		rule     rule
		fault    fault
		perChunk int // requests per chunk that must have got the fault
	}{
		{"500", ferry.EnginePostgres, onChunks(status500, 4), status500, 8},
		{"503", ferry.EngineMySQL, onChunks(status503, 4), status503, 8},
		{"reset", ferry.EngineMySQL, onChunks(resetConn, 4), resetConn, 8},
		{"slow", ferry.EnginePostgres, onChunks(slow, 1), slow, 2},
		// A download cut in the middle of the body (an upload's response
		// has no body to cut): the load has read half the rows.
		{"download cut mid-body", ferry.EnginePostgres, cutDownloads, cutMidBody, 1},
		{"download cut mid-body", ferry.EngineMySQL, cutDownloads, cutMidBody, 1},
	} {
		t.Run(tc.name+"/"+string(tc.engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.engine)
			w.proxy.set(tc.rule)
			res := w.run(t, "s3-faults")
			succeeded(t, res)
			if n := w.proxy.count(tc.fault); n < tc.perChunk*res.Report.Chunks {
				t.Errorf("test is void: %d requests got %s, want %d per chunk (%d chunks)", n, tc.fault, tc.perChunk, res.Report.Chunks)
			}
			w.liveEqualsSource(t)
		})
	}
}
