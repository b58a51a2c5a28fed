package main

// The benchmark dump: heapdump -scenario big -heap-mib N -out FILE [-rate R]
//
// Builds about N MiB of live heap and writes an UNCOMPRESSED dump to FILE.
// Never commit the output. The live heap is a mix, by bytes:
//
//	~40% 64 long linked chains of chainNode (56 B, 64 B slots)
//	~30% map[int64]*bigItem: item (64 B, 4 pointer words) + 192 B blob
//	     + left/right links to earlier items
//	~30% 4 KiB byte slices held by a [][]byte
//
// which is about 8.9 M live objects for N=1024.
//
// Observed (go1.26.8 linux/amd64, 2 vCPU / 23 GB VM, local disk),
// -heap-mib 1024 -rate 1, two runs:
//
//	HeapAlloc 1066334856 B, HeapObjects 8941483
//	build (allocation at MemProfileRate=1) 14.1 s (20.6 s in a run that
//	shared the CPUs), 2×runtime.GC() 1.7 s, WriteHeapDump 4.4-4.5 s,
//	whole process 20.3 s wall, max RSS 1.28 GB
//	file 1339151876 bytes (1.26× HeapAlloc): 9192855 object records
//	(~251 k more than HeapObjects, presumably the tail-slot phantoms
//	of the research notes §5), 8941124
//	allocsample records, 23 memprof buckets, 36 goroutines
//
// Rate 1 was fast enough that -rate stays at its default of 1 (per the
// runtime docs, -rate 0 would turn sampling off).

import (
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"time"
)

type chainNode struct {
	next *chainNode
	val  [6]int64
}

type bigItem struct {
	Name  string
	Left  *bigItem
	Right *bigItem
	Blob  []byte
	ID    int64
}

var (
	bigChains [64]*chainNode
	bigItems  map[int64]*bigItem
	bigBlobs  [][]byte
)

func runBig(out string, mib, rate int) {
	runtime.MemProfileRate = rate
	total := int64(mib) << 20
	t0 := time.Now()

	// Chains: 40% of the bytes in 64-byte nodes.
	chainBytes := total * 40 / 100
	nodes := chainBytes / 64
	for i := int64(0); i < nodes; i++ {
		c := i % int64(len(bigChains))
		bigChains[c] = &chainNode{next: bigChains[c], val: [6]int64{i}}
	}

	// Map of items: 30%, about 256 B of slots per entry plus map groups.
	itemBytes := total * 30 / 100
	nitems := itemBytes / 300
	bigItems = make(map[int64]*bigItem, nitems)
	var prev *bigItem
	for i := int64(0); i < nitems; i++ {
		it := &bigItem{ID: i, Blob: make([]byte, 192), Left: prev}
		if i >= 1000 {
			it.Right = bigItems[i-1000]
		}
		bigItems[i] = it
		prev = it
	}
	prev = nil

	// Byte slices: 30% in 4 KiB blocks.
	blobBytes := total * 30 / 100
	nblobs := blobBytes / 4096
	bigBlobs = make([][]byte, 0, nblobs)
	for i := int64(0); i < nblobs; i++ {
		b := make([]byte, 4096)
		b[0] = byte(i)
		bigBlobs = append(bigBlobs, b)
	}
	build := time.Since(t0)

	f, err := os.Create(out)
	if err != nil {
		log.Fatal(err)
	}
	var ms runtime.MemStats
	tgc := time.Now()
	runtime.GC()
	runtime.GC()
	gcTime := time.Since(tgc)
	runtime.ReadMemStats(&ms)
	t1 := time.Now()
	debug.WriteHeapDump(f.Fd())
	dumpTime := time.Since(t1)
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	st, err := os.Stat(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "big: heap-mib=%d rate=%d HeapAlloc=%d HeapObjects=%d build=%s 2xGC=%s WriteHeapDump=%s file=%d bytes (%.2fx HeapAlloc)\n",
		mib, rate, ms.HeapAlloc, ms.HeapObjects, build.Round(time.Millisecond),
		gcTime.Round(time.Millisecond), dumpTime.Round(time.Millisecond),
		st.Size(), float64(st.Size())/float64(ms.HeapAlloc))
	runtime.KeepAlive(bigChains)
}
