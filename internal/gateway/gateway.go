package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/loglimit"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/servertls"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("gateway: server closed")

// ClientCertSource mints the client certificate a database user logs in to the backend
// with (CN = user). *pki.ClientCertCache is one. It is called concurrently.
type ClientCertSource interface {
	Get(user string) (*tls.Certificate, error)
}

var _ ClientCertSource = (*pki.ClientCertCache)(nil)

// Gateway accepts clients of one database, authenticates and authorizes them, and relays
// them to backend sessions. It is safe for concurrent use.
type Gateway struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics
	auth   *access.Authorizer
	cert   atomic.Pointer[tls.Certificate]
	engine engine

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]*clientConn
	unauth    map[netip.Addr]int // connections not logged in yet, by limitKey of the source
	active    sync.WaitGroup
	lingering chan struct{}     // refused connections being closed gracefully
	warns     *loglimit.Limiter // protocol refusals logged at Warn
	closing   atomic.Bool
	base      context.Context    // cancelled when Shutdown starts: the parent of every login's context
	stop      context.CancelFunc // cancels base
}

// New validates cfg and returns a Gateway. It does not contact the backend.
func New(cfg Config) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer),
		listeners: make(map[net.Listener]struct{}), conns: make(map[net.Conn]*clientConn),
		unauth: make(map[netip.Addr]int), lingering: make(chan struct{}, maxLingering),
		warns: loglimit.New(cfg.Now),
	}
	g.base, g.stop = context.WithCancel(context.Background())
	g.auth, err = access.NewAuthorizer(access.Config{Authority: cfg.IAM, Database: cfg.Database, Skew: cfg.Skew, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	if cfg.Certificate != nil {
		g.cert.Store(cfg.Certificate)
	}
	switch cfg.Engine {
	case EngineMySQL:
		g.engine, err = newMySQLEngine(g)
	default:
		g.engine, err = newPGEngine(g)
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

// engine is one engine's side of the gateway: its wire toward clients, its backend
// sessions and its relay. Listeners, shutdown, verification, authorization, pooling,
// metrics and audit are the Gateway's, shared by every engine.
type engine interface {
	// serve runs one client connection from accept to close, or up to the question for
	// the password: it then returns the rest, which starts by waiting for the answer
	// (see serveConn). ctx and nc's deadline bound the login (see loginContext);
	// loginDone cancels ctx (the login calls it once it is over, so that an idle session
	// holds no timer); start is when it was accepted, source its address.
	serve(ctx context.Context, loginDone context.CancelFunc, nc net.Conn, start time.Time, source netip.AddrPort) (rest func())
	// close closes the engine's pools after the last connection ended.
	close()
	// tooMany returns what to write on a connection refused beyond the gateway's
	// limits, before reading anything from it.
	tooMany() []byte
}

// clientConn is what the Gateway knows of a client connection.
type clientConn struct {
	source netip.Addr
	// live is the session LiveSessions lists (live.go) once the client has logged in;
	// until then (nil) the connection counts in unauth.
	live *LiveSession
}

// serverTLS returns the TLS configuration toward clients, or nil when there is no
// certificate. The wire servers (pgwire, mysqlwire) raise its MinVersion to
// Config.MinTLSVersion.
func (g *Gateway) serverTLS() *tls.Config {
	var c *tls.Config
	if g.cfg.TLS != nil {
		c = g.cfg.TLS.Clone()
	} else {
		c = &tls.Config{}
	}
	if g.cfg.Certificate != nil {
		c.Certificates = nil
		c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return g.cert.Load(), nil }
	} else if !servertls.HasCertificate(c) {
		return nil
	}
	return c
}

// SetCertificate replaces the server certificate for new connections (for SIGHUP).
// It is an error when the gateway was created without Config.Certificate.
func (g *Gateway) SetCertificate(cert *tls.Certificate) error {
	if cert == nil {
		return errors.New("gateway: nil certificate")
	}
	if g.cfg.Certificate == nil {
		return errors.New("gateway: created without a certificate")
	}
	g.cert.Store(cert)
	return nil
}

// ListenAndServe listens on Config.Addr and serves.
func (g *Gateway) ListenAndServe() error {
	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return err
	}
	return g.Serve(ln)
}

// Serve accepts clients of Config.Engine on ln until Shutdown, and closes ln. It returns
// ErrServerClosed after Shutdown, or the listener's error.
func (g *Gateway) Serve(ln net.Listener) error {
	g.mu.Lock()
	if g.closing.Load() {
		g.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	g.listeners[ln] = struct{}{}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.listeners, ln)
		g.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if g.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				g.log.Error("accept failed", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		ok, reason := g.track(nc)
		if !ok {
			nc.Close()
			return ErrServerClosed
		}
		if reason != "" {
			g.refuse(nc, reason)
			continue
		}
		go g.serveConn(nc)
	}
}

// serveConn serves a client connection. When the engine returns the rest of it, to be
// run once the client has answered the question for its password, the rest runs on a
// fresh goroutine and this one ends: the TLS handshake grew this goroutine's stack, and
// a client that takes its time (or never answers) then holds only the new goroutine's,
// parked at its top, at the runtime's minimum size (memory per connection, issue 19).
func (g *Gateway) serveConn(nc net.Conn) {
	start := time.Now()
	ctx, cancel, source := g.loginContext(nc, start)
	rest := g.engine.serve(ctx, cancel, nc, start, source)
	if rest == nil {
		cancel()
		g.untrack(nc)
		return
	}
	go func() {
		defer g.untrack(nc)
		defer cancel()
		rest()
	}()
}

// awaitThen returns an engine's rest of a connection (serve): wait until r has data (or
// an error, which then comes again to whoever reads), then finish.
func awaitThen(r *bufio.Reader, finish func()) func() {
	return func() {
		r.Peek(1)
		finish()
	}
}

// track registers a client connection: false once shutting down; a reason when it is
// beyond Config.MaxClientConns or Config.MaxUnauthenticatedPerIP (it is then not
// registered).
func (g *Gateway) track(nc net.Conn) (ok bool, reason string) {
	source := addrPort(nc.RemoteAddr()).Addr()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing.Load() {
		return false, ""
	}
	if max := g.cfg.MaxClientConns; max > 0 && len(g.conns) >= max {
		return true, reasonTooManyClients
	}
	if max := g.cfg.MaxUnauthenticatedPerIP; max > 0 && g.unauth[limitKey(source)] >= max {
		return true, reasonTooManyUnauthenticated
	}
	g.conns[nc] = &clientConn{source: source}
	g.unauth[limitKey(source)]++
	g.active.Add(1)
	g.m.clients.WithLabelValues(g.cfg.Engine).Inc()
	return true, ""
}

func (g *Gateway) untrack(nc net.Conn) {
	nc.Close()
	g.mu.Lock()
	if cc := g.conns[nc]; cc != nil && cc.live == nil {
		g.unauthDone(cc.source)
	}
	delete(g.conns, nc)
	g.mu.Unlock()
	g.m.clients.WithLabelValues(g.cfg.Engine).Dec()
	g.active.Done()
}

// unauthDone decrements the unauthenticated count of source (g.mu held).
func (g *Gateway) unauthDone(source netip.Addr) {
	k := limitKey(source)
	if g.unauth[k]--; g.unauth[k] <= 0 {
		delete(g.unauth, k)
	}
}

// limitKey is what MaxUnauthenticatedPerIP counts a source address under: an IPv4
// address itself (an IPv4-mapped IPv6 one too), an IPv6 address's /64, since one host
// commonly holds a whole /64 and could otherwise open MaxUnauthenticatedPerIP
// connections from each of its addresses.
func limitKey(source netip.Addr) netip.Addr {
	source = source.Unmap()
	if source.Is4() {
		return source
	}
	p, err := source.Prefix(64)
	if err != nil {
		return source
	}
	return p.Addr()
}

// maxLingering bounds the refused connections closed gracefully at once; beyond it
// they are closed at once.
const maxLingering = 64

// lingerTime bounds the graceful close of a refused connection.
const lingerTime = time.Second

// refuse answers a connection beyond the gateway's limits with the engine's "too many
// connections" error, before reading anything, and closes it. The close is graceful
// (the error, FIN, then what the client already sent is read and dropped for up to
// lingerTime) so that the client's kernel does not discard the error on a reset; at
// most maxLingering connections linger, the others are closed at once.
func (g *Gateway) refuse(nc net.Conn, reason string) {
	engine := g.cfg.Engine
	g.m.connections.WithLabelValues(engine, outcomeRefused, reason).Inc()
	g.warns.Warn(g.log, "connection refused", "source", addrPort(nc.RemoteAddr()).String(), "reason", reason,
		"max_client_conns", g.cfg.MaxClientConns, "max_unauthenticated_per_ip", g.cfg.MaxUnauthenticatedPerIP)
	nc.SetWriteDeadline(time.Now().Add(lingerTime))
	if _, err := nc.Write(g.engine.tooMany()); err != nil {
		nc.Close()
		return
	}
	select {
	case g.lingering <- struct{}{}:
	default:
		nc.Close()
		return
	}
	go func() {
		defer func() { <-g.lingering }()
		defer nc.Close()
		if cw, ok := nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		nc.SetReadDeadline(time.Now().Add(lingerTime))
		io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
	}()
}

// Shutdown stops accepting, lets the sessions finish until ctx ends, then closes the
// remaining client connections (their backend sessions are closed, not pooled) and the
// pool. It returns ctx's error if it had to close sessions, else nil.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	first := !g.closing.Swap(true)
	if first {
		g.stop()
	}
	for ln := range g.listeners {
		ln.Close()
	}
	g.mu.Unlock()
	if first {
		g.log.Info("shutting down", "sessions", g.sessionCount())
	}
	done := make(chan struct{})
	go func() {
		g.active.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		g.mu.Lock()
		for nc := range g.conns {
			nc.Close()
		}
		g.mu.Unlock()
		<-done
	}
	g.engine.close()
	return err
}

