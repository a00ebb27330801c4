package iam

import (
	"net/netip"
	"testing"
)

func BenchmarkAssumeRole(b *testing.B) {
	e := newEnv(b)
	r := e.role(e.admin, "r", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	in := AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.s.AssumeRole(e.ctx, e.admin, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupKey(b *testing.B) {
	e := newEnv(b)
	r := e.role(e.admin, "r", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	out, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "bench", Policy: allow("rds-db:connect", "*")})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("long-term", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.s.LookupKey(e.ctx, e.admin.AccessKeyID, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.s.LookupKey(e.ctx, out.Credentials.AccessKeyID, out.Credentials.SessionToken); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session-unseal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := e.s.unsealSession(out.Credentials.SessionToken)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.s.sessionCaller(e.s.snap.Load(), p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAuthorizeConnect(b *testing.B) {
	e := newEnv(b)
	db := e.database()
	u := e.user(e.admin, "app", allow("rds-db:connect", "arn:aws:rds-db:*:*:dbuser:"+db.ResourceID+"/app"))
	info := RequestInfo{SourceIP: netip.MustParseAddr("10.0.0.1"), SecureTransport: true}
	b.ReportAllocs()
	for b.Loop() {
		d, err := e.s.AuthorizeConnect(e.ctx, u, db, "app", info)
		if err != nil || !d.Allowed() {
			b.Fatal(d, err)
		}
	}
}

// TestLoginAdvisorAllocs pins what the access advisor's bookkeeping allocates per login
// (every gateway and native login notes rds-db:connect and its dbuser): the two record
// keys, nothing more — the principal's key is the Caller's, and a record's "where" is
// stored only when it changes. (AuthorizeConnect as a whole is BenchmarkAuthorizeConnect:
// its policy.Context comes from a sync.Pool, which the race detector empties at random.)
// Not parallel, and the watch loop stopped: AllocsPerRun counts the whole process's
// allocations.
func TestLoginAdvisorAllocs(t *testing.T) {
	e := newEnv(t)
	e.quiesce()
	u := e.user(e.admin, "app", allow("rds-db:connect", "*"))
	r := e.role(e.admin, "r", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	out, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "warm"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.s.LookupKey(e.ctx, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	const dbuser = "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/app"
	for _, c := range []*Caller{u, sess.Principal} {
		login := func() {
			now := e.clock.Now()
			e.s.noteUse(c, "rds-db:connect", "us-east-1", now)
			e.s.noteLogin(c, dbuser, "us-east-1", now)
		}
		login() // the records' cells are made on first use
		if n := testing.AllocsPerRun(200, login); n > 2 {
			t.Errorf("%s: the advisor allocates %.0f times per login, want at most 2 (its two keys)", c.Type, n)
		}
	}
}
