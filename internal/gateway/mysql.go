package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/iamdb/iamdb/internal/dbreport"
	"github.com/iamdb/iamdb/internal/mysqlwire"
)

var _ engine = (*mysqlEngine)(nil)

// mysqlEngine is the MySQL engine: the wire toward clients (mysqlwire.Server), the
// backend sessions (MariaDB, logged in with mysqlwire.ClientHandshake) and the relay.
type mysqlEngine struct {
	engineCore[*mysqlBackend]
	srv   *mysqlwire.Server
	admin *mysqlAdmin
	caps  mysqlwire.Capability // offered to clients, asked of the backend
}

func newMySQLEngine(g *Gateway) (*mysqlEngine, error) {
	cfg := &g.cfg
	e := &mysqlEngine{engineCore: engineCore[*mysqlBackend]{g: g}, caps: mysqlwire.DefaultCapabilities}
	if cfg.AllowLocalInfile {
		e.caps |= mysqlwire.CapLocalFiles
	}
	var err error
	if e.srv, err = mysqlwire.NewServer(mysqlwire.Config{
		TLS: g.serverTLS(), MinTLSVersion: cfg.MinTLSVersion, ServerVersion: cfg.ServerVersion,
		Capabilities: e.caps, ReadBufferSize: loginBufSize,
	}); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if e.admin, err = newMySQLAdmin(cfg.Backend); err != nil {
		return nil, err
	}
	e.engineCore = newEngineCore[*mysqlBackend](g, EngineMySQL, e.admin.isMember)
	return e, nil
}

func (e *mysqlEngine) close() {
	e.pool.close()
	e.admin.close()
}

// tooManyMySQL is the answer to a connection beyond the gateway's limits, sent in place
// of the greeting as MariaDB does.
var tooManyMySQL = mysqlwire.TooManyConnections().AppendPacket(nil, 0)

func (e *mysqlEngine) tooMany() []byte { return tooManyMySQL }

// serve runs one client connection from accept to close, or up to the question for the
// password: it then returns the rest, which waits for the answer (Gateway.serveConn).
func (e *mysqlEngine) serve(ctx context.Context, loginDone context.CancelFunc, nc net.Conn, start time.Time, source netip.AddrPort) (rest func()) {
	g := e.g
	c, err := e.srv.Handshake(ctx, nc)
	if err != nil {
		g.handshakeFailed(EngineMySQL, source, err, errors.Is(err, mysqlwire.ErrTLS))
		return nil
	}
	if _, ok := c.Attrs()[dbreport.Param]; ok {
		defer loginDone()
		e.serveDoctorMySQL(ctx, c, nc, start, source) // diagnose_mysql.go: on this goroutine, to the end
		return nil
	}
	lc := mysqlLogin{loginConn[*mysqlwire.Conn]{e.members, c}, e}
	refuse := mysqlRefuse(c)
	return runLogin[*mysqlSession](ctx, loginDone, g, nc, start, EngineMySQL, source, lc, c.Database(), c.Reader(), refuse,
		func(s *mysqlSession, rec *AuditRecord, log *slog.Logger) { e.session(c, s, rec, log, nc, start) })
}

// session serves a logged-in client until it leaves: a function of its own, as
// pgEngine.session.
func (e *mysqlEngine) session(c *mysqlwire.Conn, s *mysqlSession, rec *AuditRecord, log *slog.Logger, nc net.Conn, start time.Time) {
	g := e.g
	g.authenticated(nc, rec) // before the client hears of it, as PostgreSQL's
	err := c.SendOK(0, 0, s.be.status, 0)
	nc.SetDeadline(time.Time{})
	if err == nil {
		attrs := authorizedAttrs(rec, c.TLS(), "program_name", c.Attrs()["program_name"], "client_name", c.Attrs()["_client_name"])
		attrs = append(attrs, "backend_connection_id", s.be.connID, "pooled", s.reused)
		log.Info("connection authorized", attrs...)

		cn := c.NetConn()
		r := newMySQLRelay(cn, newRelayReader(cn, backendBufSize, buffered(c.Reader())), s.be, c.Capabilities(), g.cfg.Pool.ResetTimeout, log)
		r.onReset = s.onReset(e.pool)
		c = nil // its login state (attributes, reader) is garbage from here
		s.relay(g, EngineMySQL, s.key != "", r.run)
		log.Debug("disconnection", "session_time", time.Since(start).String(), "backend_connection_id", s.be.connID, "pooled", s.reusable)
	}
	s.release(e.pool)
}

// insecureTransport refuses a plaintext login with MySQL's error of
// require_secure_transport. It names no user and is the same for IAM and password users,
// so that it does not tell who is an IAM user.
var insecureTransport = mysqlwire.Error{Code: mysqlwire.ErSecureTransportRequired, SQLState: mysqlwire.StateGeneral,
	Message: "Connections using insecure transport are prohibited: the gateway requires TLS (--ssl)"}

// mysqlRefuse returns what tells c of a refusal: its mysqlRefusals message, if any.
func mysqlRefuse(c *mysqlwire.Conn) func(refusal) {
	return func(r refusal) {
		if msg := mysqlRefusals[r.kind](r, c); msg != nil {
			c.SendError(msg.Code, msg.SQLState, msg.Message)
		}
	}
}

