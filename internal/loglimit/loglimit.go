package loglimit

import (
	"log/slog"
	"sync"
	"time"
)

// Rate of the warn-level lines a Limiter lets through: a burst of Burst, then one per
// Interval.
const (
	Burst    = 10
	Interval = time.Second
)

// Limiter is a token bucket for log lines a peer can cause at will. It counts the
// lines it held back, so that the next one let through can say how many. It is safe
// for concurrent use.
type Limiter struct {
	now func() time.Time

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

// New returns a Limiter with a full burst that reads the time from now (if nil,
// time.Now).
func New(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, tokens: Burst}
}

// Allow reports whether a line may be logged now and, if so, how many were held back
// since the last one.
func (l *Limiter) Allow() (ok bool, suppressed int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = min(Burst, l.tokens+float64(now.Sub(l.last))/float64(Interval))
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

// Warn logs msg with args to log at warn level if Allow lets it through, adding
// "suppressed" when lines were held back since the last one; otherwise at debug level.
func (l *Limiter) Warn(log *slog.Logger, msg string, args ...any) {
	ok, suppressed := l.Allow()
	if !ok {
		log.Debug(msg, args...)
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	log.Warn(msg, args...)
}
