package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// membership answers "is this role an IAM user" from the backend, through a few admin
// connections, caching answers for ttl. It is safe for concurrent use.
type membership struct {
	ttl    time.Duration
	now    func() time.Time
	max    int
	query  func(ctx context.Context, user string) (bool, error)
	closer func()

	mu       sync.Mutex
	cache    map[string]memberEntry
	inflight map[string]*memberCall
}

type memberEntry struct {
	iam     bool
	expires time.Time
}

type memberCall struct {
	done chan struct{}
	iam  bool
	err  error
}

// isIAM reports whether user is a member of rds_iam. Concurrent calls for one user share
// one query.
func (m *membership) isIAM(ctx context.Context, user string) (bool, error) {
	now := m.now()
	m.mu.Lock()
	if e, ok := m.cache[user]; ok && now.Before(e.expires) {
		m.mu.Unlock()
		return e.iam, nil
	}
	if c := m.inflight[user]; c != nil {
		m.mu.Unlock()
		select {
		case <-c.done:
			return c.iam, c.err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	c := &memberCall{done: make(chan struct{})}
	m.inflight[user] = c
	m.mu.Unlock()

	c.iam, c.err = m.query(ctx, user)

	m.mu.Lock()
	delete(m.inflight, user)
	if c.err == nil && m.ttl > 0 {
		if len(m.cache) >= m.max {
			for u, e := range m.cache {
				if !now.Before(e.expires) {
					delete(m.cache, u)
				}
			}
			if len(m.cache) >= m.max {
				clear(m.cache)
			}
		}
		m.cache[user] = memberEntry{iam: c.iam, expires: now.Add(m.ttl)}
	}
	m.mu.Unlock()
	close(c.done)
	return c.iam, c.err
}

// adminPool keeps a few connections of the admin role to the backend.
type adminPool struct {
	cfg  *pgconn.Config
	sem  chan struct{}
	idle chan *pgconn.PgConn
}

func newAdminPool(cfg *pgconn.Config, n int) *adminPool {
	return &adminPool{cfg: cfg, sem: make(chan struct{}, n), idle: make(chan *pgconn.PgConn, n)}
}

// isMember runs rdsiam.PostgresMemberQuery.
func (a *adminPool) isMember(ctx context.Context, user string) (bool, error) {
	var member bool
	err := a.do(ctx, func(pc *pgconn.PgConn) error {
		res := pc.ExecParams(ctx, rdsiam.PostgresMemberQuery, [][]byte{[]byte(user)}, nil, nil, nil).Read()
		if res.Err != nil {
			return res.Err
		}
		if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
			return errors.New("gateway: unexpected answer to the rds_iam membership query")
		}
		member = string(res.Rows[0][0]) == "t"
		return nil
	})
	return member, err
}

// do runs f on an admin connection. A connection whose query fails with an ERROR is kept
// (the session is usable); one that broke or got a FATAL is closed, and f is retried once
// on a new one if it was a pooled one (the backend restarted), so a backend restart costs
// no refused login.
func (a *adminPool) do(ctx context.Context, f func(pc *pgconn.PgConn) error) error {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.sem }()
	for attempt := 0; ; attempt++ {
		var pc *pgconn.PgConn
		reused := false
		select {
		case pc = <-a.idle:
			reused = true
		default:
			var err error
			if pc, err = pgconn.ConnectConfig(ctx, a.cfg.Copy()); err != nil {
				return err
			}
		}
		err := f(pc)
		var pgErr *pgconn.PgError
		if err == nil || errors.As(err, &pgErr) && pgErr.Severity != pgwire.SeverityFatal && pgErr.Severity != pgwire.SeverityPanic && !pc.IsClosed() {
			a.putIdle(pc)
			return err
		}
		pc.Close(context.Background())
		if reused && attempt == 0 {
			continue
		}
		return err
	}
}

// putIdle keeps pc for the next query, or closes it when enough are kept.
func (a *adminPool) putIdle(pc *pgconn.PgConn) {
	select {
	case a.idle <- pc:
	default:
		pc.Close(context.Background())
	}
}

func (a *adminPool) close() {
	for {
		select {
		case pc := <-a.idle:
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			pc.Close(ctx)
			cancel()
		default:
			return
		}
	}
}
