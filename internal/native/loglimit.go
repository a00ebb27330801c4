package native

import (
	"log/slog"
	"sync"
	"time"
)

// Rate of the warn-level lines a peer can cause at will (refused peers, malformed
// requests, connections beyond MaxConns): a burst of logBurst, then one per logInterval;
// the others go to debug level. The gateway limits its own such lines the same way.
const (
	logBurst    = 10
	logInterval = time.Second
)

// logLimiter is the token bucket of those lines. It counts the lines it held back, so
// that the next warn line can say how many. It is safe for concurrent use.
type logLimiter struct {
	now func() time.Time

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

func newLogLimiter(now func() time.Time) *logLimiter {
	return &logLimiter{now: now, tokens: logBurst}
}

// warn logs msg at warn level if the bucket allows, with "suppressed" when lines were
// held back since the last one; otherwise at debug level.
func (l *logLimiter) warn(log *slog.Logger, msg string, args ...any) {
	now := l.now()
	l.mu.Lock()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = min(logBurst, l.tokens+float64(now.Sub(l.last))/float64(logInterval))
	}
	if now.After(l.last) {
		l.last = now
	}
	ok := l.tokens >= 1
	suppressed := 0
	if ok {
		l.tokens--
		suppressed, l.suppressed = l.suppressed, 0
	} else {
		l.suppressed++
	}
	l.mu.Unlock()
	if !ok {
		log.Debug(msg, args...)
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	log.Warn(msg, args...)
}
