package iam

import (
	"bytes"
	"context"
	"crypto/cipher"
	cryptorand "crypto/rand"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/token"
)

func TestRotateMasterKey(t *testing.T) {
	raw, e, alice := aliceEnv(t)
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
	fresh, err := s.GetSessionToken(ctx, k.Principal, GetSessionTokenInput{DurationSeconds: 900})
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

// TestRotateUnderRunningService: a store re-encrypted under another master key while a
// Service runs makes every access key unknown to it; the Service says so in its log,
// naming the keys, instead of refusing callers silently.
func TestRotateUnderRunningService(t *testing.T) {
	raw, e, alice := aliceEnv(t)
	ctx := context.Background()
	s, logs := restartLogged(t, e, raw)
	if _, err := s.LookupKey(ctx, alice.AccessKeyID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateMasterKey(ctx, raw, testMaster, bytes.Repeat([]byte{0x42}, 32), nil); err != nil {
		t.Fatal(err)
	}
	r := logs.WaitLine(t, `"level":"ERROR"`)
	if !strings.Contains(r, "master key cannot decrypt") || !strings.Contains(r, `"count":2`) ||
		!strings.Contains(r, alice.AccessKeyID) || !strings.Contains(r, e.admin.AccessKeyID) {
		t.Errorf("log after the rotation = %q; want the two keys named", r)
	}
	if _, err := s.LookupKey(ctx, alice.AccessKeyID, ""); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("LookupKey after the rotation = %v, want ErrUnknownKey", err)
	}
	// A later rebuild that loses nothing more says nothing more.
	bump(t, raw)
	if err := s.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := logs.Count(`"level":"ERROR"`); n != 1 {
		t.Errorf("%d error lines after a second rebuild, want 1", n)
	}
}

// TestRefreshFailureLogged: a rebuild that fails is logged once, the last snapshot keeps
// serving, and the recovery is logged when a retry succeeds.
func TestRefreshFailureLogged(t *testing.T) {
	raw, e, alice := aliceEnv(t)
	ctx := context.Background()
	fs := &failingStore{Store: raw}
	s, logs := restartLogged(t, e, fs)
	fs.fail.Store(true)
	bump(t, raw)
	if r := logs.WaitLine(t, `"level":"WARN"`); !strings.Contains(r, "cannot rebuild") || !strings.Contains(r, "disk on fire") {
		t.Errorf("log of the failed rebuild = %q", r)
	}
	if _, err := s.LookupKey(ctx, alice.AccessKeyID, ""); err != nil {
		t.Errorf("LookupKey while rebuilds fail = %v; want the last snapshot served", err)
	}
	time.Sleep(1500 * time.Millisecond) // at least one retry fails too
	if n := logs.Count(`"level":"WARN"`); n != 1 {
		t.Errorf("%d warnings while failing, want 1", n)
	}
	fs.fail.Store(false)
	logs.WaitLine(t, `"level":"INFO"`, "up to date again") // the recovery is logged
	if got, want := s.snap.Load().rev, mustRevision(t, raw); got != want {
		t.Errorf("snapshot at revision %d after the recovery, want %d", got, want)
	}
}

func mustRevision(t *testing.T, st store.Store) int64 {
	t.Helper()
	rev, err := st.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// failingStore fails every View while fail is set.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if f.fail.Load() {
		return errors.New("disk on fire")
	}
	return f.Store.View(ctx, fn)
}

