// Package accesslog is the access log middleware (Common Log Format written
// through a log.Logger; the output is io.Discard in this fixture generator).
package accesslog

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"sync"
	"time"

	"leakscope/testdata/gen/leakyproxy/pkg/alice"
	"leakscope/testdata/gen/leakyproxy/pkg/middlewares/capture"
)

type key string

// DataTableKey is the key within the request context used to store the Log Data Table.
const DataTableKey key = "LogDataTable"

// Field names of the core log data.
const (
	StartUTC              = "StartUTC"
	Duration              = "Duration"
	RouterName            = "RouterName"
	ServiceName           = "ServiceName"
	ServiceURL            = "ServiceURL"
	EntryPointName        = "entryPointName"
	ClientHost            = "ClientHost"
	RequestMethod         = "RequestMethod"
	RequestPath           = "RequestPath"
	RequestProtocol       = "RequestProtocol"
	RequestHost           = "RequestHost"
	DownstreamStatus      = "DownstreamStatus"
	DownstreamContentSize = "DownstreamContentSize"
	RequestCount          = "RequestCount"
)

// CoreLogData holds the fields computed from the request/response.
type CoreLogData map[string]interface{}

// LogData is the data captured by the middleware so that it can be logged.
type LogData struct {
	Core               CoreLogData
	Request            http.Header
	OriginResponse     http.Header
	DownstreamResponse http.Header
}

// Config is the access log configuration.
type Config struct {
	Output io.Writer
}

// Handler will write each request and its response to the access log.
type Handler struct {
	logger *stdlog.Logger
	mu     sync.Mutex
	count  uint64
}

// NewHandler creates a new Handler.
func NewHandler(config Config) (*Handler, error) {
	out := config.Output
	if out == nil {
		out = io.Discard
	}
	return &Handler{logger: stdlog.New(out, "", 0)}, nil
}

// GetLogData gets the request context object that contains logging data.
// This creates data as the request passes through the middleware chain.
func GetLogData(req *http.Request) *LogData {
	if ld, ok := req.Context().Value(DataTableKey).(*LogData); ok {
		return ld
	}
	return nil
}

// WrapHandler wraps access log handler into an Alice Constructor.
func WrapHandler(handler *Handler) alice.Constructor {
	return func(next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
			handler.ServeHTTP(rw, req, next)
		}), nil
	}
}

func (h *Handler) ServeHTTP(rw http.ResponseWriter, req *http.Request, next http.Handler) {
	now := time.Now().UTC()

	core := CoreLogData{
		StartUTC:        now,
		RequestMethod:   req.Method,
		RequestPath:     req.URL.RequestURI(),
		RequestProtocol: req.Proto,
		RequestHost:     req.Host,
	}
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		core[ClientHost] = host
	}

	logDataTable := &LogData{
		Core:    core,
		Request: req.Header.Clone(),
	}

	reqWithDataTable := req.WithContext(context.WithValue(req.Context(), DataTableKey, logDataTable))

	crw, creq := capture.Wrap(rw, reqWithDataTable)
	next.ServeHTTP(crw, creq)

	logDataTable.DownstreamResponse = crw.Header()
	core[DownstreamStatus] = crw.Status()
	core[DownstreamContentSize] = crw.ResponseSize()
	core[Duration] = time.Since(now)

	h.logTheRoundTrip(logDataTable)
}

// logTheRoundTrip formats and writes the access log line (Common Log Format).
func (h *Handler) logTheRoundTrip(logDataTable *LogData) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.count++
	core := logDataTable.Core
	core[RequestCount] = h.count
	h.logger.Print(formatCommonLog(core))
}

func formatCommonLog(core CoreLogData) string {
	ts, _ := core[StartUTC].(time.Time)
	dur, _ := core[Duration].(time.Duration)
	return fmt.Sprintf("%v - - [%s] \"%v %v %v\" %v %v %d \"%v\" \"%v\" %dms",
		core[ClientHost], ts.Format("02/Jan/2006:15:04:05 -0700"),
		core[RequestMethod], core[RequestPath], core[RequestProtocol],
		core[DownstreamStatus], core[DownstreamContentSize], core[RequestCount],
		core[RouterName], core[ServiceURL], dur.Milliseconds())
}
