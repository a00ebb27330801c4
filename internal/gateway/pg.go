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

	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/jackc/pgx/v5/pgconn"
)

var _ engine = (*pgEngine)(nil)

// pgEngine is the PostgreSQL engine: the wire toward clients and the backend sessions.
type pgEngine struct {
	g          *Gateway
	srv        *pgwire.Server
	template   *pgconn.Config
	backendTLS *tls.Config
	admin      *adminPool
	members    *membership
	pool       *pool[*pgBackend]
	dialLimit  *limiter
	cancels    cancelMap
}

func newPGEngine(g *Gateway) (*pgEngine, error) {
	cfg := &g.cfg
	f := &pgEngine{g: g, backendTLS: cfg.Backend.TLS.Clone()}
	var err error
	if f.srv, err = pgwire.NewServer(pgwire.Config{
		TLS: g.serverTLS(), MinTLSVersion: cfg.MinTLSVersion, OnCancel: f.cancel,
	}); err != nil {
		return nil, err
	}
	if f.template, err = newPGTemplate(cfg.Backend); err != nil {
		return nil, err
	}
	admin := f.template.Copy()
	admin.User, admin.Password, admin.Database = cfg.Backend.AdminUser, cfg.Backend.AdminPassword, cfg.Backend.AdminDatabase
	admin.RuntimeParams = map[string]string{"application_name": "iamdb-gateway"}
	admin.TLSConfig = f.backendTLS
	f.admin = newAdminPool(admin, cfg.Backend.MaxAdminConns)
	f.members = g.newMembership(f.admin.isMember)
	f.pool = newEnginePool[*pgBackend](g, EnginePostgres)
	f.dialLimit = newLimiter(cfg.Pool.MaxDialsPerSecond, cfg.Pool.DialBurst, cfg.Now)
	return f, nil
}

