package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

func unsafePointer[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

// Sizes of the records main.slowHandler holds. Variables, not constants,
// so make() cannot be stack-allocated by escape analysis: the backing array
// and the data slices are heap objects pointed to from the handler's frame.
var (
	slowRecords  = 256  // records per stuck request
	slowDataSize = 1024 // bytes of data per record
)

// Record is what main.slowHandler builds: 40 bytes, 48-byte slot.
type Record struct {
	ID   int64
	Data []byte
	Peer *Record
}

var (
	baseURL string
	// release is never closed while dumps are written: stuck handlers
	// block on it.
	release = make(chan struct{})
	// started receives the goid of each handler that finished building
	// its records and is about to block.
	started = make(chan int64, 16)
	sink    any
)

// startBaseline starts the HTTP server every scenario shares, makes a few
// quick requests (their garbage is collected before the dumps) and churns
// some transient garbage.
func startBaseline() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", slowHandler)
	mux.HandleFunc("/quick", quickHandler)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	baseURL = "http://" + ln.Addr().String()
	for i := 0; i < 4; i++ {
		quickRequest()
	}
	churn(2048)
}

// slowHandler builds slowRecords records (a slice of pointers, each record
// with its own data slice) in a local variable, reports its goid and
// blocks until release is closed. Only its stack frame keeps the records
// alive.
func slowHandler(w http.ResponseWriter, r *http.Request) {
	n := slowRecords
	recs := make([]*Record, n)
	for i := range recs {
		rec := &Record{ID: int64(i), Data: make([]byte, slowDataSize)}
		rec.Data[0] = byte(i)
		if i > 0 {
			rec.Peer = recs[i-1]
		}
		recs[i] = rec
	}
	started <- curGoid()
	<-release
	runtime.KeepAlive(recs)
	fmt.Fprintf(w, "%d records\n", len(recs))
}

// slowPayload: objects and requested bytes one slowHandler call holds.
func slowPayload() (objects int, bytes int64) {
	n := int64(slowRecords)
	objects = 1 + 2*slowRecords
	bytes = n*int64(unsafe.Sizeof((*Record)(nil))) + n*int64(unsafe.Sizeof(Record{})) + n*int64(slowDataSize)
	return
}

// quickHandler allocates transient garbage and answers at once.
func quickHandler(w http.ResponseWriter, r *http.Request) {
	var total int
	for i := 0; i < 64; i++ {
		b := make([]byte, 1024)
		b[0] = byte(i)
		sink = b
		total += len(b)
	}
	sink = nil
	fmt.Fprintf(w, "%d\n", total)
}

//go:noinline
func quickRequest() {
	resp, err := http.Get(baseURL + "/quick")
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// churn allocates n KiB of garbage in 1 KiB pieces.
//
//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		b := make([]byte, 1024)
		b[0] = byte(i)
		sink = b
	}
	sink = nil
}

// fetchSlow issues one /slow request; it returns only after release.
func fetchSlow() {
	resp, err := http.Get(baseURL + "/slow")
	if err != nil {
		log.Print(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// startSlow issues n /slow requests and returns the goids of the handler
// goroutines once each is parked on the release channel.
func startSlow(n int) []int64 {
	for i := 0; i < n; i++ {
		go fetchSlow()
	}
	ids := make([]int64, 0, n)
	for i := 0; i < n; i++ {
		ids = append(ids, <-started)
	}
	waitParked(ids)
	return ids
}

// waitParked polls the goroutine dump until every goroutine in ids is
// blocked in "chan receive".
func waitParked(ids []int64) {
	buf := make([]byte, 1<<20)
	for try := 0; try < 500; try++ {
		n := runtime.Stack(buf, true)
		all := string(buf[:n])
		ok := true
		for _, id := range ids {
			if !strings.Contains(all, "goroutine "+strconv.FormatInt(id, 10)+" [chan receive") {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	log.Fatalf("handlers %v never parked", ids)
}
