package native

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/loglimit"
)

// Defaults of Config.
const (
	DefaultMode           os.FileMode = 0o660
	DefaultMaxConns                   = 256
	DefaultRequestTimeout             = 5 * time.Second
	DefaultIdleTimeout                = 60 * time.Second
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("native: endpoint closed")

// Config configures an Endpoint.
type Config struct {
	// Socket is the path of the Unix socket. Required.
	Socket string
	// Mode is the socket file's permission bits. If zero, DefaultMode (0660): the
	// socket's owner and group may connect. Peers are checked by uid as well
	// (AllowedUIDs), whatever the mode.
	Mode os.FileMode
	// Group, if positive, is the group (gid) the socket file is given, so that the
	// database's OS user can reach a socket of mode 0660 that another user owns. Zero or
	// negative: the socket keeps the group it was created with.
	Group int
	// AllowedUIDs are the uids whose connections are answered (SO_PEERCRED): the
	// database server's OS user, and root for tools. Others are closed unanswered.
	// Required.
	AllowedUIDs []uint32
	// Engine is the database's engine, "postgres" or "mysql", for logs and records.
	Engine string
	// SecureTransport is aws:SecureTransport in every decision: true when the database
	// admits IAM users only over TLS (hostssl lines, REQUIRE SSL), which PAM cannot see.
	SecureTransport bool
	// Authorizer decides: token, registration, rds-db:connect, as the gateway does.
	// Required.
	Authorizer *access.Authorizer
	// Logger receives the endpoint's lines ("connection authorized", "authentication
	// failed", refused peers, malformed requests). Lines a peer can cause at will —
	// refused peers, malformed requests, connections beyond MaxConns — are logged at warn
	// level through a token bucket (a burst of 10, then one a second, each saying how
	// many were held back), the rest at debug level. If nil, logs are discarded.
	Logger *slog.Logger
	// Audit, if not nil, receives one record per decided request (Mode access.ModeNative).
	// It is called on the connection's goroutine and must not block.
	Audit func(access.Record)
	// Recorder, if not nil, receives the CloudTrail event of every decision
	// (access.Record.Event), before the module is answered: an allow is sent only once
	// its event is durable; if Record fails the login is denied (reason "audit-failed").
	// backendSessionId is absent: the PAM module's protocol does not carry the backend's
	// pid or connection id.
	Recorder audit.Recorder
	// MaxConns bounds the connections being served; beyond it a connection is closed at
	// once, unanswered (the module fails closed). If zero, DefaultMaxConns.
	MaxConns int
	// RequestTimeout bounds the wait for a connection's first request, and each answer's
	// write. If zero, DefaultRequestTimeout (5 s).
	RequestTimeout time.Duration
	// IdleTimeout bounds the wait for a further request on a connection that has had its
	// answer (MariaDB's plugin keeps connections for further logins; the PAM module closes
	// its own). If zero, DefaultIdleTimeout (60 s).
	IdleTimeout time.Duration
	// Now returns the current time of records and of the log rate limit. If nil,
	// time.Now.
	Now func() time.Time
}

// Endpoint is a native endpoint: a Unix socket on which the PAM module of one database
// asks for login decisions. It is safe for concurrent use.
type Endpoint struct {
	cfg   Config
	log   *slog.Logger
	warns *loglimit.Limiter // lines a peer can cause at will
	db    string            // the database's identifier

	mu      sync.Mutex
	ln      *net.UnixListener
	conns   map[net.Conn]bool // served connections: true while waiting for a further request
	closing bool
	active  sync.WaitGroup
}

// New validates cfg and returns an Endpoint; Listen binds its socket.
func New(cfg Config) (*Endpoint, error) {
	if cfg.Socket == "" {
		return nil, errors.New("native: config: Socket is required")
	}
	if cfg.Authorizer == nil {
		return nil, errors.New("native: config: Authorizer is required")
	}
	if len(cfg.AllowedUIDs) == 0 {
		return nil, errors.New("native: config: AllowedUIDs is required")
	}
	if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
	}
	if cfg.Mode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("native: config: Mode %v has bits beyond the permissions", cfg.Mode)
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Endpoint{
		cfg: cfg, log: cfg.Logger, warns: loglimit.New(cfg.Now),
		db: cfg.Authorizer.Database().Identifier, conns: map[net.Conn]bool{},
	}, nil
}

