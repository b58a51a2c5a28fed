// Package service builds the HTTP service handlers (load balancers, weighted
// services and their reverse proxies) of one configuration.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"leakscope/testdata/gen/leakyproxy/pkg/alice"
	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
	"leakscope/testdata/gen/leakyproxy/pkg/config/runtime"
	"leakscope/testdata/gen/leakyproxy/pkg/log"
	"leakscope/testdata/gen/leakyproxy/pkg/metrics"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/accesslog"
	metricsMiddle "leakscope/testdata/gen/leakyproxy/pkg/middlewares/metrics"
	"leakscope/testdata/gen/leakyproxy/pkg/proxy"
	"leakscope/testdata/gen/leakyproxy/pkg/server/service/loadbalancer/roundrobin"
	"leakscope/testdata/gen/leakyproxy/pkg/server/service/loadbalancer/wrr"
)

// ManagerFactory a factory of service manager.
type ManagerFactory struct {
	metricsRegistry     *metrics.Registry
	roundTripperManager *RoundTripperManager
	bufferPool          *proxy.BufferPool
	perProxyLogger      bool
}

// NewManagerFactory creates a new ManagerFactory.
func NewManagerFactory(metricsRegistry *metrics.Registry, roundTripperManager *RoundTripperManager, perProxyLogger bool) *ManagerFactory {
	return &ManagerFactory{
		metricsRegistry:     metricsRegistry,
		roundTripperManager: roundTripperManager,
		bufferPool:          proxy.NewBufferPool(),
		perProxyLogger:      perProxyLogger,
	}
}

// Build creates a service manager.
func (f *ManagerFactory) Build(configuration *runtime.Configuration) *Manager {
	return NewManager(configuration.Services, f.metricsRegistry, f.roundTripperManager, f.bufferPool, f.perProxyLogger)
}

// Manager The service manager.
type Manager struct {
	metricsRegistry     *metrics.Registry
	bufferPool          *proxy.BufferPool
	roundTripperManager *RoundTripperManager
	perProxyLogger      bool

	services map[string]http.Handler
	configs  map[string]*runtime.ServiceInfo

	closersMu sync.Mutex
	closers   []io.Closer
}

// NewManager creates a new Manager.
func NewManager(configs map[string]*runtime.ServiceInfo, metricsRegistry *metrics.Registry, roundTripperManager *RoundTripperManager, bufferPool *proxy.BufferPool, perProxyLogger bool) *Manager {
	return &Manager{
		metricsRegistry:     metricsRegistry,
		bufferPool:          bufferPool,
		roundTripperManager: roundTripperManager,
		perProxyLogger:      perProxyLogger,
		services:            make(map[string]http.Handler),
		configs:             configs,
	}
}

// BuildHTTP Creates a http.Handler for a service configuration.
func (m *Manager) BuildHTTP(rootCtx context.Context, serviceName string) (http.Handler, error) {
	if handler, ok := m.services[serviceName]; ok {
		return handler, nil
	}

	conf, ok := m.configs[serviceName]
	if !ok {
		return nil, fmt.Errorf("the service %q does not exist", serviceName)
	}

	var lb http.Handler
	var err error
	switch {
	case conf.LoadBalancer != nil:
		lb, err = m.getLoadBalancerServiceHandler(rootCtx, serviceName, conf.LoadBalancer)
	case conf.Weighted != nil:
		lb, err = m.getWRRServiceHandler(rootCtx, serviceName, conf.Weighted)
	default:
		err = errors.New("the service is missing a load balancer or weighted configuration")
	}
	if err != nil {
		conf.AddError(err)
		return nil, err
	}

	m.services[serviceName] = lb
	return lb, nil
}

func (m *Manager) getWRRServiceHandler(ctx context.Context, serviceName string, config *dynamic.WeightedRoundRobin) (http.Handler, error) {
	balancer := wrr.New()
	for _, service := range config.Services {
		serviceHandler, err := m.BuildHTTP(ctx, service.Name)
		if err != nil {
			return nil, err
		}
		balancer.AddService(service.Name, serviceHandler, service.Weight)
	}
	return balancer, nil
}

func (m *Manager) getLoadBalancerServiceHandler(ctx context.Context, serviceName string, service *dynamic.ServersLoadBalancer) (http.Handler, error) {
	roundTripper := m.roundTripperManager.Get(service.ServersTransport)
	roundTripper = proxy.NewObservabilityRoundTripper(serviceName, roundTripper, m.metricsRegistry)

	fwd, closers, err := buildProxy(service.PassHostHeader, service.ResponseForwarding, roundTripper, m.bufferPool, m.perProxyLogger)
	if err != nil {
		return nil, err
	}
	m.closersMu.Lock()
	m.closers = append(m.closers, closers...)
	m.closersMu.Unlock()

	alHandler := func(next http.Handler) (http.Handler, error) {
		return accesslog.NewFieldHandler(next, accesslog.ServiceName, serviceName, accesslog.AddServiceFields), nil
	}
	chain := alice.New()
	if m.metricsRegistry != nil {
		chain = chain.Append(metricsMiddle.WrapServiceHandler(ctx, m.metricsRegistry, serviceName))
	}
	handler, err := chain.Append(alHandler).Then(fwd)
	if err != nil {
		return nil, err
	}

	balancer, err := roundrobin.New(handler)
	if err != nil {
		return nil, err
	}
	if err := m.upsertServers(ctx, balancer, serviceName, service.Servers); err != nil {
		return nil, fmt.Errorf("error configuring load balancer for service %s: %w", serviceName, err)
	}
	return balancer, nil
}

func (m *Manager) upsertServers(ctx context.Context, lb *roundrobin.RoundRobin, serviceName string, servers []dynamic.Server) error {
	for name, srv := range servers {
		u, err := url.Parse(srv.URL)
		if err != nil {
			return fmt.Errorf("error parsing server URL %s: %w", srv.URL, err)
		}
		log.WithField("serviceName", serviceName).Debugf("Creating server %d %s", name, u)
		if err := lb.UpsertServer(u); err != nil {
			return fmt.Errorf("error adding server %s to load balancer: %w", srv.URL, err)
		}
		if m.metricsRegistry != nil {
			m.metricsRegistry.ServiceServerUpGauge().With("service", serviceName, "url", srv.URL).Set(1)
		}
		if info, ok := m.configs[serviceName]; ok {
			info.UpdateServerStatus(srv.URL, "UP")
		}
	}
	return nil
}

// Close releases the per-proxy resources of this manager.
func (m *Manager) Close() {
	m.closersMu.Lock()
	defer m.closersMu.Unlock()
	for _, c := range m.closers {
		_ = c.Close()
	}
	m.closers = nil
}
