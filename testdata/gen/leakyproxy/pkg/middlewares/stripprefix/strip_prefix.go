// Package stripprefix is the strip prefix middleware.
package stripprefix

import (
	"context"
	"net/http"
	"strings"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
)

// ForwardedPrefixHeader is the default header to set prefix.
const ForwardedPrefixHeader = "X-Forwarded-Prefix"

type stripPrefix struct {
	next     http.Handler
	prefixes []string
	name     string
}

// New creates a new strip prefix middleware.
func New(ctx context.Context, next http.Handler, config dynamic.StripPrefix, name string) (http.Handler, error) {
	return &stripPrefix{prefixes: append([]string(nil), config.Prefixes...), next: next, name: name}, nil
}

func (s *stripPrefix) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	for _, prefix := range s.prefixes {
		if strings.HasPrefix(req.URL.Path, prefix) {
			req.URL.Path = "/" + strings.TrimLeft(strings.TrimPrefix(req.URL.Path, prefix), "/")
			if req.URL.RawPath != "" {
				req.URL.RawPath = "/" + strings.TrimLeft(strings.TrimPrefix(req.URL.RawPath, prefix), "/")
			}
			req.Header.Add(ForwardedPrefixHeader, prefix)
			req.RequestURI = req.URL.RequestURI()
			break
		}
	}
	s.next.ServeHTTP(rw, req)
}
