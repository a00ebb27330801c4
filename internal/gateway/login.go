package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// The login flow both engines share: user name check, TLS rule, rds_iam membership,
// password, verification and authorization, backend session. It fills the audit record
// and logs; what the client is told is the engine's: the flow returns a refusal and the
// engine's refusal table (pgRefusals, mysqlRefusals) turns it into its wire error, in
// RDS's wording.

// refusalKind says why a login was refused.
type refusalKind uint8

const (
	loginOK           refusalKind = iota
	refuseSilently                // the client left or broke the protocol: nothing to send
	refuseInvalidUser             // a user name no account can have
	refuseNoSSL                   // a plaintext login where TLS is required
	refuseUnavailable             // the backend could not be asked or logged in to
	refuseDenied                  // an IAM login refused: token, policy, IAM auth disabled
	refuseShutdown                // the gateway is shutting down
	refusePoolTimeout             // no backend session became free in time
	refuseByBackend               // the backend's own refusal (wrong password, unknown database, …)
)

// refusal is the outcome of a login, with what a refusal table needs to word it.
type refusal struct {
	kind          refusalKind
	user          string // the user, fit to be echoed to the client
	host          string // the client's address
	detail        string // refuseInvalidUser: why; refuseDenied: the reason if Config.RevealReasons
	usingPassword bool   // refuseDenied: the client sent a non-empty password
	err           error  // refuseByBackend: the backend's error
}

// loginClient is one engine's client during login, as the shared flow asks it. S is the
// engine's backend session.
type loginClient[S any] interface {
	user() string
	secure() bool // the client connection is TLS
	// isIAM asks (the membership cache of) the backend whether the user is a member of
	// rds_iam.
	isIAM(ctx context.Context) (bool, error)
	// askPassword asks the client for its password, or for an IAM user's token; wait
	// says whether the client has yet to answer (the flow then waits for it, see
	// beginLogin). password returns the answer. An engine that relays password users'
	// authentication to the backend asks them nothing and returns "". A client that
	// refuses to send one returns a passwordDeclined error.
	askPassword(isIAM bool) (wait bool, err error)
	password(isIAM bool) (string, error)
	// loginPassword logs a password user in to the backend with pw.
	loginPassword(ctx context.Context, pw string) (S, error)
	// acquireIAM returns a backend session for an authorized IAM user.
	acquireIAM(ctx context.Context) (S, error)
	// tlsVersion is the client connection's TLS version ("TLSv1.3"), "" in plaintext.
	tlsVersion() string
	// sessionID is the backend session's id (PostgreSQL backend pid, MariaDB connection
	// id), for the audit record.
	sessionID(s S) uint64
	// abandon closes a backend session the client will not get (its login could not be
	// recorded).
	abandon(s S)
	// backendError returns the backend's own refusal in err: its code and message, and
	// whether it refused the password. ok is false when err is not one.
	backendError(err error) (code any, message string, password, ok bool)
}

// The login is run in two halves around the wait for the client's password, so that a
// client that takes its time holds no deep stack: beginLogin (record, checks, the
// question) and finishLogin (the answer, verification and authorization, backend
// session, audit record). In between, the engine waits for the answer at the top of a
// fresh goroutine (Gateway.serveConn), whose stack the runtime keeps at its minimum.

// pendingLogin is a login between its two halves.
type pendingLogin struct {
	rec    *AuditRecord
	log    *slog.Logger
	r      refusal
	isIAM  bool
	askErr error // askPassword's
	wait   bool  // the client has yet to send its password
}

// beginLogin runs the login flow for a client whose handshake is done up to the
// question for the password: ok is false when the client was refused (refuse has told
// it why, loginDone was called). Otherwise the caller waits for the client's answer when
// p.wait says it is to come, then calls finishLogin.
func beginLogin[S any](ctx context.Context, loginDone context.CancelFunc, g *Gateway, nc net.Conn, start time.Time, engine string, source netip.AddrPort,
	c loginClient[S], database string, refuse func(refusal)) (p *pendingLogin, ok bool) {
	g.startupDone(nc, start)
	p = &pendingLogin{}
	p.rec, p.log = g.loginRecord(engine, source, c.user(), database)
	p.rec.TLSVersion = c.tlsVersion()
	r, isIAM, ok := loginChecks(ctx, g, c, p.rec, p.log)
	p.r, p.isIAM = r, isIAM
	if !ok {
		var none S
		defer loginDone()
		endLogin(ctx, g, c, &none, &p.r, p.rec, start, p.log, refuse)
		return nil, false
	}
	p.wait, p.askErr = c.askPassword(isIAM)
	p.wait = p.wait && p.askErr == nil
	return p, true
}

