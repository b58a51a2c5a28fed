// Package roundrobin is a round robin load balancer of servers in front of
// one reverse proxy (like vulcand/oxy's roundrobin used by Traefik v2).
package roundrobin

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
)

// RoundRobin implements dynamic round robin load balancing.
type RoundRobin struct {
	next    http.Handler
	servers []*url.URL
	index   atomic.Uint64
}

// New creates a new RoundRobin in front of next (the proxy).
func New(next http.Handler) (*RoundRobin, error) {
	return &RoundRobin{next: next}, nil
}

// UpsertServer adds a server.
func (r *RoundRobin) UpsertServer(u *url.URL) error {
	if u == nil {
		return fmt.Errorf("server URL can't be nil")
	}
	r.servers = append(r.servers, u)
	return nil
}

// Servers returns the servers.
func (r *RoundRobin) Servers() []*url.URL { return r.servers }

func (r *RoundRobin) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if len(r.servers) == 0 {
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	server := r.servers[(r.index.Add(1)-1)%uint64(len(r.servers))]

	// make shallow copy of request before changing anything to avoid side effects
	newReq := *req
	u := *req.URL
	u.Scheme = server.Scheme
	u.Host = server.Host
	newReq.URL = &u
	r.next.ServeHTTP(w, &newReq)
}
