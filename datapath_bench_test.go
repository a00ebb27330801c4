package iamdb_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/iamdb/iamdb/policy"
	"github.com/iamdb/iamdb/token"
)

// BenchmarkDataPath is the gateway's whole decision for one login, in process: verify the
// token, then evaluate rds-db:connect for its principal with a full request context. DESIGN.md
// targets at least 250k of these per second per core.
//
//	go test -run '^$' -bench DataPath -benchmem -count 6 .
func BenchmarkDataPath(b *testing.B) {
	const (
		endpoint = "mydb.cluster-c1a2b3c4d5e6.ap-northeast-1.rds.amazonaws.com:5432"
		host     = "mydb.cluster-c1a2b3c4d5e6.ap-northeast-1.rds.amazonaws.com"
		region   = "ap-northeast-1"
		user     = "iam_user"
		userARN  = "arn:aws:iam::123456789012:user/iam_user"
		resource = "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ/iam_user"
	)
	creds := token.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	now := time.Now()
	tok, err := token.Build(endpoint, region, user, creds, now)
	if err != nil {
		b.Fatal(err)
	}
	principal, err := policy.PrincipalFromARN(userARN)
	if err != nil {
		b.Fatal(err)
	}
	pol, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[
	  {"Sid":"Connect","Effect":"Allow","Action":"rds-db:connect",
	   "Resource":"arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ/${aws:username}",
	   "Condition":{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
	  {"Sid":"NoAdmin","Effect":"Deny","Action":"rds-db:connect","Resource":"arn:aws:rds-db:*:*:dbuser:*/postgres"}]}`),
		policy.WithName("arn:aws:iam::123456789012:policy/iam_rds_connect"))
	if err != nil {
		b.Fatal(err)
	}
	identity := []*policy.Policy{pol}
	v, err := token.NewVerifier(token.Config[*policy.Principal]{
		Region: region, Endpoints: []string{host}, Port: 5432,
		Keys: token.KeyLookupFunc[*policy.Principal](func(_ context.Context, akid, _ string) (token.Key[*policy.Principal], error) {
			if akid != creds.AccessKeyID {
				return token.Key[*policy.Principal]{}, token.ErrUnknownKey
			}
			return token.Key[*policy.Principal]{SecretAccessKey: creds.SecretAccessKey, Principal: &principal}, nil
		}),
		Now: func() time.Time { return now },
	})
	if err != nil {
		b.Fatal(err)
	}
	src := netip.MustParseAddr("127.0.0.1")
	var pctx policy.Context
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.Verify(ctx, tok, user)
		if err != nil {
			b.Fatal(err)
		}
		p := res.Principal
		pctx.Reset()
		pctx.SetPrincipal(*p)
		pctx.Set(policy.KeyCurrentTime, policy.Date(now))
		pctx.Set(policy.KeyEpochTime, policy.Number(float64(now.Unix())))
		pctx.Set(policy.KeySecureTransport, policy.Bool(true))
		pctx.Set(policy.KeySourceIP, policy.IP(src))
		pctx.Set(policy.KeyTokenIssueTime, policy.Date(res.IssuedAt))
		d := policy.Evaluate(&policy.Input{
			Action: "rds-db:connect", Resource: resource, Principal: *p, Context: &pctx, Identity: identity,
		})
		if d.Effect != policy.Allowed {
			b.Fatalf("Evaluate = %v (%s)", d.Effect, d.Reason)
		}
	}
}
