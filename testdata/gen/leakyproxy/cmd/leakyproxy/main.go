// Command leakyproxy is a small Traefik-like reverse proxy with switchable
// memory leaks, used to generate ground-truth heap profiles.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"leakscope/testdata/gen/leakyproxy/pkg/api"
	"leakscope/testdata/gen/leakyproxy/pkg/backend/whoami"
	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
	"leakscope/testdata/gen/leakyproxy/pkg/config/runtime"
	"leakscope/testdata/gen/leakyproxy/pkg/config/watcher"
	"leakscope/testdata/gen/leakyproxy/pkg/log"
	"leakscope/testdata/gen/leakyproxy/pkg/metrics"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/accesslog"
	"leakscope/testdata/gen/leakyproxy/pkg/server"
	"leakscope/testdata/gen/leakyproxy/pkg/server/middleware"
	"leakscope/testdata/gen/leakyproxy/pkg/server/service"
	"leakscope/testdata/gen/leakyproxy/pkg/tls/generate"
)

type options struct {
	configFile       string
	watchInterval    time.Duration
	leakHTTPRequest  bool
	leakConfigReload bool
	leakMetrics      bool
	logLevel         string
}

func main() {
	var opts options
	flag.StringVar(&opts.configFile, "config", "", "dynamic configuration file (JSON), watched and reloaded")
	flag.DurationVar(&opts.watchInterval, "watch-interval", 50*time.Millisecond, "configuration file poll interval")
	flag.BoolVar(&opts.leakHTTPRequest, "leak-http-request", false, "leak: keep every request (context, request, 4 KiB snapshot) in the in-flight tracker")
	flag.BoolVar(&opts.leakConfigReload, "leak-config-reload", false, "leak: keep every previous handler graph and build a logrus WriterLevel pipe per proxy")
	flag.BoolVar(&opts.leakMetrics, "leak-metrics", false, "leak: never delete series of removed routers/services and label server metrics with the raw request URL")
	flag.StringVar(&opts.logLevel, "log-level", "error", "log level (written to stderr)")
	flag.Parse()

	if opts.configFile == "" {
		fmt.Fprintln(os.Stderr, "-config is required")
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "leakyproxy:", err)
		os.Exit(1)
	}
}

func run(opts options) error {
	level, err := logrus.ParseLevel(opts.logLevel)
	if err != nil {
		return err
	}
	log.SetOutput(os.Stderr)
	log.SetLevel(level)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	// Backend (whoami) on its own ephemeral port.
	backendLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	backendSrv := &http.Server{Handler: &whoami.Handler{Hostname: "backend"}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = backendSrv.Serve(backendLn) }()

	// Default self-signed certificate for websecure.
	cert, err := generate.DefaultCertificate()
	if err != nil {
		return err
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}

	metricsRegistry := metrics.RegisterPrometheus(metrics.Config{
		KeepStaleSeries:   opts.leakMetrics,
		RawServerURLLabel: opts.leakMetrics,
	})

	serverEntryPointsTCP, err := server.NewTCPEntryPoints(map[string]server.EntryPoint{
		"web":       {Address: "127.0.0.1:0", KeepRequestRecords: opts.leakHTTPRequest},
		"websecure": {Address: "127.0.0.1:0", TLSConfig: tlsConfig, KeepRequestRecords: opts.leakHTTPRequest},
	})
	if err != nil {
		return err
	}
	entryPointNames := []string{"web", "websecure"}

	accessLog, err := accesslog.NewHandler(accesslog.Config{})
	if err != nil {
		return err
	}
	chainBuilder := middleware.NewChainBuilder(metricsRegistry, accessLog)
	roundTripperManager := service.NewRoundTripperManager()
	managerFactory := service.NewManagerFactory(metricsRegistry, roundTripperManager, opts.leakConfigReload)
	routerFactory := server.NewRouterFactory(entryPointNames, managerFactory, metricsRegistry, chainBuilder, opts.leakConfigReload)

	fileWatcher := watcher.New(opts.configFile, opts.watchInterval)
	watcherCtx, stopWatcher := context.WithCancel(context.Background())
	defer stopWatcher()
	configurationWatcher := server.NewConfigurationWatcher(fileWatcher, entryPointNames)
	configurationWatcher.AddListener(switchRouter(routerFactory, serverEntryPointsTCP))
	configurationWatcher.AddListener(metricsRegistry.OnConfigurationUpdate)

	// Admin listener: pprof, /metrics, /api/reload.
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	adminSrv := &http.Server{
		Handler:           api.NewHandler(metricsRegistry.PrometheusHandler(), fileWatcher),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = adminSrv.Serve(adminLn) }()

	serverEntryPointsTCP.Start()
	configurationWatcher.Start(watcherCtx)

	addrs := map[string]string{
		"web":       serverEntryPointsTCP.Addr("web"),
		"websecure": serverEntryPointsTCP.Addr("websecure"),
		"admin":     adminLn.Addr().String(),
		"backend":   backendLn.Addr().String(),
	}
	line, err := json.Marshal(addrs)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, string(line))

	<-ctx.Done()

	stopWatcher()
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	serverEntryPointsTCP.Stop(shutdownCtx)
	roundTripperManager.CloseIdleConnections()
	if err := adminSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = adminSrv.Close()
	}
	if err := backendSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = backendSrv.Close()
	}
	return nil
}

// switchRouter builds the routers of a new configuration and swaps them in.
// Not inlined so that the listener keeps Traefik's frame name
// (main.switchRouter.func1) in profiles.
//
//go:noinline
func switchRouter(routerFactory *server.RouterFactory, serverEntryPointsTCP server.TCPEntryPoints) func(conf dynamic.Configuration) {
	return func(conf dynamic.Configuration) {
		rtConf := runtime.NewConfig(conf)
		routers := routerFactory.CreateRouters(rtConf)
		serverEntryPointsTCP.Switch(routers)
	}
}
