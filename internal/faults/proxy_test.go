package faults

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fault is what the proxy does to one request.
type fault int

const (
	pass       fault = iota
	status500        // 500 InternalError, S3's XML error body
	status503        // 503 SlowDown
	resetConn        // the TCP connection reset before any response
	slow             // the response delayed, then served
	cutMidBody       // headers and half the body, then the connection reset
)

func (f fault) String() string {
	return [...]string{"pass", "500", "503", "reset", "slow", "cut"}[f]
}

// rule picks the fault for a request; n counts the requests with the same
// method and path so far (1 for the first).
type rule func(r *http.Request, n int) fault

// faultProxy is a fault-injecting HTTP layer in front of the in-process
// S3 server: Ferry's S3 client talks to it, it forwards to the fake.
type faultProxy struct {
	URL string

	rp       *httputil.ReverseProxy
	mu       sync.Mutex
	rule     rule
	seen     map[string]int
	injected map[fault]int
}

func startProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{rp: httputil.NewSingleHostReverseProxy(u), seen: map[string]int{}, injected: map[fault]int{}}
	p.rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// set installs r (nil: pass everything) and forgets the counts.
func (p *faultProxy) set(r rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule, p.seen, p.injected = r, map[string]int{}, map[fault]int{}
}

// count is how many requests got f.
func (p *faultProxy) count(f fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected[f]
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	key := r.Method + " " + r.URL.Path
	p.seen[key]++
	f := pass
	if p.rule != nil {
		f = p.rule(r, p.seen[key])
	}
	if f != pass {
		p.injected[f]++
	}
	p.mu.Unlock()
	switch f {
	case status500:
		s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case status503:
		s3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case resetConn:
		reset(w)
	case slow:
		time.Sleep(150 * time.Millisecond)
		p.rp.ServeHTTP(w, r)
	case cutMidBody:
		p.rp.ServeHTTP(&cutWriter{ResponseWriter: w}, r)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>`+msg+`</Message><RequestId>fault</RequestId></Error>`)
}

// reset ends the request's TCP connection with a RST (SO_LINGER 0).
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// cutWriter passes the status, the headers and the first half of the body
// (by Content-Length), then resets the connection.
type cutWriter struct {
	http.ResponseWriter
	limit, n int
	cut      bool
}

func (c *cutWriter) WriteHeader(status int) {
	c.limit = 64
	if n, err := strconv.Atoi(c.Header().Get("Content-Length")); err == nil && n > 1 {
		c.limit = n / 2
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.cut {
		return 0, io.ErrClosedPipe
	}
	if c.limit == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.n+len(b) <= c.limit {
		c.n += len(b)
		return c.ResponseWriter.Write(b)
	}
	k, _ := c.ResponseWriter.Write(b[:c.limit-c.n])
	c.ResponseWriter.(http.Flusher).Flush()
	c.cut = true
	reset(c.ResponseWriter)
	return k, io.ErrClosedPipe
}

// chunkObject reports a request for a chunk's CSV object.
func chunkObject(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".csv.gz") }
