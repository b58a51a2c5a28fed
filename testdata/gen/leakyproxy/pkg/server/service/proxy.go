package service

import (
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/sirupsen/logrus"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
	"leakscope/testdata/gen/leakyproxy/pkg/log"
	"leakscope/testdata/gen/leakyproxy/pkg/proxy"
)

// errorLogger is the logger shared by all the proxies (the fix of Traefik
// #11423: do not create a logger instance for each proxy).
var errorLogger = stdlog.New(log.WithoutContext().WriterLevel(logrus.DebugLevel), "", 0)

// buildProxy builds the reverse proxy of a load-balancer service.
//
// With perProxyLogger (-leak-config-reload), every built proxy gets its own
// logrus WriterLevel pipe, hence one io.Pipe, one (*Entry).writerScanner
// goroutine and its 64 KiB scanner buffer per proxy and per reload, exactly
// like Traefik v2.11.17/18.
func buildProxy(passHostHeader *bool, responseForwarding *dynamic.ResponseForwarding, roundTripper http.RoundTripper, bufferPool httputil.BufferPool, perProxyLogger bool) (http.Handler, []io.Closer, error) {
	var flushInterval time.Duration
	if responseForwarding != nil && responseForwarding.FlushInterval != "" {
		d, err := time.ParseDuration(responseForwarding.FlushInterval)
		if err != nil {
			return nil, nil, fmt.Errorf("error creating flush interval: %w", err)
		}
		flushInterval = d
	}
	if flushInterval == 0 {
		flushInterval = 100 * time.Millisecond
	}

	pass := true
	if passHostHeader != nil {
		pass = *passHostHeader
	}

	errLog := errorLogger
	var closers []io.Closer
	if perProxyLogger {
		w := log.WithoutContext().WriterLevel(logrus.DebugLevel)
		closers = append(closers, w)
		errLog = stdlog.New(w, "", 0)
	}

	return proxy.BuildSingleHostProxy(pass, flushInterval, roundTripper, bufferPool, errLog), closers, nil
}
