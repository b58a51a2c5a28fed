// Package middleware builds the router middleware chains from the dynamic
// configuration.
package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"leakscope/testdata/gen/leakyproxy/pkg/alice"
	"leakscope/testdata/gen/leakyproxy/pkg/config/runtime"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/headers"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/ipallowlist"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/stripprefix"
)

// Builder the middleware builder.
type Builder struct {
	configs map[string]*runtime.MiddlewareInfo
}

// NewBuilder creates a new Builder.
func NewBuilder(configs map[string]*runtime.MiddlewareInfo) *Builder {
	return &Builder{configs: configs}
}

// BuildChain creates a middleware chain.
func (b *Builder) BuildChain(ctx context.Context, middlewares []string) *alice.Chain {
	chain := alice.New()
	for _, name := range middlewares {
		middlewareName := name
		chain = chain.Append(func(next http.Handler) (http.Handler, error) {
			if _, ok := b.configs[middlewareName]; !ok {
				return nil, fmt.Errorf("middleware %q does not exist", middlewareName)
			}
			constructor, err := b.buildConstructor(ctx, middlewareName)
			if err != nil {
				b.configs[middlewareName].Err = append(b.configs[middlewareName].Err, err.Error())
				return nil, err
			}
			return constructor(next)
		})
	}
	return &chain
}

func (b *Builder) buildConstructor(ctx context.Context, middlewareName string) (alice.Constructor, error) {
	config := b.configs[middlewareName]
	if config == nil || config.Middleware == nil {
		return nil, fmt.Errorf("invalid middleware %q configuration", middlewareName)
	}

	switch {
	case config.Headers != nil:
		return func(next http.Handler) (http.Handler, error) {
			return headers.New(ctx, next, *config.Headers, middlewareName)
		}, nil
	case config.StripPrefix != nil:
		return func(next http.Handler) (http.Handler, error) {
			return stripprefix.New(ctx, next, *config.StripPrefix, middlewareName)
		}, nil
	case config.IPAllowList != nil:
		return func(next http.Handler) (http.Handler, error) {
			return ipallowlist.New(ctx, next, *config.IPAllowList, middlewareName)
		}, nil
	}
	return nil, errors.New("invalid middleware type or middleware does not exist")
}
