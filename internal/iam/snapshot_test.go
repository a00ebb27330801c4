package iam

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/iamdb/iamdb/internal/store"
)

// fill writes n users straight into the store, in one transaction, each with an inline
// policy of its own and an access key, then refreshes the snapshot.
func (e *env) fill(n int) {
	e.t.Helper()
	now := e.clock.Now().UTC()
	err := e.raw.Update(e.ctx, func(tx store.Tx) error {
		for i := range n {
			name := fmt.Sprintf("fill%06d", i)
			d := &userDoc{Name: name, ID: fmt.Sprintf("AIDAFILL%012d", i), Path: "/", Created: now,
				holder: holder{Inline: map[string]string{"p": allow("rds-db:connect", "arn:aws:rds-db:*:*:dbuser:*/"+name)}}}
			if _, err := e.s.createAccessKeyTx(tx, acctA, d, now); err != nil { // saves d
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.refresh(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// A change to the store is applied to the snapshot: nothing else is rebuilt, and what it
// does not reach — other users' Callers and compiled policies, opened secrets, verified
// role sessions — is carried over as is.
func TestApplyKeepsWhatDidNotChange(t *testing.T) {
	e := newEnv(t)
	e.fill(50)
	alice := e.user(e.admin, "alice", allow("rds-db:connect", "*"))
	r := e.role(e.admin, "r", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	_, out := e.assume(e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "sess"})
	sessKey := out.Credentials.AccessKeyID
	sessEntry := func() *sessionEntry {
		t.Helper()
		if _, err := e.s.LookupKey(e.ctx, sessKey, out.Credentials.SessionToken); err != nil {
			t.Fatal(err)
		}
		v, ok := e.s.sessCache.Load().m.Load(sessKey)
		if !ok {
			t.Fatal("session not cached")
		}
		return v.(*sessionEntry)
	}
	full := e.s.fullBuilds.Load()
	before := e.s.snap.Load()
	sess := sessEntry()

	if _, err := e.s.CreateUser(e.ctx, e.admin, CreateUserInput{UserName: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.TagUser(e.ctx, e.admin, "fill000007", []Tag{{Key: "team", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	after := e.s.snap.Load()
	if got := e.s.fullBuilds.Load(); got != full {
		t.Errorf("%d full builds for two changes, want none", got-full)
	}
	if after.users.Get(entityKey(acctA, "bob")) == nil {
		t.Error("the new user is not in the snapshot")
	}
	if u := after.users.Get(entityKey(acctA, "fill000007")); u == nil || u.tags["team"] != "a" {
		t.Errorf("the tagged user in the snapshot: %+v", u)
	}
	if b, a := before.keys.Get(alice.AccessKeyID), after.keys.Get(alice.AccessKeyID); a != b || !a.usable() {
		t.Error("an unrelated access key was rebuilt")
	}
	if b, a := before.users.Get(entityKey(acctA, "fill000003")), after.users.Get(entityKey(acctA, "fill000003")); a != b {
		t.Error("an unrelated user was rebuilt")
	}
	if b, a := before.roles.Get(entityKey(acctA, "r")), after.roles.Get(entityKey(acctA, "r")); a != b {
		t.Error("an unrelated role was rebuilt")
	}
	if got := sessEntry(); got != sess {
		t.Error("an unrelated change dropped a verified session")
	}

	// A change to the role does reach its sessions.
	if err := e.s.TagRole(e.ctx, e.admin, "r", []Tag{{Key: "env", Value: "prod"}}); err != nil {
		t.Fatal(err)
	}
	if got := sessEntry(); got == sess || got.key.Principal.Tags["env"] != "prod" {
		t.Errorf("after tagging the role, its session's tags are %v", got.key.Principal.Tags)
	}
	if got := e.s.fullBuilds.Load(); got != full {
		t.Errorf("%d full builds, want none", got-full)
	}
}

// BenchmarkMutation measures one IAM change (tag a user) and the refresh of the snapshot
// that follows it, with stores of growing size; "build" is a full load of the same store.
func BenchmarkMutation(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		e := newEnv(b)
		e.fill(n)
		b.Run(fmt.Sprintf("users=%d/apply", n), func(b *testing.B) {
			full := e.s.fullBuilds.Load()
			i := 0
			for b.Loop() {
				i++
				if err := e.s.TagUser(e.ctx, e.admin, "fill000001", []Tag{{Key: "n", Value: fmt.Sprint(i)}}); err != nil {
					b.Fatal(err)
				}
			}
			if e.s.fullBuilds.Load() != full {
				b.Fatal("a mutation rebuilt the snapshot")
			}
		})
		b.Run(fmt.Sprintf("users=%d/apply-only", n), func(b *testing.B) {
			// The in-memory part alone: apply one changed user document (and its key).
			key := entityKey(acctA, "fill000002")
			var it store.Item
			if err := e.raw.View(e.ctx, func(tx store.Tx) error {
				var err error
				it, err = tx.Get(kindUser, key)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			items := map[[2]string]*store.Item{{kindUser, key}: &it}
			prev := e.s.snap.Load()
			b.ReportAllocs()
			for b.Loop() {
				bl := &builder{aead: e.s.secrets, compiled: e.s.compiled}
				if next, _ := apply(prev, prev.rev+1, items, bl); next.users.Get(key) == nil {
					b.Fatal("user missing")
				}
			}
		})
		b.Run(fmt.Sprintf("users=%d/build", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := e.s.build(e.ctx, 0, e.s.snap.Load()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Writing usage records (last used of keys and roles, the advisor's) advances no revision,
// so neither this Service nor any other on the store looks for changes.
func TestUsageFlushIsQuiet(t *testing.T) {
	e := newEnv(t)
	other, err := New(e.ctx, Config{Store: e.raw, MasterKey: testMaster, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	alice := e.user(e.admin, "alice", allow("iam:GetUser", "*"))
	if err := other.refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
	rev := mustRevision(t, e.raw)
	snap, otherSnap := e.s.snap.Load(), other.snap.Load()
	e.s.noteUse(alice, "iam:GetUser", "us-east-1", e.clock.Now())
	if err := e.s.flushUsage(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustRevision(t, e.raw); got != rev {
		t.Errorf("a usage flush moved the revision from %d to %d", rev, got)
	}
	lu, err := other.GetAccessKeyLastUsed(e.ctx, e.admin, alice.AccessKeyID)
	if err != nil || lu.LastUsedDate.IsZero() || lu.ServiceName != "iam" {
		t.Errorf("the other Service reads last used %+v, %v; want the flushed record", lu, err)
	}
	if err := e.s.refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
	if e.s.snap.Load() != snap || other.snap.Load() != otherSnap {
		t.Error("a usage flush made a new snapshot")
	}
}

// Populate writes what the API would: the snapshot applied from it equals a full build,
// and the keys it made are usable.
func TestPopulate(t *testing.T) {
	e := newEnv(t)
	e.quiesce()
	spec := PopulateSpec{Account: acctA, Prefix: "p", Users: 25, KeysPerUser: 2, Roles: 7, Batch: 10}
	if err := Populate(e.ctx, e.raw, testMaster, spec); err != nil {
		t.Fatal(err)
	}
	if err := Populate(e.ctx, e.raw, testMaster, PopulateSpec{Account: "999999999999", Users: 1}); err == nil {
		t.Error("Populate in a missing account succeeded")
	}
	if err := e.s.refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
	snap := e.s.snap.Load()
	if got := snap.users.Len(); got != 1+25 {
		t.Errorf("%d users, want 26", got)
	}
	if got := snap.roles.Len(); got != 7 {
		t.Errorf("%d roles, want 7", got)
	}
	usable := 0
	for _, k := range snap.keys.All() {
		if k.usable() && k.owner.name != "admin" {
			usable++
		}
	}
	if usable != 50 {
		t.Errorf("%d usable populated keys, want 50", usable)
	}
	if diff := compareWithBuild(t, e.s, e.raw); diff != "" {
		t.Errorf("after Populate, the snapshot differs from a build:\n%s", diff)
	}
	u, err := e.s.GetUser(e.ctx, e.admin, "pu000003")
	if err != nil || u.UserID == "" {
		t.Errorf("GetUser(pu000003) = %+v, %v", u, err)
	}
}

// goneStore's transactions say the change log no longer reaches back, while gone is set.
type goneStore struct {
	store.Store
	gone atomic.Bool
}

type goneTx struct{ store.Tx }

func (goneTx) Changes(int64, int) ([]store.Change, error) { return nil, store.ErrChangesGone }

func (g *goneStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return g.Store.View(ctx, func(tx store.Tx) error {
		if g.gone.Load() {
			tx = goneTx{tx}
		}
		return fn(tx)
	})
}

// When the change log does not reach back to the snapshot, or the cache of compiled
// policies holds too many that may be out of use, refresh builds from scratch.
func TestRefreshBuildsWhenItMust(t *testing.T) {
	raw := openStore(t)
	gs := &goneStore{Store: raw}
	e := newEnvOn(t, gs, testMaster)
	e.quiesce()
	full := e.s.fullBuilds.Load()
	gs.gone.Store(true)
	e.user(e.admin, "alice", allow("rds-db:connect", "*"))
	if got := e.s.fullBuilds.Load() - full; got != 3 { // CreateUser, PutUserPolicy, CreateAccessKey
		t.Errorf("%d full builds without a change log, want 3", got)
	}
	if diff := compareWithBuild(t, e.s, raw); diff != "" {
		t.Errorf("after full builds:\n%s", diff)
	}
	gs.gone.Store(false)
	full = e.s.fullBuilds.Load()
	e.s.refreshMu.Lock()
	e.s.compiledAdds = max(4096, e.s.compiledLive) + 1
	e.s.refreshMu.Unlock()
	if err := e.s.TagUser(e.ctx, e.admin, "alice", []Tag{{Key: "a", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	if got := e.s.fullBuilds.Load() - full; got != 1 {
		t.Errorf("%d full builds with a stale cache of compiled policies, want 1", got)
	}
	if e.s.compiledAdds != 0 || len(e.s.compiled) != e.s.compiledLive {
		t.Errorf("after the build: %d compilations added, %d cached, %d live", e.s.compiledAdds, len(e.s.compiled), e.s.compiledLive)
	}
	full = e.s.fullBuilds.Load()
	if err := e.s.TagUser(e.ctx, e.admin, "alice", []Tag{{Key: "a", Value: "c"}}); err != nil {
		t.Fatal(err)
	}
	if got := e.s.fullBuilds.Load() - full; got != 0 {
		t.Errorf("%d full builds for a change after that, want 0", got)
	}
	if diff := compareWithBuild(t, e.s, raw); diff != "" {
		t.Errorf("at the end:\n%s", diff)
	}
}

// TestLookupKeyCaller: a key's Caller is made on its first lookup and kept, and a change
// to its user or to the key gives the next lookup one that shows the change.
func TestLookupKeyCaller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user(e.admin, "alice", allow("rds-db:connect", "*"))
	if again := e.caller(alice.AccessKeyID, ""); again != alice {
		t.Error("two lookups of a key made two Callers")
	}
	if err := e.s.TagUser(e.ctx, e.admin, "alice", []Tag{{Key: "team", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	tagged := e.caller(alice.AccessKeyID, "")
	if tagged == alice || tagged.Tags["team"] != "a" {
		t.Errorf("after TagUser, the Caller's tags are %v", tagged.Tags)
	}
	if err := e.s.PutUserPolicy(e.ctx, e.admin, "alice", "q", allow("iam:GetUser", "*")); err != nil {
		t.Fatal(err)
	}
	if c := e.caller(alice.AccessKeyID, ""); len(c.identity) != 2 {
		t.Errorf("after PutUserPolicy, the Caller has %d identity policies, want 2", len(c.identity))
	}
	if err := e.s.UpdateAccessKey(e.ctx, e.admin, UpdateAccessKeyInput{UserName: "alice", AccessKeyID: alice.AccessKeyID, Status: StatusInactive}); err != nil {
		t.Fatal(err)
	}
	if k, err := e.s.LookupKey(e.ctx, alice.AccessKeyID, ""); err != nil || !k.Inactive {
		t.Errorf("after deactivating the key, LookupKey = %+v, %v, want it inactive", k, err)
	}
}
