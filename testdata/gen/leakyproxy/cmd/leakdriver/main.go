// Command leakdriver builds leakyproxy, runs every leak scenario under a
// bounded HTTP/1.1 + HTTP/2 load with steady configuration reloads and
// captures heap/goroutine profiles and /metrics scrapes into
// testdata/leaks/<scenario>/.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type scenario struct {
	name       string
	flags      []string
	categories []string
}

var allScenarios = []scenario{
	{name: "http-request", flags: []string{"-leak-http-request"}, categories: []string{"http-request"}},
	{name: "config-reload", flags: []string{"-leak-config-reload"}, categories: []string{"config-reload"}},
	{name: "metrics", flags: []string{"-leak-metrics"}, categories: []string{"metrics"}},
	{name: "all-three", flags: []string{"-leak-http-request", "-leak-config-reload", "-leak-metrics"}, categories: []string{"http-request", "config-reload", "metrics"}},
	{name: "fixed", flags: []string{}, categories: []string{}},
}

type options struct {
	module        string
	out           string
	goBin         string
	proxyBin      string
	scenarios     string
	snapshots     int
	interval      time.Duration
	warmup        time.Duration
	reloadEvery   time.Duration
	watchInterval time.Duration
	rps           int
	workersH1     int
	workersH2     int
	attempts      int
	minLeak       int64
	maxOther      int64
	maxFixed      int64
	maxFixedStep  int64
}

func main() {
	var o options
	flag.StringVar(&o.module, "module", ".", "leakyproxy module directory (to build the proxy)")
	flag.StringVar(&o.out, "out", "", "output directory (testdata/leaks)")
	flag.StringVar(&o.goBin, "go", defaultGo(), "go command")
	flag.StringVar(&o.proxyBin, "proxy-bin", "", "prebuilt leakyproxy binary (default: go build into a temp dir)")
	flag.StringVar(&o.scenarios, "scenarios", "http-request,config-reload,metrics,all-three,fixed", "comma-separated scenarios")
	flag.IntVar(&o.snapshots, "snapshots", 6, "number of snapshots per scenario")
	flag.DurationVar(&o.interval, "interval", 2*time.Second, "interval between snapshots")
	flag.DurationVar(&o.warmup, "warmup", 4*time.Second, "load + reloads before the first snapshot")
	flag.DurationVar(&o.reloadEvery, "reload-every", 200*time.Millisecond, "configuration rewrite interval")
	flag.DurationVar(&o.watchInterval, "watch-interval", 50*time.Millisecond, "proxy configuration poll interval")
	flag.IntVar(&o.rps, "rps", 320, "total request rate")
	flag.IntVar(&o.workersH1, "workers-h1", 2, "HTTP/1.1 workers (web entry point)")
	flag.IntVar(&o.workersH2, "workers-h2", 2, "HTTP/2 workers (websecure entry point)")
	flag.IntVar(&o.attempts, "attempts", 1, "runs per scenario until the growth check passes; the default 1 keeps fixtures an unselected draw (the check then only reports)")
	flag.Int64Var(&o.minLeak, "min-leak-growth", 4<<20, "check: min first->last in-use growth of each injected leak (bytes)")
	flag.Int64Var(&o.maxOther, "max-other-growth", 1536<<10, "check: max first->last growth of a category that does not leak (bytes)")
	flag.Int64Var(&o.maxFixed, "max-fixed-growth", 600<<10, "check: max |first->last| total in-use change without leak (bytes)")
	flag.Int64Var(&o.maxFixedStep, "max-fixed-step", 1100<<10, "check: max |change| of the total in-use heap between consecutive snapshots without leak (bytes)")
	flag.Parse()

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "leakdriver:", err)
		os.Exit(1)
	}
}

func defaultGo() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

