// Command heapdump writes Go heap dumps (runtime/debug.WriteHeapDump) with
// known retention for leakscope's tests, and a large benchmark dump.
//
// Fixture scenarios (run by ../regen-heapdumps.sh, which gzips the dumps):
//
//	heapdump -scenario NAME -out DIR
//
// writes DIR/1.heapdump, DIR/2.heapdump (raw, uncompressed) and
// DIR/expected.json. NAME is one of:
//
//	global-map       package-level map main.sessions grows; payload
//	                 allocated by main.(*store).remember
//	goroutine-stack  net/http handler main.slowHandler holds records in a
//	                 local variable and blocks; 1 then 4 stuck requests
//	config-registry  main.registry.old keeps every config built by
//	                 main.reloadConfig alive
//	control          same server and transient garbage, nothing accumulates
//
// Every scenario starts the same baseline (an HTTP server on 127.0.0.1:0,
// a few quick requests from the program itself, transient garbage) so the
// dumps differ only by the leak. Sizes and counts are fixed constants;
// nothing is random (heap addresses are: Go 1.26 randomizes the heap base).
//
// Benchmark dump (never committed):
//
//	heapdump -scenario big -heap-mib 1024 -out FILE [-rate 1]
//
// See big.go for the observed time and file size.
//
// Before each dump the program calls runtime.GC() twice, then reads
// MemStats, then calls debug.WriteHeapDump. runtime.MemProfileRate is set
// to 1 in init() below: GODEBUG=memprofilerate=1 alone is ignored when the
// binary never references runtime.MemProfile (the linker disables memory
// profiling), but an assignment in code after schedinit sticks.
//
// Stdlib only. Build with -trimpath (the script does) so file names in the
// memprof records do not leak the local checkout path.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

func init() {
	// Every allocation from here on is sampled, so each live object made
	// by the scenarios has an allocsample record pointing at its stack.
	runtime.MemProfileRate = 1
}

// Expected is written to DIR/expected.json.
type Expected struct {
	Scenario       string `json:"scenario"`
	Description    string `json:"description"`
	GoVersion      string `json:"go_version"`
	GOARCH         string `json:"goarch"`
	MemProfileRate int    `json:"mem_profile_rate"`
	// SiteRule explains how a memprof stack maps to a function name here.
	SiteRule string     `json:"site_rule"`
	Dumps    []DumpInfo `json:"dumps"`
}

const siteRule = "A memprof stack (innermost first) is attributed to its first frame whose " +
	"function name does not start with \"runtime.\" or \"internal/runtime/\". alloc_site and " +
	"container_site name such functions; transient_sites too."

// DumpInfo describes one dump file.
type DumpInfo struct {
	File     string   `json:"file"`
	MemStats MemStats `json:"memstats"`
	// Globals: package-level variables relevant to the scenario. Addr is
	// the address of the variable itself; for main.registry (a pointer to
	// a statically allocated Registry) the word holding the heap pointer
	// is main.registry.old, listed separately.
	Globals []Global `json:"globals"`
	// StuckGoroutines: handler goroutines blocked while holding payload.
	StuckGoroutines []StuckG `json:"stuck_goroutines"`
	// Leak: what the program itself allocated and keeps live at the dump.
	Leak Leak `json:"leak"`
}

// MemStats are read after the two runtime.GC() calls, right before
// WriteHeapDump.
type MemStats struct {
	HeapAlloc   uint64 `json:"HeapAlloc"`
	HeapObjects uint64 `json:"HeapObjects"`
	NumGC       uint32 `json:"NumGC"`
}

// Global is a package-level variable.
type Global struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	// HoldsPayload: this word is the root that keeps the payload alive.
	HoldsPayload bool `json:"holds_payload"`
}

// StuckG is a goroutine blocked in a handler.
type StuckG struct {
	Goid     int64  `json:"goid"`
	Function string `json:"function"`
	// PayloadObjects / PayloadBytes: what this goroutine's frame holds.
	PayloadObjects int   `json:"payload_objects"`
	PayloadBytes   int64 `json:"payload_bytes"`
}

