package main

import (
	"strconv"
	"sync"
	"unsafe"
)

var transientSites = []string{"main.churn", "main.quickHandler"}

// ---------------------------------------------------------------- global-map

const (
	sessionsDump1   = 100  // sessions live at dump 1
	sessionsDump2   = 250  // sessions live at dump 2 (2.5x)
	sessionPayload  = 4096 // bytes of Session.Payload
	sessionRoleName = "operator-role-name"
)

// Session: 48 bytes, pointerful.
type Session struct {
	ID      int64
	User    *User
	Payload []byte
	Created int64
}

// User: 48 bytes; points back at its session (a cycle).
type User struct {
	Name    string
	Roles   []string
	Session *Session
}

type store struct{}

// sessions only grows: the leak. The map value is a pointer word in bss.
var sessions = map[string]*Session{}

var theStore store

// remember allocates one session: the Session, its User and its payload
// (3 objects). The map insert happens in put, the key in sessionKey, so
// no other allocation has remember as its first non-runtime frame.
//
//go:noinline
func (s *store) remember(i int) {
	sess := &Session{ID: int64(i), Created: int64(1700000000 + i)}
	sess.User = &User{Name: sessionRoleName, Session: sess}
	sess.Payload = make([]byte, sessionPayload)
	sess.Payload[0] = byte(i)
	s.put(sessionKey(i), sess)
}

//go:noinline
func (s *store) put(key string, sess *Session) { sessions[key] = sess }

// sessionKey returns "session-%012d": 20 bytes, so not a tiny allocation.
//
//go:noinline
func sessionKey(i int) string {
	var buf [32]byte
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(i), 10)
	b := append(buf[:0], "session-"...)
	for pad := 12 - len(d); pad > 0; pad-- {
		b = append(b, '0')
	}
	b = append(b, d...)
	return string(b)
}

func sessionPayloadOf(n int) (objects int, bytes int64) {
	per := int64(unsafe.Sizeof(Session{})) + int64(unsafe.Sizeof(User{})) + sessionPayload
	return 3 * n, per * int64(n)
}

func runGlobalMap(exp *Expected, dir string) {
	exp.Description = "package-level map main.sessions grows; each Session (+User, +4 KiB payload) is allocated by main.(*store).remember"
	live := 0
	for i, target := range []int{sessionsDump1, sessionsDump2} {
		for ; live < target; live++ {
			theStore.remember(live)
		}
		churn(1024)
		quickRequest()
		objs, bytes := sessionPayloadOf(live)
		info := DumpInfo{
			File:    dumpFile(i + 1),
			Globals: []Global{{Name: "main.sessions", Addr: addr(&sessions), HoldsPayload: true}},
			Leak: Leak{
				Kind:           "global",
				Root:           "main.sessions",
				AllocSite:      "main.(*store).remember",
				ContainerSite:  "main.(*store).put",
				Entries:        live,
				PayloadObjects: objs,
				PayloadBytes:   bytes,
				RootOnlyBytes:  bytes,
				TransientSites: transientSites,
				Notes:          "map internals are allocated by main.(*store).put, keys by main.sessionKey; both are retained by main.sessions too but not counted in payload",
			},
		}
		info.StuckGoroutines = []StuckG{}
		info.MemStats = dump(dir, i+1)
		exp.Dumps = append(exp.Dumps, info)
	}
}

// ----------------------------------------------------------- goroutine-stack

