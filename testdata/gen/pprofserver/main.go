// Command pprofserver is a small Go process for testing `leakscope
// capture`: it serves net/http/pprof and a Prometheus-style /metrics, and
// keeps some heap and goroutines growing so its profiles are not trivial.
// Standard library only.
//
// It prints {"addr":"127.0.0.1:PORT"} on stdout once it is listening, and
// exits when its standard input closes (-exit-on-eof) or after -lifetime,
// so a test that dies cannot leave it running.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	retained [][]byte
	mu       sync.Mutex
	requests atomic.Int64
	parked   = make(chan struct{})
	gorCount atomic.Int64
)

// grow retains 16 KiB every 10ms, up to 8 MiB, and parks a goroutine every
// 100ms, up to 50.
func grow() {
	for i := 0; ; i++ {
		mu.Lock()
		if len(retained) < 512 {
			retained = append(retained, make([]byte, 16<<10))
		}
		mu.Unlock()
		if i%10 == 0 && gorCount.Load() < 50 {
			gorCount.Add(1)
			go func() { <-parked }()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	// Sample every 4 KiB allocated, so even a young process has samples.
	runtime.MemProfileRate = 4096

	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	failFirst := flag.Int64("fail-first", 0, "answer the first N requests with 503")
	heap404 := flag.Bool("heap-404", false, "answer /debug/pprof/heap with a 404 HTML page")
	heapHTML := flag.Bool("heap-html", false, "answer /debug/pprof/heap with 200 and an HTML page")
	heapDelay := flag.Duration("heap-delay", 0, "wait this long before answering /debug/pprof/heap")
	logRequests := flag.Bool("log-requests", false, `print {"request":PATH} on stdout as each request arrives`)
	exitOnEOF := flag.Bool("exit-on-eof", false, "exit when standard input is closed")
	lifetime := flag.Duration("lifetime", 2*time.Minute, "exit after this long")
	noMetrics := flag.Bool("no-metrics", false, "serve no /metrics (it answers 404, as net/http does for any unknown path)")
	flag.Parse()

	go grow()
	if *exitOnEOF {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
	}
	time.AfterFunc(*lifetime, func() { os.Exit(0) })

	var outMu sync.Mutex
	emit := func(v any) {
		b, _ := json.Marshal(v)
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.Write(append(b, '\n'))
	}

	if !*noMetrics {
		http.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
			fmt.Fprintf(w, "# HELP go_memstats_heap_inuse_bytes Heap bytes in use.\n# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes %d\n", m.HeapInuse)
			fmt.Fprintf(w, "# HELP pprofserver_requests_total Requests served.\n# TYPE pprofserver_requests_total counter\npprofserver_requests_total %d\n", requests.Load())
		})
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if *logRequests {
			emit(map[string]string{"request": r.URL.Path})
		}
		if n <= *failFirst {
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/debug/pprof/heap" {
			if *heap404 {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, "<html><head><title>404 Not Found</title></head><body>no such page</body></html>\n")
				return
			}
			if *heapHTML {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, "<!DOCTYPE html>\n<html><body><form>Please log in</form></body></html>\n")
				return
			}
			if *heapDelay > 0 {
				time.Sleep(*heapDelay)
			}
		}
		http.DefaultServeMux.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	emit(map[string]string{"addr": ln.Addr().String()})
	log.Fatal(http.Serve(ln, handler))
}
