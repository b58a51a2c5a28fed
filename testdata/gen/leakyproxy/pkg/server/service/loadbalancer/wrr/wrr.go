// Package wrr is a smooth weighted round robin load balancer of services.
package wrr

import (
	"errors"
	"net/http"
	"sync"
)

type namedHandler struct {
	http.Handler
	name    string
	weight  int
	current int
}

// Balancer is a WeightedRoundRobin load balancer based on Smooth Weighted Round Robin.
type Balancer struct {
	mu       sync.Mutex
	handlers []*namedHandler
}

// New creates a new load balancer.
func New() *Balancer {
	return &Balancer{}
}

// AddService adds a handler.
func (b *Balancer) AddService(name string, handler http.Handler, weight *int) {
	w := 1
	if weight != nil {
		w = *weight
	}
	if w <= 0 {
		return
	}
	b.handlers = append(b.handlers, &namedHandler{Handler: handler, name: name, weight: w})
}

func (b *Balancer) nextServer() (*namedHandler, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.handlers) == 0 {
		return nil, errors.New("no servers in the pool")
	}
	total := 0
	var best *namedHandler
	for _, h := range b.handlers {
		h.current += h.weight
		total += h.weight
		if best == nil || h.current > best.current {
			best = h
		}
	}
	best.current -= total
	return best, nil
}

func (b *Balancer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	server, err := b.nextServer()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusServiceUnavailable)+err.Error(), http.StatusServiceUnavailable)
		return
	}
	server.ServeHTTP(w, req)
}
