package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/console"
	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/native"
)

// Options are what a Server takes besides its Config: the process's logger, randomness
// and sockets.
type Options struct {
	// Logger receives the server's logs; if nil, they are discarded.
	Logger *slog.Logger
	// Rand is the source of new master keys and container authorization tokens; if nil,
	// crypto/rand.
	Rand io.Reader
	// Listeners are sockets bound already, by the address in the Config they stand for
	// (authority.listen, a gateway's listen, an endpoint's listen, ops.listen): New uses
	// them instead of binding those addresses. iamdb dev binds its gateways' sockets first
	// to register their ports. A listener New does not use is left alone.
	Listeners map[string]net.Listener
}

// Server is the iamdb daemon: the authority (the AWS Query API for IAM, STS and RDS) on a
// store, the gateways, the workload credential endpoints and the ops server.
//
// New opens the store and binds every socket; Run serves until its context ends, then
// drains; Shutdown stops it from outside. A Server runs once.
type Server struct {
	console *console.Console // nil when authority.disable_console
	cfg     Config
	log     *slog.Logger
	rand    io.Reader
	lns     map[string]net.Listener // Options.Listeners not used yet

	svc     *iam.Service
	closers []func() error // the store, svc: closed last, in reverse
	// audit is the journal (nil when audit.enabled is false): opened first, closed
	// last. The emitters' wiring (the authority, gateways, native endpoints, workload
	// endpoints) records to it.
	audit *audit.Journal

	api    *http.Server
	apiLn  net.Listener // bounded by authority.max_conns
	apiURL string
	served chan error // the API server's result

	reg       *prometheus.Registry // the ops server's /metrics
	listeners *listenerMetrics     // of the HTTP listeners' limits

	gateways  []*runningGateway
	endpoints []*runningEndpoint
	natives   []*runningNative
	ops       *opsServer // nil when ops.listen is empty

	stopping atomic.Bool   // /readyz fails from here: set when draining begins
	ready    chan struct{} // closed when Run serves
	stop     chan struct{} // closed by Shutdown
	stopOnce sync.Once
	done     chan struct{} // closed when Run returns
	mu       sync.Mutex
	ran      bool // Run was called, or Shutdown released a Server that never ran
}

// Endpoint is a gateway, a native endpoint or a workload credential endpoint the Server
// listens on.
type Endpoint struct {
	// Kind is "postgres" or "mysql" (gateways), "native", "imds" or
	// "container_credentials".
	Kind string
	// Addr is the listener's address; a native endpoint's socket path.
	Addr string
	// Database is the database a gateway or native endpoint serves (zero for workload
	// endpoints).
	Database iam.Database
	// Port is the port a native endpoint's tokens must name (zero for the others).
	Port int
	// URL is what a workload endpoint's clients are given: http://ADDR/ or
	// http://ADDR/path. Bound is "instance_profile=ARN" or "role=ARN".
	URL, Bound string
}

