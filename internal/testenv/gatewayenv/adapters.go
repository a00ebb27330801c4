package gatewayenv

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/client"
)

// CountingSource returns a TokenSource for us-east-1 with a static access key whose
// retrievals it counts, for tests that show a client refused before asking for
// credentials. It needs no Env.
func CountingSource(t testing.TB) (src *client.TokenSource, retrieves *atomic.Int64) {
	t.Helper()
	retrieves = new(atomic.Int64)
	src, err := client.NewTokenSource(client.Config{Region: "us-east-1", Credentials: client.CredentialsProviderFunc(func(context.Context) (client.Credentials, error) {
		retrieves.Add(1)
		return client.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"}, nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	return src, retrieves
}

// CheckNoToken reports an error whose text contains a token's signing parameters: the
// driver adapters' errors must never carry the token.
func CheckNoToken(t testing.TB, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "X-Amz") || strings.Contains(err.Error(), "Action=connect") {
		t.Errorf("error %q contains the token", err)
	}
}

// TokenSource returns a TokenSource of p for the environment's region and clock; mints, if
// not nil, counts the tokens it mints.
func (e *Env) TokenSource(t testing.TB, p client.CredentialsProvider, mints *atomic.Int64) *client.TokenSource {
	t.Helper()
	cfg := client.Config{Credentials: p, Region: Region, Now: e.Clock.Now}
	if mints != nil {
		cfg.OnMint = func(client.Target, time.Time, time.Duration) { mints.Add(1) }
	}
	s, err := client.NewTokenSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