func (f *pgEngine) close() {
	f.pool.close()
	f.admin.close()
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

func (f *pgEngine) tooMany() []byte { return tooManyPG }

// cancel handles a client's CancelRequest (on the cancel connection's goroutine).
func (f *pgEngine) cancel(pid uint32, key []byte) {
	bpid, bkey, ok := f.cancels.lookup(pid, key)
	if !ok {
		f.g.log.Debug("cancel request for an unknown session", "pid", pid)
		return
	}
	if err := f.sendCancel(bpid, bkey); err != nil {
		f.g.log.Warn("cancel request failed", "pid", pid, "backend_pid", bpid, "err", err)
	}
}

// serve runs one client connection from accept to close.
func (f *pgEngine) serve(nc net.Conn) {
	g := f.g
	cfg := &g.cfg
	start := time.Now()
	ctx, cancel, source := g.loginContext(nc, start)
	defer cancel()

	c, err := f.srv.Handshake(ctx, nc)
	if err != nil {
		if errors.Is(err, pgwire.ErrCancelRequest) {
			return
		}
		g.handshakeFailed(EnginePostgres, source, err, errors.Is(err, pgwire.ErrTLS))
		return
	}
	g.startupDone(nc, start)

	rec, log := g.loginRecord(EnginePostgres, source, c.User(), c.Database())
	s, fatal := f.login(ctx, c, &rec, log)
	ok := s != nil
	g.recordLogin(&rec, start)
	if fatal != nil {
		c.Fatal(fatal)
	}
	if !ok {
		return
	}
	nc.SetDeadline(time.Time{})
	g.authenticated(nc)

	pid, key := f.cancels.add(s.be)
	c.SendAuthOK()
	for name, value := range s.be.params {
		c.SendParameterStatus(name, value)
	}
	c.SendBackendKeyData(pid, key[:])
	c.SendReadyForQuery(s.be.tx)
	err = c.Flush()
	if err == nil {
		attrs := []any{"application_name", c.Params()["application_name"]}
		attrs = append(attrs, tlsAttrs(c.TLS())...)
		if rec.IAM {
			attrs = append(attrs, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
		}
		attrs = append(attrs, "backend_pid", s.be.pid, "pooled", s.reused)
		log.Info("connection authorized", attrs...)

		g.m.active.WithLabelValues(EnginePostgres).Inc()
		r := &pgRelay{client: c.NetConn(), cr: c.Reader(), be: s.be, tx: s.be.tx, resetTimeout: cfg.Pool.ResetTimeout}
		if s.key != "" {
			r.onReset = func() { s.returning = true; f.pool.returning(s.key) }
		}
		reusable := r.run(s.poolable && !g.closing.Load())
		g.m.active.WithLabelValues(EnginePostgres).Dec()
		s.reusable = reusable && !g.closing.Load()
		log.Debug("disconnection", "session_time", time.Since(start).String(), "backend_pid", s.be.pid, "pooled", s.reusable)
	}
	f.cancels.remove(pid)
	f.done(s)
}

// pgSession is a client's backend session.
type pgSession struct {
	be        *pgBackend
	key       string // pool key; "" when not pooled
	poolable  bool
	reused    bool
	reusable  bool
	returning bool // announced to the pool as coming back
}

// done hands a session back to the pool or closes it.
func (f *pgEngine) done(s *pgSession) {
	if s.key == "" {
		s.be.Close()
		return
	}
	f.pool.release(s.key, s.be, s.reusable, s.returning)
}

// login authenticates and authorizes the client and returns its backend session. On
// failure it returns a nil session and the error to send the client (nil if the client
// is gone), having filled rec and logged.
func (f *pgEngine) login(ctx context.Context, c *pgwire.Conn, rec *AuditRecord, log *slog.Logger) (*pgSession, *pgwire.Error) {
	cfg := &f.g.cfg
	user := c.User()
	if why := checkUserName(EnginePostgres, user); why != "" {
		rec.User = printableUser(user)
		rec.Outcome, rec.Reason = outcomeRefused, reasonInvalidUser
		f.g.warnLimited(log, "authentication failed", "reason", reasonInvalidUser, "detail", why)
		return nil, pgwire.Fatal(pgwire.CodeInvalidAuthorization, "invalid user name: "+why)
	}
	// Without TLS only password users may log in, and only when allowed: decided
	// before the backend is asked anything.
	if c.TLS() == nil && !cfg.AllowPlaintextPasswords {
		return nil, f.noSSL(c, rec, log)
	}
	isIAM, err := f.members.isIAM(ctx, user)
	if err != nil {
		rec.Outcome, rec.Reason = outcomeError, reasonBackend
		log.Error("rds_iam membership lookup failed", "err", err)
		return nil, pgwire.Fatal(pgwire.CodeCannotConnectNow, "the database system is not available")
	}
	rec.IAM = isIAM
	if c.TLS() == nil && isIAM {
		return nil, f.noSSL(c, rec, log)
	}
	pw, err := c.RequestPassword()
	if err != nil {
		rec.Outcome, rec.Reason = outcomeRefused, reasonNoPassword
		if !isDisconnect(err) {
			rec.Outcome, rec.Reason = outcomeError, reasonProtocol
		}
		log.Debug("no password", "err", err)
		return nil, nil
	}
	if !isIAM {
		return f.loginPassword(ctx, c, pw, rec, log)
	}
	if !f.g.auth.authorize(ctx, user, string(pw), rec.Source.Addr(), true, rec) {
		log.Warn("authentication failed", "reason", rec.Reason, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
		e := pgwire.Fatal(pgwire.CodeInvalidAuthorization, `PAM authentication failed for user "`+user+`"`)
		if cfg.RevealReasons {
			e.Detail = "reason: " + rec.Reason
		}
		return nil, e
	}
	s, err := f.acquireIAM(ctx, c)
	if err != nil {
		rec.Outcome = outcomeError
		return nil, f.backendFailed(err, rec, log)
	}
	return s, nil
}

// noSSL refuses a plaintext login as a pg_hba.conf with only hostssl lines does, the
// same for IAM and password users.
func (f *pgEngine) noSSL(c *pgwire.Conn, rec *AuditRecord, log *slog.Logger) *pgwire.Error {
	rec.Outcome, rec.Reason = outcomeRefused, reasonNoSSL
	f.g.warnLimited(log, "authentication failed", "reason", reasonNoSSL)
	return pgwire.Fatal(pgwire.CodeInvalidAuthorization,
		`pg_hba.conf rejects connection for host "`+rec.Source.Addr().String()+`", user "`+c.User()+`", database "`+printableUser(c.Database())+`", SSL off`)
}

// loginPassword logs a password user in to the backend with the client's password.
func (f *pgEngine) loginPassword(ctx context.Context, c *pgwire.Conn, pw pgwire.Password, rec *AuditRecord, log *slog.Logger) (*pgSession, *pgwire.Error) {
	params := backendParams(c.Params())
	dctx, cancel := context.WithTimeout(ctx, f.g.cfg.Backend.ConnectTimeout)
	defer cancel()
	be, err := f.dialPG(dctx, c.User(), c.Database(), params, string(pw), nil)
	if err != nil {
		rec.Outcome = outcomeError
		return nil, f.backendFailed(err, rec, log)
	}
	rec.Outcome = outcomeOK
	return &pgSession{be: be}, nil
}

// backendFailed returns what to tell the client of a backend login error: the backend's
// own ErrorResponse (wrong password, unknown database, too many connections, …) as it
// is, anything else as "not available".
func (f *pgEngine) backendFailed(err error, rec *AuditRecord, log *slog.Logger) *pgwire.Error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if pgErr.Code == pgwire.CodeInvalidPassword || pgErr.Code == pgwire.CodeInvalidAuthorization {
			rec.Outcome, rec.Reason = outcomeRefused, reasonPassword
			log.Warn("authentication failed", "reason", reasonPassword, "backend_error", pgErr.Message)
		} else {
			rec.Reason = reasonBackend
			log.Warn("backend refused the login", "code", pgErr.Code, "backend_error", pgErr.Message)
		}
		sev := pgErr.Severity
		if sev == "" {
			sev = pgwire.SeverityFatal
		}
		return &pgwire.Error{Severity: sev, Code: pgErr.Code, Message: pgErr.Message, Detail: pgErr.Detail, Hint: pgErr.Hint}
	}
	switch {
	case errors.Is(err, errPoolClosed) || f.g.closing.Load():
		rec.Reason = reasonShutdown
		return pgwire.Fatal(pgwire.CodeCannotConnectNow, "the database system is shutting down")
	case errors.Is(err, context.DeadlineExceeded):
		rec.Reason = reasonPoolTimeout
		log.Error("no backend session in time", "err", err)
		return pgwire.Fatal(pgwire.CodeTooManyConnections, "no backend connection available in time")
	default:
		rec.Reason = reasonBackend
		log.Error("backend login failed", "err", err)
		return pgwire.Fatal(pgwire.CodeCannotConnectNow, "the database system is not available")
	}
}

// acquireIAM returns a backend session for an authorized IAM user: an idle pooled one
// for the same (user, database, startup parameters), checked and given the client's
// application_name, or a new one logged in with a client certificate.
func (f *pgEngine) acquireIAM(ctx context.Context, c *pgwire.Conn) (*pgSession, error) {
	user, database := c.User(), c.Database()
	params := backendParams(c.Params())
	appName := params["application_name"]
	s := &pgSession{poolable: params["replication"] == ""}
	s.key = sessionKey(user, database, params)
	timeout := f.g.cfg.Pool.ResetTimeout
	check := func(be *pgBackend) error {
		if err := be.simpleQuery("SET application_name = "+quoteLiteral(appName), timeout); err != nil {
			f.g.log.Debug("dropping a stale pooled session", "user", user, "backend_pid", be.pid, "err", err)
			return err
		}
		be.params["application_name"] = appName
		return nil
	}
	dial := func(ctx context.Context) (*pgBackend, error) {
		cert, err := f.g.cfg.ClientCerts.Get(user)
		if err != nil {
			return nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, f.g.cfg.Backend.ConnectTimeout)
		defer cancel()
		return f.dialPG(dctx, user, database, params, "", cert)
	}
	be, reused, err := f.pool.acquire(ctx, s.key, check, dial)
	if err != nil {
		return nil, err
	}
	s.be, s.reused = be, reused
	return s, nil
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
