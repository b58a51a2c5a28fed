// Package proxy builds the reverse proxies (net/http/httputil.ReverseProxy)
// used by the load-balancer services.
package proxy

import (
	"context"
	"errors"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

// StatusClientClosedRequest non-standard HTTP status code for client disconnection.
const StatusClientClosedRequest = 499

// BuildSingleHostProxy builds a reverse proxy forwarding to the URL already
// set on the outgoing request by the load balancer.
func BuildSingleHostProxy(passHostHeader bool, flushInterval time.Duration, roundTripper http.RoundTripper, bufferPool httputil.BufferPool, errorLog *stdlog.Logger) http.Handler {
	return &httputil.ReverseProxy{
		Director:      directorBuilder(passHostHeader),
		Transport:     roundTripper,
		FlushInterval: flushInterval,
		BufferPool:    bufferPool,
		ErrorLog:      errorLog,
		ErrorHandler:  ErrorHandler,
	}
}

func directorBuilder(passHostHeader bool) func(outReq *http.Request) {
	return func(outReq *http.Request) {
		if !passHostHeader {
			outReq.Host = outReq.URL.Host
		}
		// Do not pass client Host header unless optsetter PassHostHeader is set.
		outReq.Proto = "HTTP/1.1"
		outReq.ProtoMajor = 1
		outReq.ProtoMinor = 1
		// Even if the websocket RFC says that headers should be case-insensitive,
		// some servers need Sec-WebSocket-Key, Sec-WebSocket-Extensions, ...
		if _, ok := outReq.Header["User-Agent"]; !ok {
			outReq.Header.Set("User-Agent", "")
		}
	}
}

// ErrorHandler is the reverse proxy error handler.
func ErrorHandler(w http.ResponseWriter, req *http.Request, err error) {
	statusCode := http.StatusInternalServerError
	switch {
	case errors.Is(err, io.EOF):
		statusCode = http.StatusBadGateway
	case errors.Is(err, context.Canceled):
		statusCode = StatusClientClosedRequest
	default:
		var netErr net.Error
		if errors.As(err, &netErr) {
			if netErr.Timeout() {
				statusCode = http.StatusGatewayTimeout
			} else {
				statusCode = http.StatusBadGateway
			}
		}
	}
	w.WriteHeader(statusCode)
	if _, werr := w.Write([]byte(http.StatusText(statusCode))); werr != nil {
		stdlog.Printf("Error while writing status code: %v", werr)
	}
}
