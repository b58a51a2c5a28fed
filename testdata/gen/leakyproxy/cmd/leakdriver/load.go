package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadStats are the counters of the load generator.
type loadStats struct {
	total, http1, http2, errors            atomic.Int64
	class2xx, class3xx, class4xx, class5xx atomic.Int64
	issued                                 atomic.Int64
}

func newHTTP1Client() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 2,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
			TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		},
	}
}

func newHTTP2Client() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}, //nolint:gosec // self-signed test cert on 127.0.0.1
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 2,
			DisableCompression:  true,
		},
	}
}

var canaryCodes = []int{200, 200, 404, 503}

// buildRequest returns the n-th request of the deterministic request mix.
func buildRequest(ctx context.Context, base string, n int64) (*http.Request, error) {
	method, path := http.MethodGet, ""
	var body string
	slot := n / 10
	switch n % 10 {
	case 0, 1:
		path = fmt.Sprintf("/api/users/%d", n)
	case 2:
		method, path = http.MethodPost, "/api/orders"
		body = fmt.Sprintf(`{"order":%d,"items":[{"sku":"sku-%d","qty":%d}],"note":"%s"}`, n, n%97, 1+n%5, strings.Repeat("x", 400))
	case 3:
		path = fmt.Sprintf("/api/orders/%d?expand=items", n)
	case 4:
		path = fmt.Sprintf("/api/catalog/items/%d?page=%d", n, n%7)
	case 5:
		path = fmt.Sprintf("/static/css/app-%d.css", n%16)
	case 6, 7:
		path = fmt.Sprintf("/canary/%d/item/%d?code=%d", slot%canaryRouters, n, canaryCodes[slot%int64(len(canaryCodes))])
	case 8:
		method, path = http.MethodPost, fmt.Sprintf("/canary/%d/item/%d", slot%canaryRouters, n)
		body = fmt.Sprintf(`{"item":%d}`, n)
	case 9:
		if slot%2 == 0 {
			path = "/health"
		} else {
			path = fmt.Sprintf("/missing/%d", n)
		}
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "leakdriver/1.0")
	req.Header.Set("Accept", "application/json, text/plain")
	req.Header.Set("X-Request-Id", fmt.Sprintf("req-%08d", n))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

type loadWorker struct {
	id       int64
	stride   int64
	proto    int // 1 or 2
	base     string
	client   *http.Client
	interval time.Duration
}

// run issues one request per tick until ctx is done or maxRequests were issued.
func (w *loadWorker) run(ctx context.Context, stats *loadStats, maxRequests int64) {
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for k := int64(0); ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if stats.issued.Add(1) > maxRequests {
			return
		}
		n := w.id + k*w.stride
		req, err := buildRequest(ctx, w.base, n)
		if err != nil {
			stats.errors.Add(1)
			continue
		}
		resp, err := w.client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				stats.errors.Add(1)
			}
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		stats.total.Add(1)
		if resp.ProtoMajor == 2 {
			stats.http2.Add(1)
		} else {
			stats.http1.Add(1)
		}
		switch resp.StatusCode / 100 {
		case 2:
			stats.class2xx.Add(1)
		case 3:
			stats.class3xx.Add(1)
		case 4:
			stats.class4xx.Add(1)
		case 5:
			stats.class5xx.Add(1)
		}
		if w.proto == 2 && resp.ProtoMajor != 2 {
			stats.errors.Add(1)
		}
	}
}

// startLoad starts the workers and returns a function waiting for them.
func startLoad(ctx context.Context, addrs map[string]string, workersH1, workersH2, rps int, maxRequests int64, stats *loadStats) (wait func(), clients []*http.Client) {
	total := workersH1 + workersH2
	interval := time.Duration(int64(time.Second) * int64(total) / int64(rps))
	var wg sync.WaitGroup
	id := int64(0)
	add := func(proto int, base string, client *http.Client) {
		w := &loadWorker{id: id, stride: int64(total), proto: proto, base: base, client: client, interval: interval}
		id++
		clients = append(clients, client)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, stats, maxRequests)
		}()
	}
	for i := 0; i < workersH1; i++ {
		add(1, "http://"+addrs["web"], newHTTP1Client())
	}
	for i := 0; i < workersH2; i++ {
		add(2, "https://"+addrs["websecure"], newHTTP2Client())
	}
	return wg.Wait, clients
}
