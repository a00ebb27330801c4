package authority_test

import (
	"context"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

func TestAuthority(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := authority.New(t, authority.Options{Clock: testenv.NewClock(t0), Region: "eu-west-1"})
	ctx := context.Background()
	if got := a.Caller(t, a.Admin.AccessKeyID, "").ARN; got != a.ARN("user/admin") {
		t.Errorf("admin caller ARN = %s, want %s", got, a.ARN("user/admin"))
	}
	key := a.User(t, "alice", a.ConnectPolicy("alice"))
	a.AttachPolicy(t, "alice", "more", a.ConnectPolicy("bob"))
	second := a.AccessKey(t, "alice")
	a.DeactivateKey(t, "alice", second.AccessKeyID)
	r := a.Role(t, "app", authority.TrustPolicy(a.ARN("user/alice")), a.ConnectPolicy("app"))
	if r.ARN != a.ARN("role/app") {
		t.Errorf("Role ARN = %s, want %s", r.ARN, a.ARN("role/app"))
	}
	s := a.Session(t, key.AccessKeyID, 900)
	if want := t0.Add(15 * time.Minute); !s.Expiration.Equal(want) {
		t.Errorf("session expires %v, want %v (the clock's now + 15m)", s.Expiration, want)
	}
	if c := a.Caller(t, s.AccessKeyID, s.SessionToken); c.ARN != a.ARN("user/alice") {
		t.Errorf("session caller ARN = %s, want alice", c.ARN)
	}
	if k, err := a.IAM.LookupKey(ctx, second.AccessKeyID, ""); err != nil || !k.Inactive {
		t.Errorf("LookupKey(deactivated key) = inactive %v, %v; want inactive", k.Inactive, err)
	}
	u, err := a.IAM.GetUser(ctx, a.Root(), "alice")
	if err != nil || u.UserName != "alice" {
		t.Errorf("GetUser(alice) = %+v, %v", u, err)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	var region string
	a, err := authority.Open(authority.Options{Config: func(c *iam.Config) { region = c.DefaultRegion }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if region != authority.DefaultRegion || a.Account != authority.DefaultAccount {
		t.Errorf("region, account = %s, %s; want the defaults", region, a.Account)
	}
	if d := time.Since(a.Clock.Now()); d < 0 || d > time.Minute {
		t.Errorf("the default clock is %v from real time", d)
	}
}
