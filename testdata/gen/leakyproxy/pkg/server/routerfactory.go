package server

import (
	"context"
	"net/http"
	"sync"

	"leakscope/testdata/gen/leakyproxy/pkg/config/runtime"
	"leakscope/testdata/gen/leakyproxy/pkg/metrics"
	"leakscope/testdata/gen/leakyproxy/pkg/server/middleware"
	"leakscope/testdata/gen/leakyproxy/pkg/server/router"
	"leakscope/testdata/gen/leakyproxy/pkg/server/service"
)

// RouterFactory the factory of TCP/UDP routers.
type RouterFactory struct {
	entryPointsTCP []string

	managerFactory  *service.ManagerFactory
	metricsRegistry *metrics.Registry
	chainBuilder    *middleware.ChainBuilder

	// keepPrevious is the -leak-config-reload switch: the handler graphs of
	// all the previous configurations stay referenced (and their per-proxy
	// loggers are never closed).
	keepPrevious bool

	mu       sync.Mutex
	current  *routerBuild
	previous []*routerBuild
}

// routerBuild is everything built for one configuration.
type routerBuild struct {
	rtConf         *runtime.Configuration
	serviceManager *service.Manager
	routerManager  *router.Manager
	handlers       map[string]http.Handler
}

// NewRouterFactory creates a new RouterFactory.
func NewRouterFactory(entryPointsTCP []string, managerFactory *service.ManagerFactory, metricsRegistry *metrics.Registry, chainBuilder *middleware.ChainBuilder, keepPrevious bool) *RouterFactory {
	return &RouterFactory{
		entryPointsTCP:  entryPointsTCP,
		managerFactory:  managerFactory,
		metricsRegistry: metricsRegistry,
		chainBuilder:    chainBuilder,
		keepPrevious:    keepPrevious,
	}
}

// CreateRouters creates new TCPRouters and UDPRouters.
func (f *RouterFactory) CreateRouters(rtConf *runtime.Configuration) map[string]http.Handler {
	ctx := context.Background()

	// HTTP
	serviceManager := f.managerFactory.Build(rtConf)
	middlewaresBuilder := middleware.NewBuilder(rtConf.Middlewares)
	routerManager := router.NewManager(rtConf, serviceManager, middlewaresBuilder, f.chainBuilder, f.metricsRegistry)
	handlersNonTLS := routerManager.BuildHandlers(ctx, f.entryPointsTCP)

	build := &routerBuild{rtConf: rtConf, serviceManager: serviceManager, routerManager: routerManager, handlers: handlersNonTLS}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.current != nil {
		if f.keepPrevious {
			// Kept "to be closed on shutdown" - never pruned.
			f.previous = append(f.previous, f.current)
		} else {
			f.current.serviceManager.Close()
		}
	}
	f.current = build
	return handlersNonTLS
}
