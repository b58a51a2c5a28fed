// Command profiles writes real Go pprof fixtures for leakscope's tests.
//
// It is run by ../regen-profiles.sh and writes into testdata/profiles/:
//
//	gen-heap.pb.gz        heap profile (gzip protobuf, debug=0)
//	gen-heap-raw.pb       the same heap profile, un-gzipped (raw protobuf)
//	gen-allocs.pb.gz      allocs profile (same data, alloc_space default index)
//	gen-goroutine.pb.gz   goroutine profile with labels and counts > 1
//	gen-heap-later.pb.gz  heap profile taken after leakyCache grew, for diffing
//
// The exact numbers vary from run to run (sampling is random), but the
// *shape* is stable: the same functions, call paths, inlining, recursion
// depths and goroutine counts appear every time. Every allocation pattern
// below exists to exercise one specific thing in a profile decoder; the
// comment on each says which.
//
// Stdlib only. Build with -trimpath (the script does) so file names in the
// profile do not leak the local checkout path.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"
)

// Package-level sinks. Anything stored here is reachable at GC time, so it
// shows up in inuse_space/inuse_objects. Anything only assigned to `sink`
// (and then overwritten) is garbage: it counts in alloc_* but not inuse_*.
var (
	// retainedMaps: a map that keeps growing. Its group/table arrays are
	// allocated inside the runtime, but runtime/pprof elides the runtime
	// frames, so those samples (including a few large 48 KiB ones, i.e.
	// several sizes at one site) are attributed to main.fillMaps itself;
	// the keys show up as fmt.Sprintf under main.fillMaps. All retained.
	retainedMaps = map[string][]byte{}
	// retainedSlices: plain [][]byte that is kept alive.
	retainedSlices [][]byte
	// retainedRecords: kept alive, allocated via inlined helpers.
	retainedRecords []*record
	// retainedArena: kept alive, allocated via a pointer-receiver method.
	retainedArena = &arena{}
	// retainedGeneric: results of both generic instantiations, kept alive.
	retainedInts   [][]int64
	retainedPoints [][]point
	// retainedClosure: what the closure allocated, kept alive.
	retainedClosure [][]byte
	// retainedDeep / retainedRecursive: kept alive from deep / recursive stacks.
	retainedDeep      [][]byte
	retainedRecursive [][]byte
	// leakyCacheStore is the "leak": it only ever grows. gen-heap-later is
	// written after it grows a lot more, so gen-heap -> gen-heap-later shows
	// main.leakyCache as the top grower.
	leakyCacheStore [][]byte

	// sink defeats escape analysis for garbage: the value escapes to the
	// heap, but is overwritten right away, so the next GC frees it.
	sink any
)

const (
	// memProfileRate: sample on average one allocation per 512 bytes, so
	// almost every allocation site below is sampled in every run.
	memProfileRate = 512

	// recursionDepth: main.recurse appears this many times in one stack.
	recursionDepth = 6
	// towerDepth: main.tower recursion depth; with the frames above it the
	// stack at the allocation is > 20 frames deep.
	towerDepth = 24

	// goroutine counts for the goroutine profile.
	ordersWorkers   = 5 // main.waitOnOrders, labels pool=orders,tier=gold
	shutdownWorkers = 3 // main.waitOnShutdown, labels pool=shutdown
	idleWorkers     = 2 // main.idleLoop, no labels
)

func main() {
	// Must be first: the rate only applies to allocations made after this.
	runtime.MemProfileRate = memProfileRate
	// No automatic GC: heap profile data is only published at the end of a
	// GC cycle, so with GC off only our explicit runtime.GC() calls publish.
	// That makes the sample set independent of GC timing, and makes
	// gen-heap and gen-allocs contain exactly the same samples (the heap
	// WriteTo's own allocations cannot sneak into gen-allocs). The heap stays
	// small (a few MiB), so this is harmless.
	debug.SetGCPercent(-1)

	out := flag.String("out", ".", "directory to write the profiles into")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}

	// Each P's mcache has already drawn its "next sample" point using the
	// default 512 KiB rate. Burn through that so the sites below are
	// sampled at the small rate. This is garbage, so it is alloc_* only.
	warmUp()

	// --- heap: retained memory (inuse_* non-zero) -----------------------
	// map growth, retained
	fillMaps(2000)
	// plain distinct function, retained
	fillSlices(300)
	// allocation inside inlined helpers (multi-Line locations)
	buildRecords(400)
	// method on a pointer receiver
	useArena(200)
	// generic function, two instantiations
	useGenerics(150)
	// closure frame (main.useClosure.func1)
	useClosure(200)
	// >= 20 frames deep
	retainedDeep = tower(towerDepth)
	// the same function several times in one stack
	retainedRecursive = recurse(recursionDepth)
	// the leak, small for now
	leakyCache(64)

	// --- heap: garbage (alloc_* > inuse_*) ------------------------------
	churn(3000)

	// --- goroutines with labels and counts > 1 ---------------------------
	startGoroutines()

	// Heap profiles reflect the most recently completed GC cycle; collect
	// so everything above is published, and the garbage is freed.
	runtime.GC()

	heap := profileBytes("heap")
	writeFile(*out, "gen-heap.pb.gz", heap)
	writeFile(*out, "gen-heap-raw.pb", gunzip(heap))
	writeFile(*out, "gen-allocs.pb.gz", profileBytes("allocs"))
	writeFile(*out, "gen-goroutine.pb.gz", profileBytes("goroutine"))

	// --- the "later" heap: leakyCache retains much more ------------------
	leakyCache(1024)
	runtime.GC()
	writeFile(*out, "gen-heap-later.pb.gz", profileBytes("heap"))
}

