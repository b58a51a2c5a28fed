// Package whoami is the backend served by the same process on its own
// 127.0.0.1 listener (a tiny traefik/whoami).
package whoami

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Handler answers with a small text body describing the request.
// "?code=NNN" selects the status code; POST/PUT bodies are drained and
// answered with 201.
type Handler struct {
	Hostname string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n, _ := io.Copy(io.Discard, req.Body)
	_ = req.Body.Close()

	code := http.StatusOK
	if req.Method == http.MethodPost || req.Method == http.MethodPut {
		code = http.StatusCreated
	}
	if c := req.URL.Query().Get("code"); c != "" {
		if v, err := strconv.Atoi(c); err == nil && v >= 200 && v <= 599 {
			code = v
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Hostname: %s\n", h.Hostname)
	fmt.Fprintf(&b, "RemoteAddr: %s\n", req.RemoteAddr)
	fmt.Fprintf(&b, "%s %s %s\n", req.Method, req.URL.RequestURI(), req.Proto)
	fmt.Fprintf(&b, "Host: %s\n", req.Host)
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(req.Header[k], ","))
	}
	fmt.Fprintf(&b, "BodyBytes: %d\n", n)

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, b.String())
}
