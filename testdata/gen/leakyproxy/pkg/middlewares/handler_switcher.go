// Package middlewares holds entry point level helpers shared by all middlewares.
package middlewares

import (
	"net/http"
	"sync/atomic"
)

// HTTPHandlerSwitcher allows hot switching of http.ServeMux: each
// configuration reload builds a fresh handler chain which is swapped in
// atomically.
type HTTPHandlerSwitcher struct {
	handler atomic.Pointer[http.Handler]
}

// NewHandlerSwitcher builds a new instance of HTTPHandlerSwitcher.
func NewHandlerSwitcher(newHandler http.Handler) *HTTPHandlerSwitcher {
	s := &HTTPHandlerSwitcher{}
	s.handler.Store(&newHandler)
	return s
}

func (h *HTTPHandlerSwitcher) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	handler := *h.handler.Load()
	handler.ServeHTTP(rw, req)
}

// GetHandler returns the current http.ServeMux.
func (h *HTTPHandlerSwitcher) GetHandler() http.Handler {
	return *h.handler.Load()
}

// UpdateHandler safely updates the current http.ServeMux with a new one.
func (h *HTTPHandlerSwitcher) UpdateHandler(newHandler http.Handler) {
	h.handler.Store(&newHandler)
}