// finishLogin runs the rest of the login flow after beginLogin: it reads the password,
// verifies and authorizes it, acquires the backend session and records the login. It
// calls loginDone (ctx's cancel function) when the login is over: an idle session keeps
// no timer. ok is false when the client was refused, and refuse has told it why.
func finishLogin[S any](ctx context.Context, loginDone context.CancelFunc, g *Gateway, c loginClient[S], p *pendingLogin, start time.Time,
	refuse func(refusal)) (s S, rec *AuditRecord, log *slog.Logger, ok bool) {
	defer loginDone()
	rec, log = p.rec, p.log
	pw, err := "", p.askErr
	if err == nil {
		pw, err = c.password(p.isIAM)
	}
	r := p.r
	if err != nil {
		r = noPassword(err, r, rec, log)
	} else {
		s, r = loginAuthorized(ctx, g, c, rec, log, r, p.isIAM, pw)
	}
	ok = endLogin(ctx, g, c, &s, &r, rec, start, log, refuse)
	return s, rec, log, ok
}

// runLogin runs a client's login in its two halves: beginLogin now, and finishLogin once
// the client's answer is in r (at once when none is to come), then session with the
// logged-in client. It returns what serveConn runs on a fresh goroutine while the answer
// is awaited (nil when nothing is left to wait for).
func runLogin[S any](ctx context.Context, loginDone context.CancelFunc, g *Gateway, nc net.Conn, start time.Time, engine string, source netip.AddrPort,
	c loginClient[S], database string, r *bufio.Reader, refuse func(refusal), session func(S, *AuditRecord, *slog.Logger)) (rest func()) {
	p, ok := beginLogin[S](ctx, loginDone, g, nc, start, engine, source, c, database, refuse)
	if !ok {
		return nil
	}
	finish := func() {
		if s, rec, log, ok := finishLogin[S](ctx, loginDone, g, c, p, start, refuse); ok {
			session(s, rec, log)
		}
	}
	if !p.wait {
		finish()
		return nil
	}
	return awaitThen(r, finish)
}

// loginChecks checks what can be before the password: the user name, TLS, and whether
// the user is an IAM user. ok is false with r the refusal.
func loginChecks[S any](ctx context.Context, g *Gateway, c loginClient[S], rec *AuditRecord, log *slog.Logger) (r refusal, isIAM, ok bool) {
	user := c.user()
	r = refusal{user: user, host: rec.Source.Addr().String()}
	if why := checkUserName(rec.Engine, user); why != "" {
		rec.User = printableUser(user)
		rec.Outcome, rec.Reason = outcomeRefused, reasonInvalidUser
		g.warns.Warn(log, "authentication failed", "reason", reasonInvalidUser, "detail", why)
		r.kind, r.user, r.detail = refuseInvalidUser, rec.User, why
		return r, false, false
	}
	// Without TLS only password users may log in, and only when allowed: decided
	// before the backend is asked anything.
	if !c.secure() && !g.cfg.AllowPlaintextPasswords {
		return g.noSSL(r, rec, log), false, false
	}
	isIAM, err := c.isIAM(ctx)
	if err != nil {
		rec.Outcome, rec.Reason = outcomeError, reasonBackend
		log.Error("rds_iam membership lookup failed", "err", err)
		r.kind = refuseUnavailable
		return r, false, false
	}
	rec.IAM, rec.IAMKnown = isIAM, true
	if !c.secure() && isIAM {
		return g.noSSL(r, rec, log), false, false
	}
	return r, isIAM, true
}

// noPassword refuses a client that sent no password.
func noPassword(err error, r refusal, rec *AuditRecord, log *slog.Logger) refusal {
	rec.Outcome, rec.Reason = outcomeRefused, reasonNoPassword
	var declined passwordDeclined
	if !isDisconnect(err) && !errors.As(err, &declined) {
		rec.Outcome, rec.Reason = outcomeError, reasonProtocol
	}
	log.Debug("no password", "err", err)
	r.kind = refuseSilently
	return r
}

