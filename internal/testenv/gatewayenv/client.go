package gatewayenv

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/awsquery"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

// AccessKey returns user's access key ID and secret.
func (e *Env) AccessKey(user string) (id, secret string) {
	return e.Keys[user].AccessKeyID, e.Keys[user].SecretAccessKey
}

// LongTermCredentials are user's access key.
func (e *Env) LongTermCredentials(user string) client.CredentialsProvider {
	k := e.Keys[user]
	return client.StaticCredentials(k.AccessKeyID, k.SecretAccessKey, "")
}

// SessionCredentials returns a provider that, like an instance or assumed-role provider,
// hands out temporary credentials of user that expire 15 minutes (the shortest STS
// session) after they are issued by the environment's clock, and a new session when the
// last one has expired. Calls counts the sessions issued.
func (e *Env) SessionCredentials(user string) (p client.CredentialsProvider, calls func() int) {
	var mu sync.Mutex
	var cur client.Credentials
	var n int
	return client.CredentialsProviderFunc(func(ctx context.Context) (client.Credentials, error) {
			mu.Lock()
			defer mu.Unlock()
			if cur.AccessKeyID != "" && e.Clock.Now().Before(cur.Expires.Add(-time.Minute)) {
				return cur, nil
			}
			k, err := e.IAM.LookupKey(ctx, e.Keys[user].AccessKeyID, "")
			if err != nil {
				return client.Credentials{}, err
			}
			s, err := e.IAM.GetSessionToken(ctx, k.Principal, iam.GetSessionTokenInput{DurationSeconds: 900})
			if err != nil {
				return client.Credentials{}, err
			}
			n++
			cur = client.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken,
				CanExpire: true, Expires: s.Expiration}
			return cur, nil
		}), func() int {
			mu.Lock()
			defer mu.Unlock()
			return n
		}
}

// AWSEndpoint serves a's AWS Query API (IAM, STS, RDS) on a loopback HTTP server until t
// ends and returns its URL (AWS_ENDPOINT_URL_STS). The API checks request signatures
// against real time, as the AWS SDK signs with it.
func AWSEndpoint(t testing.TB, a *authority.Authority) string {
	t.Helper()
	h, err := awsquery.New(awsquery.Config{IAM: a.IAM, Region: a.Region})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
