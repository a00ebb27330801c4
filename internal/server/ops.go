package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry returns a Prometheus registry with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// validateOps checks the [ops] table. ops.pprof shows the process's insides (stacks,
// command line, allocation sites) to anyone who can reach it, without authentication: it
// is refused unless ops.listen binds loopback only.
func (c *Config) validateOps() []error {
	if !c.Ops.Pprof {
		return nil
	}
	switch {
	case c.Ops.Listen == "":
		return []error{errors.New("ops.pprof needs ops.listen")}
	case !isLoopback(c.Ops.Listen):
		return []error{fmt.Errorf("ops.pprof: ops.listen %s is not a loopback address", c.Ops.Listen)}
	}
	return nil
}

// opsServer serves /metrics, /healthz and /readyz, and /debug/pprof/ with ops.pprof.
type opsServer struct {
	ln  net.Listener
	srv *http.Server
}

// listenOps binds ops.listen.
func (s *Server) listenOps(reg *prometheus.Registry) (*opsServer, error) {
	ln, err := s.listen(s.cfg.Ops.Listen)
	if err != nil {
		return nil, fmt.Errorf("ops: %w", err)
	}
	ln = s.listeners.limit(ln, "ops", maxOpsConns, s.log)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.readyCheck(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	if s.cfg.Ops.Pprof {
		handlePprof(mux)
	}
	s.log.Info("ops listening", "url", "http://"+ln.Addr().String(), "pprof", s.cfg.Ops.Pprof)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// pprof's profile, trace and delta profiles (?seconds=N) extend their own write
		// deadline by N beyond WriteTimeout (net/http/pprof's configureWriteDeadline).
		WriteTimeout:   30 * time.Second,
		IdleTimeout:    opsIdleTimeout,
		MaxHeaderBytes: 8 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return &opsServer{ln: ln, srv: srv}, nil
}

// opsIdleTimeout closes a keep-alive connection to the ops server that asks nothing more
// for that long (Prometheus scrapes every 15 to 60 seconds on a connection of its own).
const opsIdleTimeout = time.Minute

// handlePprof adds net/http/pprof's handlers to mux, under the paths that package serves
// (its import registers them on http.DefaultServeMux too, which nothing here serves).
// Index also serves the named profiles: /debug/pprof/heap, /debug/pprof/allocs, ….
func handlePprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

func (o *opsServer) serve(log *slog.Logger) {
	go func() {
		if err := o.srv.Serve(o.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops server", "err", err)
		}
	}()
}

// close stops the server, or closes its listener if it never served.
func (o *opsServer) close() {
	o.srv.Close()
	o.ln.Close()
}
