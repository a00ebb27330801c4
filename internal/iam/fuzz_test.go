package iam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iamdb/iamdb/token"
)

// FuzzUnseal feeds arbitrary tokens to the session-token unsealer: it must never panic, and
// must refuse everything it did not seal with ErrInvalidSessionToken.
func FuzzUnseal(f *testing.F) {
	s, err := New(context.Background(), Config{Store: openStore(f), MasterKey: testMaster, Now: func() time.Time { return time.Unix(1740830400, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	good, err := s.sealSession(&sessionPayload{K: "ASIAAAAAAAAAAAAAAAAA", S: "secret", A: acctA, R: "arn:aws:iam::" + acctA + ":role/r", RI: "AROAX", N: "s", I: 1, E: 2})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, good[:len(good)-1], good + "A", "", sessionPrefix, sessionPrefix + "====", "IQoJb3JpZ2luX2VjEJr", sessionPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.unsealSession(tok)
		if err != nil {
			if !errors.Is(err, token.ErrInvalidSessionToken) {
				t.Fatalf("unsealSession = %v, want ErrInvalidSessionToken", err)
			}
			return
		}
		// Only this test seals under testMaster, so whatever opens is one of its tokens.
		if p.K != "ASIAAAAAAAAAAAAAAAAA" || p.S != "secret" || p.A != acctA {
			t.Fatalf("unsealSession accepted a token it did not seal: %q → %+v", tok, p)
		}
		_, _ = s.LookupKey(context.Background(), p.K, tok)
	})
}
