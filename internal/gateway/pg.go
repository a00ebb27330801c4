package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/dbreport"
	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

var _ engine = (*pgEngine)(nil)

// pgEngine is the PostgreSQL engine: the wire toward clients and the backend sessions.
type pgEngine struct {
	engineCore[*pgBackend]
	srv        *pgwire.Server
	template   *pgconn.Config
	backendTLS *tls.Config
	admin      *adminPool
	cancels    cancelMap
}

func newPGEngine(g *Gateway) (*pgEngine, error) {
	cfg := &g.cfg
	e := &pgEngine{engineCore: engineCore[*pgBackend]{g: g}, backendTLS: cfg.Backend.TLS.Clone()}
	var err error
	if e.srv, err = pgwire.NewServer(pgwire.Config{
		TLS: g.serverTLS(), MinTLSVersion: cfg.MinTLSVersion, OnCancel: e.cancel, ReadBufferSize: loginBufSize,
	}); err != nil {
		return nil, err
	}
	if e.template, err = newPGTemplate(cfg.Backend); err != nil {
		return nil, err
	}
	admin := e.template.Copy()
	admin.User, admin.Password, admin.Database = cfg.Backend.AdminUser, cfg.Backend.AdminPassword, cfg.Backend.AdminDatabase
	admin.RuntimeParams = map[string]string{"application_name": "iamdb-gateway"}
	admin.TLSConfig = e.backendTLS
	e.admin = newAdminPool(admin, cfg.Backend.MaxAdminConns)
	e.engineCore = newEngineCore[*pgBackend](g, EnginePostgres, e.admin.isMember)
	return e, nil
}

func (e *pgEngine) close() {
	e.pool.close()
	e.admin.close()
}

// tooManyPG is the answer to a connection beyond the gateway's limits, sent before the
// startup packet as PostgreSQL does.
var tooManyPG = func() []byte {
	b, err := pgwire.Fatal(pgwire.CodeTooManyConnections, "sorry, too many clients already").AppendTo(nil)
	if err != nil {
		panic(err)
	}
	return b
}()

func (e *pgEngine) tooMany() []byte { return tooManyPG }

// cancel handles a client's CancelRequest (on the cancel connection's goroutine).
func (e *pgEngine) cancel(pid uint32, key []byte) {
	bpid, bkey, ok := e.cancels.lookup(pid, key)
	if !ok {
		e.g.log.Debug("cancel request for an unknown session", "pid", pid)
		return
	}
	if err := e.sendCancel(bpid, bkey); err != nil {
		e.g.log.Warn("cancel request failed", "pid", pid, "backend_pid", bpid, "err", err)
	}
}

// serve runs one client connection from accept to close, or up to the question for the
// password: it then returns the rest, which waits for the answer (Gateway.serveConn).
func (e *pgEngine) serve(ctx context.Context, loginDone context.CancelFunc, nc net.Conn, start time.Time, source netip.AddrPort) (rest func()) {
	g := e.g
	c, err := e.srv.Handshake(ctx, nc)
	if err != nil {
		if errors.Is(err, pgwire.ErrCancelRequest) {
			return nil
		}
		g.handshakeFailed(EnginePostgres, source, err, errors.Is(err, pgwire.ErrTLS))
		return nil
	}
	if _, ok := c.Params()[dbreport.Param]; ok {
		defer loginDone()
		e.serveDoctorPG(ctx, c, nc, start, source) // diagnose.go: on this goroutine, to the end
		return nil
	}
	lc := pgLogin{loginConn[*pgwire.Conn]{e.members, c}, e}
	refuse := pgRefuse(c)
	return runLogin[*pgSession](ctx, loginDone, g, nc, start, EnginePostgres, source, lc, c.Database(), c.Reader(), refuse,
		func(s *pgSession, rec *AuditRecord, log *slog.Logger) { e.session(c, s, rec, log, nc, start) })
}

