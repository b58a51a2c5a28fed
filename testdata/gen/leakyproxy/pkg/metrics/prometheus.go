// Package metrics is the Prometheus metrics registry, modelled on Traefik's
// pkg/metrics/prometheus.go (same metric family names and label sets).
package metrics

import (
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
)

const (
	// MetricNamePrefix prefixes all metric family names.
	MetricNamePrefix = "traefik_"

	configReloadsTotalName      = MetricNamePrefix + "config_reloads_total"
	configLastReloadSuccessName = MetricNamePrefix + "config_last_reload_success"

	entryPointReqsTotalName       = MetricNamePrefix + "entrypoint_requests_total"
	entryPointReqDurationName     = MetricNamePrefix + "entrypoint_request_duration_seconds"
	entryPointReqsBytesTotalName  = MetricNamePrefix + "entrypoint_requests_bytes_total"
	entryPointRespsBytesTotalName = MetricNamePrefix + "entrypoint_responses_bytes_total"

	routerReqsTotalName       = MetricNamePrefix + "router_requests_total"
	routerReqDurationName     = MetricNamePrefix + "router_request_duration_seconds"
	routerReqsBytesTotalName  = MetricNamePrefix + "router_requests_bytes_total"
	routerRespsBytesTotalName = MetricNamePrefix + "router_responses_bytes_total"

	serviceReqsTotalName         = MetricNamePrefix + "service_requests_total"
	serviceReqDurationName       = MetricNamePrefix + "service_request_duration_seconds"
	serviceReqsBytesTotalName    = MetricNamePrefix + "service_requests_bytes_total"
	serviceRespsBytesTotalName   = MetricNamePrefix + "service_responses_bytes_total"
	serviceServerUpName          = MetricNamePrefix + "service_server_up"
	serviceServerReqDurationName = MetricNamePrefix + "service_server_request_duration_seconds"
	serviceServerReqsTotalName   = MetricNamePrefix + "service_server_requests_total"
	serviceServerReqsBytesName   = MetricNamePrefix + "service_server_requests_bytes_total"
	serviceServerRespsBytesName  = MetricNamePrefix + "service_server_responses_bytes_total"
)

// DefaultBuckets are Traefik's default Prometheus histogram buckets.
var DefaultBuckets = []float64{0.1, 0.3, 1.2, 5.0}

// Config configures the Prometheus registry.
type Config struct {
	// KeepStaleSeries disables the removal of the series of routers and
	// services which disappeared from the dynamic configuration (-leak-metrics).
	KeepStaleSeries bool
	// RawServerURLLabel labels per-server metrics with the full upstream
	// request URL (path and query included) instead of the server base URL
	// (-leak-metrics).
	RawServerURLLabel bool
}

// Registry holds every metric of the proxy.
type Registry struct {
	config       Config
	promRegistry *prometheus.Registry
	state        *prometheusState

	configReloadsCounter         Counter
	lastConfigReloadSuccessGauge Gauge

	entryPointReqsCounter          Counter
	entryPointReqDurationHistogram Histogram
	entryPointReqsBytesCounter     Counter
	entryPointRespsBytesCounter    Counter

	routerReqsCounter          Counter
	routerReqDurationHistogram Histogram
	routerReqsBytesCounter     Counter
	routerRespsBytesCounter    Counter

	serviceReqsCounter                Counter
	serviceReqDurationHistogram       Histogram
	serviceReqsBytesCounter           Counter
	serviceRespsBytesCounter          Counter
	serviceServerUpGauge              Gauge
	serviceServerReqDurationHistogram Histogram
	serviceServerReqsCounter          Counter
	serviceServerReqsBytesCounter     Counter
	serviceServerRespsBytesCounter    Counter
}

