package native_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit/audittest"
	"github.com/iamdb/iamdb/internal/native"
)

// TestEndpointAuditEvents: the endpoint records every decision, an allow before the
// module hears it, and denies a login it cannot record.
func TestEndpointAuditEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := &audittest.Collector{}
	r := start(t, e, native.Config{SecureTransport: true, Recorder: events})
	db := e.Authorizer.Database()
	valid := e.Token(t, nativePort, "alice", "alice", time.Time{})

	resp, err := audittest.WhileHeld(t, events, func() (native.Response, error) {
		return r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: valid})
	})
	if err != nil || !resp.Allow {
		t.Fatalf("Ask = %+v, %v; want allow", resp, err)
	}
	ok := events.Last(t)
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
		if got := audittest.JPath(ok, c.keys...); got != c.want {
			t.Errorf("allowed login event %s = %v, want %v", strings.Join(c.keys, "."), got, c.want)
		}
	}

	expired := e.Token(t, nativePort, "alice", "alice", e.Clock.Now().Add(-16*time.Minute))
	if resp, err := r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: expired}); err != nil || resp.Allow {
		t.Fatalf("expired: %+v, %v", resp, err)
	}
	ref := events.Last(t)
	if ref["errorCode"] != "AccessDenied" || audittest.JPath(ref, "additionalEventData", "reason") != "expired" {
		t.Errorf("refused login event = %v", ref)
	}

	events.SetFail(true)
	resp, err = r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: valid})
	if err != nil || resp.Allow || resp.Reason != native.ReasonAuditFailed {
		t.Errorf("unrecorded login: Ask = %+v, %v; want a deny, reason %s", resp, err, native.ReasonAuditFailed)
	}
	r.logs.WaitLine(t, `"msg":"login not recorded in the audit trail"`)

	events.NoSecrets(t, valid, expired, e.Keys["alice"].SecretAccessKey)
}