// session serves a logged-in client until it leaves. A function of its own, so that the
// login's frames are not on the stack of an idle session, nor the session's on the stack
// of a login waiting for its password.
func (e *pgEngine) session(c *pgwire.Conn, s *pgSession, rec *AuditRecord, log *slog.Logger, nc net.Conn, start time.Time) {
	g := e.g
	nc.SetDeadline(time.Time{})
	g.authenticated(nc, rec)

	pid, key := e.cancels.add(s.be)
	c.SendAuthOK()
	for name, value := range s.be.params {
		c.SendParameterStatus(name, value)
	}
	c.SendBackendKeyData(pid, key[:])
	c.SendReadyForQuery(s.be.tx)
	if err := c.Flush(); err == nil {
		attrs := authorizedAttrs(rec, c.TLS(), "application_name", c.Params()["application_name"])
		attrs = append(attrs, "backend_pid", s.be.pid, "pooled", s.reused)
		log.Info("connection authorized", attrs...)

		cn := c.NetConn()
		r := &pgRelay{relayEnds: relayEnds{client: cn}, cr: newRelayReader(cn, backendBufSize, buffered(c.Reader())), cw: newRelayWriter(cn, backendBufSize),
			be: s.be, tx: s.be.tx, resetTimeout: g.cfg.Pool.ResetTimeout, onReset: s.onReset(e.pool), app: c.Params()["application_name"]}
		c = nil // its login state (startup parameters, reader) is garbage from here
		s.relay(g, EnginePostgres, s.poolable, r.run)
		log.Debug("disconnection", "session_time", time.Since(start).String(), "backend_pid", s.be.pid, "pooled", s.reusable)
	}
	e.cancels.remove(pid)
	s.release(e.pool)
}

// pgRefuse returns what tells c of a refusal: its pgRefusals message, if any.
func pgRefuse(c *pgwire.Conn) func(refusal) {
	return func(r refusal) {
		if msg := pgRefusals[r.kind](r, c); msg != nil {
			c.Fatal(msg)
		}
	}
}

// pgRefusals words every refusal of the login flow as PostgreSQL (RDS, pg_hba.conf)
// does. A nil error: nothing is sent.
var pgRefusals = map[refusalKind]func(r refusal, c *pgwire.Conn) *pgwire.Error{
	refuseSilently: func(refusal, *pgwire.Conn) *pgwire.Error { return nil },
	refuseInvalidUser: func(r refusal, _ *pgwire.Conn) *pgwire.Error {
		return pgwire.Fatal(pgwire.CodeInvalidAuthorization, "invalid user name: "+r.detail)
	},
	refuseNoSSL: func(r refusal, c *pgwire.Conn) *pgwire.Error { // a pg_hba.conf with only hostssl lines
		return pgwire.Fatal(pgwire.CodeInvalidAuthorization,
			`pg_hba.conf rejects connection for host "`+r.host+`", user "`+r.user+`", database "`+printableUser(c.Database())+`", SSL off`)
	},
	refuseUnavailable: func(refusal, *pgwire.Conn) *pgwire.Error {
		return pgwire.Fatal(pgwire.CodeCannotConnectNow, "the database system is not available")
	},
	refuseDenied: func(r refusal, _ *pgwire.Conn) *pgwire.Error { // RDS's answer to any IAM refusal
		e := pgwire.Fatal(pgwire.CodeInvalidAuthorization, `PAM authentication failed for user "`+r.user+`"`)
		if r.detail != "" {
			e.Detail = "reason: " + r.detail
		}
		return e
	},
	refuseShutdown: func(refusal, *pgwire.Conn) *pgwire.Error {
		return pgwire.Fatal(pgwire.CodeCannotConnectNow, "the database system is shutting down")
	},
	refusePoolTimeout: func(refusal, *pgwire.Conn) *pgwire.Error {
		return pgwire.Fatal(pgwire.CodeTooManyConnections, "no backend connection available in time")
	},
	refuseByBackend: func(r refusal, _ *pgwire.Conn) *pgwire.Error { // as the backend sent it
		var pgErr *pgconn.PgError
		if !errors.As(r.err, &pgErr) {
			return pgwire.Fatal(pgwire.CodeCannotConnectNow, "the database system is not available")
		}
		sev := pgErr.Severity
		if sev == "" {
			sev = pgwire.SeverityFatal
		}
		return &pgwire.Error{Severity: sev, Code: pgErr.Code, Message: pgErr.Message, Detail: pgErr.Detail, Hint: pgErr.Hint}
	},
}

// pgLogin is a PostgreSQL client in the login flow.
type pgLogin struct {
	loginConn[*pgwire.Conn]
	e *pgEngine
}

var _ loginClient[*pgSession] = pgLogin{}

// askPassword asks every user for a password: PostgreSQL's password users log in to the
// backend with it (SCRAM).
func (l pgLogin) askPassword(bool) (bool, error) { return true, l.c.AskPassword() }

func (l pgLogin) password(bool) (string, error) {
	pw, err := l.c.ReadPassword()
	return string(pw), err
}