// warmUp allocates ~2 MiB of garbage so the current P's sampling counter,
// drawn at the default rate before main ran, runs out.
//
//go:noinline
func warmUp() {
	for i := 0; i < 2048; i++ {
		sink = make([]byte, 1024)
	}
	sink = nil
}

// fillMaps grows a retained map: map-internal allocations (attributed to
// this frame) of several sizes at one site, plus a stdlib callee (fmt).
//
//go:noinline
func fillMaps(n int) {
	for i := 0; i < n; i++ {
		retainedMaps[fmt.Sprintf("key-%05d", i)] = make([]byte, 64+i%64)
	}
}

// fillSlices is a plain, distinct, non-inlined function with a retained
// allocation: the simplest possible sample (one Location, one Line).
//
//go:noinline
func fillSlices(n int) {
	for i := 0; i < n; i++ {
		retainedSlices = append(retainedSlices, make([]byte, 256))
	}
}

// record and its helpers exist to produce inlined frames: newRecord and
// newRecordPair are tiny, so the compiler inlines newRecord into
// newRecordPair and newRecordPair into buildRecords. The allocation's
// Location then carries three Line entries:
//
//	main.newRecord      (inlined)
//	main.newRecordPair  (inlined)
//	main.buildRecords   (the real frame)
type record struct {
	id  int
	buf []byte
}

func newRecord(id, size int) *record {
	return &record{id: id, buf: make([]byte, size)}
}

func newRecordPair(id int) (*record, *record) {
	return newRecord(id, 96), newRecord(id+1, 160)
}

//go:noinline
func buildRecords(n int) {
	for i := 0; i < n; i += 2 {
		a, b := newRecordPair(i)
		retainedRecords = append(retainedRecords, a, b)
	}
}

// arena exercises a method on a pointer receiver: the function name in the
// profile is "main.(*arena).alloc".
type arena struct {
	chunks [][]byte
}

//go:noinline
func (a *arena) alloc(n int) []byte {
	b := make([]byte, n)
	a.chunks = append(a.chunks, b)
	return b
}

//go:noinline
func useArena(n int) {
	for i := 0; i < n; i++ {
		retainedArena.alloc(128 + i%128)
	}
}

// point is a struct type so grow[point] gets its own GC shape (and a
// function name with spaces and braces in it).
type point struct{ X, Y int32 }

// grow is generic; it is instantiated with int64 and point, giving two
// frames named like "main.grow[go.shape.int64]" and
// "main.grow[go.shape.struct { X int32; Y int32 }]".
//
//go:noinline
func grow[T any](n int) []T {
	return make([]T, n)
}

//go:noinline
func useGenerics(n int) {
	for i := 0; i < n; i++ {
		retainedInts = append(retainedInts, grow[int64](32))
		retainedPoints = append(retainedPoints, grow[point](48))
	}
}

// useClosure allocates through a func literal called indirectly via
// applyN, so the closure is a real frame named "main.useClosure.func1"
// (it cannot be inlined through the non-inlined applyN).
//
//go:noinline
func useClosure(n int) {
	size := 200
	fill := func(i int) []byte {
		return make([]byte, size+i%50)
	}
	applyN(n, fill)
}

//go:noinline
func applyN(n int, f func(int) []byte) {
	for i := 0; i < n; i++ {
		retainedClosure = append(retainedClosure, f(i))
	}
}

// tower recurses towerDepth times before allocating, so the sampled stack
// is main.tower x24 + main.main + runtime.main + ... (> 20 frames). This
// exercises decoders / renderers with deep stacks.
//
//go:noinline
func tower(depth int) [][]byte {
	if depth == 0 {
		return towerTop()
	}
	return tower(depth - 1)
}

