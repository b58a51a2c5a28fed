package server

import (
	"sort"
	"strings"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
)

func qualify(name, provider string) string {
	if strings.Contains(name, "@") {
		return name
	}
	return name + "@" + provider
}

// mergeConfiguration merges the provider configurations, qualifying every
// element name with its provider ("users@file").
func mergeConfiguration(configurations dynamic.Configurations, defaultEntryPoints []string) dynamic.Configuration {
	conf := dynamic.Configuration{
		HTTP: &dynamic.HTTPConfiguration{
			Routers:     make(map[string]*dynamic.Router),
			Middlewares: make(map[string]*dynamic.Middleware),
			Services:    make(map[string]*dynamic.Service),
		},
	}

	providers := make([]string, 0, len(configurations))
	for p := range configurations {
		providers = append(providers, p)
	}
	sort.Strings(providers)

	for _, pvd := range providers {
		configuration := configurations[pvd]
		if configuration == nil || configuration.HTTP == nil {
			continue
		}
		for routerName, router := range configuration.HTTP.Routers {
			if len(router.EntryPoints) == 0 {
				router.EntryPoints = append([]string(nil), defaultEntryPoints...)
			}
			router.Service = qualify(router.Service, pvd)
			for i, m := range router.Middlewares {
				router.Middlewares[i] = qualify(m, pvd)
			}
			conf.HTTP.Routers[qualify(routerName, pvd)] = router
		}
		for serviceName, service := range configuration.HTTP.Services {
			if service.Weighted != nil {
				for i := range service.Weighted.Services {
					service.Weighted.Services[i].Name = qualify(service.Weighted.Services[i].Name, pvd)
				}
			}
			conf.HTTP.Services[qualify(serviceName, pvd)] = service
		}
		for middlewareName, middleware := range configuration.HTTP.Middlewares {
			conf.HTTP.Middlewares[qualify(middlewareName, pvd)] = middleware
		}
	}
	return conf
}