// loginPassword logs a password user in to the backend with the client's password.
func (l pgLogin) loginPassword(ctx context.Context, pw string) (*pgSession, error) {
	params := backendParams(l.c.Params())
	dctx, cancel := context.WithTimeout(ctx, l.e.g.cfg.Backend.ConnectTimeout)
	defer cancel()
	be, err := l.e.dialPG(dctx, l.c.User(), l.c.Database(), params, pw, nil)
	if err != nil {
		return nil, err
	}
	return &pgSession{be: be}, nil
}

func (l pgLogin) acquireIAM(ctx context.Context) (*pgSession, error) { return l.e.acquireIAM(ctx, l.c) }

func (pgLogin) sessionID(s *pgSession) uint64 { return uint64(s.be.pid) }

func (l pgLogin) abandon(s *pgSession) { s.release(l.e.pool) }

// backendError returns the backend's ErrorResponse in err (wrong password, unknown
// database, too many connections, …).
func (pgLogin) backendError(err error) (code any, message string, password, ok bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil, "", false, false
	}
	return pgErr.Code, pgErr.Message, pgErr.Code == pgwire.CodeInvalidPassword || pgErr.Code == pgwire.CodeInvalidAuthorization, true
}

// acquireIAM returns a backend session for an authorized IAM user: an idle pooled one
// for the same (user, database, startup parameters), checked and given the client's
// application_name, or a new one logged in with a client certificate.
//
// The check of a pooled session costs no round trip when the session already has the
// client's application_name and was idle for less than quickCheckIdle: its socket is
// looked at instead (pgBackend.alive), which finds a backend that was terminated or
// restarted (PostgreSQL sends such sessions a FATAL ErrorResponse and closes them). A
// session idle for longer, or needing another application_name, gets a SET, a round trip
// that also finds a backend gone silently.
func (e *pgEngine) acquireIAM(ctx context.Context, c *pgwire.Conn) (*pgSession, error) {
	user, database := c.User(), c.Database()
	params := backendParams(c.Params())
	appName := params["application_name"]
	s := &pgSession{poolable: params["replication"] == ""}
	s.key = sessionKey(user, database, params)
	timeout := e.g.cfg.Pool.ResetTimeout
	check := func(be *pgBackend, idle time.Duration) error {
		if idle < quickCheckIdle && be.params["application_name"] == appName {
			err := be.alive()
			if !errors.Is(err, errCannotPeek) {
				e.g.m.observeCheck(EnginePostgres, checkPeek, err)
				if err != nil {
					e.g.log.Debug("dropping a stale pooled session", "user", user, "backend_pid", be.pid, "err", err)
				}
				return err
			}
		}
		err := be.simpleQuery("SET application_name = "+rdsiam.QuotePostgresLiteral(appName), timeout)
		e.g.m.observeCheck(EnginePostgres, checkQuery, err)
		if err != nil {
			e.g.log.Debug("dropping a stale pooled session", "user", user, "backend_pid", be.pid, "err", err)
			return err
		}
		be.params["application_name"] = appName
		return nil
	}
	dial := e.certDial(user, func(ctx context.Context, cert *tls.Certificate) (*pgBackend, error) {
		return e.dialPG(ctx, user, database, params, "", cert)
	})
	return e.acquire(ctx, s, check, dial)
}

// backendParams returns the startup parameters to send the backend: the client's, but
// user and database (pgconn sends those).
func backendParams(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		if k != "user" && k != "database" {
			out[k] = v
		}
	}
	return out
}

// sessionKey is (user, database, startup parameters but application_name).
func sessionKey(user, database string, params map[string]string) string {
	var b strings.Builder
	b.WriteString(user)
	b.WriteByte(0)
	b.WriteString(database)
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "application_name" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// tlsAttrs describes a TLS connection as log_connections does.
// tlsVersionName names a TLS connection's version as the logs and the audit trail do;
// "" for none.
func tlsVersionName(st *tls.ConnectionState) string {
	switch {
	case st == nil:
		return ""
	case st.Version == tls.VersionTLS13:
		return "TLSv1.3"
	default:
		return "TLSv1.2"
	}
}

func tlsAttrs(st *tls.ConnectionState) []any {
	if st == nil {
		return []any{"ssl", false}
	}
	v := "TLSv1.2"
	if st.Version == tls.VersionTLS13 {
		v = "TLSv1.3"
	}
	return []any{"ssl", true, "tls_protocol", v, "cipher", tls.CipherSuiteName(st.CipherSuite)}
}

func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
