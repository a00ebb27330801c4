package token

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The Java SDK's published vector (REFERENCE.md §1).
var javaVector = struct {
	endpoint, region, user string
	creds                  Credentials
	now                    time.Time
	signature              string
}{
	endpoint:  "host.us-east-1.amazonaws.com:3306",
	region:    "us-east-1",
	user:      "mySQLUser",
	creds:     Credentials{AccessKeyID: "access_key", SecretAccessKey: "secret_key"},
	now:       time.Date(2016, 11, 7, 17, 39, 33, 0, time.UTC),
	signature: "87ab58107ef49f1c311a412f98b7f976b0b5152ffb559f0d36c6c9a0c5e0e362",
}

func staticKeys(keys map[string]Key[any]) KeyLookup[any] {
	return KeyLookupFunc[any](func(_ context.Context, akid, _ string) (Key[any], error) {
		k, ok := keys[akid]
		if !ok {
			return Key[any]{}, ErrUnknownKey
		}
		return k, nil
	})
}

func newTestVerifier(t testing.TB, now time.Time, host string, port int) *Verifier[any] {
	t.Helper()
	v, err := NewVerifier(Config[any]{
		Region:    "us-east-1",
		Endpoints: []string{host},
		Port:      port,
		Keys:      staticKeys(map[string]Key[any]{"access_key": {SecretAccessKey: "secret_key", Principal: "p"}}),
		Now:       func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBuildJavaVector(t *testing.T) {
	t.Parallel()
	jv := javaVector
	tok, err := Build(jv.endpoint, jv.region, jv.user, jv.creds, jv.now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(tok, "&X-Amz-Signature="+jv.signature) {
		t.Errorf("Build() = %q, want signature %s", tok, jv.signature)
	}
	want := "host.us-east-1.amazonaws.com:3306/?Action=connect&DBUser=mySQLUser&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=access_key%2F20161107%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20161107T173933Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=" + jv.signature
	if tok != want {
		t.Errorf("Build() = %q, want %q", tok, want)
	}
	v := newTestVerifier(t, jv.now.Add(time.Minute), "HOST.us-east-1.amazonaws.com", 3306)
	res, err := v.Verify(context.Background(), tok, jv.user)
	if err != nil {
		t.Fatalf("Verify() = %v, want nil", err)
	}
	if res.AccessKeyID != "access_key" || res.Principal != "p" || res.Port != 3306 || !res.IssuedAt.Equal(jv.now) || res.Expires != 15*time.Minute {
		t.Errorf("Verify() = %+v", res)
	}
	// The same token without the "/", as aws-sdk-go-v2's releases before its fix write it.
	noSlash := strings.Replace(tok, "/?", "?", 1)
	if _, err := v.Verify(context.Background(), noSlash, jv.user); err != nil {
		t.Errorf("Verify(without /) = %v, want nil", err)
	}
}

func TestVerifyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	jv := javaVector
	tok, _ := Build(jv.endpoint, jv.region, jv.user, jv.creds, jv.now)
	v := newTestVerifier(t, jv.now, "host.us-east-1.amazonaws.com", 3306)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok, jv.user); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := v.Verify(ctx, tok, jv.user); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Verify allocates %v times per run, want 0", allocs)
	}
}

func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	jv := javaVector
	tok, _ := Build(jv.endpoint, jv.region, jv.user, jv.creds, jv.now)
	tests := []struct {
		name string
		tok  string
		user string
		now  time.Time
		want error
	}{
		{"oversized", tok + strings.Repeat("x", DefaultMaxLen), jv.user, jv.now, ErrOversized},
		{"no query", "host:3306", jv.user, jv.now, ErrMalformed},
		{"expired", tok, jv.user, jv.now.Add(15*time.Minute + time.Second), ErrExpired},
		{"edge of expiry", tok, jv.user, jv.now.Add(15 * time.Minute), nil},
		{"not yet valid", tok, jv.user, jv.now.Add(-5*time.Minute - time.Second), ErrNotYetValid},
		{"inside skew", tok, jv.user, jv.now.Add(-5 * time.Minute), nil},
		{"user case", tok, "mysqluser", jv.now, ErrUserMismatch},
		{"flipped signature", tok[:len(tok)-1] + "f", jv.user, jv.now, ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newTestVerifier(t, tt.now, "host.us-east-1.amazonaws.com", 3306)
			_, err := v.Verify(context.Background(), tt.tok, tt.user)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}
