package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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

// opsServer serves /metrics, /healthz and /readyz.
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
	s.log.Info("ops listening", "url", "http://"+ln.Addr().String())
	return &opsServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}, nil
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