// New validates cfg, opens the store, bootstraps the accounts, registers the databases and
// binds every socket (so that Addr and the Endpoints are known before Run). On error
// everything opened is closed again. Errors begin with "serve:" or "config:".
func New(ctx context.Context, cfg Config, opts Options) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: opts.Logger, rand: opts.Rand, lns: map[string]net.Listener{},
		served: make(chan error, 1), ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	for addr, ln := range opts.Listeners {
		s.lns[addr] = ln
	}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	if err := s.openAudit(); err != nil {
		return nil, err
	}
	if s.audit != nil {
		if err := s.startAuditExport(s.audit); err != nil {
			return nil, err
		}
	} else if s.cfg.Audit.ExportDir != "" {
		return nil, errors.New("config: audit.export_dir needs the journal (audit.enabled = true)")
	}
	s.reg = newRegistry()
	s.listeners = newListenerMetrics(s.reg)
	if err := s.openAuthority(ctx); err != nil {
		return nil, err
	}
	if err := s.listenGateways(s.reg); err != nil {
		return nil, err
	}
	if err := s.listenEndpoints(); err != nil {
		return nil, err
	}
	if err := s.listenNatives(); err != nil {
		return nil, err
	}
	if s.cfg.Ops.Listen != "" {
		if s.ops, err = s.listenOps(s.reg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// listen returns the listener of Options.Listeners for addr, or binds addr.
func (s *Server) listen(addr string) (net.Listener, error) {
	if ln, ok := s.lns[addr]; ok {
		delete(s.lns, addr)
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// Addr is the authority's address (host:port).
func (s *Server) Addr() string { return s.apiLn.Addr().String() }

// IAM is the server's IAM service.
func (s *Server) IAM() *iam.Service { return s.svc }

// ConsoleURL is the web console's URL, "" when it is off.
func (s *Server) ConsoleURL() string {
	if s.console == nil {
		return ""
	}
	return s.apiURL + console.Prefix
}

// URL is the authority's URL: http://ADDR or https://ADDR.
func (s *Server) URL() string { return s.apiURL }

// OpsAddr is the address of /metrics, /healthz and /readyz, or "" without ops.listen.
func (s *Server) OpsAddr() string {
	if s.ops == nil {
		return ""
	}
	return s.ops.ln.Addr().String()
}

// Gateways returns the gateways, PostgreSQL's first, in the Config's order.
func (s *Server) Gateways() []Endpoint {
	var out []Endpoint
	for _, g := range s.gateways {
		out = append(out, Endpoint{Kind: g.engine, Addr: g.ln.Addr().String(), Database: g.db})
	}
	return out
}

// LiveSessions returns the live sessions of every gateway this server runs, oldest
// (smallest ID: IDs increase across the process's gateways) first. Native-mode logins
// are not gateway sessions and are not listed. Safe for concurrent use; no I/O.
func (s *Server) LiveSessions() []gateway.LiveSession {
	var out []gateway.LiveSession
	for _, g := range s.gateways {
		out = append(out, g.gw.LiveSessions()...)
	}
	slices.SortFunc(out, func(a, b gateway.LiveSession) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// WorkloadEndpoints returns the [[imds]] endpoints, then the [[container_credentials]]
// ones, in the Config's order.
func (s *Server) WorkloadEndpoints() []Endpoint {
	var out []Endpoint
	for _, e := range s.endpoints {
		out = append(out, Endpoint{Kind: e.kind, Addr: e.ln.Addr().String(), URL: e.url, Bound: e.bound})
	}
	return out
}

// Ready returns a channel closed once Run serves on every socket.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Reload re-reads the gateways' certificate files (SIGHUP); a gateway whose files cannot
// be read keeps its certificate, and the error is logged.
func (s *Server) Reload() {
	for _, g := range s.gateways {
		g.reload(s.log)
	}
}

// Run serves until ctx ends, Shutdown is called or a gateway fails; then it drains the
// gateways (ops.drain_timeout), stops the authority and the endpoints and closes the
// store. Calling Run a second time is an error.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return errors.New("serve: the server ran already")
	}
	s.ran = true
	s.mu.Unlock()
	defer close(s.done)

	if s.cfg.Authority.TLSCertFile != "" {
		go func() { s.served <- s.api.ServeTLS(s.apiLn, "", "") }()
	} else {
		go func() { s.served <- s.api.Serve(s.apiLn) }()
	}
	failed := make(chan error, len(s.gateways)+len(s.natives))
	for _, g := range s.gateways {
		g.serve()
		go func() {
			if err := <-g.done; err != nil && !errors.Is(err, gateway.ErrServerClosed) {
				failed <- fmt.Errorf("gateway %s: %w", g.db.Identifier, err)
			}
		}()
	}
	for _, e := range s.endpoints {
		e.serve()
	}
	for _, n := range s.natives {
		n.serve()
		go func() {
			if err := <-n.done; err != nil && !errors.Is(err, native.ErrServerClosed) {
				failed <- fmt.Errorf("native %s: %w", n.db.Identifier, err)
			}
		}()
	}
	if s.ops != nil {
		s.ops.serve(s.log)
	}
	close(s.ready)

	var err error
	select {
	case err = <-failed:
	case <-ctx.Done():
	case <-s.stop:
	}
	s.stopping.Store(true) // /readyz fails from here: load balancers stop sending clients
	s.log.Info("shutting down")
	drainTimeout := s.cfg.Ops.DrainTimeout.Duration
	if drainTimeout == 0 {
		drainTimeout = 30 * time.Second
	}
	nctx, ncancel := context.WithTimeout(context.Background(), nativeShutdownTimeout)
	defer ncancel()
	err = errors.Join(err, shutdownNatives(nctx, s.natives), drain(s.gateways, drainTimeout, s.log), s.shutdownAPI())
	s.release()
	return err
}

// Shutdown makes a running Run drain and return, and waits for it until ctx ends; a
// Server that never ran is closed at once (and cannot run any more).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	ran := s.ran
	s.ran = true
	s.mu.Unlock()
	if !ran {
		s.release()
		return nil
	}
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdownAPI stops the authority's HTTP server.
func (s *Server) shutdownAPI() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.api.Shutdown(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// release closes what is left: the ops server, the endpoints, the native endpoints, the
// listeners of gateways that never served, the authority's listener if it never served,
// then the domain and the store, and last the audit journal.
func (s *Server) release() {
	if s.ops != nil {
		s.ops.close()
	}
	closeEndpoints(s.endpoints)
	ctx, cancel := context.WithTimeout(context.Background(), nativeShutdownTimeout)
	defer cancel()
	shutdownNatives(ctx, s.natives) // a second call after Run's does nothing more
	for _, g := range s.gateways {
		if g.done == nil {
			g.ln.Close()
		}
	}
	if s.apiLn != nil && s.api != nil {
		s.api.Close() // a no-op after Shutdown; closes the listener of a Server that never ran
		s.apiLn.Close()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
	s.closeAudit() // last: everything that records has stopped
}

// readyCheck is /readyz's check: the server is ready until it starts draining.
func (s *Server) readyCheck() error {
	if s.stopping.Load() {
		return errors.New("draining")
	}
	return nil
}
