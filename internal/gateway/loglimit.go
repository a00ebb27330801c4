package gateway

import (
	"sync"
	"time"
)

// Rate of the warn-level lines of refusals a peer can cause at will (logLimiter).
const (
	logBurst    = 10
	logInterval = time.Second
)

// logLimiter is a token bucket for log lines a client can cause at will (protocol
// violations, connections beyond the limits): a burst of logBurst lines, then one per
// logInterval. It counts the lines it held back, so that the next line can say how
// many. It is safe for concurrent use.
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

// allow reports whether a line may be logged now and, if so, how many were held back
// since the last one.
func (l *logLimiter) allow() (ok bool, suppressed int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = min(logBurst, l.tokens+float64(now.Sub(l.last))/float64(logInterval))
	}
	if now.After(l.last) {
		l.last = now
	}
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
