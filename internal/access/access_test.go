package access_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/accessenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

// The decision against a real authority (accessenv): a database registered with the
// gateway's port and decided for a native endpoint on the server's own port.
const (
	registeredPort = accessenv.RegisteredPort
	nativePort     = accessenv.ServerPort
)

func newFixture(t *testing.T) *accessenv.Env {
	t.Helper()
	clock := testenv.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	return accessenv.New(t, authority.Options{Clock: clock})
}

func TestAuthorize(t *testing.T) {
	f := newFixture(t)
	office := netip.MustParseAddr("192.0.2.7")
	elsewhere := netip.MustParseAddr("203.0.113.9")
	cases := []struct {
		name      string
		user, key string
		port      int
		source    netip.Addr
		insecure  bool
		ok        bool
		outcome   string
		reason    string
		statement string
	}{
		{name: "allowed", user: "alice", key: "alice", port: nativePort, source: office, ok: true, outcome: "ok", statement: "Connect"},
		{name: "allowed without a source", user: "alice", key: "alice", port: nativePort, ok: true, outcome: "ok", statement: "Connect"},
		{name: "signed for the registered port", user: "alice", key: "alice", port: registeredPort, outcome: "refused", reason: "port-not-allowed"},
		{name: "another user's name", user: "bob", key: "alice", port: nativePort, outcome: "refused", reason: "implicit-deny"},
		{name: "implicit deny", user: "nobody", key: "nobody", port: nativePort, outcome: "refused", reason: "implicit-deny"},
		{name: "NotIpAddress deny, source outside", user: "office", key: "office", port: nativePort, source: elsewhere, outcome: "refused", reason: "explicit-deny", statement: "OnlyOffice"},
		{name: "NotIpAddress deny, source inside", user: "office", key: "office", port: nativePort, source: office, ok: true, outcome: "ok", statement: "Connect"},
		// No source (MariaDB sets no PAM_RHOST): aws:SourceIp is absent, and a negated
		// operator on an absent key holds, so the Deny applies.
		{name: "NotIpAddress deny, no source", user: "office", key: "office", port: nativePort, outcome: "refused", reason: "explicit-deny", statement: "OnlyOffice"},
		{name: "IpAddress deny, source inside", user: "blocked", key: "blocked", port: nativePort, source: netip.MustParseAddr("198.51.100.1"), outcome: "refused", reason: "explicit-deny", statement: "NotFromThere"},
		{name: "IpAddress deny, no source", user: "blocked", key: "blocked", port: nativePort, ok: true, outcome: "ok", statement: "Connect"},
		{name: "SecureTransport deny, insecure", user: "plain", key: "plain", port: nativePort, insecure: true, outcome: "refused", reason: "explicit-deny", statement: "TLSOnly"},
		{name: "SecureTransport deny, secure", user: "plain", key: "plain", port: nativePort, ok: true, outcome: "ok", statement: "Connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := f.Token(t, c.port, c.user, c.key, time.Time{})
			var rec access.Record
			ok := f.Authorizer.Authorize(context.Background(), c.user, tok, c.source, !c.insecure, &rec)
			if ok != c.ok || rec.Outcome != c.outcome || rec.Reason != c.reason || rec.Statement != c.statement {
				t.Errorf("Authorize(%s) = %v, %+v; want %v, outcome %q, reason %q, statement %q", c.name, ok, rec, c.ok, c.outcome, c.reason, c.statement)
			}
			if c.reason != "port-not-allowed" && rec.AccessKeyID != f.Keys[c.key].AccessKeyID {
				t.Errorf("Authorize(%s): AccessKeyID = %q, want %q", c.name, rec.AccessKeyID, f.Keys[c.key].AccessKeyID)
			}
		})
	}
}

// The registration is refreshed by the database's registered endpoint and port, not by
// the port tokens name: disabling IAM authentication applies to a native endpoint at once.
func TestAuthorizeFollowsRegistration(t *testing.T) {
	f := newFixture(t)
	tok := f.Token(t, nativePort, "alice", "alice", time.Time{})
	var rec access.Record
	if !f.Authorizer.Authorize(context.Background(), "alice", tok, netip.Addr{}, true, &rec) {
		t.Fatalf("Authorize before the change = false (%+v), want true", rec)
	}
	off := false
	if _, err := f.IAM.ModifyDBInstance(context.Background(), f.Root(), iam.ModifyDBInput{Identifier: "app", EnableIAMDatabaseAuthentication: &off, ApplyImmediately: true}); err != nil {
		t.Fatal(err)
	}
	if got := f.Authorizer.Database(); got.IAMAuth || got.ResourceID != f.Database.ResourceID {
		t.Fatalf("Database() = %+v, want the registration with IAM authentication off", got)
	}
	rec = access.Record{}
	if f.Authorizer.Authorize(context.Background(), "alice", tok, netip.Addr{}, true, &rec) || rec.Reason != access.ReasonIAMAuthDisabled {
		t.Errorf("Authorize after disabling IAM auth: %+v, want refused/%s", rec, access.ReasonIAMAuthDisabled)
	}
}

func TestAuthorizeUserMismatch(t *testing.T) {
	f := newFixture(t)
	tok := f.Token(t, nativePort, "bob", "alice", time.Time{})
	var rec access.Record
	if f.Authorizer.Authorize(context.Background(), "alice", tok, netip.Addr{}, true, &rec) || rec.Reason != "user-mismatch" {
		t.Errorf("Authorize(alice, token for bob) = %+v, want refused/user-mismatch", rec)
	}
}

func TestAuthorizeExpired(t *testing.T) {
	f := newFixture(t)
	tok := f.Token(t, nativePort, "alice", "alice", time.Time{})
	f.Clock.Advance(16 * time.Minute)
	var rec access.Record
	if f.Authorizer.Authorize(context.Background(), "alice", tok, netip.Addr{}, true, &rec) || rec.Reason != "expired" || rec.Outcome != access.OutcomeRefused {
		t.Errorf("Authorize(expired token) = %+v, want refused/expired", rec)
	}
}

func TestNewAuthorizerValidates(t *testing.T) {
	f := newFixture(t)
	for _, cfg := range []access.Config{
		{Database: f.Database},
		{Authority: f.IAM},
		{Authority: f.IAM, Database: f.Database, Port: 70000},
	} {
		if _, err := access.NewAuthorizer(cfg); err == nil {
			t.Errorf("NewAuthorizer(%+v) = nil error, want one", cfg)
		}
	}
}
