package token

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary tokens to the verifier: it must never panic, must refuse with
// one of the package's reasons (never a bare error), and must accept only what verifies.
func FuzzVerify(f *testing.F) {
	jv := javaVector
	tok, _ := Build(jv.endpoint, jv.region, jv.user, jv.creds, jv.now)
	f.Add(tok)
	f.Add(strings.Replace(tok, "?", "/?", 1))
	f.Add(strings.Replace(tok, "mySQLUser", "my%20SQL+User", 1))
	f.Add("[::1]:3306/?Action=connect&DBUser=u&X-Amz-Credential=a/b/c/d/e")
	f.Add("host:3306?Action=connect&Action=connect")
	f.Add("host:3306?%zz=1")
	f.Add("host:99999?a")
	f.Add("?&&=")
	v := newTestVerifier(f, jv.now, "host.us-east-1.amazonaws.com", 3306)
	f.Fuzz(func(t *testing.T, s string) {
		res, err := v.Verify(context.Background(), s, jv.user)
		if err != nil {
			if Reason(err) == "error" {
				t.Fatalf("Verify(%q) = %v: not one of the reasons", s, err)
			}
			if strings.Contains(err.Error(), jv.signature) {
				t.Fatalf("Verify(%q) error %q quotes the signature", s, err)
			}
			return
		}
		// Accepted: it must be signed by the only key and for the right moment.
		if res.AccessKeyID != "access_key" || res.IssuedAt.After(jv.now.Add(DefaultSkew)) || res.IssuedAt.Add(res.Expires).Before(jv.now) {
			t.Fatalf("Verify(%q) accepted %+v", s, res)
		}
	})
}

// Each textual mutation of a valid token is refused for its own reason: the rules are checked
// before the signature, so the operator learns what is wrong, not just that it is.
func TestVerifyEveryReason(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	creds := Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"}
	temp := Credentials{AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: "tsecret", SessionToken: "sess/ion+token="}
	tok, _ := Build("db.local:5432", "eu-west-1", "app", creds, now)
	ttok, _ := Build("db.local:5432", "eu-west-1", "app", temp, now)
	keys := KeyLookupFunc[any](func(_ context.Context, akid, st string) (Key[any], error) {
		switch akid {
		case creds.AccessKeyID:
			return Key[any]{SecretAccessKey: creds.SecretAccessKey}, nil
		case "AKIAINACTIVE00000000":
			return Key[any]{SecretAccessKey: "x", Inactive: true}, nil
		case temp.AccessKeyID:
			if st != temp.SessionToken {
				return Key[any]{}, ErrInvalidSessionToken
			}
			return Key[any]{SecretAccessKey: temp.SecretAccessKey, Expiration: now.Add(time.Hour)}, nil
		case "ASIAEXPIRED000000000":
			return Key[any]{SecretAccessKey: "x", Expiration: now.Add(-time.Second)}, nil
		}
		return Key[any]{}, ErrUnknownKey
	})
	v, err := NewVerifier(Config[any]{Region: "eu-west-1", Endpoints: []string{"db.local"}, Port: 5432, Keys: keys, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer
	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"valid", tok, nil},
		{"valid temporary", ttok, nil},
		{"oversized", tok + "&x=" + strings.Repeat("a", DefaultMaxLen), ErrOversized},
		{"no query", "db.local:5432", ErrMalformed},
		{"no port", strings.Replace(tok, ":5432", "", 1), ErrMalformed},
		{"scheme kept", "https://" + tok, ErrMalformed},
		{"duplicate", tok + "&DBUser=app", ErrMalformed},
		{"bad escape", tok + "&x=%G1", ErrMalformed},
		{"missing date", r("&X-Amz-Date=20261123T120000Z", "").Replace(tok), ErrMalformed},
		{"bad date", r("X-Amz-Date=20261123T120000Z", "X-Amz-Date=20261123T250000Z").Replace(tok), ErrMalformed},
		{"short signature", tok[:len(tok)-2], ErrMalformed},
		{"action", r("Action=connect", "Action=Connect").Replace(tok), ErrAction},
		{"algorithm", r("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1").Replace(tok), ErrAlgorithm},
		{"signed headers", r("SignedHeaders=host", "SignedHeaders=host%3Bx-amz-date").Replace(tok), ErrSignedHeaders},
		{"scope service", r("%2Frds-db%2F", "%2Frds%2F").Replace(tok), ErrScopeService},
		{"scope region", r("%2Feu-west-1%2F", "%2Feu-west-2%2F").Replace(tok), ErrScopeRegion},
		{"scope day", r("%2F20261123%2F", "%2F20261122%2F").Replace(tok), ErrScopeDay},
		{"expires too long", r("X-Amz-Expires=900", "X-Amz-Expires=901").Replace(tok), ErrExpiresTooLong},
		{"expires zero", r("X-Amz-Expires=900", "X-Amz-Expires=0").Replace(tok), ErrMalformed},
		{"expired", r("T120000Z", "T114459Z").Replace(tok), ErrExpired},
		{"not yet valid", r("T120000Z", "T120501Z").Replace(tok), ErrNotYetValid},
		{"user", r("DBUser=app", "DBUser=App").Replace(tok), ErrUserMismatch},
		{"host", r("db.local:", "db.other:").Replace(tok), ErrHostNotAllowed},
		{"port", r(":5432/?", ":5433/?").Replace(tok), ErrPortNotAllowed},
		{"unknown key", r("AKIAIOSFODNN7EXAMPLE", "AKIAUNKNOWN000000000").Replace(tok), ErrUnknownKey},
		{"inactive key", r("AKIAIOSFODNN7EXAMPLE", "AKIAINACTIVE00000000").Replace(tok), ErrInactiveKey},
		{"missing session token", r("&X-Amz-Security-Token=sess%2Fion%2Btoken%3D", "").Replace(ttok), ErrMissingSessionToken},
		{"invalid session token", r("sess%2Fion", "sess%2Fioo").Replace(ttok), ErrInvalidSessionToken},
		{"session expired", r("ASIAIOSFODNN7EXAMPLE", "ASIAEXPIRED000000000").Replace(ttok), ErrSessionExpired},
		{"signature", tok[:len(tok)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", tok[len(tok)-1])+1)%16]), ErrSignatureMismatch},
		{"other user signed", r("DBUser=app", "DBUser=app&x=1").Replace(tok), ErrSignatureMismatch},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		_, err := v.Verify(context.Background(), tt.tok, "app")
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify() = %v, want %v", tt.name, err, tt.want)
		}
		seen[Reason(err)] = true
	}
	for _, r := range Reasons() {
		if !seen[r] {
			t.Errorf("no case refuses with %q", r)
		}
	}
}
