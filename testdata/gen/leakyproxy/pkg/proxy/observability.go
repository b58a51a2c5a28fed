package proxy

import (
	"net/http"
	"strconv"
	"time"

	"leakscope/testdata/gen/leakyproxy/pkg/metrics"
)

type observabilityRoundTripper struct {
	serviceName string
	rt          http.RoundTripper
	registry    *metrics.Registry
}

// NewObservabilityRoundTripper records per upstream server request durations.
func NewObservabilityRoundTripper(serviceName string, rt http.RoundTripper, registry *metrics.Registry) http.RoundTripper {
	return &observabilityRoundTripper{serviceName: serviceName, rt: rt, registry: registry}
}

func (t *observabilityRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.rt.RoundTrip(req)

	code := "0"
	if resp != nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	labels := []string{"service", t.serviceName, "url", t.registry.ServerURLLabel(req.URL), "method", req.Method, "code", code}
	t.registry.ServiceServerReqDurationHistogram().With(labels...).ObserveFromStart(start)
	t.registry.ServiceServerReqsCounter().With(labels...).Add(1)
	reqBytes := float64(0)
	if req.ContentLength > 0 {
		reqBytes = float64(req.ContentLength)
	}
	t.registry.ServiceServerReqsBytesCounter().With(labels...).Add(reqBytes)
	respBytes := float64(0)
	if resp != nil && resp.ContentLength > 0 {
		respBytes = float64(resp.ContentLength)
	}
	t.registry.ServiceServerRespsBytesCounter().With(labels...).Add(respBytes)
	return resp, err
}
