package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// pollInterval is how long the listener waits for a notification before reading the
	// revision anyway: a heartbeat that finds a dead connection TCP did not report, and a
	// backstop for a notification lost some other way.
	pollInterval = 30 * time.Second
	// connectTimeout bounds one attempt to connect and subscribe.
	connectTimeout = 10 * time.Second
	// minBackoff and maxBackoff bound the wait before reconnecting.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// maxPayloadLen bounds a NOTIFY payload we parse: the decimal digits of an int64.
	maxPayloadLen = 19
)

// backoff returns the wait before reconnect attempt n (0-based): doubling from minBackoff,
// capped at maxBackoff.
func backoff(n int) time.Duration {
	if n >= 16 {
		return maxBackoff
	}
	return min(minBackoff<<n, maxBackoff)
}

// parseRevision parses a NOTIFY payload: a positive decimal revision, digits only, at most
// maxPayloadLen of them. Anything else, which another program may send on the channel, is
// not a revision.
func parseRevision(payload string) (int64, bool) {
	if payload == "" || len(payload) > maxPayloadLen {
		return 0, false
	}
	for i := 0; i < len(payload); i++ {
		if payload[i] < '0' || payload[i] > '9' {
			return 0, false // strconv would also take a sign
		}
	}
	rev, err := strconv.ParseInt(payload, 10, 64)
	if err != nil || rev <= 0 {
		return 0, false
	}
	return rev, true
}

// listen runs until ctx ends: it waits on c for notifications and, whenever c fails,
// connects again with backoff. It owns c.
func (s *Store) listen(ctx context.Context, c *pgx.Conn) {
	defer close(s.listenDone)
	for attempt := 0; ; attempt++ {
		if c != nil {
			err := s.receive(ctx, c)
			s.listenPID.Store(0)
			closeConn(c)
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("store: lost the listening connection; reconnecting", "err", err)
			attempt = 0
		}
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var err error
		if c, err = s.subscribe(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("store: cannot listen for commits", "err", err, "attempt", attempt+1)
			c = nil
			continue
		}
		s.log.Info("store: listening for commits again")
	}
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	c.Close(ctx)
}

// subscribe connects, LISTENs, and then reads the revision and delivers it if it advanced:
// commits made while no connection listened sent notifications nobody received.
func (s *Store) subscribe(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	c, err := pgx.ConnectConfig(cctx, s.listenCfg)
	if err != nil {
		return nil, err
	}
	if _, err := c.Exec(cctx, "LISTEN "+channel); err != nil {
		closeConn(c)
		return nil, err
	}
	s.listenPID.Store(c.PgConn().PID())
	if err := s.catchUp(cctx, c); err != nil {
		s.listenPID.Store(0)
		closeConn(c)
		return nil, err
	}
	return c, nil
}

// catchUp reads the revision on c and delivers it if it advanced.
func (s *Store) catchUp(ctx context.Context, c *pgx.Conn) error {
	var rev int64
	if err := c.QueryRow(ctx, qRevision).Scan(&rev); err != nil {
		return err
	}
	s.deliver(rev)
	return nil
}

// receive waits for notifications on c until c fails or ctx ends, and returns why.
//
// A payload is only a hint, because any session in the database may NOTIFY on the channel:
// one no newer than what was delivered is skipped; otherwise (newer, or not a revision) the
// revision is read from the database and that is delivered. A forged payload therefore
// costs a query but can neither deliver a revision that was not committed nor, by raising
// the high-water mark, hide the real ones that follow.
func (s *Store) receive(ctx context.Context, c *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, s.poll)
		n, err := c.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && errors.Is(err, context.DeadlineExceeded) && !c.IsClosed():
			// Quiet for a while: the revision read below is the heartbeat.
		case err != nil:
			return err
		case n.Channel != channel:
			continue
		default:
			if rev, ok := parseRevision(n.Payload); ok && rev <= s.delivered() {
				continue
			}
		}
		qctx, cancel := context.WithTimeout(ctx, connectTimeout)
		err = s.catchUp(qctx, c)
		cancel()
		if err != nil {
			return err
		}
	}
}
