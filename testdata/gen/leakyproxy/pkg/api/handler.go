// Package api is the admin listener: pprof, Prometheus metrics and a reload
// trigger.
package api

import (
	"fmt"
	"net/http"
	"net/http/pprof"
)

// Reloader forces a configuration re-read.
type Reloader interface {
	Reload()
}

// NewHandler builds the admin handler.
func NewHandler(metricsHandler http.Handler, reloader Reloader) http.Handler {
	mux := http.NewServeMux()
	DebugHandler{}.Append(mux)
	mux.Handle("/metrics", metricsHandler)
	mux.HandleFunc("/api/reload", func(rw http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		reloader.Reload()
		rw.WriteHeader(http.StatusAccepted)
		fmt.Fprintln(rw, `{"reload":"requested"}`)
	})
	mux.HandleFunc("/ping", func(rw http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(rw, "OK")
	})
	return mux
}

// DebugHandler expose debug routes.
type DebugHandler struct{}

// Append adds debug routes on a router.
func (g DebugHandler) Append(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
