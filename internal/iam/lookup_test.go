package iam

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// A warm lookup of a long-term key allocates nothing: the key entry keeps the Caller it
// made on the first lookup. Not parallel: AllocsPerRun counts the whole process's
// allocations (and the watch loop is stopped for the same reason).
func TestLookupKeyAllocs(t *testing.T) {
	e := newEnv(t)
	e.quiesce()
	alice := e.user(e.admin, "alice", allow("rds-db:connect", "*"))
	var got *Caller
	allocs := testing.AllocsPerRun(1000, func() {
		k, err := e.s.LookupKey(e.ctx, alice.AccessKeyID, "")
		if err != nil {
			t.Fatal(err)
		}
		got = k.Principal
	})
	if allocs != 0 {
		t.Errorf("LookupKey of a long-term key: %v allocations per call, want 0", allocs)
	}
	if got != alice {
		t.Error("a warm lookup returned another Caller than the first one")
	}

	// A session token seen before: its cache entry holds what it checks the snapshot with.
	r := e.role(e.admin, "r", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	out, err := e.s.AssumeRole(e.ctx, e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "warm"})
	if err != nil {
		t.Fatal(err)
	}
	lookup := func() {
		if _, err := e.s.LookupKey(e.ctx, out.Credentials.AccessKeyID, out.Credentials.SessionToken); err != nil {
			t.Fatal(err)
		}
	}
	lookup()
	if allocs := testing.AllocsPerRun(1000, lookup); allocs != 0 {
		t.Errorf("LookupKey of a session token seen before: %v allocations per call, want 0", allocs)
	}
}

