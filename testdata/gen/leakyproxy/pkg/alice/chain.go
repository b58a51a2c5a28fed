// Package alice is a minimal copy of the github.com/containous/alice middleware
// chaining API used by Traefik (the upstream module is not reachable from the
// Go module proxy used to build this fixture generator).
package alice

import "net/http"

// Constructor builds a handler wrapping next.
type Constructor func(next http.Handler) (http.Handler, error)

// Chain is an immutable list of constructors.
type Chain struct {
	constructors []Constructor
}

// New creates a new chain.
func New(constructors ...Constructor) Chain {
	return Chain{constructors: append([]Constructor(nil), constructors...)}
}

// Then chains the middlewares and returns the final handler.
func (c Chain) Then(h http.Handler) (http.Handler, error) {
	if h == nil {
		h = http.DefaultServeMux
	}
	for i := len(c.constructors) - 1; i >= 0; i-- {
		handler, err := c.constructors[i](h)
		if err != nil {
			return nil, err
		}
		h = handler
	}
	return h, nil
}

// Append extends a chain, adding the specified constructors as the last ones.
func (c Chain) Append(constructors ...Constructor) Chain {
	newCons := make([]Constructor, 0, len(c.constructors)+len(constructors))
	newCons = append(newCons, c.constructors...)
	newCons = append(newCons, constructors...)
	return Chain{constructors: newCons}
}

// Extend extends a chain by adding the specified chain as the last one.
func (c Chain) Extend(chain Chain) Chain {
	return c.Append(chain.constructors...)
}
