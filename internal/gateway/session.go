package gateway

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"
)

// engineCore is what both engines keep besides their wire and backend specifics: the
// membership cache, the pool of backend sessions and the backend dial limiter.
type engineCore[B session] struct {
	g         *Gateway
	members   *membership
	pool      *pool[B]
	dialLimit *limiter
}

// newEngineCore builds the core of engine, whose membership query is isMember.
func newEngineCore[B session](g *Gateway, engine string, isMember func(ctx context.Context, user string) (bool, error)) engineCore[B] {
	return engineCore[B]{
		g:         g,
		members:   g.newMembership(isMember),
		pool:      newEnginePool[B](g, engine),
		dialLimit: newLimiter(g.cfg.Pool.MaxDialsPerSecond, g.cfg.Pool.DialBurst, g.cfg.Now),
	}
}

// certDial returns pool.acquire's dial function for an IAM user: it gets user's client
// certificate and calls dial with it within Backend.ConnectTimeout.
func (c *engineCore[B]) certDial(user string, dial func(ctx context.Context, cert *tls.Certificate) (B, error)) func(context.Context) (B, error) {
	return func(ctx context.Context) (B, error) {
		cert, err := c.g.cfg.ClientCerts.Get(user)
		if err != nil {
			var none B
			return none, err
		}
		dctx, cancel := context.WithTimeout(ctx, c.g.cfg.Backend.ConnectTimeout)
		defer cancel()
		return dial(dctx, cert)
	}
}

// acquire fills s with a session from the pool under s.key: an idle one that passes
// check, or a new one from dial.
func (c *engineCore[B]) acquire(ctx context.Context, s *clientSession[B], check func(B, time.Duration) error, dial func(context.Context) (B, error)) (*clientSession[B], error) {
	be, reused, err := c.pool.acquire(ctx, s.key, check, dial)
	if err != nil {
		return nil, err
	}
	s.be, s.reused = be, reused
	return s, nil
}

// clientSession is a client's backend session: a connection B of one engine, pooled
// under key or dedicated to the client.
type clientSession[B session] struct {
	be        B
	key       string // pool key; "" when not pooled
	poolable  bool   // PostgreSQL: not a replication connection
	reused    bool
	reusable  bool
	returning bool // announced to the pool as coming back
}

type (
	pgSession    = clientSession[*pgBackend]
	mysqlSession = clientSession[*mysqlBackend]
)

// onReset returns the relay's hook for the moment it resets the session: announce it to
// p as coming back. Nil when the session is not pooled.
func (s *clientSession[B]) onReset(p *pool[B]) func() {
	if s.key == "" {
		return nil
	}
	return func() { s.returning = true; p.returning(s.key) }
}

// relay runs the session's relay, counted in the engine's active sessions; run gets
// whether the session may go back to the pool (poolable, and the gateway not closing)
// and reports whether it was reset and is idle.
func (s *clientSession[B]) relay(g *Gateway, engine string, poolable bool, run func(poolable bool) bool) {
	g.m.active.WithLabelValues(engine).Inc()
	reusable := run(poolable && !g.closing.Load())
	g.m.active.WithLabelValues(engine).Dec()
	s.reusable = reusable && !g.closing.Load()
}

// release hands the session back to p, or closes it when it is not pooled.
func (s *clientSession[B]) release(p *pool[B]) {
	if s.key == "" {
		s.be.Close()
		return
	}
	p.release(s.key, s.be, s.reusable, s.returning)
}

// wireConn is what the login flow reads of either engine's client connection.
type wireConn interface {
	User() string
	TLS() *tls.ConnectionState
}

// loginConn answers the engine-neutral questions of loginClient about c.
type loginConn[C wireConn] struct {
	members *membership
	c       C
}

func (l loginConn[C]) user() string { return l.c.User() }
func (l loginConn[C]) secure() bool { return l.c.TLS() != nil }

func (l loginConn[C]) tlsVersion() string { return tlsVersionName(l.c.TLS()) }

func (l loginConn[C]) isIAM(ctx context.Context) (bool, error) {
	return l.members.isIAM(ctx, l.c.User())
}

// endLogin records the login and refuses the client if it failed or could not be
// recorded; it reports whether the client is logged in.
func endLogin[S any](ctx context.Context, g *Gateway, lc loginClient[S], s *S, r *refusal, rec *AuditRecord, start time.Time, log *slog.Logger, refuse func(refusal)) bool {
	if err := g.recordLogin(ctx, rec, start, log); err != nil && r.kind == loginOK {
		// No login succeeds unrecorded: the session goes, the client is refused as if
		// the backend were unavailable.
		lc.abandon(*s)
		var none S
		*s, r.kind = none, refuseUnavailable
	}
	if r.kind != loginOK {
		refuse(*r)
		return false
	}
	return true
}
