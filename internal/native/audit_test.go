package native_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/native"
)

// eventLog is an audit.Recorder keeping events as JSON; while gate is not nil Record
// tells entered and waits for gate to close; while fail is set it fails.
type eventLog struct {
	mu      sync.Mutex
	events  []map[string]any
	text    []string
	gate    chan struct{}
	entered chan struct{}
	fail    bool
}

func (l *eventLog) Record(_ context.Context, e *audit.Event) error {
	l.mu.Lock()
	gate, entered, fail := l.gate, l.entered, l.fail
	l.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	if fail {
		return errors.New("disk full")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	l.mu.Lock()
	l.events, l.text = append(l.events, v), append(l.text, string(b))
	l.mu.Unlock()
	return nil
}

func (l *eventLog) last() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return nil
	}
	return l.events[len(l.events)-1]
}

func jpath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestEndpointAuditEvents: the endpoint records every decision, an allow before the
// module hears it, and denies a login it cannot record.
func TestEndpointAuditEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := &eventLog{}
	r := start(t, e, native.Config{SecureTransport: true, Recorder: events})
	db := e.Authorizer.Database()
	valid := e.Token(t, nativePort, "alice", "alice", time.Time{})

	events.mu.Lock()
	events.gate, events.entered = make(chan struct{}), make(chan struct{}, 1)
	events.mu.Unlock()
	type answer struct {
		resp native.Response
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: valid})
		done <- answer{resp, err}
	}()
	<-events.entered
	select {
	case a := <-done:
		t.Fatalf("answered %+v, %v while the decision was being recorded", a.resp, a.err)
	case <-time.After(300 * time.Millisecond):
	}
	events.mu.Lock()
	close(events.gate)
	events.gate = nil
	events.mu.Unlock()
	if a := <-done; a.err != nil || !a.resp.Allow {
		t.Fatalf("Ask = %+v, %v; want allow", a.resp, a.err)
	}
	ok := events.last()
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"eventSource"}, "rds-db.amazonaws.com"},
		{[]string{"eventName"}, "connect"},
		{[]string{"readOnly"}, false},
		{[]string{"sourceIPAddress"}, "127.0.0.1"},
		{[]string{"recipientAccountId"}, db.Account},
		{[]string{"awsRegion"}, db.Region},
		{[]string{"userIdentity", "type"}, "IAMUser"},
		{[]string{"userIdentity", "arn"}, "arn:aws:iam::" + db.Account + ":user/alice"},
		{[]string{"requestParameters", "dbUser"}, "alice"},
		{[]string{"requestParameters", "resourceId"}, db.ResourceID},
		{[]string{"additionalEventData", "mode"}, "native"},
		{[]string{"additionalEventData", "engine"}, "postgres"},
		{[]string{"additionalEventData", "backendSessionId"}, nil}, // the module's protocol does not carry it
		{[]string{"errorCode"}, nil},
	} {
		if got := jpath(ok, c.keys...); got != c.want {
			t.Errorf("allowed login event %s = %v, want %v", strings.Join(c.keys, "."), got, c.want)
		}
	}

	expired := e.Token(t, nativePort, "alice", "alice", e.Clock.Now().Add(-16*time.Minute))
	if resp, err := r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: expired}); err != nil || resp.Allow {
		t.Fatalf("expired: %+v, %v", resp, err)
	}
	ref := events.last()
	if ref["errorCode"] != "AccessDenied" || jpath(ref, "additionalEventData", "reason") != "expired" {
		t.Errorf("refused login event = %v", ref)
	}

	events.mu.Lock()
	events.fail = true
	events.mu.Unlock()
	resp, err := r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: valid})
	if err != nil || resp.Allow || resp.Reason != native.ReasonAuditFailed {
		t.Errorf("unrecorded login: Ask = %+v, %v; want a deny, reason %s", resp, err, native.ReasonAuditFailed)
	}
	r.logs.WaitLine(t, `"msg":"login not recorded in the audit trail"`)

	all := strings.Join(events.text, "\n")
	for _, s := range []string{valid, expired, e.Keys["alice"].SecretAccessKey} {
		if strings.Contains(all, s) {
			t.Errorf("an event holds a secret (%d bytes)", len(s))
		}
	}
}