// Leak summarizes the accumulated payload.
type Leak struct {
	// Kind: "global", "goroutine" or "none".
	Kind string `json:"kind"`
	// Root: name of the global (kind global) or the frame function (kind
	// goroutine) that keeps the payload alive.
	Root string `json:"root"`
	// AllocSite: the function (first non-runtime frame of the memprof
	// stack, see SiteRule) that allocated every payload object.
	AllocSite string `json:"alloc_site"`
	// ContainerSite: the function that allocated the container holding
	// the payload (map tables, the old-configs slice), when it differs
	// from AllocSite. A container bucket's group retained covers the
	// payload too, so the top site by retained is AllocSite or
	// ContainerSite. Empty when there is none.
	ContainerSite string `json:"container_site"`
	// Entries: sessions / stuck requests / configs live at the dump.
	Entries int `json:"entries"`
	// PayloadObjects: number of live heap objects the code of AllocSite
	// allocated (exact count of its own allocations). Buckets attributed
	// to AllocSite hold at least this many reachable objects: runtime
	// allocations made on its behalf (e.g. a sudog for its channel
	// receive) can add a few.
	PayloadObjects int `json:"payload_objects"`
	// PayloadBytes: sum of the requested sizes of those objects (a lower
	// bound: the dump records slot sizes, which are >= requested).
	PayloadBytes int64 `json:"payload_bytes"`
	// RootOnlyBytes: the part of PayloadBytes reachable only through Root
	// (config-registry: the newest config is also held by
	// registry.current, so it is excluded). Equal to PayloadBytes otherwise.
	RootOnlyBytes int64 `json:"root_only_bytes"`
	// TransientSites: functions that allocated only garbage before the
	// dump; their objects must be unreachable (or absent) in the dump.
	TransientSites []string `json:"transient_sites"`
	Notes          string   `json:"notes,omitempty"`
}

var (
	scenarioFlag = flag.String("scenario", "", "global-map | goroutine-stack | config-registry | control | big")
	outFlag      = flag.String("out", "", "output directory (fixtures) or file (big)")
	heapMiB      = flag.Int("heap-mib", 1024, "big: live heap to build, MiB")
	rateFlag     = flag.Int("rate", 1, "big: runtime.MemProfileRate during the build")
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("heapdump: ")
	flag.Parse()
	if *outFlag == "" {
		log.Fatal("-out is required")
	}
	if *scenarioFlag == "big" {
		runBig(*outFlag, *heapMiB, *rateFlag)
		return
	}
	run, ok := scenarios[*scenarioFlag]
	if !ok {
		log.Fatalf("unknown -scenario %q", *scenarioFlag)
	}
	if err := os.MkdirAll(*outFlag, 0o755); err != nil {
		log.Fatal(err)
	}
	startBaseline()
	exp := &Expected{
		Scenario:       *scenarioFlag,
		GoVersion:      runtime.Version(),
		GOARCH:         runtime.GOARCH,
		MemProfileRate: runtime.MemProfileRate,
		SiteRule:       siteRule,
	}
	run(exp, *outFlag)
	data, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(*outFlag, "expected.json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", path)
}

var scenarios = map[string]func(*Expected, string){
	"global-map":      runGlobalMap,
	"goroutine-stack": runGoroutineStack,
	"config-registry": runConfigRegistry,
	"control":         runControl,
}

// dump writes dir/<n>.heapdump after two GCs and returns the MemStats read
// just before WriteHeapDump. The file is created first so the *os.File is
// not allocated between the GCs and the dump.
func dump(dir string, n int) MemStats {
	path := filepath.Join(dir, strconv.Itoa(n)+".heapdump")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	debug.WriteHeapDump(f.Fd())
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", path)
	return MemStats{HeapAlloc: ms.HeapAlloc, HeapObjects: ms.HeapObjects, NumGC: ms.NumGC}
}

func dumpFile(n int) string { return strconv.Itoa(n) + ".heapdump.gz" }

func addr[T any](p *T) string { return fmt.Sprintf("%#x", uintptr(unsafePointer(p))) }

// curGoid parses the first line of runtime.Stack: "goroutine 123 [running]:".
func curGoid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := strings.Fields(string(buf[:n]))
	if len(f) < 2 || f[0] != "goroutine" {
		log.Fatalf("cannot parse goroutine id from %q", buf[:n])
	}
	id, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		log.Fatal(err)
	}
	return id
}
