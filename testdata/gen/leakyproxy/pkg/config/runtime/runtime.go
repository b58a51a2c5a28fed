// Package runtime holds the runtime view of the dynamic configuration, like
// Traefik's pkg/config/runtime.
package runtime

import (
	"sort"
	"sync"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
)

// Status of an element of the runtime configuration.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
	StatusWarning  = "warning"
)

// Configuration holds the information about the currently running traefik instance.
type Configuration struct {
	Routers     map[string]*RouterInfo
	Middlewares map[string]*MiddlewareInfo
	Services    map[string]*ServiceInfo
}

// RouterInfo holds information about a currently running HTTP router.
type RouterInfo struct {
	*dynamic.Router
	Err    []string
	Status string
}

// AddError adds an error to the router.
func (r *RouterInfo) AddError(err error) {
	r.Err = append(r.Err, err.Error())
	r.Status = StatusDisabled
}

// MiddlewareInfo holds information about a currently running middleware.
type MiddlewareInfo struct {
	*dynamic.Middleware
	Err    []string
	Status string
	UsedBy []string
}

// ServiceInfo holds information about a currently running service.
type ServiceInfo struct {
	*dynamic.Service
	Err    []string
	Status string
	UsedBy []string

	serverStatusMu sync.RWMutex
	serverStatus   map[string]string
}

// UpdateServerStatus sets the status of a server.
func (s *ServiceInfo) UpdateServerStatus(server, status string) {
	s.serverStatusMu.Lock()
	defer s.serverStatusMu.Unlock()
	if s.serverStatus == nil {
		s.serverStatus = make(map[string]string)
	}
	s.serverStatus[server] = status
}

// AddError adds an error to the service.
func (s *ServiceInfo) AddError(err error) {
	s.Err = append(s.Err, err.Error())
	s.Status = StatusDisabled
}

// NewConfig returns a Configuration initialized with the given conf.
func NewConfig(conf dynamic.Configuration) *Configuration {
	runtimeConfig := &Configuration{}
	if conf.HTTP == nil {
		return runtimeConfig
	}
	if len(conf.HTTP.Routers) > 0 {
		runtimeConfig.Routers = make(map[string]*RouterInfo, len(conf.HTTP.Routers))
		for k, v := range conf.HTTP.Routers {
			runtimeConfig.Routers[k] = &RouterInfo{Router: v, Status: StatusEnabled}
		}
	}
	if len(conf.HTTP.Services) > 0 {
		runtimeConfig.Services = make(map[string]*ServiceInfo, len(conf.HTTP.Services))
		for k, v := range conf.HTTP.Services {
			runtimeConfig.Services[k] = &ServiceInfo{Service: v, Status: StatusEnabled}
		}
	}
	if len(conf.HTTP.Middlewares) > 0 {
		runtimeConfig.Middlewares = make(map[string]*MiddlewareInfo, len(conf.HTTP.Middlewares))
		for k, v := range conf.HTTP.Middlewares {
			runtimeConfig.Middlewares[k] = &MiddlewareInfo{Middleware: v, Status: StatusEnabled}
		}
	}
	runtimeConfig.PopulateUsedBy()
	return runtimeConfig
}

// PopulateUsedBy populates all the UsedBy lists of the underlying fields of r,
// based on the relations between the included services, routers, and middlewares.
func (c *Configuration) PopulateUsedBy() {
	for routerName, routerInfo := range c.Routers {
		for _, midName := range routerInfo.Router.Middlewares {
			if mid, ok := c.Middlewares[midName]; ok {
				mid.UsedBy = append(mid.UsedBy, routerName)
			}
		}
		if svc, ok := c.Services[routerInfo.Service]; ok {
			svc.UsedBy = append(svc.UsedBy, routerName)
		}
	}
	for _, svc := range c.Services {
		sort.Strings(svc.UsedBy)
	}
	for _, mid := range c.Middlewares {
		sort.Strings(mid.UsedBy)
	}
}

// GetRoutersByEntryPoints returns all the http routers by entry points name and routers name.
func (c *Configuration) GetRoutersByEntryPoints(entryPoints []string) map[string]map[string]*RouterInfo {
	entryPointsRouters := make(map[string]map[string]*RouterInfo)
	for rtName, rt := range c.Routers {
		for _, entryPointName := range rt.EntryPoints {
			for _, ep := range entryPoints {
				if ep != entryPointName {
					continue
				}
				if _, ok := entryPointsRouters[entryPointName]; !ok {
					entryPointsRouters[entryPointName] = make(map[string]*RouterInfo)
				}
				entryPointsRouters[entryPointName][rtName] = rt
			}
		}
	}
	return entryPointsRouters
}