// newMembership returns the rds_iam membership cache over an engine's query.
func (g *Gateway) newMembership(query func(ctx context.Context, user string) (bool, error)) *membership {
	return &membership{
		ttl: g.cfg.MembershipTTL, now: g.cfg.Now, max: DefaultMaxMembershipKeys, query: query,
		cache: make(map[string]memberEntry), inflight: make(map[string]*memberCall),
	}
}

// newEnginePool returns an engine's pool of backend sessions, limited by Config.Pool and
// reported in the pool gauge under engine.
func newEnginePool[S session](g *Gateway, engine string) *pool[S] {
	p := &g.cfg.Pool
	gauge := g.m.pool
	return newPool[S](p.MaxSessionsPerKey, p.MaxIdlePerKey, p.IdleTimeout, g.cfg.Now, func(idle, busy int) {
		gauge.WithLabelValues(engine, "idle").Set(float64(idle))
		gauge.WithLabelValues(engine, "busy").Set(float64(busy))
	})
}

// loginContext bounds a new connection's login by Config.AuthTimeout (its context and
// nc's deadline), ending it early when Shutdown starts (a child of g.base: no goroutine
// per connection waits for Shutdown); until the engine calls startupDone, nc's deadline
// is Config.StartupTimeout. It returns the context, its cancel function and the
// client's address.
func (g *Gateway) loginContext(nc net.Conn, start time.Time) (context.Context, context.CancelFunc, netip.AddrPort) {
	ctx, cancel := context.WithTimeout(g.base, g.cfg.AuthTimeout)
	nc.SetDeadline(start.Add(g.cfg.StartupTimeout))
	return ctx, cancel, addrPort(nc.RemoteAddr())
}

