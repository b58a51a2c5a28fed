// Package headers is the custom headers middleware.
package headers

import (
	"context"
	"net/http"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
)

type headers struct {
	name            string
	next            http.Handler
	requestHeaders  http.Header
	responseHeaders http.Header
}

// New creates a Headers middleware.
func New(ctx context.Context, next http.Handler, cfg dynamic.Headers, name string) (http.Handler, error) {
	h := &headers{name: name, next: next, requestHeaders: http.Header{}, responseHeaders: http.Header{}}
	for k, v := range cfg.CustomRequestHeaders {
		h.requestHeaders.Set(k, v)
	}
	for k, v := range cfg.CustomResponseHeaders {
		h.responseHeaders.Set(k, v)
	}
	return h, nil
}

func (h *headers) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	for k, v := range h.requestHeaders {
		if len(v) == 1 && v[0] == "" {
			req.Header.Del(k)
			continue
		}
		req.Header[k] = v
	}
	for k, v := range h.responseHeaders {
		rw.Header()[k] = v
	}
	h.next.ServeHTTP(rw, req)
}
