package gatewayenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/token"
)

// The cast is in the authority as the package doc says, without database servers.
func TestCast(t *testing.T) {
	t.Parallel()
	e := gatewayenv.New(t, gatewayenv.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		key      string
		inactive bool
		expired  bool
	}{
		{"alice", false, false}, {"bob", false, false}, {"carol", false, false}, {"dave", true, false},
		{"alice-session", false, false}, {"alice-expired-session", false, true},
	} {
		c := e.Keys[tc.key]
		k, err := e.IAM.LookupKey(ctx, c.AccessKeyID, c.SessionToken)
		if err != nil {
			t.Errorf("LookupKey(%s) = %v", tc.key, err)
			continue
		}
		if expired := !k.Expiration.IsZero() && !k.Expiration.After(e.Clock.Now()); k.Inactive != tc.inactive || expired != tc.expired {
			t.Errorf("LookupKey(%s): inactive %v, expired %v; want %v, %v", tc.key, k.Inactive, expired, tc.inactive, tc.expired)
		}
	}
	if id, _ := e.AccessKey(gatewayenv.User); id != e.Keys["alice"].AccessKeyID {
		t.Errorf("AccessKey(%s) = %s, want alice's", gatewayenv.User, id)
	}
	if _, err := e.IAM.GetRole(ctx, e.Root(), gatewayenv.RoleName); err != nil {
		t.Errorf("GetRole(%s) = %v", gatewayenv.RoleName, err)
	}
	p, calls := e.SessionCredentials(gatewayenv.User)
	c, err := p.Retrieve(ctx)
	if err != nil || !c.CanExpire || calls() != 1 {
		t.Fatalf("SessionCredentials: %+v, %v after %d calls", c.Expires, err, calls())
	}
	if _, err := p.Retrieve(ctx); err != nil || calls() != 1 {
		t.Errorf("SessionCredentials again: %v after %d calls, want the cached session", err, calls())
	}
	e.Clock.Advance(15 * time.Minute)
	if _, err := p.Retrieve(ctx); err != nil || calls() != 2 {
		t.Errorf("SessionCredentials after expiry: %v after %d calls, want a new session", err, calls())
	}
}

var shared = &gatewayenv.Shared{Options: gatewayenv.Options{Postgres: true}}

// A site registers its database: tokens for it verify, and the cast's policies decide.
func TestSite(t *testing.T) {
	e := shared.Get(t)
	s := e.Site(t, gatewayenv.Postgres)
	v, err := token.NewVerifier(token.Config[*iam.Caller]{Region: gatewayenv.Region, Endpoints: s.Database.Endpoints, Port: s.Database.Port, Keys: e.IAM, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user    string
		allowed bool
	}{{"alice", true}, {"bob", false}, {"carol", false}} {
		res, err := v.Verify(context.Background(), s.Token(t, tc.user, tc.user, time.Time{}), tc.user)
		if err != nil {
			t.Fatalf("Verify(%s's token) = %v", tc.user, err)
		}
		d, err := e.IAM.AuthorizeConnect(context.Background(), res.Principal, s.Database, tc.user, iam.RequestInfo{})
		if err != nil || d.Allowed() != tc.allowed {
			t.Errorf("AuthorizeConnect(%s) = %+v, %v; want allowed %v", tc.user, d, err, tc.allowed)
		}
	}
	if s.Database.Port != s.Port || s.Backend.Addr != e.Postgres.Addr() {
		t.Errorf("site database port %d, backend %s; want %d, %s", s.Database.Port, s.Backend.Addr, s.Port, e.Postgres.Addr())
	}
}

func TestMain(m *testing.M) {
	m.Run()
	shared.Close()
}
