package testenv_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv"
)

func TestFixedClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := testenv.NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now() = %v, want %v", got, t0)
	}
	c.Advance(time.Minute)
	if got, want := c.Now(), t0.Add(time.Minute); !got.Equal(want) {
		t.Errorf("after Advance(1m): Now() = %v, want %v", got, want)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set: Now() = %v, want %v", got, t0)
	}
}

func TestRunningClock(t *testing.T) {
	t.Parallel()
	var c testenv.Clock
	if d := time.Since(c.Now()); d < 0 || d > time.Second {
		t.Fatalf("zero Clock is %v from real time, want ~0", d)
	}
	c.Advance(time.Hour)
	if d := time.Until(c.Now()); d < 59*time.Minute || d > time.Hour {
		t.Errorf("after Advance(1h): %v ahead of real time, want ~1h", d)
	}
	c.Set(time.Now().Add(-time.Hour))
	if d := time.Since(c.Now()); d < 59*time.Minute || d > time.Hour+time.Second {
		t.Errorf("after Set(-1h): %v behind real time, want ~1h", d)
	}
	a := c.Now()
	time.Sleep(2 * time.Millisecond)
	if !c.Now().After(a) {
		t.Error("a running clock stood still")
	}
}

func TestClockConcurrent(t *testing.T) {
	t.Parallel()
	c := testenv.NewClock(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), time.Unix(800, 0); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

func TestLogBuffer(t *testing.T) {
	t.Parallel()
	var l testenv.LogBuffer
	if got := l.Lines(); got != nil {
		t.Errorf("Lines() of an empty buffer = %q, want nil", got)
	}
	log := l.Logger()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { log.Debug("hello", "n", i) })
	}
	wg.Wait()
	fmt.Fprint(&l, "partial")
	if got := len(l.Lines()); got != 10 {
		t.Errorf("len(Lines()) = %d, want 10", got)
	}
	if !l.Contains(`"msg":"hello"`) {
		t.Errorf("Contains(msg) = false in %q", l.String())
	}
	if got := l.Line(`"msg":"hello"`, `"n":3`); !strings.Contains(got, `"n":3`) {
		t.Errorf("Line(hello, n 3) = %q", got)
	}
	if got := l.Count(`"msg":"hello"`); got != 10 {
		t.Errorf("Count(hello) = %d, want 10", got)
	}
	if got := l.Count(`"msg":"hello"`, `"n":3`); got != 1 {
		t.Errorf("Count(hello, n 3) = %d, want 1", got)
	}
	if got := l.Count("partial"); got != 0 {
		t.Errorf("Count(partial) = %d, want 0 (not a complete line)", got)
	}
	if got := l.Line("partial"); got != "" {
		t.Errorf("Line(partial) = %q, want \"\" (not a complete line)", got)
	}
	go fmt.Fprintln(&l, "later")
	if got := l.WaitLine(t, "later"); got != "partiallater" {
		t.Errorf("WaitLine(later) = %q, want partiallater", got)
	}
	l.NoSecret(t, "", "hunter2")
	ft := &fakeT{TB: t}
	l.NoSecret(ft, "later")
	if !ft.failed {
		t.Error("NoSecret did not fail on a written secret")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
