// Package metrics is the metrics middleware: it records per entry point,
// per router and per service request counters, durations and sizes.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"leakscope/testdata/gen/leakyproxy/pkg/alice"
	"leakscope/testdata/gen/leakyproxy/pkg/metrics"
)

const (
	protoHTTP      = "http"
	protoSSE       = "sse"
	protoWebsocket = "websocket"
)

type metricsMiddleware struct {
	next                 http.Handler
	reqsCounter          metrics.Counter
	reqDurationHistogram metrics.Histogram
	reqsBytesCounter     metrics.Counter
	respsBytesCounter    metrics.Counter
	baseLabels           []string
}

// NewEntryPointMiddleware creates a new metrics middleware for an Entrypoint.
func NewEntryPointMiddleware(ctx context.Context, next http.Handler, registry *metrics.Registry, entryPointName string) http.Handler {
	return &metricsMiddleware{
		next:                 next,
		reqsCounter:          registry.EntryPointReqsCounter(),
		reqDurationHistogram: registry.EntryPointReqDurationHistogram(),
		reqsBytesCounter:     registry.EntryPointReqsBytesCounter(),
		respsBytesCounter:    registry.EntryPointRespsBytesCounter(),
		baseLabels:           []string{"entrypoint", entryPointName},
	}
}

// NewRouterMiddleware creates a new metrics middleware for a Router.
func NewRouterMiddleware(ctx context.Context, next http.Handler, registry *metrics.Registry, routerName, serviceName string) http.Handler {
	return &metricsMiddleware{
		next:                 next,
		reqsCounter:          registry.RouterReqsCounter(),
		reqDurationHistogram: registry.RouterReqDurationHistogram(),
		reqsBytesCounter:     registry.RouterReqsBytesCounter(),
		respsBytesCounter:    registry.RouterRespsBytesCounter(),
		baseLabels:           []string{"router", routerName, "service", serviceName},
	}
}

// NewServiceMiddleware creates a new metrics middleware for a Service.
func NewServiceMiddleware(ctx context.Context, next http.Handler, registry *metrics.Registry, serviceName string) http.Handler {
	return &metricsMiddleware{
		next:                 next,
		reqsCounter:          registry.ServiceReqsCounter(),
		reqDurationHistogram: registry.ServiceReqDurationHistogram(),
		reqsBytesCounter:     registry.ServiceReqsBytesCounter(),
		respsBytesCounter:    registry.ServiceRespsBytesCounter(),
		baseLabels:           []string{"service", serviceName},
	}
}

// WrapEntryPointHandler wraps metrics entrypoint to alice.Constructor.
func WrapEntryPointHandler(ctx context.Context, registry *metrics.Registry, entryPointName string) alice.Constructor {
	return func(next http.Handler) (http.Handler, error) {
		return NewEntryPointMiddleware(ctx, next, registry, entryPointName), nil
	}
}

// WrapRouterHandler wraps metrics router to alice.Constructor.
func WrapRouterHandler(ctx context.Context, registry *metrics.Registry, routerName, serviceName string) alice.Constructor {
	return func(next http.Handler) (http.Handler, error) {
		return NewRouterMiddleware(ctx, next, registry, routerName, serviceName), nil
	}
}

// WrapServiceHandler wraps metrics service to alice.Constructor.
func WrapServiceHandler(ctx context.Context, registry *metrics.Registry, serviceName string) alice.Constructor {
	return func(next http.Handler) (http.Handler, error) {
		return NewServiceMiddleware(ctx, next, registry, serviceName), nil
	}
}

func (m *metricsMiddleware) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	proto := getRequestProtocol(req)

	var labels []string
	labels = append(labels, m.baseLabels...)
	labels = append(labels, "method", getMethod(req))
	labels = append(labels, "protocol", proto)

	recorder := newResponseRecorder(rw)
	start := time.Now()
	m.next.ServeHTTP(recorder, req)

	labels = append(labels, "code", strconv.Itoa(recorder.getCode()))

	m.reqDurationHistogram.With(labels...).ObserveFromStart(start)
	m.reqsCounter.With(labels...).Add(1)
	m.respsBytesCounter.With(labels...).Add(float64(recorder.getSize()))
	if req.ContentLength > 0 {
		m.reqsBytesCounter.With(labels...).Add(float64(req.ContentLength))
	} else {
		m.reqsBytesCounter.With(labels...).Add(0)
	}
}

func getRequestProtocol(req *http.Request) string {
	switch {
	case strings.EqualFold(req.Header.Get("Upgrade"), "websocket"):
		return protoWebsocket
	case strings.Contains(req.Header.Get("Accept"), "text/event-stream"):
		return protoSSE
	default:
		return protoHTTP
	}
}

func getMethod(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return r.Method
	default:
		return "EXTENSION_METHOD"
	}
}