// Socket returns the socket's path.
func (e *Endpoint) Socket() string { return e.cfg.Socket }

// Listen binds the socket and gives it Mode (and Group). A socket file left behind by
// a verifier that is gone (nobody accepts on it) is replaced; a socket something
// accepts on, or a file that is not a socket, is an error.
func (e *Endpoint) Listen() error {
	if err := removeStale(e.cfg.Socket); err != nil {
		return err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: e.cfg.Socket, Net: "unix"})
	if err != nil {
		return fmt.Errorf("native: listen: %w", err)
	}
	ln.SetUnlinkOnClose(false) // Shutdown removes it, after the last answer
	if err := os.Chmod(e.cfg.Socket, e.cfg.Mode); err != nil {
		ln.Close()
		os.Remove(e.cfg.Socket)
		return fmt.Errorf("native: listen: %w", err)
	}
	if e.cfg.Group > 0 {
		if err := os.Chown(e.cfg.Socket, -1, e.cfg.Group); err != nil {
			ln.Close()
			os.Remove(e.cfg.Socket)
			return fmt.Errorf("native: listen: %w", err)
		}
	}
	e.mu.Lock()
	e.ln = ln
	e.mu.Unlock()
	return nil
}

// removeStale removes a socket file at path that nobody accepts on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("native: listen: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("native: listen: %s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("native: listen: %s is in use by another process", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("native: listen: checking %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("native: listen: removing a stale socket: %w", err)
	}
	return nil
}

// Serve answers connections until Shutdown; it returns ErrServerClosed then, or the
// error that stopped it. Listen must have been called.
func (e *Endpoint) Serve() error {
	e.mu.Lock()
	ln := e.ln
	e.mu.Unlock()
	if ln == nil {
		return errors.New("native: Serve before Listen")
	}
	e.log.Info("native endpoint listening", "socket", e.cfg.Socket, "engine", e.cfg.Engine, "database", e.db)
	var delay time.Duration
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			e.mu.Lock()
			closing := e.closing
			e.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				e.log.Error("native accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("native: accept: %w", err)
		}
		delay = 0
		e.mu.Lock()
		if e.closing {
			e.mu.Unlock()
			c.Close()
			return ErrServerClosed
		}
		if len(e.conns) >= e.cfg.MaxConns {
			e.mu.Unlock()
			c.Close()
			e.warns.Warn(e.log, "native connection refused", "reason", "too-many-connections", "max_conns", e.cfg.MaxConns)
			continue
		}
		e.conns[c] = false
		e.active.Add(1)
		e.mu.Unlock()
		go func() {
			defer e.active.Done()
			defer func() {
				c.Close()
				e.mu.Lock()
				delete(e.conns, c)
				e.mu.Unlock()
			}()
			e.serveConn(c)
		}()
	}
}