// RegisterPrometheus creates the registry, registers the Go and process
// collectors and all the proxy metric families on it.
func RegisterPrometheus(config Config) *Registry {
	reg := &Registry{
		config:       config,
		promRegistry: prometheus.NewRegistry(),
		state:        newPrometheusState(),
	}
	reg.promRegistry.MustRegister(collectors.NewGoCollector())
	reg.promRegistry.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	configReloads := newCounterFrom(prometheus.CounterOpts{Name: configReloadsTotalName, Help: "Config reloads"}, nil)
	lastReload := newGaugeFrom(prometheus.GaugeOpts{Name: configLastReloadSuccessName, Help: "Last config reload success"}, nil)

	epLabels := []string{"code", "method", "protocol", "entrypoint"}
	epReqs := newCounterFrom(prometheus.CounterOpts{Name: entryPointReqsTotalName, Help: "How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method."}, epLabels)
	epDur := newHistogramFrom(prometheus.HistogramOpts{Name: entryPointReqDurationName, Help: "How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.", Buckets: DefaultBuckets}, epLabels)
	epReqBytes := newCounterFrom(prometheus.CounterOpts{Name: entryPointReqsBytesTotalName, Help: "The total size of requests in bytes handled by an entrypoint, partitioned by status code, protocol, and method."}, epLabels)
	epRespBytes := newCounterFrom(prometheus.CounterOpts{Name: entryPointRespsBytesTotalName, Help: "The total size of responses in bytes handled by an entrypoint, partitioned by status code, protocol, and method."}, epLabels)

	rtLabels := []string{"code", "method", "protocol", "router", "service"}
	rtReqs := newCounterFrom(prometheus.CounterOpts{Name: routerReqsTotalName, Help: "How many HTTP requests are processed on a router, partitioned by service, status code, protocol, and method."}, rtLabels)
	rtDur := newHistogramFrom(prometheus.HistogramOpts{Name: routerReqDurationName, Help: "How long it took to process the request on a router, partitioned by service, status code, protocol, and method.", Buckets: DefaultBuckets}, rtLabels)
	rtReqBytes := newCounterFrom(prometheus.CounterOpts{Name: routerReqsBytesTotalName, Help: "The total size of requests in bytes handled by a router, partitioned by service, status code, protocol, and method."}, rtLabels)
	rtRespBytes := newCounterFrom(prometheus.CounterOpts{Name: routerRespsBytesTotalName, Help: "The total size of responses in bytes handled by a router, partitioned by service, status code, protocol, and method."}, rtLabels)

	svcLabels := []string{"code", "method", "protocol", "service"}
	svcReqs := newCounterFrom(prometheus.CounterOpts{Name: serviceReqsTotalName, Help: "How many HTTP requests processed on a service, partitioned by status code, protocol, and method."}, svcLabels)
	svcDur := newHistogramFrom(prometheus.HistogramOpts{Name: serviceReqDurationName, Help: "How long it took to process the request on a service, partitioned by status code, protocol, and method.", Buckets: DefaultBuckets}, svcLabels)
	svcReqBytes := newCounterFrom(prometheus.CounterOpts{Name: serviceReqsBytesTotalName, Help: "The total size of requests in bytes received by a service, partitioned by status code, protocol, and method."}, svcLabels)
	svcRespBytes := newCounterFrom(prometheus.CounterOpts{Name: serviceRespsBytesTotalName, Help: "The total size of responses in bytes returned by a service, partitioned by status code, protocol, and method."}, svcLabels)
	svcServerUp := newGaugeFrom(prometheus.GaugeOpts{Name: serviceServerUpName, Help: "service server is up, described by gauge value of 0 or 1."}, []string{"service", "url"})
	svcServerLabels := []string{"code", "method", "service", "url"}
	svcServerDur := newHistogramFrom(prometheus.HistogramOpts{Name: serviceServerReqDurationName, Help: "How long the upstream server took to answer, partitioned by service, server url and status code.", Buckets: DefaultBuckets}, svcServerLabels)
	svcServerReqs := newCounterFrom(prometheus.CounterOpts{Name: serviceServerReqsTotalName, Help: "How many requests were forwarded to a service server, partitioned by service, server url and status code."}, svcServerLabels)
	svcServerReqBytes := newCounterFrom(prometheus.CounterOpts{Name: serviceServerReqsBytesName, Help: "The total size of the requests sent to a service server, partitioned by service, server url, method and status code."}, svcServerLabels)
	svcServerRespBytes := newCounterFrom(prometheus.CounterOpts{Name: serviceServerRespsBytesName, Help: "The total size of the responses returned by a service server, partitioned by service, server url and status code."}, svcServerLabels)

	reg.promRegistry.MustRegister(
		configReloads.cv, lastReload.gv,
		epReqs.cv, epDur.hv, epReqBytes.cv, epRespBytes.cv,
		rtReqs.cv, rtDur.hv, rtReqBytes.cv, rtRespBytes.cv,
		svcReqs.cv, svcDur.hv, svcReqBytes.cv, svcRespBytes.cv, svcServerUp.gv, svcServerDur.hv, svcServerReqs.cv, svcServerReqBytes.cv, svcServerRespBytes.cv,
	)

	reg.configReloadsCounter = configReloads
	reg.lastConfigReloadSuccessGauge = lastReload
	reg.entryPointReqsCounter = epReqs
	reg.entryPointReqDurationHistogram = epDur
	reg.entryPointReqsBytesCounter = epReqBytes
	reg.entryPointRespsBytesCounter = epRespBytes
	reg.routerReqsCounter = rtReqs
	reg.routerReqDurationHistogram = rtDur
	reg.routerReqsBytesCounter = rtReqBytes
	reg.routerRespsBytesCounter = rtRespBytes
	reg.serviceReqsCounter = svcReqs
	reg.serviceReqDurationHistogram = svcDur
	reg.serviceReqsBytesCounter = svcReqBytes
	reg.serviceRespsBytesCounter = svcRespBytes
	reg.serviceServerUpGauge = svcServerUp
	reg.serviceServerReqDurationHistogram = svcServerDur
	reg.serviceServerReqsCounter = svcServerReqs
	reg.serviceServerReqsBytesCounter = svcServerReqBytes
	reg.serviceServerRespsBytesCounter = svcServerRespBytes

	reg.state.routerVecs = []deletableVec{rtReqs.cv, rtDur.hv, rtReqBytes.cv, rtRespBytes.cv}
	reg.state.serviceVecs = []deletableVec{rtReqs.cv, rtDur.hv, rtReqBytes.cv, rtRespBytes.cv, svcReqs.cv, svcDur.hv, svcReqBytes.cv, svcRespBytes.cv, svcServerUp.gv, svcServerDur.hv, svcServerReqs.cv, svcServerReqBytes.cv, svcServerRespBytes.cv}
	return reg
}