//go:noinline
func towerTop() [][]byte {
	out := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		out = append(out, make([]byte, 512))
	}
	return out
}

// recurse allocates at EVERY level of its recursion, so samples have
// main.recurse appearing 1..recursionDepth+1 times in one stack. A correct
// "cum" counts each sample once per function, not once per frame: cum of
// main.recurse must equal (not exceed) the total of these samples.
//
//go:noinline
func recurse(depth int) [][]byte {
	var mine [][]byte
	for i := 0; i < 16; i++ {
		mine = append(mine, make([]byte, 300))
	}
	if depth == 0 {
		return mine
	}
	return append(mine, recurse(depth-1)...)
}

// leakyCache is the simulated leak: it appends 4 KiB entries to a global
// that is never trimmed. It is called again, much harder, before
// gen-heap-later is written.
//
//go:noinline
func leakyCache(n int) {
	for i := 0; i < n; i++ {
		leakyCacheStore = append(leakyCacheStore, make([]byte, 4096))
	}
}

// churn allocates only garbage: each buffer escapes via sink and is
// overwritten, so it appears in alloc_space/alloc_objects but has
// (near-)zero inuse_space after GC. Distinct sizes so it is not all one bucket.
//
//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 512+(i%4)*512)
		sink = strings.Repeat("x", 100+i%200)
	}
	sink = nil
}

// --- goroutines --------------------------------------------------------

// waitOnOrders / waitOnShutdown / idleLoop block forever. Goroutines with
// the same stack and the same labels collapse into one sample, so the
// goroutine profile has samples with count 5, 3 and 2.
var (
	ordersCh   = make(chan int)
	shutdownCh = make(chan struct{})
	idleCh     = make(chan struct{})
)

//go:noinline
func waitOnOrders() { <-ordersCh }

//go:noinline
func waitOnShutdown() { <-shutdownCh }

//go:noinline
func idleLoop() {
	// A select rather than a plain receive: a different wait reason.
	select {
	case <-idleCh:
	case <-shutdownCh:
	}
}

func startGoroutines() {
	ctx := context.Background()
	// Goroutines started inside pprof.Do inherit its labels, so these
	// samples carry label pool=orders,tier=gold.
	pprof.Do(ctx, pprof.Labels("pool", "orders", "tier", "gold"), func(context.Context) {
		for i := 0; i < ordersWorkers; i++ {
			go waitOnOrders()
		}
	})
	pprof.Do(ctx, pprof.Labels("pool", "shutdown"), func(context.Context) {
		for i := 0; i < shutdownWorkers; i++ {
			go waitOnShutdown()
		}
	})
	// No labels on these.
	for i := 0; i < idleWorkers; i++ {
		go idleLoop()
	}
	waitUntilBlocked()
}

// waitUntilBlocked polls all goroutine stacks until every goroutine above
// is parked in its blocking operation, so the goroutine profile's shape
// does not depend on scheduling luck.
func waitUntilBlocked() {
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.Stack(buf, true)
		if n == len(buf) { // truncated: grow and retry
			buf = make([]byte, 2*len(buf))
			continue
		}
		dump := string(buf[:n])
		orders := countBlocked(dump, "main.waitOnOrders", "[chan receive")
		shutdown := countBlocked(dump, "main.waitOnShutdown", "[chan receive")
		idle := countBlocked(dump, "main.idleLoop", "[select")
		if orders == ordersWorkers && shutdown == shutdownWorkers && idle == idleWorkers {
			return
		}
		if time.Now().After(deadline) {
			log.Fatalf("goroutines not blocked in time: orders=%d shutdown=%d idle=%d", orders, shutdown, idle)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countBlocked counts goroutines whose header has state `state` and whose
// stack contains function fn.
func countBlocked(dump, fn, state string) int {
	c := 0
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, state) && strings.Contains(g, fn+"(") {
			c++
		}
	}
	return c
}

// --- output ------------------------------------------------------------

// profileBytes returns the named profile as gzipped protobuf (debug=0).
func profileBytes(name string) []byte {
	var b bytes.Buffer
	if err := pprof.Lookup(name).WriteTo(&b, 0); err != nil {
		log.Fatalf("%s profile: %v", name, err)
	}
	return b.Bytes()
}

// gunzip turns a debug=0 profile into the raw protobuf bytes.
func gunzip(gz []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		log.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	return raw
}

func writeFile(dir, name string, data []byte) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s (%d bytes)\n", path, len(data))
}
