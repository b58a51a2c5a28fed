// Package router builds the per entry point HTTP handlers (muxer + routers
// with their middlewares and services) of one configuration.
package router

import (
	"context"
	"errors"
	"net/http"
	"sort"

	"leakscope/testdata/gen/leakyproxy/pkg/alice"
	"leakscope/testdata/gen/leakyproxy/pkg/config/runtime"
	"leakscope/testdata/gen/leakyproxy/pkg/log"
	"leakscope/testdata/gen/leakyproxy/pkg/metrics"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/accesslog"
	metricsMiddle "leakscope/testdata/gen/leakyproxy/pkg/middlewares/metrics"
	httpmuxer "leakscope/testdata/gen/leakyproxy/pkg/muxer/http"
	"leakscope/testdata/gen/leakyproxy/pkg/server/middleware"
	"leakscope/testdata/gen/leakyproxy/pkg/server/service"
)

// Manager A route/router manager.
type Manager struct {
	routerHandlers     map[string]http.Handler
	serviceManager     *service.Manager
	metricsRegistry    *metrics.Registry
	middlewaresBuilder *middleware.Builder
	chainBuilder       *middleware.ChainBuilder
	conf               *runtime.Configuration
}

// NewManager creates a new Manager.
func NewManager(conf *runtime.Configuration, serviceManager *service.Manager, middlewaresBuilder *middleware.Builder, chainBuilder *middleware.ChainBuilder, metricsRegistry *metrics.Registry) *Manager {
	return &Manager{
		routerHandlers:     make(map[string]http.Handler),
		serviceManager:     serviceManager,
		metricsRegistry:    metricsRegistry,
		middlewaresBuilder: middlewaresBuilder,
		chainBuilder:       chainBuilder,
		conf:               conf,
	}
}

// BuildHandlers Builds handler for all entry points.
func (m *Manager) BuildHandlers(rootCtx context.Context, entryPoints []string) map[string]http.Handler {
	entryPointHandlers := make(map[string]http.Handler)

	for entryPointName, routers := range m.conf.GetRoutersByEntryPoints(entryPoints) {
		handler, err := m.buildEntryPointHandler(rootCtx, routers)
		if err != nil {
			log.WithField("entryPointName", entryPointName).Error(err)
			continue
		}
		epName := entryPointName
		handlerWithAccessLog, err := alice.New(func(next http.Handler) (http.Handler, error) {
			return accesslog.NewFieldHandler(next, accesslog.EntryPointName, epName, accesslog.InitServiceFields), nil
		}).Then(handler)
		if err != nil {
			log.WithField("entryPointName", entryPointName).Error(err)
			entryPointHandlers[entryPointName] = handler
		} else {
			entryPointHandlers[entryPointName] = handlerWithAccessLog
		}
	}

	for _, entryPointName := range entryPoints {
		handler, ok := entryPointHandlers[entryPointName]
		if !ok || handler == nil {
			handler = BuildDefaultHTTPRouter()
		}
		handlerWithMiddlewares, err := m.chainBuilder.Build(rootCtx, entryPointName).Then(handler)
		if err != nil {
			log.WithField("entryPointName", entryPointName).Error(err)
			continue
		}
		entryPointHandlers[entryPointName] = handlerWithMiddlewares
	}
	return entryPointHandlers
}

func (m *Manager) buildEntryPointHandler(ctx context.Context, configs map[string]*runtime.RouterInfo) (http.Handler, error) {
	muxer, err := httpmuxer.NewMuxer()
	if err != nil {
		return nil, err
	}

	// Higher priority (longer rule by default) first, then by name.
	names := make([]string, 0, len(configs))
	for name := range configs {
		names = append(names, name)
	}
	priority := func(ri *runtime.RouterInfo) int {
		if ri.Priority != 0 {
			return ri.Priority
		}
		return len(ri.Rule)
	}
	sort.Slice(names, func(i, j int) bool {
		pi, pj := priority(configs[names[i]]), priority(configs[names[j]])
		if pi != pj {
			return pi > pj
		}
		return names[i] < names[j]
	})

	for _, routerName := range names {
		routerConfig := configs[routerName]
		handler, err := m.buildRouterHandler(ctx, routerName, routerConfig)
		if err != nil {
			routerConfig.AddError(err)
			continue
		}
		if err := muxer.AddRoute(routerConfig.Rule, routerConfig.Priority, handler); err != nil {
			routerConfig.AddError(err)
			continue
		}
	}
	return muxer, nil
}

func (m *Manager) buildRouterHandler(ctx context.Context, routerName string, routerConfig *runtime.RouterInfo) (http.Handler, error) {
	if handler, ok := m.routerHandlers[routerName]; ok {
		return handler, nil
	}

	handler, err := m.buildHTTPHandler(ctx, routerConfig, routerName)
	if err != nil {
		return nil, err
	}

	handlerWithAccessLog, err := alice.New(func(next http.Handler) (http.Handler, error) {
		return accesslog.NewFieldHandler(next, accesslog.RouterName, routerName, nil), nil
	}).Then(handler)
	if err != nil {
		m.routerHandlers[routerName] = handler
	} else {
		m.routerHandlers[routerName] = handlerWithAccessLog
	}
	return m.routerHandlers[routerName], nil
}

func (m *Manager) buildHTTPHandler(ctx context.Context, router *runtime.RouterInfo, routerName string) (http.Handler, error) {
	if router.Service == "" {
		return nil, errors.New("the service is missing on the router")
	}

	sHandler, err := m.serviceManager.BuildHTTP(ctx, router.Service)
	if err != nil {
		return nil, err
	}
	if sHandler == nil {
		return nil, errors.New("the service is missing on the router")
	}

	mHandler := m.middlewaresBuilder.BuildChain(ctx, router.Middlewares)

	chain := alice.New()
	if m.metricsRegistry != nil {
		chain = chain.Append(metricsMiddle.WrapRouterHandler(ctx, m.metricsRegistry, routerName, router.Service))
	}
	return chain.Extend(*mHandler).Then(sHandler)
}

// BuildDefaultHTTPRouter creates a default HTTP router.
func BuildDefaultHTTPRouter() http.Handler {
	return http.NotFoundHandler()
}