// startupDone extends nc's deadline from Config.StartupTimeout to Config.AuthTimeout
// once the client's first message is in.
func (g *Gateway) startupDone(nc net.Conn, start time.Time) {
	nc.SetDeadline(start.Add(g.cfg.AuthTimeout))
}

// handshakeFailed logs and counts a connection that ended before its startup message
// (tls: the TLS handshake failed). Clients that just went away (EOF, reset) are logged
// at debug level and not counted; every other refusal (a protocol violation, a failed
// TLS handshake, no first message within Config.StartupTimeout) is logged at warn
// level, at most a burst of loglimit.Burst lines and then one per loglimit.Interval,
// each saying how many were held back before it.
func (g *Gateway) handshakeFailed(engine string, source netip.AddrPort, err error, tls bool) {
	reason := reasonProtocol
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		reason = reasonStartupTimeout
	case tls:
		reason = reasonTLS
	}
	if isDisconnect(err) || errors.Is(err, syscall.ECONNRESET) {
		g.log.Debug("handshake failed", "source", source.String(), "reason", reason, "err", err)
		return
	}
	g.m.connections.WithLabelValues(engine, outcomeError, reason).Inc()
	g.warns.Warn(g.log, "handshake failed", "source", source.String(), "reason", reason, "err", err)
}

// loginRecord starts the audit record and the logger of a login attempt: it returns
// them, the record on the heap.
func (g *Gateway) loginRecord(engine string, source netip.AddrPort, user, dbname string) (*AuditRecord, *slog.Logger) {
	rec := &AuditRecord{
		Time: g.cfg.Now(), Engine: engine, Mode: access.ModeGateway, Database: g.cfg.Database.Identifier,
		DBName: dbname, User: user, Source: source,
	}
	rec.SetDatabase(g.auth.Database())
	return rec, g.log.With("user", user, "database", dbname, "source", source.String())
}

// recordLogin counts a finished login attempt in the metrics, records its event with
// Config.Recorder (waiting until it is durable) and hands its record to Config.Audit.
// Engines call it before they tell the client anything, success or refusal: whoever the
// client tells can already find it there. It returns the Recorder's error (logged here).
func (g *Gateway) recordLogin(ctx context.Context, rec *AuditRecord, start time.Time, log *slog.Logger) error {
	if rec.Reason == reasonNoPassword {
		g.observeLogin(rec, start)
		return nil
	}
	var err error
	if g.cfg.Recorder != nil {
		if err = g.cfg.Recorder.Record(ctx, rec.Event()); err != nil {
			log.Error("login not recorded in the audit trail", "outcome", rec.Outcome, "err", err)
			if rec.Outcome == outcomeOK {
				rec.Outcome, rec.Reason = outcomeError, reasonAuditFailed
			}
		}
	}
	g.observeLogin(rec, start)
	if g.cfg.Audit != nil {
		g.cfg.Audit(*rec)
	}
	return err
}

// observeLogin counts a finished login attempt in the metrics.
func (g *Gateway) observeLogin(rec *AuditRecord, start time.Time) {
	g.m.authDuration.WithLabelValues(rec.Engine, rec.Outcome).Observe(time.Since(start).Seconds())
	g.m.connections.WithLabelValues(rec.Engine, rec.Outcome, rec.Reason).Inc()
}

func (g *Gateway) sessionCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}
