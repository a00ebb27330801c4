package loglimit_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/loglimit"
	"github.com/iamdb/iamdb/internal/testenv"
)

func TestAllow(t *testing.T) {
	t.Parallel()
	clock := testenv.NewClock(time.Unix(1e9, 0))
	l := loglimit.New(clock.Now)
	for i := range loglimit.Burst {
		if ok, n := l.Allow(); !ok || n != 0 {
			t.Fatalf("line %d of the burst: Allow() = %v, %d; want true, 0", i, ok, n)
		}
	}
	for range 5 {
		if ok, _ := l.Allow(); ok {
			t.Fatal("a line beyond the burst was allowed")
		}
	}
	clock.Advance(loglimit.Interval)
	if ok, n := l.Allow(); !ok || n != 5 {
		t.Errorf("after an interval: Allow() = %v, %d; want true, 5", ok, n)
	}
	if ok, _ := l.Allow(); ok {
		t.Error("two lines in one interval after the burst")
	}
	// A long pause refills the bucket to the burst, no further.
	clock.Advance(100 * loglimit.Interval)
	allowed := 0
	for range 2 * loglimit.Burst {
		if ok, _ := l.Allow(); ok {
			allowed++
		}
	}
	if allowed != loglimit.Burst {
		t.Errorf("after a long pause: %d lines allowed, want %d", allowed, loglimit.Burst)
	}
}

// A clock that steps back neither refills the bucket nor wedges it.
func TestAllowClockBack(t *testing.T) {
	t.Parallel()
	clock := testenv.NewClock(time.Unix(1e9, 0))
	l := loglimit.New(clock.Now)
	for range loglimit.Burst {
		l.Allow()
	}
	clock.Advance(-time.Hour)
	if ok, _ := l.Allow(); ok {
		t.Error("a clock stepping back refilled the bucket")
	}
	clock.Advance(time.Hour + loglimit.Interval)
	if ok, n := l.Allow(); !ok || n != 1 {
		t.Errorf("an interval after the step back: Allow() = %v, %d; want true, 1", ok, n)
	}
}

func TestWarn(t *testing.T) {
	t.Parallel()
	clock := testenv.NewClock(time.Unix(1e9, 0))
	l := loglimit.New(clock.Now)
	var logs testenv.LogBuffer
	log := logs.Logger()
	for range 3 * loglimit.Burst {
		l.Warn(log, "refused", "peer", "p")
	}
	count := func(level string) int {
		return strings.Count(logs.String(), `"level":"`+level+`","msg":"refused"`)
	}
	if w, d := count("WARN"), count("DEBUG"); w != loglimit.Burst || d != 2*loglimit.Burst {
		t.Errorf("%d lines: %d warn and %d debug, want %d and %d", 3*loglimit.Burst, w, d, loglimit.Burst, 2*loglimit.Burst)
	}
	if logs.Contains(`"suppressed"`) {
		t.Errorf("a line says suppressed before any was let through after holding back:\n%s", logs.String())
	}
	clock.Advance(loglimit.Interval)
	l.Warn(log, "refused", "peer", "p")
	if logs.Line(`"level":"WARN"`, `"peer":"p"`, `"suppressed":20`) == "" {
		t.Errorf("no warn line saying 20 were held back:\n%s", logs.String())
	}
}

// Concurrent callers share one burst.
func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	clock := testenv.NewClock(time.Unix(1e9, 0))
	l := loglimit.New(clock.Now)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if ok, _ := l.Allow(); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != loglimit.Burst {
		t.Errorf("80 concurrent lines: %d allowed, want %d", allowed, loglimit.Burst)
	}
	clock.Advance(loglimit.Interval)
	if ok, n := l.Allow(); !ok || n != 80-loglimit.Burst {
		t.Errorf("after an interval: Allow() = %v, %d; want true, %d", ok, n, 80-loglimit.Burst)
	}
}