// loginAuthorized verifies an IAM user's token and authorizes it, or logs a password
// user in to the backend with pw, and returns the backend session.
func loginAuthorized[S any](ctx context.Context, g *Gateway, c loginClient[S], rec *AuditRecord, log *slog.Logger, r refusal, isIAM bool, pw string) (S, refusal) {
	var none, s S
	var err error
	if isIAM {
		if !g.auth.Authorize(ctx, r.user, pw, rec.Source.Addr(), true, rec) {
			log.Warn("authentication failed", "reason", rec.Reason, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
			r.kind, r.usingPassword = refuseDenied, pw != ""
			if g.cfg.RevealReasons {
				r.detail = rec.Reason
			}
			return none, r
		}
		s, err = c.acquireIAM(ctx)
	} else {
		s, err = c.loginPassword(ctx, pw)
	}
	if err != nil {
		rec.Outcome = outcomeError
		return none, g.backendFailed(err, c.backendError, r, rec, log)
	}
	rec.Outcome = outcomeOK
	rec.BackendSessionID = c.sessionID(s)
	return s, r
}

// authorizedAttrs returns the attributes of a "connection authorized" line: the
// engine's client attributes, TLS, and for an IAM login who signed the token and the
// statement that allowed it.
func authorizedAttrs(rec *AuditRecord, st *tls.ConnectionState, client ...any) []any {
	attrs := append(client, tlsAttrs(st)...)
	if rec.IAM {
		attrs = append(attrs, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
	}
	return attrs
}

// noSSL refuses a plaintext login, the same way for IAM and password users.
func (g *Gateway) noSSL(r refusal, rec *AuditRecord, log *slog.Logger) refusal {
	rec.Outcome, rec.Reason = outcomeRefused, reasonNoSSL
	g.warns.Warn(log, "authentication failed", "reason", reasonNoSSL)
	r.kind = refuseNoSSL
	return r
}

// backendFailed classifies a failed backend login: the backend's own refusal (told to
// the client as it is), a client that left during a relayed password exchange
// (told nothing), shutdown, no session in time, or an unavailable backend.
func (g *Gateway) backendFailed(err error, backendError func(error) (any, string, bool, bool), r refusal, rec *AuditRecord, log *slog.Logger) refusal {
	var clientErr *clientSideError
	if errors.As(err, &clientErr) {
		rec.Outcome, rec.Reason = outcomeRefused, reasonNoPassword
		if !isDisconnect(clientErr.err) {
			rec.Outcome, rec.Reason = outcomeError, reasonProtocol
		}
		log.Debug("client left during authentication", "err", clientErr.err)
		r.kind = refuseSilently
		return r
	}
	if code, msg, password, ok := backendError(err); ok {
		if password {
			rec.Outcome, rec.Reason = outcomeRefused, reasonPassword
			log.Warn("authentication failed", "reason", reasonPassword, "backend_error", msg)
		} else {
			rec.Reason = reasonBackend
			log.Warn("backend refused the login", "code", code, "backend_error", msg)
		}
		r.kind, r.err = refuseByBackend, err
		return r
	}
	switch {
	case errors.Is(err, errPoolClosed) || g.closing.Load():
		rec.Reason = reasonShutdown
		r.kind = refuseShutdown
	case errors.Is(err, context.DeadlineExceeded):
		rec.Reason = reasonPoolTimeout
		log.Error("no backend session in time", "err", err)
		r.kind = refusePoolTimeout
	default:
		rec.Reason = reasonBackend
		log.Error("backend login failed", "err", err)
		r.kind = refuseUnavailable
	}
	return r
}

// clientSideError marks an error of the client's side of an authentication exchange the
// gateway relays between the client and the backend.
type clientSideError struct{ err error }

func (e *clientSideError) Error() string { return "gateway: client: " + e.err.Error() }
func (e *clientSideError) Unwrap() error { return e.err }

// passwordDeclined marks a client's refusal to send its password (a MySQL client that did
// not enable mysql_clear_password closes the connection): counted as no-password, like
// a client that closed at the prompt.
type passwordDeclined struct{ error }

func (e passwordDeclined) Unwrap() error { return e.error }