// serveConn checks the peer, then reads requests, decides and answers them one at a time
// until the peer closes, a request is malformed or late, or the endpoint shuts down.
func (e *Endpoint) serveConn(c *net.UnixConn) {
	uid, pid, err := peerCred(c)
	if err != nil {
		e.log.Error("native peer credentials", "err", err)
		return
	}
	if !slices.Contains(e.cfg.AllowedUIDs, uid) {
		e.warns.Warn(e.log, "native peer refused", "uid", uid, "pid", pid)
		return
	}
	// Requests are read through a buffer: a request's fields in one read, not one each. It
	// never holds more than the peer sent, which is this request and, at most, the next.
	r := bufio.NewReaderSize(c, requestBuffer)
	for first := true; ; first = false {
		wait := e.cfg.RequestTimeout
		if !first {
			if !e.setIdle(c, true) {
				return // shutting down: no further request
			}
			wait = e.cfg.IdleTimeout
		}
		c.SetDeadline(time.Now().Add(wait))
		req, err := ReadRequest(r)
		if !first && !e.setIdle(c, false) {
			return
		}
		if err != nil {
			switch {
			case errors.Is(err, ErrMalformed):
				e.warns.Warn(e.log, "malformed native request", "uid", uid, "pid", pid, "err", err)
			case first:
				e.log.Debug("no native request", "uid", uid, "pid", pid, "err", err)
			}
			return
		}
		resp := e.decide(req)
		c.SetDeadline(time.Now().Add(e.cfg.RequestTimeout))
		if err := WriteResponse(c, resp); err != nil {
			e.log.Debug("native answer not sent", "err", err)
			return
		}
	}
}

// requestBuffer is serveConn's read buffer: a request with a usual token (1–2 KiB) in one read.
const requestBuffer = 2048

// setIdle marks c as waiting for a further request (Shutdown closes such connections at
// once) or as busy again; it reports false if the endpoint is shutting down.
func (e *Endpoint) setIdle(c *net.UnixConn, idle bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return false
	}
	e.conns[c] = idle
	return true
}

// ReasonAuditFailed is the reason of a login denied because its event could not be
// recorded.
const ReasonAuditFailed = "audit-failed"

// decide makes the login decision for req, logs and audits it.
func (e *Endpoint) decide(req Request) Response {
	var source netip.Addr
	if a, err := netip.ParseAddr(req.Host); err == nil {
		source = a.WithZone("").Unmap()
	}
	rec := access.Record{
		Time: e.cfg.Now(), Engine: e.cfg.Engine, Mode: access.ModeNative, Database: e.db,
		User: req.User, IAM: true,
	}
	if source.IsValid() {
		rec.Source = netip.AddrPortFrom(source, 0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout)
	defer cancel()
	ok := e.cfg.Authorizer.Authorize(ctx, req.User, req.Token, source, e.cfg.SecureTransport, &rec)
	if ok {
		e.log.Info("connection authorized", "user", req.User, "source", req.Host, "database", e.db, "mode", access.ModeNative,
			"principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
	} else {
		e.log.Warn("authentication failed", "user", req.User, "source", req.Host, "database", e.db, "mode", access.ModeNative,
			"reason", rec.Reason, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
	}
	if e.cfg.Recorder != nil {
		if err := e.cfg.Recorder.Record(ctx, rec.Event()); err != nil {
			e.log.Error("login not recorded in the audit trail", "user", req.User, "source", req.Host, "database", e.db,
				"mode", access.ModeNative, "outcome", rec.Outcome, "err", err)
			if ok {
				ok, rec.Outcome, rec.Reason = false, access.OutcomeError, ReasonAuditFailed
			}
		}
	}
	if e.cfg.Audit != nil {
		e.cfg.Audit(rec)
	}
	return Response{Allow: ok, Reason: rec.Reason}
}

// Shutdown stops accepting (Serve returns ErrServerClosed), waits for the connections being answered until ctx ends
// (then closes them), and removes the socket file.
func (e *Endpoint) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closing = true
	ln := e.ln
	for c, idle := range e.conns {
		if idle {
			c.Close() // between requests: nothing is lost
		}
	}
	e.mu.Unlock()
	if ln == nil {
		return nil
	}
	ln.Close()
	var err error
	done := make(chan struct{})
	go func() { e.active.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		e.mu.Lock()
		for c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		<-done
		err = errors.Join(err, ctx.Err())
	}
	if rerr := os.Remove(e.cfg.Socket); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}