// mysqlRefusals words every refusal of the login flow as MariaDB (and RDS) does. A nil
// error: nothing is sent.
var mysqlRefusals = map[refusalKind]func(r refusal, c *mysqlwire.Conn) *mysqlwire.Error{
	refuseSilently: func(refusal, *mysqlwire.Conn) *mysqlwire.Error { return nil },
	refuseInvalidUser: func(r refusal, c *mysqlwire.Conn) *mysqlwire.Error {
		return mysqlwire.AccessDenied(r.user, r.host, c.UsingPassword())
	},
	refuseNoSSL: func(refusal, *mysqlwire.Conn) *mysqlwire.Error {
		e := insecureTransport
		return &e
	},
	refuseUnavailable: func(refusal, *mysqlwire.Conn) *mysqlwire.Error {
		return &mysqlwire.Error{Code: mysqlwire.ErServerShutdown, SQLState: mysqlwire.StateHandshake, Message: "the database server is not available"}
	},
	refuseDenied: func(r refusal, _ *mysqlwire.Conn) *mysqlwire.Error { // RDS's answer to any IAM refusal
		e := mysqlwire.AccessDenied(r.user, r.host, r.usingPassword)
		if r.detail != "" {
			e.Message += " (reason: " + r.detail + ")"
		}
		return e
	},
	refuseShutdown: func(refusal, *mysqlwire.Conn) *mysqlwire.Error {
		return &mysqlwire.Error{Code: mysqlwire.ErServerShutdown, SQLState: mysqlwire.StateHandshake, Message: "the gateway is shutting down"}
	},
	refusePoolTimeout: func(refusal, *mysqlwire.Conn) *mysqlwire.Error {
		return &mysqlwire.Error{Code: mysqlwire.ErTooManyConnections, SQLState: mysqlwire.StateAuthMode, Message: "no backend connection available in time"}
	},
	refuseByBackend: func(r refusal, _ *mysqlwire.Conn) *mysqlwire.Error { // as the backend sent it
		var mysqlErr *mysqlwire.Error
		if !errors.As(r.err, &mysqlErr) {
			return &mysqlwire.Error{Code: mysqlwire.ErServerShutdown, SQLState: mysqlwire.StateHandshake, Message: "the database server is not available"}
		}
		return mysqlErr
	},
}

// mysqlLogin is a MySQL client in the login flow.
type mysqlLogin struct {
	loginConn[*mysqlwire.Conn]
	e *mysqlEngine
}

var _ loginClient[*mysqlSession] = mysqlLogin{}

func (mysqlLogin) sessionID(s *mysqlSession) uint64 { return uint64(s.be.connID) }

func (l mysqlLogin) abandon(s *mysqlSession) { s.release(l.e.pool) }

// askPassword asks IAM users for the token (switching them to mysql_clear_password);
// password users' authentication is relayed to the backend (loginPassword).
func (l mysqlLogin) askPassword(isIAM bool) (bool, error) {
	if !isIAM {
		return false, nil
	}
	return l.c.AskCleartextPassword()
}

// password returns an IAM user's token ("" for password users).
func (l mysqlLogin) password(isIAM bool) (string, error) {
	if !isIAM {
		return "", nil
	}
	pw, err := l.c.ReadCleartextPassword()
	if errors.Is(err, mysqlwire.ErrCleartextNotEnabled) {
		err = passwordDeclined{err}
	}
	return string(pw), err
}

// loginPassword logs a password user in to the backend, relaying the authentication
// exchange between the client and the backend: the backend checks the password with
// the account's own plugin and the gateway never sees it.
func (l mysqlLogin) loginPassword(ctx context.Context, _ string) (*mysqlSession, error) {
	dctx, cancel := context.WithTimeout(ctx, l.e.g.cfg.Backend.ConnectTimeout)
	defer cancel()
	be, err := l.e.dialMySQL(dctx, l.c, nil, &clientAuthRelay{c: l.c})
	if err != nil {
		return nil, err
	}
	return &mysqlSession{be: be}, nil
}

func (l mysqlLogin) acquireIAM(ctx context.Context) (*mysqlSession, error) {
	return l.e.acquireIAM(ctx, l.c)
}

// backendError returns the backend's ERR packet in err (wrong password, unknown
// database, too many connections, …).
func (mysqlLogin) backendError(err error) (code any, message string, password, ok bool) {
	var mysqlErr *mysqlwire.Error
	if !errors.As(err, &mysqlErr) {
		return nil, "", false, false
	}
	return mysqlErr.Code, mysqlErr.Message, mysqlErr.Code == mysqlwire.ErAccessDenied, true
}

// acquireIAM returns a backend session for an authorized IAM user: an idle pooled one
// for the same (user, database, capabilities, character set), switched back to the
// database, or a new one logged in with a client certificate. Sessions without a
// database are not pooled: nothing can unselect a database a previous client chose.
func (e *mysqlEngine) acquireIAM(ctx context.Context, c *mysqlwire.Conn) (*mysqlSession, error) {
	user, database := c.User(), c.Database()
	dial := e.certDial(user, func(ctx context.Context, cert *tls.Certificate) (*mysqlBackend, error) {
		return e.dialMySQL(ctx, c, cert, nil)
	})
	s := &mysqlSession{}
	if database == "" || e.g.cfg.Pool.MaxIdlePerKey == 0 {
		be, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		s.be = be
		return s, nil
	}
	s.key = user + "\x00" + database + "\x00" + strconv.FormatUint(uint64(c.Capabilities()), 16) + "\x00" + strconv.Itoa(int(c.Charset()))
	timeout := e.g.cfg.Pool.ResetTimeout
	check := func(be *mysqlBackend, _ time.Duration) error {
		err := be.initDB(database, timeout)
		e.g.m.observeCheck(EngineMySQL, checkQuery, err)
		if err != nil {
			e.g.log.Debug("dropping a stale pooled session", "user", user, "backend_connection_id", be.connID, "err", err)
			return err
		}
		return nil
	}
	return e.acquire(ctx, s, check, dial)
}

// clientAuthRelay relays a backend's authentication exchange to the client.
type clientAuthRelay struct {
	c *mysqlwire.Conn
}

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
