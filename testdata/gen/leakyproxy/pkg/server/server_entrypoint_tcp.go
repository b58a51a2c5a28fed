package server

import (
	"context"
	"crypto/tls"
	"errors"
	stdlog "log"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/net/http2"

	"leakscope/testdata/gen/leakyproxy/pkg/log"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/forwardedheaders"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/requestdecorator"
	"leakscope/testdata/gen/leakyproxy/pkg/server/router"
)

var httpServerLogger = stdlog.New(log.WithoutContext().WriterLevel(logrus.DebugLevel), "", 0)

// EntryPoint holds the entry point configuration.
type EntryPoint struct {
	Address string
	// TLSConfig enables TLS (and HTTP/2 through ALPN) on the entry point.
	TLSConfig *tls.Config
	// KeepRequestRecords is the -leak-http-request switch.
	KeepRequestRecords bool
}

// TCPEntryPoints holds a map of TCPEntryPoint (the entrypoint names being the keys).
type TCPEntryPoints map[string]*TCPEntryPoint

// NewTCPEntryPoints creates a new TCPEntryPoints.
func NewTCPEntryPoints(entryPointsConfig map[string]EntryPoint) (TCPEntryPoints, error) {
	serverEntryPointsTCP := make(TCPEntryPoints)
	for entryPointName, config := range entryPointsConfig {
		ep, err := NewTCPEntryPoint(context.Background(), entryPointName, config)
		if err != nil {
			return nil, err
		}
		serverEntryPointsTCP[entryPointName] = ep
	}
	return serverEntryPointsTCP, nil
}

// Start the server entry points.
func (eps TCPEntryPoints) Start() {
	for _, serverEntryPoint := range eps {
		go serverEntryPoint.Start(context.Background())
	}
}

// Stop the server entry points.
func (eps TCPEntryPoints) Stop(ctx context.Context) {
	for _, serverEntryPoint := range eps {
		serverEntryPoint.Shutdown(ctx)
	}
}

// Switch the TCP routers.
func (eps TCPEntryPoints) Switch(routersHTTP map[string]http.Handler) {
	for entryPointName, rt := range routersHTTP {
		if ep, ok := eps[entryPointName]; ok {
			ep.SwitchRouter(rt)
		}
	}
}

// Addr returns the listener address of an entry point.
func (eps TCPEntryPoints) Addr(name string) string {
	if ep, ok := eps[name]; ok {
		return ep.listener.Addr().String()
	}
	return ""
}

// TCPEntryPoint is the TCP server.
type TCPEntryPoint struct {
	name       string
	listener   net.Listener
	httpServer *httpServer
}

// NewTCPEntryPoint creates a new TCPEntryPoint.
func NewTCPEntryPoint(ctx context.Context, name string, configuration EntryPoint) (*TCPEntryPoint, error) {
	listener, err := net.Listen("tcp", configuration.Address)
	if err != nil {
		return nil, err
	}
	ln := listener
	if configuration.TLSConfig != nil {
		ln = tls.NewListener(listener, configuration.TLSConfig)
	}
	httpServer, err := createHTTPServer(ctx, ln, configuration, configuration.TLSConfig != nil)
	if err != nil {
		_ = listener.Close()
		return nil, err
	}
	return &TCPEntryPoint{name: name, listener: ln, httpServer: httpServer}, nil
}

// Start starts the TCP server.
func (e *TCPEntryPoint) Start(ctx context.Context) {
	err := e.httpServer.Server.Serve(e.listener)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.WithField("entryPointName", e.name).Errorf("Error while starting server: %v", err)
	}
}

// Shutdown stops the TCP connections.
func (e *TCPEntryPoint) Shutdown(ctx context.Context) {
	if err := e.httpServer.Server.Shutdown(ctx); err != nil {
		_ = e.httpServer.Server.Close()
	}
}

// SwitchRouter switches the TCP router handler.
func (e *TCPEntryPoint) SwitchRouter(handler http.Handler) {
	e.httpServer.Switcher.UpdateHandler(handler)
}

type httpServer struct {
	Server   *http.Server
	Switcher *middlewares.HTTPHandlerSwitcher
}

func createHTTPServer(ctx context.Context, ln net.Listener, configuration EntryPoint, withH2 bool) (*httpServer, error) {
	httpSwitcher := middlewares.NewHandlerSwitcher(router.BuildDefaultHTTPRouter())

	var handler http.Handler = requestdecorator.New(httpSwitcher, configuration.KeepRequestRecords)
	handler, err := forwardedheaders.NewXForwarded(false, handler)
	if err != nil {
		return nil, err
	}

	serverHTTP := &http.Server{
		Handler:           handler,
		ErrorLog:          httpServerLogger,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       180 * time.Second,
	}
	if withH2 {
		if err := http2.ConfigureServer(serverHTTP, &http2.Server{
			MaxConcurrentStreams: 250,
			NewWriteScheduler:    func() http2.WriteScheduler { return http2.NewPriorityWriteScheduler(nil) },
		}); err != nil {
			return nil, err
		}
	}
	return &httpServer{Server: serverHTTP, Switcher: httpSwitcher}, nil
}