// PrometheusHandler exposes the registry (promhttp).
func (r *Registry) PrometheusHandler() http.Handler {
	return promhttp.HandlerFor(r.promRegistry, promhttp.HandlerOpts{})
}

// Accessors, like Traefik's metrics.Registry interface.

func (r *Registry) ConfigReloadsCounter() Counter       { return r.configReloadsCounter }
func (r *Registry) LastConfigReloadSuccessGauge() Gauge { return r.lastConfigReloadSuccessGauge }
func (r *Registry) EntryPointReqsCounter() Counter      { return r.entryPointReqsCounter }
func (r *Registry) EntryPointReqDurationHistogram() Histogram {
	return r.entryPointReqDurationHistogram
}
func (r *Registry) EntryPointReqsBytesCounter() Counter     { return r.entryPointReqsBytesCounter }
func (r *Registry) EntryPointRespsBytesCounter() Counter    { return r.entryPointRespsBytesCounter }
func (r *Registry) RouterReqsCounter() Counter              { return r.routerReqsCounter }
func (r *Registry) RouterReqDurationHistogram() Histogram   { return r.routerReqDurationHistogram }
func (r *Registry) RouterReqsBytesCounter() Counter         { return r.routerReqsBytesCounter }
func (r *Registry) RouterRespsBytesCounter() Counter        { return r.routerRespsBytesCounter }
func (r *Registry) ServiceReqsCounter() Counter             { return r.serviceReqsCounter }
func (r *Registry) ServiceReqDurationHistogram() Histogram  { return r.serviceReqDurationHistogram }
func (r *Registry) ServiceReqsBytesCounter() Counter        { return r.serviceReqsBytesCounter }
func (r *Registry) ServiceRespsBytesCounter() Counter       { return r.serviceRespsBytesCounter }
func (r *Registry) ServiceServerUpGauge() Gauge             { return r.serviceServerUpGauge }
func (r *Registry) ServiceServerReqsCounter() Counter       { return r.serviceServerReqsCounter }
func (r *Registry) ServiceServerReqsBytesCounter() Counter  { return r.serviceServerReqsBytesCounter }
func (r *Registry) ServiceServerRespsBytesCounter() Counter { return r.serviceServerRespsBytesCounter }
func (r *Registry) ServiceServerReqDurationHistogram() Histogram {
	return r.serviceServerReqDurationHistogram
}

