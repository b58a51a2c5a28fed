// Command goroutinedump writes Go's legacy text profiles for leakscope's
// tests: the /debug/pprof/goroutine?debug=1 and ?debug=2 dumps and the
// /debug/pprof/heap?debug=1 text profile, all from one process.
//
// It is run by ../regen-goroutinedump.sh and writes into testdata/profiles/:
//
//	gen-goroutine.debug1.txt  goroutine profile, legacy text (debug=1), with labels
//	gen-goroutine.debug2.txt  the same goroutines as a full dump (debug=2),
//	                          written right after debug1, with "created by" lines
//	gen-heap.debug1.txt       heap profile, legacy text (debug=1), with the
//	                          # runtime.MemStats trailer
//
// (The script also writes gen-heap.debug1.crlf.txt, a CRLF copy of
// gen-heap.debug1.txt.)
//
// Every goroutine started here blocks forever before the dumps are written,
// and nothing else runs between the two goroutine dumps, so debug1 and
// debug2 describe the same set of goroutines: their totals are equal.
//
// Stdlib only. Build with -trimpath (the script does) so file names do not
// leak the local checkout path.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

const (
	// memProfileRate: one sample per 16 KiB allocated on average; large
	// enough that the runtime's own start-up allocations add few records,
	// small enough that every site below is sampled. Samples of objects
	// smaller than the rate get a scale factor well above 1 in pprof.
	memProfileRate = 16 * 1024

	leakedHandlers = 6 // goroutines leaked by main.handleRequest
	ordersWorkers  = 4 // main.waitOnOrders, labels pool=orders
	lockWaiters    = 2 // main.waitOnLock, blocked on a sync.Mutex
	sleepers       = 1 // main.sleepForever
)

var (
	// leakyCache only grows: the heap "leak".
	leakyCache [][]byte
	// sessions is a retained map.
	sessions = map[string][]byte{}
	// recursive holds allocations made at every level of a recursion, so
	// one stack holds the same return address several times in a row.
	recursive [][]byte
	sink      any

	ordersCh = make(chan int)
	mu       sync.Mutex
)

func main() {
	runtime.MemProfileRate = memProfileRate
	debug.SetGCPercent(-1)
	out := flag.String("out", ".", "directory to write the profiles into")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	warmUp()

	// --- heap ---
	fillCache(256)
	fillSessions(300)
	recursive = recurse(4)
	churn(2000)

	// --- goroutines ---
	startGoroutines()
	runtime.GC()

	heap := lookup("heap", 1)
	// The two goroutine dumps back to back: same goroutines in both.
	g1 := lookup("goroutine", 1)
	g2 := lookup("goroutine", 2)
	writeFile(*out, "gen-heap.debug1.txt", heap)
	writeFile(*out, "gen-goroutine.debug1.txt", g1)
	writeFile(*out, "gen-goroutine.debug2.txt", g2)
}

// warmUp burns through the sampling point each P drew at the default rate.
//
//go:noinline
func warmUp() {
	for i := 0; i < 1024; i++ {
		sink = make([]byte, 1024)
	}
	sink = nil
}

// newEntry is inlined into fillCache, so the allocation's return address
// stands for two frames: two "#" lines with the same address.
func newEntry(i int) []byte {
	b := make([]byte, 4096)
	b[0] = byte(i)
	return b
}

//go:noinline
func fillCache(n int) {
	for i := 0; i < n; i++ {
		leakyCache = append(leakyCache, newEntry(i))
	}
}

//go:noinline
func fillSessions(n int) {
	for i := 0; i < n; i++ {
		sessions[fmt.Sprintf("session-%04d", i)] = make([]byte, 512)
	}
}

//go:noinline
func recurse(depth int) [][]byte {
	var mine [][]byte
	for i := 0; i < 8; i++ {
		mine = append(mine, make([]byte, 2048))
	}
	if depth == 0 {
		return mine
	}
	return append(mine, recurse(depth-1)...)
}

// churn allocates garbage only: alloc_* but not inuse_*.
//
//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 1024+(i%4)*1024)
	}
	sink = nil
}

// --- goroutines ---

// handleRequest leaks one goroutine per call: it waits for a reply on a
// channel nobody ever sends on. The "created by main.handleRequest" line
// of the debug=2 dump is what points at the leak.
//
//go:noinline
func handleRequest(id int) {
	reply := make(chan string)
	go func() {
		sink = <-reply
	}()
	_ = id
}

//go:noinline
func waitOnOrders() { <-ordersCh }

//go:noinline
func waitOnLock() {
	mu.Lock()
	defer mu.Unlock()
}

//go:noinline
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

func startGoroutines() {
	for i := 0; i < leakedHandlers; i++ {
		handleRequest(i)
	}
	pprof.Do(context.Background(), pprof.Labels("pool", "orders"), func(context.Context) {
		for i := 0; i < ordersWorkers; i++ {
			go waitOnOrders()
		}
	})
	mu.Lock() // held forever: the waiters never get it
	for i := 0; i < lockWaiters; i++ {
		go waitOnLock()
	}
	for i := 0; i < sleepers; i++ {
		go sleepForever()
	}
	waitUntilBlocked()
}

// waitUntilBlocked polls all goroutine stacks until every goroutine above
// is parked, so the dumps do not depend on scheduling luck.
func waitUntilBlocked() {
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		dump := string(buf[:n])
		handlers := countBlocked(dump, "main.handleRequest.func1", "[chan receive")
		orders := countBlocked(dump, "main.waitOnOrders", "[chan receive")
		locks := countBlocked(dump, "main.waitOnLock", "[sync.Mutex.Lock")
		sleeping := countBlocked(dump, "main.sleepForever", "[sleep")
		if handlers == leakedHandlers && orders == ordersWorkers && locks == lockWaiters && sleeping == sleepers {
			return
		}
		if time.Now().After(deadline) {
			log.Fatalf("goroutines not blocked in time: handlers=%d orders=%d locks=%d sleeping=%d",
				handlers, orders, locks, sleeping)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countBlocked(dump, fn, state string) int {
	c := 0
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, state) && strings.Contains(g, fn+"(") {
			c++
		}
	}
	return c
}

// lookup returns the named profile as text at the given debug level.
func lookup(name string, debugLevel int) []byte {
	var b bytes.Buffer
	if err := pprof.Lookup(name).WriteTo(&b, debugLevel); err != nil {
		log.Fatalf("%s profile: %v", name, err)
	}
	return b.Bytes()
}

func writeFile(dir, name string, data []byte) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s (%d bytes)\n", path, len(data))
}