func run(o options) error {
	if o.out == "" {
		return errors.New("-out is required")
	}
	if o.snapshots < 2 || o.rps <= 0 || o.workersH1+o.workersH2 == 0 {
		return errors.New("invalid snapshots/rps/workers")
	}
	selected := map[string]bool{}
	for _, s := range strings.Split(o.scenarios, ",") {
		selected[strings.TrimSpace(s)] = true
	}

	tmp, err := os.MkdirTemp("", "leakdriver-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bin := o.proxyBin
	if bin == "" {
		bin = filepath.Join(tmp, "leakyproxy")
		logf("building leakyproxy (%s)", o.module)
		cmd := exec.Command(o.goBin, "build", "-trimpath", "-o", bin, "./cmd/leakyproxy")
		cmd.Dir = o.module
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}

	var failed []string
	for _, sc := range allScenarios {
		if !selected[sc.name] {
			continue
		}
		var res *scenarioResult
		for attempt := 1; attempt <= o.attempts; attempt++ {
			res, err = runScenario(o, sc, bin, tmp)
			if err != nil {
				return fmt.Errorf("scenario %s: %w", sc.name, err)
			}
			res.meta.Attempts = attempt
			heaps := make([][]byte, len(res.caps))
			for i, c := range res.caps {
				heaps[i] = c.heap
			}
			check, err := checkGrowth(heaps, sc.categories, o.minLeak, o.maxOther, o.maxFixed, o.maxFixedStep)
			if err != nil {
				return fmt.Errorf("scenario %s: %w", sc.name, err)
			}
			res.meta.Check = check
			logf("scenario %s attempt %d: in-use growth %d B, by category %v: %s",
				sc.name, attempt, check.InuseGrowthBytes, check.CategoryGrowthBytes, check.Reason)
			if check.Passed {
				break
			}
		}
		if err := writeScenario(o, sc, res); err != nil {
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		if !res.meta.Check.Passed {
			failed = append(failed, sc.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("growth check failed after %d attempts for %v (fixtures written anyway)", o.attempts, failed)
	}
	return nil
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "[leakdriver %s] %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

type snapshotMeta struct {
	Index         int    `json:"index"`
	Heap          string `json:"heap"`
	Goroutine     string `json:"goroutine"`
	Metrics       string `json:"metrics"`
	ElapsedMS     int64  `json:"elapsed_ms"`
	Requests      int64  `json:"requests"`
	ConfigWrites  int64  `json:"config_writes"`
	ConfigReloads int64  `json:"config_reloads"`
	Goroutines    int64  `json:"goroutines"`
}

type leakSwitches struct {
	HTTPRequest  bool `json:"http-request"`
	ConfigReload bool `json:"config-reload"`
	Metrics      bool `json:"metrics"`
}

type responseClasses struct {
	C2xx int64 `json:"2xx"`
	C3xx int64 `json:"3xx"`
	C4xx int64 `json:"4xx"`
	C5xx int64 `json:"5xx"`
}

type meta struct {
	Scenario             string          `json:"scenario"`
	Flags                []string        `json:"flags"`
	LeakSwitches         leakSwitches    `json:"leak_switches"`
	GoVersion            string          `json:"go_version"`
	GOOSArch             string          `json:"goos_goarch"`
	MemProfileRate       int             `json:"mem_profile_rate"`
	WarmupMS             int64           `json:"warmup_ms"`
	SnapshotIntervalMS   int64           `json:"snapshot_interval_ms"`
	SnapshotCount        int             `json:"snapshot_count"`
	ReloadIntervalMS     int64           `json:"reload_interval_ms"`
	WatchIntervalMS      int64           `json:"watch_interval_ms"`
	TargetRPS            int             `json:"target_rps"`
	WorkersHTTP1         int             `json:"workers_http1"`
	WorkersHTTP2         int             `json:"workers_http2"`
	RequestsTotal        int64           `json:"requests_total"`
	RequestsHTTP1        int64           `json:"requests_http1"`
	RequestsHTTP2        int64           `json:"requests_http2"`
	RequestErrors        int64           `json:"request_errors"`
	Responses            responseClasses `json:"responses"`
	ConfigWritesTotal    int64           `json:"config_writes_total"`
	ConfigReloadsApplied int64           `json:"config_reloads_applied"`
	Attempts             int             `json:"attempts"`
	Check                growthCheck     `json:"check"`
	Snapshots            []snapshotMeta  `json:"snapshots"`
}

type capture struct {
	heap, goroutine, metrics []byte
	meta                     snapshotMeta
}

type scenarioResult struct {
	caps []capture
	meta meta
}

type expected struct {
	LeakingCategories []string `json:"leaking_categories"`
}

func runScenario(o options, sc scenario, bin, tmp string) (*scenarioResult, error) {
	logf("scenario %s: flags %v", sc.name, sc.flags)
	dir := filepath.Join(tmp, sc.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "dynamic.json")
	stderrPath := filepath.Join(dir, "proxy.stderr")
	stderrFile, err := os.Create(stderrPath)
	if err != nil {
		return nil, err
	}
	defer stderrFile.Close()

	args := append([]string{"-config", cfgPath, "-watch-interval", o.watchInterval.String()}, sc.flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = stderrFile
	cmd.Env = append(os.Environ(), "GODEBUG=", "GOGC=", "GOMEMLIMIT=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	dumpStderr := func() {
		if b, err := os.ReadFile(stderrPath); err == nil && len(b) > 0 {
			logf("proxy stderr:\n%s", b)
		}
	}

	addrs, err := readAddrs(stdout, 15*time.Second)
	if err != nil {
		dumpStderr()
		return nil, err
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	logf("proxy addresses: %v", addrs)
	for _, k := range []string{"web", "websecure", "admin", "backend"} {
		if !strings.HasPrefix(addrs[k], "127.0.0.1:") {
			return nil, fmt.Errorf("unexpected %s address %q", k, addrs[k])
		}
	}
	backendURL := "http://" + addrs["backend"]
	admin := "http://" + addrs["admin"]
	adminClient := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer adminClient.CloseIdleConnections()

	// Generation 0, then wait until it is served.
	var writes atomic.Int64
	if err := writeConfig(cfgPath, 0, backendURL); err != nil {
		return nil, err
	}
	writes.Add(1)
	if err := waitReady(adminClient, admin, "http://"+addrs["web"]+"/health", 15*time.Second); err != nil {
		dumpStderr()
		return nil, err
	}

	// Prime the admin endpoints once (lazy initialisations in pprof, gzip,
	// crc32 tables, promhttp) so that they do not show up as growth between
	// snapshot 00 and the later ones.
	for _, path := range []string{"/debug/pprof/heap", "/debug/pprof/goroutine", "/metrics"} {
		if _, err := fetch(adminClient, admin+path); err != nil {
			return nil, err
		}
	}

	runFor := o.warmup + time.Duration(o.snapshots-1)*o.interval
	maxRequests := int64(float64(o.rps) * (runFor + 5*time.Second).Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), runFor+30*time.Second)
	defer cancel()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()

	stats := &loadStats{}
	start := time.Now()
	waitLoad, clients := startLoad(loadCtx, addrs, o.workersH1, o.workersH2, o.rps, maxRequests, stats)

	// Reloader: rewrite the configuration file at a steady rate and ask for
	// an immediate re-read (the poller would pick it up anyway).
	var reloaderWG sync.WaitGroup
	var reloadErr atomic.Value
	reloaderWG.Add(1)
	go func() {
		defer reloaderWG.Done()
		ticker := time.NewTicker(o.reloadEvery)
		defer ticker.Stop()
		for gen := 1; ; gen++ {
			select {
			case <-loadCtx.Done():
				return
			case <-ticker.C:
			}
			if err := writeConfig(cfgPath, gen, backendURL); err != nil {
				reloadErr.Store(err)
				return
			}
			writes.Add(1)
			if resp, err := adminClient.Post(admin+"/api/reload", "application/json", nil); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}
	}()

	var caps []capture
	var captureErr error
	for i := 0; i < o.snapshots; i++ {
		target := start.Add(o.warmup + time.Duration(i)*o.interval)
		time.Sleep(time.Until(target))
		c := capture{meta: snapshotMeta{
			Index:     i,
			Heap:      fmt.Sprintf("%02d-heap.pb.gz", i),
			Goroutine: fmt.Sprintf("%02d-goroutine.pb.gz", i),
			Metrics:   fmt.Sprintf("%02d-metrics.txt.gz", i),
		}}
		c.meta.ElapsedMS = time.Since(start).Milliseconds()
		c.meta.Requests = stats.total.Load()
		c.meta.ConfigWrites = writes.Load()
		if c.heap, captureErr = fetch(adminClient, admin+"/debug/pprof/heap?gc=1"); captureErr != nil {
			break
		}
		if c.goroutine, captureErr = fetch(adminClient, admin+"/debug/pprof/goroutine"); captureErr != nil {
			break
		}
		var metricsText []byte
		if metricsText, captureErr = fetch(adminClient, admin+"/metrics"); captureErr != nil {
			break
		}
		c.meta.ConfigReloads = scrapeValue(metricsText, "traefik_config_reloads_total")
		c.meta.Goroutines = scrapeValue(metricsText, "go_goroutines")
		if c.metrics, captureErr = gzipBytes(metricsText); captureErr != nil {
			break
		}
		logf("  snapshot %d at %dms: requests=%d writes=%d reloads=%d goroutines=%d heap=%dB",
			i, c.meta.ElapsedMS, c.meta.Requests, c.meta.ConfigWrites, c.meta.ConfigReloads, c.meta.Goroutines, len(c.heap))
		caps = append(caps, c)
	}

	stopLoad()
	waitLoad()
	reloaderWG.Wait()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	// Final reload count once the load and the reloader have stopped.
	finalReloads := int64(-1)
	if captureErr == nil && len(caps) > 0 {
		if text, err := fetch(adminClient, admin+"/metrics"); err == nil {
			finalReloads = scrapeValue(text, "traefik_config_reloads_total")
		}
	}

	// Stop the proxy cleanly.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			dumpStderr()
			return nil, fmt.Errorf("proxy exited with error: %w", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		stopped = true
		return nil, errors.New("proxy did not stop within 10s after SIGTERM")
	}

	if captureErr != nil {
		dumpStderr()
		return nil, captureErr
	}
	if err, ok := reloadErr.Load().(error); ok && err != nil {
		return nil, err
	}
	if e := stats.errors.Load(); e > stats.total.Load()/100 {
		dumpStderr()
		return nil, fmt.Errorf("too many request errors: %d of %d", e, stats.total.Load())
	}

	m := meta{
		Scenario: sc.name,
		Flags:    append([]string{}, sc.flags...),
		LeakSwitches: leakSwitches{
			HTTPRequest:  contains(sc.categories, "http-request"),
			ConfigReload: contains(sc.categories, "config-reload"),
			Metrics:      contains(sc.categories, "metrics"),
		},
		GoVersion:          runtime.Version(),
		GOOSArch:           runtime.GOOS + "/" + runtime.GOARCH,
		MemProfileRate:     512 * 1024,
		WarmupMS:           o.warmup.Milliseconds(),
		SnapshotIntervalMS: o.interval.Milliseconds(),
		SnapshotCount:      len(caps),
		ReloadIntervalMS:   o.reloadEvery.Milliseconds(),
		WatchIntervalMS:    o.watchInterval.Milliseconds(),
		TargetRPS:          o.rps,
		WorkersHTTP1:       o.workersH1,
		WorkersHTTP2:       o.workersH2,
		RequestsTotal:      stats.total.Load(),
		RequestsHTTP1:      stats.http1.Load(),
		RequestsHTTP2:      stats.http2.Load(),
		RequestErrors:      stats.errors.Load(),
		Responses: responseClasses{
			C2xx: stats.class2xx.Load(), C3xx: stats.class3xx.Load(),
			C4xx: stats.class4xx.Load(), C5xx: stats.class5xx.Load(),
		},
		ConfigWritesTotal:    writes.Load(),
		ConfigReloadsApplied: finalReloads,
	}
	for _, c := range caps {
		m.Snapshots = append(m.Snapshots, c.meta)
	}

	return &scenarioResult{caps: caps, meta: m}, nil
}

// writeScenario replaces the scenario output directory.
func writeScenario(o options, sc scenario, res *scenarioResult) error {
	caps, m := res.caps, res.meta
	outDir := filepath.Join(o.out, sc.name)
	if err := os.RemoveAll(outDir); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, c := range caps {
		for name, data := range map[string][]byte{c.meta.Heap: c.heap, c.meta.Goroutine: c.goroutine, c.meta.Metrics: c.metrics} {
			if err := os.WriteFile(filepath.Join(outDir, name), data, 0o644); err != nil {
				return err
			}
		}
	}
	cats := sc.categories
	if cats == nil {
		cats = []string{}
	}
	if err := writeJSON(filepath.Join(outDir, "expected.json"), expected{LeakingCategories: cats}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(outDir, "meta.json"), m); err != nil {
		return err
	}
	logf("scenario %s done: %d requests (h1=%d h2=%d, errors=%d), %d config writes, %d reloads applied",
		sc.name, m.RequestsTotal, m.RequestsHTTP1, m.RequestsHTTP2, m.RequestErrors, m.ConfigWritesTotal, m.ConfigReloadsApplied)
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func readAddrs(r io.Reader, timeout time.Duration) (map[string]string, error) {
	type result struct {
		addrs map[string]string
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil {
			ch <- result{err: fmt.Errorf("reading address line: %w", err)}
			return
		}
		var addrs map[string]string
		if err := json.Unmarshal([]byte(line), &addrs); err != nil {
			ch <- result{err: fmt.Errorf("parsing address line %q: %w", line, err)}
			return
		}
		ch <- result{addrs: addrs}
	}()
	select {
	case res := <-ch:
		return res.addrs, res.err
	case <-time.After(timeout):
		return nil, errors.New("timeout waiting for the address line")
	}
}

func waitReady(client *http.Client, admin, healthURL string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer c.CloseIdleConnections()
	for time.Now().Before(deadline) {
		if resp, err := client.Post(admin+"/api/reload", "application/json", nil); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		if resp, err := c.Get(healthURL); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("proxy did not become ready")
}

func fetch(client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// No gzip: keeps promhttp's pooled flate writers out of the heap profiles.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// scrapeValue returns the value of an unlabelled sample in a text exposition.
func scrapeValue(text []byte, name string) int64 {
	for _, line := range bytes.Split(text, []byte("\n")) {
		fields := strings.Fields(string(line))
		if len(fields) == 2 && fields[0] == name {
			if v, err := strconv.ParseFloat(fields[1], 64); err == nil {
				return int64(v)
			}
		}
	}
	return -1
}

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(path string, v interface{}) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
