// Package capture wraps the response writer to capture the status code and
// the response size.
package capture

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

// ResponseWriter captures status and size.
type ResponseWriter struct {
	rw     http.ResponseWriter
	status int
	size   int64
}

// Wrap returns the capturing response writer.
func Wrap(rw http.ResponseWriter, req *http.Request) (*ResponseWriter, *http.Request) {
	return &ResponseWriter{rw: rw}, req
}

// Header implements http.ResponseWriter.
func (crw *ResponseWriter) Header() http.Header { return crw.rw.Header() }

// Write implements http.ResponseWriter.
func (crw *ResponseWriter) Write(b []byte) (int, error) {
	if crw.status == 0 {
		crw.status = http.StatusOK
	}
	n, err := crw.rw.Write(b)
	crw.size += int64(n)
	return n, err
}

// WriteHeader implements http.ResponseWriter.
func (crw *ResponseWriter) WriteHeader(s int) {
	if crw.status == 0 {
		crw.status = s
	}
	crw.rw.WriteHeader(s)
}

// Flush implements http.Flusher.
func (crw *ResponseWriter) Flush() {
	if f, ok := crw.rw.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker.
func (crw *ResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := crw.rw.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, fmt.Errorf("not a hijacker: %T", crw.rw)
}

// Status returns the captured status code.
func (crw *ResponseWriter) Status() int {
	if crw.status == 0 {
		return http.StatusOK
	}
	return crw.status
}

// ResponseSize returns the number of bytes written.
func (crw *ResponseWriter) ResponseSize() int64 { return crw.size }
