package service

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// RoundTripperManager handles roundtripper for the reverse proxy. Transports
// are shared by all the proxies built across configuration reloads.
type RoundTripperManager struct {
	rtLock        sync.RWMutex
	roundTrippers map[string]http.RoundTripper
}

// NewRoundTripperManager creates a new RoundTripperManager.
func NewRoundTripperManager() *RoundTripperManager {
	return &RoundTripperManager{roundTrippers: make(map[string]http.RoundTripper)}
}

// Get gets a roundtripper corresponding to the given transport name.
func (r *RoundTripperManager) Get(name string) http.RoundTripper {
	if name == "" {
		name = "default@internal"
	}
	r.rtLock.RLock()
	rt, ok := r.roundTrippers[name]
	r.rtLock.RUnlock()
	if ok {
		return rt
	}

	r.rtLock.Lock()
	defer r.rtLock.Unlock()
	if rt, ok := r.roundTrippers[name]; ok {
		return rt
	}
	rt = createRoundTripper()
	r.roundTrippers[name] = rt
	return rt
}

// CloseIdleConnections closes the idle connections of all transports.
func (r *RoundTripperManager) CloseIdleConnections() {
	r.rtLock.RLock()
	defer r.rtLock.RUnlock()
	for _, rt := range r.roundTrippers {
		if t, ok := rt.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
	}
}

// createRoundTripper creates an http.RoundTripper configured with the Transport configuration settings.
func createRoundTripper() http.RoundTripper {
	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConnsPerHost:   200,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		ReadBufferSize:        64 * 1024,
		WriteBufferSize:       64 * 1024,
		DisableCompression:    true,
	}
}
