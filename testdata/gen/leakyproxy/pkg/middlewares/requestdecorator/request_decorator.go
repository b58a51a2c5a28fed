// Package requestdecorator decorates each request with its canonical host and
// registers it in the in-flight request tracker (entry point level).
//
// Leak switch -leak-http-request: the tracker entry (request context, the
// decorated *http.Request and a 4 KiB request snapshot buffer) is never
// removed when the request completes.
package requestdecorator

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type key string

const (
	canonicalKey key = "canonical"
	recordKey    key = "record"

	// snapshotBufferSize is the size of the per-request snapshot buffer
	// (request line and headers, for debugging in-flight requests).
	snapshotBufferSize = 4096
)

// RequestDecorator is the struct for the middleware that adds the CanonicalDomain of the request.
type RequestDecorator struct {
	next    http.Handler
	tracker *requestTracker
	// keepRecords is the -leak-http-request switch: records are never untracked.
	keepRecords bool
}

// New creates a new request host middleware.
func New(next http.Handler, keepRecords bool) *RequestDecorator {
	return &RequestDecorator{next: next, tracker: defaultTracker, keepRecords: keepRecords}
}

// requestRecord describes one in-flight request.
type requestRecord struct {
	id       uint64
	start    time.Time
	ctx      context.Context
	req      *http.Request
	snapshot []byte
}

func (r *RequestDecorator) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	host := requestHost(req)
	canonical := strings.ToLower(host)

	rec := &requestRecord{
		id:       r.tracker.nextID(),
		start:    time.Now(),
		snapshot: appendRequestSnapshot(make([]byte, 0, snapshotBufferSize), req),
	}
	ctx := context.WithValue(req.Context(), canonicalKey, canonical)
	ctx = context.WithValue(ctx, recordKey, rec)
	reqt := req.WithContext(ctx)
	rec.ctx, rec.req = ctx, reqt

	r.tracker.track(rec)
	if !r.keepRecords {
		defer r.tracker.untrack(rec.id)
	}

	r.next.ServeHTTP(rw, reqt)
}

// GetCanonizedHost retrieves the canonized host from the given context.
func GetCanonizedHost(ctx context.Context) string {
	if val, ok := ctx.Value(canonicalKey).(string); ok {
		return val
	}
	return ""
}

func requestHost(req *http.Request) string {
	if h, _, err := net.SplitHostPort(req.Host); err == nil {
		return h
	}
	return req.Host
}

func appendRequestSnapshot(buf []byte, req *http.Request) []byte {
	buf = append(buf, req.Method...)
	buf = append(buf, ' ')
	buf = append(buf, req.RequestURI...)
	buf = append(buf, ' ')
	buf = append(buf, req.Proto...)
	buf = append(buf, '\n')
	for k, vs := range req.Header {
		for _, v := range vs {
			buf = append(buf, k...)
			buf = append(buf, ": "...)
			buf = append(buf, v...)
			buf = append(buf, '\n')
		}
	}
	return buf
}

var defaultTracker = &requestTracker{inflight: make(map[uint64]*requestRecord)}

// requestTracker keeps the in-flight requests, e.g. to dump them on shutdown.
type requestTracker struct {
	seq      atomic.Uint64
	mu       sync.Mutex
	inflight map[uint64]*requestRecord
}

func (t *requestTracker) nextID() uint64 { return t.seq.Add(1) }

func (t *requestTracker) track(rec *requestRecord) {
	t.mu.Lock()
	t.inflight[rec.id] = rec
	t.mu.Unlock()
}

func (t *requestTracker) untrack(id uint64) {
	t.mu.Lock()
	delete(t.inflight, id)
	t.mu.Unlock()
}
