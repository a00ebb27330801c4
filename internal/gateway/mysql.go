package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/iamdb/iamdb/internal/mysqlwire"
)

var _ engine = (*mysqlEngine)(nil)

// mysqlEngine is the MySQL engine: the wire toward clients (mysqlwire.Server), the
// backend sessions (MariaDB, logged in with mysqlwire.ClientHandshake) and the relay.
type mysqlEngine struct {
	g         *Gateway
	srv       *mysqlwire.Server
	admin     *mysqlAdmin
	members   *membership
	pool      *pool[*mysqlBackend]
	dialLimit *limiter
	caps      mysqlwire.Capability // offered to clients, asked of the backend
}

func newMySQLEngine(g *Gateway) (*mysqlEngine, error) {
	cfg := &g.cfg
	f := &mysqlEngine{g: g, caps: mysqlwire.DefaultCapabilities}
	if cfg.AllowLocalInfile {
		f.caps |= mysqlwire.CapLocalFiles
	}
	var err error
	if f.srv, err = mysqlwire.NewServer(mysqlwire.Config{
		TLS: g.serverTLS(), MinTLSVersion: cfg.MinTLSVersion, ServerVersion: cfg.ServerVersion,
		Capabilities: f.caps,
	}); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if f.admin, err = newMySQLAdmin(cfg.Backend); err != nil {
		return nil, err
	}
	f.members = g.newMembership(f.admin.isMember)
	f.pool = newEnginePool[*mysqlBackend](g, EngineMySQL)
	f.dialLimit = newLimiter(cfg.Pool.MaxDialsPerSecond, cfg.Pool.DialBurst, cfg.Now)
	return f, nil
}

func (f *mysqlEngine) close() {
	f.pool.close()
	f.admin.close()
}

// tooManyMySQL is the answer to a connection beyond the gateway's limits, sent in place
// of the greeting as MariaDB does.
var tooManyMySQL = mysqlwire.TooManyConnections().AppendPacket(nil, 0)

func (f *mysqlEngine) tooMany() []byte { return tooManyMySQL }

