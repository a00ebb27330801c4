package iam

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/token"
)

func TestRotateMasterKey(t *testing.T) {
	raw := openStore(t)
	e := newEnvOn(t, raw, testMaster)
	alice := e.user(e.admin, "alice", "")
	akid := alice.AccessKeyID
	before, err := e.s.LookupKey(e.ctx, akid, "")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.s.GetSessionToken(e.ctx, alice, GetSessionTokenInput{DurationSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	adminKey := e.admin.AccessKeyID
	e.s.Close()

	newMaster := bytes.Repeat([]byte{0x42}, 32)
	ctx := context.Background()
	n, err := RotateMasterKey(ctx, raw, testMaster, newMaster, nil)
	if err != nil || n != 2 { // the admin's key and alice's
		t.Fatalf("RotateMasterKey = %d, %v; want 2 keys re-encrypted", n, err)
	}
	if n, err := RotateMasterKey(ctx, raw, testMaster, newMaster, nil); err != nil || n != 0 {
		t.Errorf("RotateMasterKey again = %d, %v; want nothing to do", n, err)
	}
	if _, err := RotateMasterKey(ctx, raw, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), nil); err == nil {
		t.Error("RotateMasterKey with a wrong old key succeeded")
	}

	open := func(cfg Config) *Service {
		t.Helper()
		cfg.Store, cfg.Now = raw, e.clock.Now
		s, err := New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	// The new key opens the secrets; sessions of before need the previous key.
	s := open(Config{MasterKey: newMaster, PreviousMasterKeys: [][]byte{testMaster}})
	for _, id := range []string{akid, adminKey} {
		k, err := s.LookupKey(ctx, id, "")
		if err != nil {
			t.Fatalf("LookupKey(%s) after rotation: %v", id, err)
		}
		if id == akid && k.SecretAccessKey != before.SecretAccessKey {
			t.Error("the secret changed in the rotation")
		}
	}
	if _, err := s.LookupKey(ctx, sess.AccessKeyID, sess.SessionToken); err != nil {
		t.Errorf("a session of before the rotation, with the previous key: %v", err)
	}
	// New sessions are sealed under the new key alone.
	k, err := s.LookupKey(ctx, akid, "")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.GetSessionToken(ctx, k.Principal.(*Caller), GetSessionTokenInput{DurationSeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(Config{MasterKey: newMaster})
	if _, err := s.LookupKey(ctx, fresh.AccessKeyID, fresh.SessionToken); err != nil {
		t.Errorf("a session sealed after the rotation, without previous keys: %v", err)
	}
	if _, err := s.LookupKey(ctx, sess.AccessKeyID, sess.SessionToken); !errors.Is(err, token.ErrInvalidSessionToken) {
		t.Errorf("a session of before the rotation without the previous key = %v, want ErrInvalidSessionToken", err)
	}
	if _, err := New(ctx, Config{Store: raw, MasterKey: newMaster, PreviousMasterKeys: [][]byte{{1, 2}}}); err == nil {
		t.Error("New accepted a short previous master key")
	}
	// The old master key (or any other) no longer opens the store's secrets: New refuses
	// to start rather than serve with every access key unknown.
	for _, wrong := range [][]byte{testMaster, bytes.Repeat([]byte{9}, 32)} {
		s, err := New(ctx, Config{Store: raw, MasterKey: wrong, Now: e.clock.Now})
		if !errors.Is(err, ErrWrongMasterKey) || !strings.Contains(err.Error(), "the secrets of 2 access keys") {
			if s != nil {
				s.Close()
			}
			t.Errorf("New with a wrong master key = %v, want ErrWrongMasterKey for 2 keys", err)
		}
	}
}

func TestFirstN(t *testing.T) {
	if got := strings.Join(firstN([]string{"a", "b", "c", "d"}, 3), ","); got != "a,b,c,…" {
		t.Errorf("firstN = %q", got)
	}
	if got := strings.Join(firstN([]string{"a"}, 3), ","); got != "a" {
		t.Errorf("firstN = %q", got)
	}
}