func runGoroutineStack(exp *Expected, dir string) {
	exp.Description = "net/http handler main.slowHandler builds records in a local slice and blocks on a channel; 1 stuck request at dump 1, 4 at dump 2"
	var ids []int64
	perObjs, perBytes := slowPayload()
	for i, target := range []int{1, 4} {
		ids = append(ids, startSlow(target-len(ids))...)
		churn(1024)
		quickRequest()
		info := DumpInfo{
			File:    dumpFile(i + 1),
			Globals: []Global{},
			Leak: Leak{
				Kind:           "goroutine",
				Root:           "main.slowHandler",
				AllocSite:      "main.slowHandler",
				Entries:        len(ids),
				PayloadObjects: perObjs * len(ids),
				PayloadBytes:   perBytes * int64(len(ids)),
				RootOnlyBytes:  perBytes * int64(len(ids)),
				TransientSites: transientSites,
				Notes:          "each stuck goroutine's main.slowHandler frame alone holds payload_objects/entries objects; the goroutine node (which owns the frame) retains it too. The runtime may allocate a sudog for the channel receive on behalf of main.slowHandler (not counted in payload).",
			},
		}
		for _, id := range ids {
			info.StuckGoroutines = append(info.StuckGoroutines, StuckG{
				Goid: id, Function: "main.slowHandler",
				PayloadObjects: perObjs, PayloadBytes: perBytes,
			})
		}
		info.MemStats = dump(dir, i+1)
		exp.Dumps = append(exp.Dumps, info)
	}
}

// ----------------------------------------------------------- config-registry

// Sizes of one config. Variables so make() sizes are not constant.
var (
	configRoutes   = 80   // routes per config: []*Route is 640 B (malloc header)
	configCertSize = 2048 // bytes of Config.Cert
)

const (
	configsDump1 = 20 // reloads before dump 1
	configsDump2 = 50 // reloads before dump 2 (2.5x)
)

// Handler is one link of a config's handler chain.
type Handler interface{ Serve(path string) string }

// HandlerFunc is the innermost handler: a closure.
type HandlerFunc func(string) string

func (f HandlerFunc) Serve(p string) string { return f(p) }

type middleware struct {
	name string
	next Handler
	opts *mwOptions
}

func (m *middleware) Serve(p string) string { return m.next.Serve(m.opts.Prefix + p) }

type mwOptions struct {
	Headers []string
	Limit   int
	Prefix  string
}

// Route of a config.
type Route struct {
	Path     string
	Service  string
	Priority int
	Handler  Handler
	Labels   map[string]string
}

// Config is one generation of the dynamic configuration.
type Config struct {
	Name   string
	Gen    int
	Routes []*Route
	Chain  Handler
	Labels map[string]string
	Cert   []byte
	// What reloadConfig allocated for this config (not heap data the
	// program uses, just bookkeeping for expected.json).
	allocObjects int
	allocBytes   int64
}

// Registry keeps the current config and, by mistake, every old one.
type Registry struct {
	mu      sync.Mutex
	current *Config
	old     []*Config
	reloads int
}

var registry = &Registry{}

var middlewareNames = [...]string{"strip-prefix", "rate-limit", "headers", "retry"}

// reloadConfig builds a config generation: name, Config, routes slice,
// 80 × (path string + Route), cert bytes, the closure at the bottom of the
// handler chain and 4 × (mwOptions + middleware). The labels map is built
// by buildLabels and the registry append happens in install, so every
// object whose first non-runtime frame is reloadConfig is counted here.
//
//go:noinline
func reloadConfig(gen int) *Config {
	objs, bytes := 0, int64(0)
	var buf [64]byte

	b := append(buf[:0], "traefik-dynamic-config-gen-"...)
	b = strconv.AppendInt(b, int64(gen), 10)
	name := string(b)
	objs, bytes = objs+1, bytes+int64(len(name))

	cfg := &Config{Name: name, Gen: gen}
	objs, bytes = objs+1, bytes+int64(unsafe.Sizeof(Config{}))

	cfg.Labels = buildLabels(gen)

	cfg.Cert = make([]byte, configCertSize)
	cfg.Cert[0] = byte(gen)
	objs, bytes = objs+1, bytes+int64(configCertSize)

	prefix := name
	var h Handler = HandlerFunc(func(p string) string { return prefix + p })
	// The closure object holds the code pointer and the captured string.
	objs, bytes = objs+1, bytes+int64(unsafe.Sizeof(struct {
		fn uintptr
		s  string
	}{}))
	for i, mw := range middlewareNames {
		opts := &mwOptions{Limit: 100 * (i + 1), Prefix: "/mw"}
		h = &middleware{name: mw, next: h, opts: opts}
		objs, bytes = objs+2, bytes+int64(unsafe.Sizeof(mwOptions{})+unsafe.Sizeof(middleware{}))
	}
	cfg.Chain = h

	cfg.Routes = make([]*Route, configRoutes)
	objs, bytes = objs+1, bytes+int64(configRoutes)*int64(unsafe.Sizeof((*Route)(nil)))
	for i := range cfg.Routes {
		b := append(buf[:0], "/api/v2/services/route-"...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, "/gen-"...)
		b = strconv.AppendInt(b, int64(gen), 10)
		path := string(b)
		cfg.Routes[i] = &Route{Path: path, Service: "backend-pool", Priority: i, Handler: h, Labels: cfg.Labels}
		objs, bytes = objs+2, bytes+int64(len(path))+int64(unsafe.Sizeof(Route{}))
	}
	cfg.allocObjects, cfg.allocBytes = objs, bytes
	registry.install(cfg)
	return cfg
}

