// Command handlerleak is a small net/http service that leaks in its own
// handler, the case every net/http service shares: the growth is filed
// under http-request by a net/http frame, but the function that allocates
// it is the user's, main.(*server).audit.func1, an audit middleware that
// keeps a record of every request and never trims it. Standard library
// only.
//
// It serves real HTTP on 127.0.0.1, drives its own traffic through a real
// client, and writes a heap profile (gzipped protobuf, as
// /debug/pprof/heap serves it) after each phase:
//
//	handlerleak -out DIR [-requests N] [-phases K]
//
// writes DIR/00-heap.pb.gz .. DIR/(K-1)-heap.pb.gz, one after every N
// requests.
// tests/sites.rs runs it and checks that leakscope names the function
// `go tool pprof -top -base` puts on top.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
)

type server struct {
	mu      sync.Mutex
	records [][]byte
	uploads map[string][]byte
}

// audit keeps a 4 KiB record of every request: the leak. Not inlined, so
// that its closure keeps the name main.(*server).audit.func1.
//
//go:noinline
func (s *server) audit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := make([]byte, 4096)
		copy(rec, r.Method+" "+r.URL.String())
		s.mu.Lock()
		s.records = append(s.records, rec)
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// upload keeps every request body under a new key: a second, smaller
// leak, allocated inside io.ReadAll (library plumbing), so that the
// allocating function is the handler, one frame above the leaf.
func (s *server) upload(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.uploads[r.URL.RawQuery] = body
	s.mu.Unlock()
}

// hello answers with a small transient body: garbage, not a leak.
func hello(w http.ResponseWriter, r *http.Request) {
	body := strings.Repeat("hello ", 64)
	io.WriteString(w, body)
}

func writeHeap(path string) {
	runtime.GC()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func main() {
	// Sample every 4 KiB on average so that the profiles are dense.
	runtime.MemProfileRate = 4096
	out := flag.String("out", "", "directory for the heap profiles")
	requests := flag.Int("requests", 4000, "requests between profiles")
	phases := flag.Int("phases", 2, "number of profiles")
	flag.Parse()
	if *out == "" {
		log.Fatal("-out is required")
	}
	s := &server{uploads: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.Handle("/hello", s.audit(http.HandlerFunc(hello)))
	mux.HandleFunc("/upload", s.upload)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, mux)
	client := &http.Client{}
	base := fmt.Sprintf("http://%s", ln.Addr())
	payload := strings.Repeat("x", 1024)
	n := 0
	for p := 0; p < *phases; p++ {
		for i := 0; i < *requests; i++ {
			n++
			resp, err := client.Get(fmt.Sprintf("%s/hello?id=%d", base, n))
			if err != nil {
				log.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if i%4 == 0 {
				resp, err = client.Post(fmt.Sprintf("%s/upload?id=%d", base, n), "text/plain", strings.NewReader(payload))
				if err != nil {
					log.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		writeHeap(filepath.Join(*out, fmt.Sprintf("%02d-heap.pb.gz", p)))
	}
}
