package awsquery

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// benchClient returns an STS client of the admin whose transport keeps enough idle
// connections for parallel benchmarks.
func benchClient(e *testEnv) *awssts.Client {
	cfg := e.awsConfig(e.admin)
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	cfg.HTTPClient = &http.Client{Transport: tr}
	return awssts.NewFromConfig(cfg)
}

// BenchmarkGetCallerIdentity measures GetCallerIdentity through the handler over loopback
// HTTP with aws-sdk-go-v2's STS client (signing, HTTP, SigV4 verification, XML both ways).
func BenchmarkGetCallerIdentity(b *testing.B) {
	e := newTestEnv(b)
	c := benchClient(e)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkAssumeRole measures AssumeRole (trust policy and identity policy evaluation,
// session token sealing) the same way.
func BenchmarkAssumeRole(b *testing.B) {
	e := newTestEnv(b)
	ctx := context.Background()
	r, err := e.iamClient(e.admin).CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("bench"), AssumeRolePolicyDocument: aws.String(accountTrust)})
	if err != nil {
		b.Fatal(err)
	}
	c := benchClient(e)
	in := &awssts.AssumeRoleInput{RoleArn: r.Role.Arn, RoleSessionName: aws.String("bench")}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.AssumeRole(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