// ServerURLLabel returns the url label value of the per-server metrics: the
// server base URL, or with -leak-metrics the raw upstream request URL (path
// and query included), i.e. one new series per distinct request URL.
func (r *Registry) ServerURLLabel(u *url.URL) string {
	if r.config.RawServerURLLabel {
		return u.Scheme + "://" + u.Host + u.RequestURI()
	}
	return u.Scheme + "://" + u.Host
}

// OnConfigurationUpdate is the configuration listener: it counts reloads and
// removes the series of routers and services which are not configured anymore.
func (r *Registry) OnConfigurationUpdate(conf dynamic.Configuration) {
	r.configReloadsCounter.Add(1)
	r.lastConfigReloadSuccessGauge.Set(float64(time.Now().Unix()))
	r.state.update(conf, !r.config.KeepStaleSeries)
}

type deletableVec interface {
	DeletePartialMatch(labels prometheus.Labels) int
}

// staleGenerations is how many configuration generations a removed router or
// service keeps being purged, so that series re-created by requests still in
// flight on the previous handler chain are removed too.
const staleGenerations = 5

type prometheusState struct {
	mu          sync.Mutex
	routers     map[string]struct{}
	services    map[string]struct{}
	removed     map[staleKey]int
	routerVecs  []deletableVec
	serviceVecs []deletableVec
}

type staleKey struct {
	label string
	name  string
}

func newPrometheusState() *prometheusState {
	return &prometheusState{
		routers:  make(map[string]struct{}),
		services: make(map[string]struct{}),
		removed:  make(map[staleKey]int),
	}
}

func (ps *prometheusState) update(conf dynamic.Configuration, deleteStale bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()

	routers := make(map[string]struct{})
	services := make(map[string]struct{})
	if conf.HTTP != nil {
		for name := range conf.HTTP.Routers {
			routers[name] = struct{}{}
		}
		for name := range conf.HTTP.Services {
			services[name] = struct{}{}
		}
	}
	for name := range ps.routers {
		if _, ok := routers[name]; !ok {
			ps.removed[staleKey{"router", name}] = staleGenerations
		}
	}
	for name := range ps.services {
		if _, ok := services[name]; !ok {
			ps.removed[staleKey{"service", name}] = staleGenerations
		}
	}
	for name := range routers {
		delete(ps.removed, staleKey{"router", name})
	}
	for name := range services {
		delete(ps.removed, staleKey{"service", name})
	}
	ps.routers, ps.services = routers, services

	if !deleteStale {
		// -leak-metrics: series of removed routers/services are never deleted.
		clear(ps.removed)
		return
	}

	keys := make([]staleKey, 0, len(ps.removed))
	for k := range ps.removed {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].name < keys[j].name })
	for _, k := range keys {
		vecs := ps.routerVecs
		if k.label == "service" {
			vecs = ps.serviceVecs
		}
		for _, vec := range vecs {
			vec.DeletePartialMatch(prometheus.Labels{k.label: k.name})
		}
		ps.removed[k]--
		if ps.removed[k] <= 0 {
			delete(ps.removed, k)
		}
	}
}
