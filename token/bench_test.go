package token_test

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"

	"github.com/iamdb/iamdb/token"
)

// The benchmarks compare this package with its anchors in aws-sdk-go-v2, in one run:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./token | tee /tmp/token.bench
//
// BenchmarkBuild vs BenchmarkBuildAWSSDK, and BenchmarkVerify vs BenchmarkVerifyAWSSDKResign
// (verifying by re-signing the token's request with aws-sdk-go-v2's v4 signer, as a
// straightforward verifier would).

const (
	benchEndpoint = "mydb.cluster-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com:5432"
	benchHost     = "mydb.cluster-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com"
	benchRegion   = "us-east-1"
	benchUser     = "iam_user"
)

var benchCreds = token.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

func BenchmarkBuild(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := token.Build(benchEndpoint, benchRegion, benchUser, benchCreds, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildAWSSDK(b *testing.B) {
	ctx := context.Background()
	prov := credentials.NewStaticCredentialsProvider(benchCreds.AccessKeyID, benchCreds.SecretAccessKey, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.BuildAuthToken(ctx, benchEndpoint, benchRegion, benchUser, prov); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerifier(b *testing.B, now time.Time) *token.Verifier[any] {
	v, err := token.NewVerifier(token.Config[any]{
		Region: benchRegion, Endpoints: []string{benchHost}, Port: 5432,
		Keys: token.KeyLookupFunc[any](func(_ context.Context, akid, _ string) (token.Key[any], error) {
			if akid != benchCreds.AccessKeyID {
				return token.Key[any]{}, token.ErrUnknownKey
			}
			return token.Key[any]{SecretAccessKey: benchCreds.SecretAccessKey}, nil
		}),
		Now: func() time.Time { return now },
	})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// benchToken returns a token for benchUser built now and a Verifier that accepts it.
func benchToken(b *testing.B) (*token.Verifier[any], string) {
	now := time.Now()
	tok, err := token.Build(benchEndpoint, benchRegion, benchUser, benchCreds, now)
	if err != nil {
		b.Fatal(err)
	}
	return benchVerifier(b, now), tok
}

func BenchmarkVerify(b *testing.B) {
	v, tok := benchToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok, benchUser); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyParallel measures verifications per second with every core busy.
func BenchmarkVerifyParallel(b *testing.B) {
	v, tok := benchToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, tok, benchUser); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// resignVerify is the anchor: parse the token with net/url, rebuild the request, presign it
// again with aws-sdk-go-v2 at the token's date and compare signatures.
func resignVerify(ctx context.Context, s *v4.Signer, tok, user, secret string) bool {
	u, err := url.Parse("https://" + tok)
	if err != nil {
		return false
	}
	q := u.Query()
	if q.Get("DBUser") != user || q.Get("Action") != "connect" {
		return false
	}
	date, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || time.Since(date) > 15*time.Minute {
		return false
	}
	sig := q.Get("X-Amz-Signature")
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 {
		return false
	}
	req, err := http.NewRequest("GET", "https://"+u.Host+"/", nil)
	if err != nil {
		return false
	}
	req.URL.RawQuery = url.Values{"Action": {"connect"}, "DBUser": {user}, "X-Amz-Expires": {q.Get("X-Amz-Expires")}}.Encode()
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: q.Get("X-Amz-Security-Token")}
	signed, _, err := s.PresignHTTP(ctx, creds, req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "rds-db", scope[2], date)
	if err != nil {
		return false
	}
	su, err := url.Parse(signed)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(su.Query().Get("X-Amz-Signature")), []byte(sig)) == 1
}

func TestResignVerifyAnchorWorks(t *testing.T) {
	tok, err := token.Build(benchEndpoint, benchRegion, benchUser, benchCreds, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := v4.NewSigner()
	if !resignVerify(context.Background(), s, tok, benchUser, benchCreds.SecretAccessKey) {
		t.Fatal("the anchor verifier refuses a valid token: the benchmark would compare nothing")
	}
	// A fresh signer: aws-sdk-go-v2 caches derived keys by access key ID, not by secret.
	if resignVerify(context.Background(), v4.NewSigner(), tok, benchUser, "wrong") {
		t.Fatal("the anchor verifier accepts a wrong secret")
	}
}

func BenchmarkVerifyAWSSDKResign(b *testing.B) {
	tok, _ := token.Build(benchEndpoint, benchRegion, benchUser, benchCreds, time.Now())
	s := v4.NewSigner()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if !resignVerify(ctx, s, tok, benchUser, benchCreds.SecretAccessKey) {
			b.Fatal("refused")
		}
	}
}
