package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// catchUp reads the revision on c and delivers it if it advanced (or went back: observe).
func (s *Store) catchUp(ctx context.Context, c *pgx.Conn) error {
	var rev int64
	if err := c.QueryRow(ctx, qRevision).Scan(&rev); err != nil {
		return err
	}
	s.observe(ctx, rev, c)
	return nil
}

// hint gathers what the listening connection was notified of between two reads of the
// revision. The connection's notification handler calls note as messages arrive, also in
// the middle of a query, so a flood of notifications folds into one read instead of
// queueing. It is used only by the goroutine that uses that connection (Open's, then the
// listener's), so it needs no lock.
//
// A payload is only a hint, because any session in the database may NOTIFY on the channel:
// revisions equal to the one delivered need no read (the echo of this process's own
// commits, mostly); anything else — newer, older (the revision may have gone back: see
// observe), or not a revision — makes the listener read the revision from the database and
// deliver that. A forged payload therefore costs at most one query per batch and can
// neither deliver a revision that was not committed nor, by raising the high-water mark,
// hide the real ones.
type hint struct {
	pending  bool  // a notification or a heartbeat since the last take
	read     bool  // one of them asks for the revision to be read whatever it says
	min, max int64 // the lowest and highest revision among the payloads; 0 if none
}

func (h *hint) note(n *pgconn.Notification) {
	if n.Channel != channel {
		return
	}
	h.pending = true
	rev, ok := parseRevision(n.Payload)
	if !ok {
		h.read = true
		return
	}
	if h.min == 0 || rev < h.min {
		h.min = rev
	}
	h.max = max(h.max, rev)
}

// take reports whether what was gathered since the last take asks for the revision to be
// read, given the revision delivered, and starts gathering anew.
func (h *hint) take(delivered int64) bool {
	read := h.read || h.max > delivered || h.min != 0 && h.min < delivered
	*h = hint{}
	return read
}

// receive waits for notifications on c until c fails or ctx ends, and returns why. After
// each batch of notifications, and after s.poll without any (the heartbeat), it reads the
// revision if the hint asks for it.
func (s *Store) receive(ctx context.Context, c *pgx.Conn) error {
	for {
		if !s.hint.pending {
			wctx, cancel := context.WithTimeout(ctx, s.poll)
			err := c.PgConn().WaitForNotification(wctx)
			cancel()
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil && errors.Is(err, context.DeadlineExceeded) && !c.IsClosed():
				s.hint.pending, s.hint.read = true, true // quiet for a while: read it anyway
			case err != nil:
				return err
			}
		}
		if !s.hint.take(s.delivered()) {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, connectTimeout)
		err := s.catchUp(qctx, c)
		cancel()
		if err != nil {
			return err
		}
	}
}