// TestRefreshFollowsARevisionThatWentBack: a shared store's revision can go back (its
// database failed over to a standby that lacked the last commits): refresh rebuilds for
// any revision other than the snapshot's, not only a higher one.
func TestRefreshFollowsARevisionThatWentBack(t *testing.T) {
	raw, e, _ := aliceEnv(t)
	e.s.Close()

	ctx := context.Background()
	st := &rewoundStore{Store: raw}
	s, err := New(ctx, Config{Store: st, MasterKey: testMaster, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rev := s.snap.Load().rev
	st.back.Store(1)
	if err := s.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.snap.Load().rev; got != rev-1 {
		t.Errorf("snapshot at revision %d after the store's went back to %d", got, rev-1)
	}
}

// rewoundStore reports a revision back lower than its Store's.
type rewoundStore struct {
	store.Store
	back atomic.Int64
}

func (r *rewoundStore) Revision(ctx context.Context) (int64, error) {
	rev, err := r.Store.Revision(ctx)
	return rev - r.back.Load(), err
}

// restartLogged closes e's Service and opens another on st, with e's master key and clock,
// logging to the returned recorder.
func restartLogged(t *testing.T, e *env, st store.Store) (*Service, *testenv.LogBuffer) {
	t.Helper()
	e.s.Close()
	logs := &testenv.LogBuffer{}
	s, err := New(context.Background(), Config{Store: st, MasterKey: testMaster, Now: e.clock.Now, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// aliceEnv is an environment on a store of its own, with a user alice.
func aliceEnv(t *testing.T) (store.Store, *env, *Caller) {
	t.Helper()
	raw := openStore(t)
	e := newEnvOn(t, raw, testMaster)
	return raw, e, e.user(e.admin, "alice", "")
}

// bump commits a write to st, so that its revision moves on.
func bump(t *testing.T, st store.Store) {
	t.Helper()
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put("test", "x", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
}

// MFA seeds are sealed under the master key like access key secrets: the rotation
// re-encrypts them too, and a store rotated by an iamdb that left them under the old key
// keeps working with that key in PreviousMasterKeys. A master key that opens a seed under
// none of the keys is refused at start, as for access keys.
func TestRotateMasterKeyMFASeeds(t *testing.T) {
	raw, e, alice := aliceEnv(t)
	serial, seed := enableMFA(t, e, e.admin, "alice", "alice-mfa")
	e.s.Close()
	ctx := context.Background()
	mfaSession := func(s *Service) error {
		t.Helper()
		k, err := s.LookupKey(ctx, alice.AccessKeyID, "")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * totpStep) // a code not used before
		_, err = s.GetSessionToken(ctx, k.Principal, GetSessionTokenInput{DurationSeconds: 900, SerialNumber: serial,
			TokenCode: totpCode(seed, totpCounter(e.clock.Now()))})
		return err
	}
	open := func(master []byte, previous ...[]byte) (*Service, error) {
		s, err := New(ctx, Config{Store: raw, MasterKey: master, PreviousMasterKeys: previous, Now: e.clock.Now})
		if err == nil {
			t.Cleanup(func() { s.Close() })
		}
		return s, err
	}

	// A store an earlier iamdb rotated: the access keys under the new key, the seed under
	// the old one.
	keyB, keyC := bytes.Repeat([]byte{0x42}, 32), bytes.Repeat([]byte{0x43}, 32)
	if err := raw.Update(ctx, func(tx store.Tx) error {
		a, err := deriveAEAD(testMaster, labelSecret)
		if err != nil {
			return err
		}
		b, err := deriveAEAD(keyB, labelSecret)
		if err != nil {
			return err
		}
		items, err := tx.List(kindKey, "", "", 100)
		r := &resealer{olds: []cipher.AEAD{a}, new: b, rand: cryptorand.Reader}
		for _, it := range items {
			if _, err := r.item(tx, kindKey, it); err != nil {
				return err
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := open(keyB); !errors.Is(err, ErrWrongMasterKey) || !strings.Contains(err.Error(), "MFA") {
		t.Errorf("New with a key that opens no MFA seed = %v, want ErrWrongMasterKey naming MFA", err)
	}
	s, err := open(keyB, testMaster)
	if err != nil {
		t.Fatal(err)
	}
	if err := mfaSession(s); err != nil {
		t.Errorf("MFA with the seed under a previous master key: %v", err)
	}
	s.Close()

	// This rotation takes the seed along (from the previous key, which it is given).
	n, err := RotateMasterKey(ctx, raw, keyB, keyC, nil, testMaster)
	if err != nil || n != 3 { // two access keys, one seed
		t.Fatalf("RotateMasterKey = %d, %v; want 3 secrets re-encrypted", n, err)
	}
	if s, err = open(keyC); err != nil {
		t.Fatal(err)
	}
	if err := mfaSession(s); err != nil {
		t.Errorf("MFA after rotate-master-key: %v", err)
	}
}
