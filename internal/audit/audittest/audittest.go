// Package audittest holds the helpers the audit trail's tests share across packages: a
// real journal in a temporary directory (OpenJournal, Record), one fed by a synctest
// bubble's clock (LiveJournal), an in-memory audit.Recorder for the emitters' tests
// (Collector), and JPath to walk an event decoded as generic JSON. It is imported by
// tests only.
package audittest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

// OpenJournal opens a real audit journal (audit.Open) in a temporary directory; it is
// closed at t's cleanup.
func OpenJournal(t testing.TB) *audit.Journal {
	t.Helper()
	return OpenJournalOptions(t, audit.Options{})
}

// OpenJournalOptions is OpenJournal with opts.
func OpenJournalOptions(t testing.TB, opts audit.Options) *audit.Journal {
	t.Helper()
	j, err := audit.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := j.Close(); err != nil {
			t.Error(err)
		}
	})
	return j
}

// Record puts evs into j in order (copies: Record fills in what is empty), failing t on
// the first error.
func Record(t testing.TB, j *audit.Journal, evs ...audit.Event) {
	t.Helper()
	for _, e := range evs {
		if err := j.Record(context.Background(), &e); err != nil {
			t.Fatal(err)
		}
	}
}

// LiveJournal opens a real journal (audit.Open) in a temporary directory from within a
// synctest bubble and records each of evs (oldest first) when the bubble's clock reaches
// its eventTime, as the authority would, until t's context ends. The recorder stops and
// the journal closes at t's cleanup, inside the bubble.
func LiveJournal(t *testing.T, evs []audit.Event) *audit.Journal {
	t.Helper()
	j, err := audit.Open(t.TempDir(), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for _, e := range evs {
			select {
			case <-time.After(time.Until(e.EventTime.Time)):
			case <-ctx.Done():
				return
			}
			if err := j.Record(ctx, &e); err != nil {
				if ctx.Err() == nil {
					t.Errorf("Record %s: %v", e.EventID, err)
				}
				return
			}
		}
	}()
	t.Cleanup(func() {
		<-recorded
		if err := j.Close(); err != nil {
			t.Errorf("close the journal: %v", err)
		}
	})
	return j
}

// Collector is an audit.Recorder that keeps the events, as their JSON (what a journal
// would store), in memory. It is safe for concurrent use; the zero value is ready.
//
// While Fail is set every Record fails; between Hold and Release every Record announces
// itself and waits. Fill, if set when the Collector is made, is applied to each event
// before it is kept, as a journal fills in what is empty.
type Collector struct {
	// Fill, if not nil, completes each event before it is kept.
	Fill func(*audit.Event)

	mu      sync.Mutex
	events  []string
	gate    chan struct{}
	entered chan struct{}
	fail    bool
}

// Record keeps e's JSON, or fails while SetFail(true) is in force; between Hold and
// Release it first tells the channel Hold returned and waits for Release.
func (c *Collector) Record(_ context.Context, e *audit.Event) error {
	c.mu.Lock()
	gate, entered, fail := c.gate, c.entered, c.fail
	c.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	if fail {
		return errors.New("disk full")
	}
	if c.Fill != nil {
		c.Fill(e)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.events = append(c.events, string(b))
	c.mu.Unlock()
	return nil
}

// SetFail makes every later Record fail (with a "disk full" error) while fail is true.
func (c *Collector) SetFail(fail bool) {
	c.mu.Lock()
	c.fail = fail
	c.mu.Unlock()
}

// Hold makes every later Record wait until Release. The channel returned receives one
// value as each such Record starts waiting.
func (c *Collector) Hold() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gate, c.entered = make(chan struct{}), make(chan struct{}, 1)
	return c.entered
}

// Release lets the Records held since Hold go on, and stops holding later ones.
func (c *Collector) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.gate)
	c.gate = nil
}

// WhileHeld runs do (a request whose event c records) while c holds every Record: it
// fails t if do returns before its Record is released (the request must wait for its
// event), then releases it and returns what do returned.
func WhileHeld[T any](t *testing.T, c *Collector, do func() (T, error)) (T, error) {
	t.Helper()
	entered := c.Hold()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := do()
		done <- result{v, err}
	}()
	<-entered
	select {
	case r := <-done:
		t.Fatalf("answered (%+v, %v) while its event was being recorded", r.v, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	c.Release()
	r := <-done
	return r.v, r.err
}

// Decoded returns the events kept, oldest first, decoded as generic JSON.
func (c *Collector) Decoded(t testing.TB) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, s := range c.events {
		var v map[string]any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// Find returns the events kept whose eventName is name, decoded as generic JSON.
func (c *Collector) Find(t testing.TB, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, v := range c.Decoded(t) {
		if v["eventName"] == name {
			out = append(out, v)
		}
	}
	return out
}

// Last returns the newest event kept, decoded as generic JSON, or nil if there is none.
func (c *Collector) Last(t testing.TB) map[string]any {
	t.Helper()
	evs := c.Decoded(t)
	if len(evs) == 0 {
		return nil
	}
	return evs[len(evs)-1]
}

// Count returns the number of events kept.
func (c *Collector) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// Text returns the JSON of every event kept, one a line: what to search for a secret.
func (c *Collector) Text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.events, "\n")
}

// NoSecrets fails t if an event kept holds any of secrets, naming only its length. An
// empty secret fails too: a search for it would prove nothing.
func (c *Collector) NoSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	all := c.Text()
	for _, s := range secrets {
		if s == "" || strings.Contains(all, s) {
			t.Errorf("an event holds a secret (%d bytes)", len(s))
		}
	}
}

// JPath walks a value decoded as generic JSON: JPath(v, "userIdentity", "type"). It is
// nil where a key is missing or a value on the way is not an object.
func JPath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
