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
	db, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "db", Engine: "postgres", Port: 5432, Endpoints: []string{"db.example"}, IAMAuth: true})
	if err != nil {
		b.Fatal(err)
	}
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
