package middleware

import (
	"context"

	"leakscope/testdata/gen/leakyproxy/pkg/alice"
	"leakscope/testdata/gen/leakyproxy/pkg/metrics"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/accesslog"
	metricsMiddle "leakscope/testdata/gen/leakyproxy/pkg/middlewares/metrics"
)

// ChainBuilder Creates a middleware chain by entry point.
type ChainBuilder struct {
	metricsRegistry        *metrics.Registry
	accessLoggerMiddleware *accesslog.Handler
}

// NewChainBuilder Creates a new ChainBuilder.
func NewChainBuilder(metricsRegistry *metrics.Registry, accessLoggerMiddleware *accesslog.Handler) *ChainBuilder {
	return &ChainBuilder{metricsRegistry: metricsRegistry, accessLoggerMiddleware: accessLoggerMiddleware}
}

// Build a middleware chain by entry point.
func (c *ChainBuilder) Build(ctx context.Context, entryPointName string) alice.Chain {
	chain := alice.New()
	if c.accessLoggerMiddleware != nil {
		chain = chain.Append(accesslog.WrapHandler(c.accessLoggerMiddleware))
	}
	if c.metricsRegistry != nil {
		chain = chain.Append(metricsMiddle.WrapEntryPointHandler(ctx, c.metricsRegistry, entryPointName))
	}
	return chain
}
