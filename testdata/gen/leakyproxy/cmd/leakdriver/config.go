package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
)

// canaryRouters is the number of routers whose names change on every
// configuration generation ("canary-g<gen>-<i>", like generated Kubernetes
// names), all pointing at the per-generation service "canary-g<gen>".
const canaryRouters = 6

// buildConfig returns the dynamic configuration of generation gen.
func buildConfig(gen int, backendURL string) *dynamic.Configuration {
	pass := true
	weight := func(w int) *int { return &w }
	canarySvc := fmt.Sprintf("canary-g%d", gen)

	mw := func(names ...string) []string { return names }
	routers := map[string]*dynamic.Router{
		"users":        {Rule: "PathPrefix(`/api/users`)", Service: "app", Middlewares: mw("allowlist", "api-headers")},
		"orders-write": {Rule: "PathPrefix(`/api/orders`) && Method(`POST`, `PUT`)", Service: "app", Middlewares: mw("allowlist", "api-headers")},
		"orders":       {Rule: "PathPrefix(`/api/orders`)", Service: "app", Middlewares: mw("allowlist", "api-headers")},
		"catalog":      {Rule: "PathPrefix(`/api/catalog`)", Service: "whoami", Middlewares: mw("allowlist")},
		"search":       {Rule: "PathPrefix(`/api/search`)", Service: "whoami", Middlewares: mw("allowlist")},
		"static":       {Rule: "PathPrefix(`/static`)", Service: "whoami", Middlewares: mw("allowlist", "strip-static")},
		"assets":       {Rule: "PathPrefix(`/assets`)", Service: "whoami", Middlewares: mw("allowlist", "strip-assets")},
		"health":       {Rule: "Path(`/health`)", Service: "whoami"},
		"login":        {Rule: "Path(`/login`) && Method(`POST`)", Service: "app", Middlewares: mw("allowlist")},
		"admin-ui":     {Rule: "Host(`admin.localhost`) && PathPrefix(`/ui`)", Service: "whoami", Middlewares: mw("allowlist")},
		"docs":         {Rule: "PathPrefix(`/docs`)", Service: "whoami", Middlewares: mw("allowlist")},
		"ws":           {Rule: "PathPrefix(`/ws`)", Service: "whoami", Middlewares: mw("allowlist")},
	}
	for i := 0; i < canaryRouters; i++ {
		routers[fmt.Sprintf("canary-g%d-%d", gen, i)] = &dynamic.Router{
			Rule:        fmt.Sprintf("PathPrefix(`/canary/%d`)", i),
			Service:     canarySvc,
			Middlewares: mw("allowlist", "canary-headers"),
		}
	}
	for _, r := range routers {
		r.EntryPoints = []string{"web", "websecure"}
	}

	var sourceRange []string
	for k := 0; k < 40; k++ {
		sourceRange = append(sourceRange, fmt.Sprintf("10.%d.0.0/16", k))
	}
	for k := 0; k < 6; k++ {
		sourceRange = append(sourceRange, fmt.Sprintf("172.%d.0.0/16", 16+k))
	}
	sourceRange = append(sourceRange, "::1/128", "127.0.0.0/8")

	return &dynamic.Configuration{HTTP: &dynamic.HTTPConfiguration{
		Routers: routers,
		Services: map[string]*dynamic.Service{
			"whoami": {LoadBalancer: &dynamic.ServersLoadBalancer{
				Servers:        []dynamic.Server{{URL: backendURL}, {URL: backendURL}},
				PassHostHeader: &pass,
			}},
			canarySvc: {LoadBalancer: &dynamic.ServersLoadBalancer{
				Servers:        []dynamic.Server{{URL: backendURL}},
				PassHostHeader: &pass,
			}},
			"app": {Weighted: &dynamic.WeightedRoundRobin{Services: []dynamic.WRRService{
				{Name: "whoami", Weight: weight(3)},
				{Name: canarySvc, Weight: weight(1)},
			}}},
		},
		Middlewares: map[string]*dynamic.Middleware{
			"allowlist": {IPAllowList: &dynamic.IPAllowList{SourceRange: sourceRange}},
			"api-headers": {Headers: &dynamic.Headers{
				CustomRequestHeaders: map[string]string{
					"X-Config-Generation": fmt.Sprint(gen),
					"X-Api-Version":       "v1",
					"X-Environment":       "production",
				},
				CustomResponseHeaders: map[string]string{
					"X-Served-By":   "leakyproxy",
					"Cache-Control": "no-store",
				},
			}},
			"canary-headers": {Headers: &dynamic.Headers{
				CustomRequestHeaders: map[string]string{"X-Canary": canarySvc},
			}},
			"strip-static": {StripPrefix: &dynamic.StripPrefix{Prefixes: []string{"/static"}}},
			"strip-assets": {StripPrefix: &dynamic.StripPrefix{Prefixes: []string{"/assets"}}},
		},
	}}
}

// writeConfig atomically replaces the configuration file.
func writeConfig(path string, gen int, backendURL string) error {
	data, err := json.MarshalIndent(buildConfig(gen, backendURL), "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dynamic-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