// TestLookupKeyNeverStale changes, one at a time, everything a user's Caller is made of —
// its own, managed (new default versions too), group and boundary policies, its groups,
// its tags, its key's status — and checks after each that the next lookup answers as a
// Caller built afresh from the new snapshot does, and that login decisions follow; and
// that a change that does not reach the user keeps its Caller.
func TestLookupKeyNeverStale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := e.database()
	dbUser := func(name string) string { return "arn:aws:rds-db:*:*:dbuser:" + db.ResourceID + "/" + name }
	carol := e.user(e.admin, "carol", "")
	akid := carol.AccessKeyID
	e.user(e.admin, "dave", "")
	mp, err := e.s.CreatePolicy(e.ctx, e.admin, CreatePolicyInput{PolicyName: "m", PolicyDocument: allow("rds-db:connect", dbUser("a"))})
	if err != nil {
		t.Fatal(err)
	}
	bound, err := e.s.CreatePolicy(e.ctx, e.admin, CreatePolicyInput{PolicyName: "bound", PolicyDocument: allow("rds-db:connect", dbUser("c"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "g"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutGroupPolicy(e.ctx, e.admin, "g", "gp", allow("rds-db:connect", dbUser("c"))); err != nil {
		t.Fatal(err)
	}
	info := RequestInfo{SourceIP: netip.MustParseAddr("10.0.0.1"), SecureTransport: true}

	// lookup returns the key's Caller, after checking that a second lookup returns the
	// same one and that it is the Caller the current snapshot makes.
	lookup := func(what string) (*Caller, bool) {
		t.Helper()
		k, err := e.s.LookupKey(e.ctx, akid, "")
		if err != nil {
			t.Fatalf("%s: LookupKey = %v", what, err)
		}
		again, err := e.s.LookupKey(e.ctx, akid, "")
		if err != nil || again.Principal != k.Principal {
			t.Errorf("%s: a second lookup made another Caller", what)
		}
		snap := e.s.snap.Load()
		u := snap.users.Get(entityKey(acctA, "carol"))
		if u == nil {
			t.Fatalf("%s: carol is not in the snapshot", what)
		}
		c, want := k.Principal, u.userCaller(akid)
		if c.ARN != want.ARN || c.UserID != want.UserID || c.AccessKeyID != want.AccessKeyID || c.broken != want.broken ||
			!slices.Equal(c.identity, want.identity) || c.boundary != want.boundary ||
			fmt.Sprint(c.Tags) != fmt.Sprint(want.Tags) || len(c.tagCtx) != len(want.tagCtx) {
			t.Errorf("%s: LookupKey's Caller %+v, the snapshot's user makes %+v", what, *c, *want)
		}
		return c, k.Inactive
	}
	// allowed returns the db users among a, b, c that the Caller may log in as.
	allowed := func(c *Caller) string {
		t.Helper()
		var out string
		for _, u := range []string{"a", "b", "c"} {
			d, err := e.s.CheckConnect(e.ctx, c, db, u, info)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed() {
				out += u
			}
		}
		return out
	}

	steps := []struct {
		name    string
		change  func() error
		allowed string // the db users the Caller may log in as afterwards
		tags    string // fmt.Sprint of its tags afterwards
		same    bool   // the change does not reach carol: the Caller is kept
	}{
		{"attach a managed policy", func() error { return e.s.AttachUserPolicy(e.ctx, e.admin, "carol", mp.ARN) }, "a", "map[]", false},
		{"new default version of it", func() error {
			_, err := e.s.CreatePolicyVersion(e.ctx, e.admin, CreatePolicyVersionInput{PolicyARN: mp.ARN, PolicyDocument: allow("rds-db:connect", dbUser("b")), SetAsDefault: true})
			return err
		}, "b", "map[]", false},
		{"detach it", func() error { return e.s.DetachUserPolicy(e.ctx, e.admin, "carol", mp.ARN) }, "", "map[]", false},
		{"join a group", func() error { return e.s.AddUserToGroup(e.ctx, e.admin, "g", "carol") }, "c", "map[]", false},
		{"the group attaches the managed policy", func() error { return e.s.AttachGroupPolicy(e.ctx, e.admin, "g", mp.ARN) }, "bc", "map[]", false},
		{"a permissions boundary", func() error { return e.s.PutUserPermissionsBoundary(e.ctx, e.admin, "carol", bound.ARN) }, "c", "map[]", false},
		{"the boundary's new version", func() error {
			_, err := e.s.CreatePolicyVersion(e.ctx, e.admin, CreatePolicyVersionInput{PolicyARN: bound.ARN, PolicyDocument: allow("rds-db:connect", "*"), SetAsDefault: true})
			return err
		}, "bc", "map[]", false},
		{"the group's inline policy goes", func() error { return e.s.DeleteGroupPolicy(e.ctx, e.admin, "g", "gp") }, "b", "map[]", false},
		{"tag the user", func() error { return e.s.TagUser(e.ctx, e.admin, "carol", []Tag{{Key: "team", Value: "x"}}) }, "b", "map[team:x]", false},
		{"another user changes", func() error { return e.s.TagUser(e.ctx, e.admin, "dave", []Tag{{Key: "team", Value: "y"}}) }, "b", "map[team:x]", true},
		{"leave the group", func() error { return e.s.RemoveUserFromGroup(e.ctx, e.admin, "g", "carol") }, "", "map[team:x]", false},
		{"no boundary", func() error { return e.s.DeleteUserPermissionsBoundary(e.ctx, e.admin, "carol") }, "", "map[team:x]", false},
		{"an inline policy", func() error {
			return e.s.PutUserPolicy(e.ctx, e.admin, "carol", "p", allow("rds-db:connect", dbUser("a")))
		}, "a", "map[team:x]", false},
		{"untag the user", func() error { return e.s.UntagUser(e.ctx, e.admin, "carol", []string{"team"}) }, "a", "map[]", false},
	}
	prev, _ := lookup("at first")
	if got := allowed(prev); got != "" {
		t.Fatalf("at first, carol may log in as %q, want none", got)
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		c, _ := lookup(st.name)
		if (c == prev) != st.same {
			t.Errorf("%s: the Caller was kept: %v, want %v", st.name, c == prev, st.same)
		}
		if got := allowed(c); got != st.allowed {
			t.Errorf("%s: carol may log in as %q, want %q", st.name, got, st.allowed)
		}
		if got := fmt.Sprint(c.Tags); got != st.tags {
			t.Errorf("%s: the Caller's tags are %s, want %s", st.name, got, st.tags)
		}
		prev = c
	}

	for _, status := range []string{StatusInactive, StatusActive} {
		if err := e.s.UpdateAccessKey(e.ctx, e.admin, UpdateAccessKeyInput{UserName: "carol", AccessKeyID: akid, Status: status}); err != nil {
			t.Fatal(err)
		}
		if _, inactive := lookup("key " + status); inactive != (status == StatusInactive) {
			t.Errorf("after UpdateAccessKey(%s), LookupKey's key is inactive: %v", status, inactive)
		}
	}
}

// Many goroutines look a key up while its user changes: no data race (go test -race), a
// lookup never sees an older Caller than one seen before it, and all of them see the
// last change once it is made.
func TestLookupKeyConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user(e.admin, "alice", allow("rds-db:connect", "*"))
	const changes, readers = 30, 8
	version := func(c *Caller) int {
		n, _ := strconv.Atoi(c.Tags["n"]) // 0 before the first tag
		return n
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				k, err := e.s.LookupKey(e.ctx, alice.AccessKeyID, "")
				if err != nil {
					errs <- err
					return
				}
				v := version(k.Principal)
				if v < last {
					errs <- fmt.Errorf("a lookup saw version %d after %d", v, last)
					return
				}
				last = v
			}
		})
	}
	for i := 1; i <= changes; i++ {
		if err := e.s.TagUser(e.ctx, e.admin, "alice", []Tag{{Key: "n", Value: strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if v := version(e.caller(alice.AccessKeyID, "")); v != changes {
		t.Errorf("after the last change, the Caller has version %d, want %d", v, changes)
	}

	// Goroutines that make a fresh entry's Caller at the same moment all get the one that
	// won: an entry hands out one Caller.
	u := e.s.snap.Load().keys.Get(alice.AccessKeyID)
	n := max(2, runtime.GOMAXPROCS(0))
	for range 3000 {
		f := withCaller(u, u.owner)
		got := make([]*Caller, n)
		var ready atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				for ready.Add(1); ready.Load() < int32(n); {
					runtime.Gosched()
				}
				got[i] = f.tokenKey().Principal
			})
		}
		wg.Wait()
		for i, c := range got {
			if c != f.caller.Load() {
				t.Fatalf("goroutine %d of %d got a Caller other than the entry's", i, n)
			}
		}
	}
}