// serve runs one client connection from accept to close.
func (f *mysqlEngine) serve(nc net.Conn) {
	g := f.g
	cfg := &g.cfg
	start := time.Now()
	ctx, cancel, source := g.loginContext(nc, start)
	defer cancel()

	c, err := f.srv.Handshake(ctx, nc)
	if err != nil {
		g.handshakeFailed(EngineMySQL, source, err, errors.Is(err, mysqlwire.ErrTLS))
		return
	}
	g.startupDone(nc, start)

	rec, log := g.loginRecord(EngineMySQL, source, c.User(), c.Database())
	s, fatal := f.login(ctx, c, &rec, log)
	ok := s != nil
	g.recordLogin(&rec, start)
	if fatal != nil {
		c.SendError(fatal.Code, fatal.SQLState, fatal.Message)
	}
	if !ok {
		return
	}
	err = c.SendOK(0, 0, s.be.status, 0)
	nc.SetDeadline(time.Time{})
	g.authenticated(nc)
	if err == nil {
		attrs := []any{"program_name", c.Attrs()["program_name"], "client_name", c.Attrs()["_client_name"]}
		attrs = append(attrs, tlsAttrs(c.TLS())...)
		if rec.IAM {
			attrs = append(attrs, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
		}
		attrs = append(attrs, "backend_connection_id", s.be.connID, "pooled", s.reused)
		log.Info("connection authorized", attrs...)

		g.m.active.WithLabelValues(EngineMySQL).Inc()
		r := newMySQLRelay(c.NetConn(), c.Reader(), s.be, c.Capabilities(), cfg.Pool.ResetTimeout, log)
		if s.key != "" {
			r.onReset = func() { s.returning = true; f.pool.returning(s.key) }
		}
		reusable := r.run(s.key != "" && !g.closing.Load())
		g.m.active.WithLabelValues(EngineMySQL).Dec()
		s.reusable = reusable && !g.closing.Load()
		log.Debug("disconnection", "session_time", time.Since(start).String(), "backend_connection_id", s.be.connID, "pooled", s.reusable)
	}
	f.done(s)
}

// mysqlSession is a client's backend session.
type mysqlSession struct {
	be        *mysqlBackend
	key       string // pool key; "" when not pooled
	reused    bool
	reusable  bool
	returning bool
}

func (f *mysqlEngine) done(s *mysqlSession) {
	if s.key == "" {
		s.be.Close()
		return
	}
	f.pool.release(s.key, s.be, s.reusable, s.returning)
}

// login authenticates and authorizes the client and returns its backend session. On
// failure it returns a nil session and the error to send the client (nil if the client
// is gone), having filled rec and logged.
func (f *mysqlEngine) login(ctx context.Context, c *mysqlwire.Conn, rec *AuditRecord, log *slog.Logger) (*mysqlSession, *mysqlwire.Error) {
	cfg := &f.g.cfg
	user := c.User()
	host := rec.Source.Addr().String()
	if why := checkUserName(EngineMySQL, user); why != "" {
		rec.User = printableUser(user)
		rec.Outcome, rec.Reason = outcomeRefused, reasonInvalidUser
		f.g.warnLimited(log, "authentication failed", "reason", reasonInvalidUser, "detail", why)
		return nil, mysqlwire.AccessDenied(rec.User, host, c.UsingPassword())
	}
	// Without TLS only password users may log in, and only when allowed: decided
	// before the backend is asked anything.
	if c.TLS() == nil && !cfg.AllowPlaintextPasswords {
		return nil, f.noSSL(rec, log)
	}
	isIAM, err := f.members.isIAM(ctx, user)
	if err != nil {
		rec.Outcome, rec.Reason = outcomeError, reasonBackend
		log.Error("rds_iam membership lookup failed", "err", err)
		return nil, &mysqlwire.Error{Code: mysqlwire.ErServerShutdown, SQLState: mysqlwire.StateHandshake, Message: "the database server is not available"}
	}
	rec.IAM = isIAM
	if c.TLS() == nil && isIAM {
		return nil, f.noSSL(rec, log)
	}
	if !isIAM {
		return f.loginPassword(ctx, c, rec, log)
	}
	pw, err := c.RequestCleartextPassword()
	if err != nil {
		rec.Outcome, rec.Reason = outcomeRefused, reasonNoPassword
		if !isDisconnect(err) && !errors.Is(err, mysqlwire.ErrCleartextNotEnabled) {
			rec.Outcome, rec.Reason = outcomeError, reasonProtocol
		}
		log.Debug("no password", "err", err)
		return nil, nil
	}
	if !f.g.auth.authorize(ctx, user, string(pw), rec.Source.Addr(), true, rec) {
		log.Warn("authentication failed", "reason", rec.Reason, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
		e := mysqlwire.AccessDenied(user, host, len(pw) > 0)
		if cfg.RevealReasons {
			e.Message += " (reason: " + rec.Reason + ")"
		}
		return nil, e
	}
	s, err := f.acquireIAM(ctx, c)
	if err != nil {
		rec.Outcome = outcomeError
		return nil, f.backendFailed(err, c, rec, log)
	}
	return s, nil
}

// insecureTransport refuses a plaintext login with MySQL's error of
// require_secure_transport. It names no user and is the same for IAM and password users,
// so that it does not tell who is an IAM user.
var insecureTransport = mysqlwire.Error{Code: mysqlwire.ErSecureTransportRequired, SQLState: mysqlwire.StateGeneral,
	Message: "Connections using insecure transport are prohibited: the gateway requires TLS (--ssl)"}

// noSSL refuses a plaintext login.
func (f *mysqlEngine) noSSL(rec *AuditRecord, log *slog.Logger) *mysqlwire.Error {
	rec.Outcome, rec.Reason = outcomeRefused, reasonNoSSL
	f.g.warnLimited(log, "authentication failed", "reason", reasonNoSSL)
	e := insecureTransport
	return &e
}

// loginPassword logs a password user in to the backend, relaying the authentication
// exchange between the client and the backend: the backend checks the password with
// the account's own plugin and the gateway never sees it.
func (f *mysqlEngine) loginPassword(ctx context.Context, c *mysqlwire.Conn, rec *AuditRecord, log *slog.Logger) (*mysqlSession, *mysqlwire.Error) {
	dctx, cancel := context.WithTimeout(ctx, f.g.cfg.Backend.ConnectTimeout)
	defer cancel()
	be, err := f.dialMySQL(dctx, c, nil, &clientAuthRelay{c: c})
	if err != nil {
		rec.Outcome = outcomeError
		return nil, f.backendFailed(err, c, rec, log)
	}
	rec.Outcome = outcomeOK
	return &mysqlSession{be: be}, nil
}

// backendFailed returns what to tell the client of a backend login error: the
// backend's own ERR packet (wrong password, unknown database, too many connections, …)
// as it is, anything else as "not available". A client that went away during a
// relayed password exchange gets nothing.
func (f *mysqlEngine) backendFailed(err error, c *mysqlwire.Conn, rec *AuditRecord, log *slog.Logger) *mysqlwire.Error {
	var myErr *mysqlwire.Error
	var clientErr *clientSideError
	switch {
	case errors.As(err, &clientErr):
		rec.Outcome, rec.Reason = outcomeRefused, reasonNoPassword
		if !isDisconnect(clientErr.err) {
			rec.Outcome, rec.Reason = outcomeError, reasonProtocol
		}
		log.Debug("client left during authentication", "err", clientErr.err)
		return nil
	case errors.As(err, &myErr):
		if myErr.Code == mysqlwire.ErAccessDenied {
			rec.Outcome, rec.Reason = outcomeRefused, reasonPassword
			log.Warn("authentication failed", "reason", reasonPassword, "backend_error", myErr.Message)
		} else {
			rec.Reason = reasonBackend
			log.Warn("backend refused the login", "code", myErr.Code, "backend_error", myErr.Message)
		}
		return myErr
	case errors.Is(err, errPoolClosed) || f.g.closing.Load():
		rec.Reason = reasonShutdown
		return &mysqlwire.Error{Code: mysqlwire.ErServerShutdown, SQLState: mysqlwire.StateHandshake, Message: "the gateway is shutting down"}
	case errors.Is(err, context.DeadlineExceeded):
		rec.Reason = reasonPoolTimeout
		log.Error("no backend session in time", "err", err)
		return &mysqlwire.Error{Code: mysqlwire.ErTooManyConnections, SQLState: mysqlwire.StateAuthMode, Message: "no backend connection available in time"}
	default:
		rec.Reason = reasonBackend
		log.Error("backend login failed", "err", err)
		return &mysqlwire.Error{Code: mysqlwire.ErServerShutdown, SQLState: mysqlwire.StateHandshake, Message: "the database server is not available"}
	}
}

// acquireIAM returns a backend session for an authorized IAM user: an idle pooled one
// for the same (user, database, capabilities, character set), switched back to the
// database, or a new one logged in with a client certificate. Sessions without a
// database are not pooled: nothing can unselect a database a previous client chose.
func (f *mysqlEngine) acquireIAM(ctx context.Context, c *mysqlwire.Conn) (*mysqlSession, error) {
	user, database := c.User(), c.Database()
	dial := func(ctx context.Context) (*mysqlBackend, error) {
		cert, err := f.g.cfg.ClientCerts.Get(user)
		if err != nil {
			return nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, f.g.cfg.Backend.ConnectTimeout)
		defer cancel()
		return f.dialMySQL(dctx, c, cert, nil)
	}
	s := &mysqlSession{}
	if database == "" || f.g.cfg.Pool.MaxIdlePerKey == 0 {
		be, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		s.be = be
		return s, nil
	}
	s.key = user + "\x00" + database + "\x00" + strconv.FormatUint(uint64(c.Capabilities()), 16) + "\x00" + strconv.Itoa(int(c.Charset()))
	timeout := f.g.cfg.Pool.ResetTimeout
	check := func(be *mysqlBackend) error {
		if err := be.initDB(database, timeout); err != nil {
			f.g.log.Debug("dropping a stale pooled session", "user", user, "backend_connection_id", be.connID, "err", err)
			return err
		}
		return nil
	}
	be, reused, err := f.pool.acquire(ctx, s.key, check, dial)
	if err != nil {
		return nil, err
	}
	s.be, s.reused = be, reused
	return s, nil
}

// clientAuthRelay relays a backend's authentication exchange to the client.
type clientAuthRelay struct {
	c *mysqlwire.Conn
}

// clientSideError marks an error of the client's side of a relayed exchange.
type clientSideError struct{ err error }

func (e *clientSideError) Error() string { return "gateway: client: " + e.err.Error() }
func (e *clientSideError) Unwrap() error { return e.err }

func (r *clientAuthRelay) Start(plugin string, scramble []byte) ([]byte, error) {
	reply, err := r.c.AuthExchange(mysqlwire.SwitchAuthRequest(plugin, scramble), true)
	if err != nil {
		return nil, &clientSideError{err}
	}
	return reply, nil
}

func (r *clientAuthRelay) Continue(p []byte) ([]byte, bool, error) {
	want := !mysqlwire.FastAuthSuccess(p) // OK follows

	reply, err := r.c.AuthExchange(p, want)
	if err != nil {
		return nil, false, &clientSideError{err}
	}
	return reply, want, nil
}
