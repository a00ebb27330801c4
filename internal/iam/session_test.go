package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/token"
)

func sessionEnv(t *testing.T) (*env, Role, AssumeRoleOutput) {
	e := newEnv(t)
	r := e.role(e.admin, "r", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	out, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "sess", DurationSeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	return e, r, out
}

func TestSessionToken(t *testing.T) {
	e, r, out := sessionEnv(t)
	cr := out.Credentials
	for _, c := range cr.SessionToken {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			t.Fatalf("session token has %q, which needs URL escaping", c)
		}
	}
	if strings.Contains(cr.SessionToken, cr.SecretAccessKey) {
		t.Fatal("session token shows the secret")
	}

	// Round trip, with no store read at all.
	e.quiesce()
	reads := e.st.reads()
	k, err := e.s.LookupKey(e.ctx, cr.AccessKeyID, cr.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.st.reads() - reads; n != 0 {
		t.Fatalf("LookupKey(session) read the store %d times", n)
	}
	c := k.Principal
	if k.SecretAccessKey != cr.SecretAccessKey || !k.Expiration.Equal(cr.Expiration) || c.Session.RoleARN != r.ARN || c.Session.Name != "sess" {
		t.Fatalf("LookupKey = %+v / %+v", k, c.Session)
	}

	// Tampering, wrong key ID, missing token, garbage.
	tampered := []byte(cr.SessionToken)
	i := len(tampered) / 2
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	bad := map[string][2]string{
		"tampered":      {cr.AccessKeyID, string(tampered)},
		"truncated":     {cr.AccessKeyID, cr.SessionToken[:len(cr.SessionToken)-4]},
		"other key id":  {"ASIAAAAAAAAAAAAAAAAA", cr.SessionToken},
		"missing token": {cr.AccessKeyID, ""},
		"garbage":       {cr.AccessKeyID, "IQoJb3JpZ2luX2VjEJr"},
		"oversized":     {cr.AccessKeyID, sessionPrefix + strings.Repeat("A", maxSessionToken)},
	}
	for name, b := range bad {
		if _, err := e.s.LookupKey(e.ctx, b[0], b[1]); !errors.Is(err, token.ErrInvalidSessionToken) {
			t.Errorf("%s: LookupKey = %v, want ErrInvalidSessionToken", name, err)
		}
	}

	// Another master key cannot open it.
	other := newEnvOn(t, openStore(t), bytes.Repeat([]byte{7}, 32))
	if _, err := other.s.LookupKey(e.ctx, cr.AccessKeyID, cr.SessionToken); !errors.Is(err, token.ErrInvalidSessionToken) {
		t.Fatalf("wrong master key: LookupKey = %v", err)
	}

	// Expired: still returned, with Expiration in the past, for the verifier to refuse.
	e.clock.Advance(16 * time.Minute)
	k, err = e.s.LookupKey(e.ctx, cr.AccessKeyID, cr.SessionToken)
	if err != nil || !k.Expiration.Before(e.clock.Now()) {
		t.Fatalf("expired: LookupKey = %+v, %v", k.Expiration, err)
	}

	// Revocation denies sessions issued before T, not later ones.
	if err := e.s.RevokeRoleSessions(e.ctx, e.admin, "r", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.LookupKey(e.ctx, cr.AccessKeyID, cr.SessionToken); !errors.Is(err, token.ErrInvalidSessionToken) {
		t.Fatalf("revoked: LookupKey = %v", err)
	}
	e.clock.Advance(time.Millisecond)
	out2, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "later"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.LookupKey(e.ctx, out2.Credentials.AccessKeyID, out2.Credentials.SessionToken); err != nil {
		t.Fatalf("session after revocation: %v", err)
	}

	// Deleting the role (and re-creating it) invalidates its sessions.
	if err := e.s.DeleteRolePolicy(e.ctx, e.admin, "r", "p0"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteRole(e.ctx, e.admin, "r"); err != nil {
		t.Fatal(err)
	}
	e.role(e.admin, "r", trustARN(e.admin.ARN))
	if _, err := e.s.LookupKey(e.ctx, out2.Credentials.AccessKeyID, out2.Credentials.SessionToken); !errors.Is(err, token.ErrInvalidSessionToken) {
		t.Fatalf("session of a re-created role: LookupKey = %v", err)
	}
}

func TestSessionSize(t *testing.T) {
	e := newEnv(t)
	r := e.role(e.admin, "r", trustARN(e.admin.ARN, "sts:AssumeRole", "sts:TagSession"))
	var tags []Tag
	for i := range 50 {
		tags = append(tags, Tag{Key: strings.Repeat(string(rune('a'+i%26)), 1+i/26) + strings.Repeat("k", 100), Value: strings.Repeat("v", 250)})
	}
	_, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "big", Tags: tags})
	if code(err) != CodePackedPolicyTooLarge {
		t.Fatalf("AssumeRole with 50 big tags = %v, want PackedPolicyTooLarge", err)
	}
	out, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "small", Tags: tags[:5]})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Credentials.SessionToken) > maxSessionToken || out.PackedPolicySize < 30 || out.PackedPolicySize > 100 {
		t.Fatalf("token %d bytes, packed %d%%", len(out.Credentials.SessionToken), out.PackedPolicySize)
	}
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	e := newEnv(t)
	k, err := e.s.CreateAccessKey(e.ctx, e.admin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	err = e.raw.View(e.ctx, func(tx store.Tx) error {
		it, err := tx.Get(kindKey, k.AccessKeyID)
		raw = it.Value
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(k.SecretAccessKey)) {
		t.Fatal("the secret is stored in clear")
	}
	// Nor is it anywhere else in the store.
	_ = e.raw.View(e.ctx, func(tx store.Tx) error {
		for _, kind := range []string{kindAccount, kindUser, kindKey, kindID, kindAttach, kindLastUsed} {
			its, _ := tx.List(kind, "", "", 0)
			for _, it := range its {
				if bytes.Contains(it.Value, []byte(k.SecretAccessKey)) || strings.Contains(it.Key, k.SecretAccessKey) {
					t.Errorf("secret found in %s/%s", kind, it.Key)
				}
			}
		}
		return nil
	})
	// The ciphertext is bound to its key ID.
	var d keyDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if _, err := open(e.s.secrets, d.Secret, []byte("AKIAOTHERKEYID000000")); err == nil {
		t.Fatal("secret opens under another key ID")
	}
	if pt, err := open(e.s.secrets, d.Secret, []byte(k.AccessKeyID)); err != nil || string(pt) != k.SecretAccessKey {
		t.Fatalf("open = %q, %v", pt, err)
	}
	// Lists never show it.
	list, err := e.s.ListAccessKeys(e.ctx, e.admin, ListNamedInput{})
	if err != nil || len(list.AccessKeys) != 2 {
		t.Fatalf("ListAccessKeys = %+v, %v", list, err)
	}
	for _, ak := range list.AccessKeys {
		if ak.SecretAccessKey != "" {
			t.Fatal("ListAccessKeys shows a secret")
		}
	}
}

func TestLookupKeySnapshot(t *testing.T) {
	e := newEnv(t)
	bob := e.user(e.admin, "bob", "")
	akid := bob.AccessKeyID

	// Served from memory: no store access per call.
	e.quiesce()
	reads := e.st.reads()
	for range 100 {
		if _, err := e.s.LookupKey(e.ctx, akid, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.st.reads() - reads; n != 0 {
		t.Fatalf("100 LookupKey calls read the store %d times", n)
	}
	if _, err := e.s.LookupKey(e.ctx, "AKIANOSUCHKEY0000000", ""); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}

	// Changes invalidate: a new policy applies, an inactive key is flagged, a deleted key is gone.
	if err := e.s.Authorize(e.ctx, bob, "rds:DescribeDBInstances", "*", nil); code(err) != CodeAccessDenied {
		t.Fatalf("before policy: %v", err)
	}
	if err := e.s.PutUserPolicy(e.ctx, e.admin, "bob", "rds", allow("rds:*", "*")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Authorize(e.ctx, e.caller(akid, ""), "rds:DescribeDBInstances", "*", nil); err != nil {
		t.Fatalf("after policy: %v", err)
	}
	if err := e.s.UpdateAccessKey(e.ctx, e.admin, UpdateAccessKeyInput{UserName: "bob", AccessKeyID: akid, Status: StatusInactive}); err != nil {
		t.Fatal(err)
	}
	if k, err := e.s.LookupKey(e.ctx, akid, ""); err != nil || !k.Inactive {
		t.Fatalf("inactive key: %+v, %v", k, err)
	}
	if err := e.s.DeleteAccessKey(e.ctx, e.admin, "bob", akid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.LookupKey(e.ctx, akid, ""); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("deleted key: %v", err)
	}
}

// TestSnapshotFromOtherWriter checks that a change another Service (a replica sharing the
// store) makes reaches this one's snapshot through Watch.
func TestSnapshotFromOtherWriter(t *testing.T) {
	e := newEnv(t)
	other, err := New(e.ctx, Config{Store: e.raw, MasterKey: testMaster, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	k, err := other.CreateAccessKey(e.ctx, other.Root(acctA), "admin")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := e.s.LookupKey(e.ctx, k.AccessKeyID, ""); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the snapshot never saw the other writer's key")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentLookupsAndUpdates(t *testing.T) {
	e := newEnv(t)
	r := e.role(e.admin, "r", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	out, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 4)
	for range 3 {
		go func() {
			for ctx.Err() == nil {
				k, err := e.s.LookupKey(ctx, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
				if err != nil {
					done <- err
					return
				}
				c := k.Principal
				_ = e.s.Authorize(ctx, c, "rds-db:connect", "arn:aws:rds-db:us-east-1:"+acctA+":dbuser:db-X/u", nil)
				if _, err := e.s.LookupKey(ctx, e.admin.AccessKeyID, ""); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := range 20 {
		name := "u" + string(rune('a'+i))
		if _, err := e.s.CreateUser(e.ctx, e.admin, CreateUserInput{UserName: name}); err != nil {
			t.Fatal(err)
		}
		if err := e.s.PutRolePolicy(e.ctx, e.admin, "r", "p"+name, allow("rds:*", "*")); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestUsageFlush(t *testing.T) {
	e := newEnv(t)
	ctx := WithRequestInfo(e.ctx, RequestInfo{Region: "eu-west-1"})
	if _, err := e.s.ListUsers(ctx, e.admin, ListInput{}); err != nil {
		t.Fatal(err)
	}
	writes := e.st.updates.Load()
	lu, err := e.s.GetAccessKeyLastUsed(e.ctx, e.admin, e.admin.AccessKeyID)
	if err != nil || lu.ServiceName != "iam" || lu.Region != "eu-west-1" || !lu.LastUsedDate.Equal(e.clock.Now()) || lu.UserName != "admin" {
		t.Fatalf("GetAccessKeyLastUsed (pending) = %+v, %v", lu, err)
	}
	if e.st.updates.Load() != writes {
		t.Fatal("recording use wrote to the store synchronously")
	}
	if err := e.s.flushUsage(e.ctx); err != nil {
		t.Fatal(err)
	}
	var d lastUsedDoc
	err = e.raw.View(e.ctx, func(tx store.Tx) error {
		_, err := getDoc(tx, kindLastUsed, lastUsedKeyKey(e.admin.AccessKeyID), &d)
		return err
	})
	if err != nil || d.Service != "iam" {
		t.Fatalf("flushed record = %+v, %v", d, err)
	}
}
