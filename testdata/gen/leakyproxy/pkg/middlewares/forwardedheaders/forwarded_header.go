// Package forwardedheaders sets the X-Forwarded-* headers (entry point level).
package forwardedheaders

import (
	"net"
	"net/http"
)

const (
	xForwardedProto  = "X-Forwarded-Proto"
	xForwardedFor    = "X-Forwarded-For"
	xForwardedHost   = "X-Forwarded-Host"
	xForwardedPort   = "X-Forwarded-Port"
	xForwardedServer = "X-Forwarded-Server"
	xRealIP          = "X-Real-Ip"
)

// XForwarded is an HTTP handler wrapper that sets the X-Forwarded headers.
type XForwarded struct {
	insecure bool
	next     http.Handler
	hostname string
}

// NewXForwarded creates a new XForwarded.
func NewXForwarded(insecure bool, next http.Handler) (*XForwarded, error) {
	return &XForwarded{insecure: insecure, next: next, hostname: "leakyproxy"}, nil
}

func (x *XForwarded) rewrite(outreq *http.Request) {
	if !x.insecure {
		for _, h := range []string{xForwardedProto, xForwardedFor, xForwardedHost, xForwardedPort, xForwardedServer, xRealIP} {
			outreq.Header.Del(h)
		}
	}
	if outreq.TLS != nil {
		outreq.Header.Set(xForwardedProto, "https")
	} else {
		outreq.Header.Set(xForwardedProto, "http")
	}
	if host, port, err := net.SplitHostPort(outreq.Host); err == nil {
		outreq.Header.Set(xForwardedHost, host)
		outreq.Header.Set(xForwardedPort, port)
	} else {
		outreq.Header.Set(xForwardedHost, outreq.Host)
	}
	if clientIP, _, err := net.SplitHostPort(outreq.RemoteAddr); err == nil {
		outreq.Header.Set(xRealIP, clientIP)
	}
	outreq.Header.Set(xForwardedServer, x.hostname)
}

// ServeHTTP implements http.Handler.
func (x *XForwarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x.rewrite(r)
	x.next.ServeHTTP(w, r)
}
