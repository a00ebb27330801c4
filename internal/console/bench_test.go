package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamdb/iamdb/internal/iam"
)

// benchUsers is how many users the list benchmarks show.
const benchUsers = 100

// benchEnv is a console with benchUsers users and a signed-in admin.
func benchEnv(b *testing.B) (*testEnv, *client) {
	b.Helper()
	e := newTestEnv(b, nil)
	for i := range benchUsers {
		if _, err := e.svc.CreateUser(context.Background(), e.admin, iam.CreateUserInput{UserName: fmt.Sprintf("user-%03d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	return e, e.signedIn("admin", adminPass)
}

// BenchmarkUsersPage is the users page with benchUsers users, over loopback HTTP: the
// session's lookup, ListUsers signed by the SDK and verified by the API in process, the
// template. Compare with BenchmarkListUsersAPI, the same list over loopback HTTP as the AWS
// SDK (and CLI) fetch it.
func BenchmarkUsersPage(b *testing.B) {
	_, c := benchEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		if p := c.get(Prefix + "users"); p.Status != http.StatusOK {
			b.Fatalf("users page: %d", p.Status)
		}
	}
}

// BenchmarkListUsersAPI is the anchor of BenchmarkUsersPage: ListUsers through aws-sdk-go-v2
// against the authority's API over loopback HTTP, with the admin's key, a connection per call
// as the AWS CLI has. The request body's WriteTo is hidden from net/http: smithy-go closes
// the body when the response's headers arrive, after which its WriteTo returns io.EOF, which
// net/http's drain of the body takes for a write error and closes the connection under a
// response still being read ("use of closed network connection"; aws/aws-sdk-go-v2#1825,
// #2737; see internal/awsquery/env_test.go).
func BenchmarkListUsersAPI(b *testing.B) {
	e, _ := benchEnv(b)
	cfg := aws.Config{Region: testRegion, BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: hideWriteTo{&http.Transport{DisableKeepAlives: true}}},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: e.auth.Admin.AccessKeyID, SecretAccessKey: e.auth.Admin.SecretAccessKey}, nil
		})}
	ic := awsiam.NewFromConfig(cfg)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		out, err := ic.ListUsers(context.Background(), &awsiam.ListUsersInput{MaxItems: aws.Int32(1000)})
		if err != nil || len(out.Users) != benchUsers+1 {
			b.Fatalf("ListUsers after %d calls: %v", n, err)
		}
	}
}

// BenchmarkSignIn is one sign-in: the form, Argon2id of the password, the session.
func BenchmarkSignIn(b *testing.B) {
	e := newTestEnv(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if p := e.client().trySignIn("admin", adminPass, ""); p.Status != http.StatusSeeOther {
			b.Fatalf("sign-in: %d", p.Status)
		}
	}
}

// hideWriteTo sends requests with a body that has only Read and Close.
type hideWriteTo struct{ rt http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.rt.RoundTrip(r)
}
