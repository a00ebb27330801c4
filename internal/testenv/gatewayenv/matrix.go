package gatewayenv

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/token"
)

// A Refusal is a login every gateway must refuse, whatever its engine, and the reason it
// must log.
type Refusal struct{ Name, User, Token, Reason string }

// Refusals is the access matrix of the site: tokens of the cast that are expired,
// tampered with, signed for another host, port (wrongPort, a host:port) or region, for
// another user, without a policy, explicitly denied, of an inactive key or of an expired
// session, and one that is not a token at all.
func (s *Site) Refusals(t testing.TB, wrongPort string) []Refusal {
	t.Helper()
	now := s.Env.Clock.Now()
	ep := fmt.Sprintf("localhost:%d", s.Port)
	build := func(endpoint, region, user, key string, at time.Time) string {
		t.Helper()
		tok, err := token.Build(endpoint, region, user, s.Env.Keys[key], at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := s.Token(t, "alice", "alice", now)
	const hex = "0123456789abcdef"
	tampered := valid[:len(valid)-1] + string(hex[(strings.IndexByte(hex, valid[len(valid)-1])+1)%16])
	return []Refusal{
		{"expired", "alice", build(ep, Region, "alice", "alice", now.Add(-16*time.Minute)), "expired"},
		{"tampered", "alice", tampered, "signature-mismatch"},
		{"wrong host", "alice", build(fmt.Sprintf("elsewhere.example.com:%d", s.Port), Region, "alice", "alice", now), "host-not-allowed"},
		{"wrong port", "alice", build(wrongPort, Region, "alice", "alice", now), "port-not-allowed"},
		{"wrong region", "alice", build(ep, "eu-west-1", "alice", "alice", now), "wrong-scope-region"},
		{"wrong user", "nina", valid, "user-mismatch"},
		{"no policy", "bob", build(ep, Region, "bob", "bob", now), "implicit-deny"},
		{"explicit deny", "carol", build(ep, Region, "carol", "carol", now), "explicit-deny"},
		{"inactive key", "dave", build(ep, Region, "dave", "dave", now), "inactive-key"},
		{"expired session", "alice", build(ep, Region, "alice", "alice-expired-session", now.Add(-time.Minute)), "session-expired"},
		{"not a token", "alice", "hunter2", "malformed"},
	}
}