// buildLabels builds the per-config labels map (a separate allocation site).
//
//go:noinline
func buildLabels(gen int) map[string]string {
	m := make(map[string]string, 8)
	for i := 0; i < 8; i++ {
		m["traefik.http.label-"+strconv.Itoa(i)] = "value-for-generation-" + strconv.Itoa(gen)
	}
	return m
}

// install keeps the previous config in old: the leak.
//
//go:noinline
func (r *Registry) install(cfg *Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current != nil {
		r.old = append(r.old, r.current)
	}
	r.current = cfg
	r.reloads++
}

func runConfigRegistry(exp *Expected, dir string) {
	exp.Description = "Traefik-like config reload leak: main.reloadConfig builds a Config (routes, handler chain of closures/structs, maps, strings); main.registry.old keeps every previous config"
	// Bookkeeping holds numbers only, never *Config: a pointer kept here
	// would make this frame a second root of the configs.
	var objs int
	var bytes, newest int64
	for i, target := range []int{configsDump1, configsDump2} {
		for registry.reloads < target {
			o, b := reloadStats(registry.reloads + 1)
			objs, bytes, newest = objs+o, bytes+b, b
		}
		oldBytes := bytes - newest
		churn(1024)
		quickRequest()
		info := DumpInfo{
			File: dumpFile(i + 1),
			Globals: []Global{
				{Name: "main.registry", Addr: addr(&registry), HoldsPayload: false},
				{Name: "main.registry.old", Addr: addr(&registry.old), HoldsPayload: true},
				{Name: "main.registry.current", Addr: addr(&registry.current), HoldsPayload: false},
			},
			StuckGoroutines: []StuckG{},
			Leak: Leak{
				Kind:           "global",
				Root:           "main.registry.old",
				AllocSite:      "main.reloadConfig",
				ContainerSite:  "main.(*Registry).install",
				Entries:        registry.reloads,
				PayloadObjects: objs,
				PayloadBytes:   bytes,
				RootOnlyBytes:  oldBytes,
				TransientSites: transientSites,
				Notes:          "main.registry points to a statically allocated Registry (not a heap object); its old field's slice pointer is the root word. The newest config is held by main.registry.current only; root_only_bytes covers the older ones. Labels maps come from main.buildLabels, the old slice from main.(*Registry).install.",
			},
		}
		info.MemStats = dump(dir, i+1)
		exp.Dumps = append(exp.Dumps, info)
	}
}

// reloadStats runs one reload and returns what reloadConfig allocated.
//
//go:noinline
func reloadStats(gen int) (int, int64) {
	c := reloadConfig(gen)
	return c.allocObjects, c.allocBytes
}

// ------------------------------------------------------------------- control

func runControl(exp *Expected, dir string) {
	exp.Description = "control: same HTTP server, quick requests and transient garbage, nothing accumulates"
	for i := 0; i < 2; i++ {
		for j := 0; j < 8; j++ {
			quickRequest()
		}
		churn(4096)
		info := DumpInfo{
			File:            dumpFile(i + 1),
			Globals:         []Global{},
			StuckGoroutines: []StuckG{},
			Leak: Leak{
				Kind:           "none",
				TransientSites: transientSites,
			},
		}
		info.MemStats = dump(dir, i+1)
		exp.Dumps = append(exp.Dumps, info)
	}
}
