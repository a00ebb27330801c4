package iam

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

// TestApplyMatchesBuild applies a long random sequence of IAM changes and, after every
// one, compares the snapshot the Service made incrementally with one built from scratch
// from the store. IAMDB_EQUIV_SEED picks the sequence (printed; 1 by default),
// IAMDB_EQUIV_STEPS its length (1000 by default; set it high for a longer run).
func TestApplyMatchesBuild(t *testing.T) {
	seed, steps := uint64(1), 1000
	if v := os.Getenv("IAMDB_EQUIV_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("IAMDB_EQUIV_SEED: %v", err)
		}
		seed = n
	}
	if v := os.Getenv("IAMDB_EQUIV_STEPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("IAMDB_EQUIV_STEPS: %v", err)
		}
		steps = n
	}
	t.Logf("seed %d, %d steps (IAMDB_EQUIV_SEED, IAMDB_EQUIV_STEPS)", seed, steps)
	e := newEnv(t)
	e.quiesce() // only the mutations' own refreshes, in order
	r := &randomIAM{e: e, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	full := e.s.fullBuilds.Load()
	done := map[string]int{}
	for i := range steps {
		op, err := r.step()
		if err == nil {
			done[op]++
		}
		if err := e.s.refresh(e.ctx); err != nil {
			t.Fatal(err)
		}
		if diff := compareWithBuild(t, e.s, e.raw); diff != "" {
			t.Fatalf("step %d (%s, err %v): the applied snapshot differs from a build:\n%s", i, op, err, diff)
		}
	}
	if got := e.s.fullBuilds.Load(); got != full {
		t.Errorf("%d full builds during the run, want none", got-full)
	}
	t.Logf("successful operations: %v", done)
	if len(done) < 25 {
		t.Errorf("only %d kinds of operation succeeded: %v", len(done), done)
	}
}

// compareWithBuild builds a snapshot of st from scratch and returns how s's differs from
// it, "" if not at all. s must be at st's revision and stay there.
func compareWithBuild(t *testing.T, s *Service, st store.Store) string {
	t.Helper()
	s.refreshMu.Lock() // s.compiled
	defer s.refreshMu.Unlock()
	items, err := loadAll(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	got := s.snap.Load()
	fresh := policyCache{}
	want := buildFrom(items, got.rev, s.secrets, fresh, nil, nil)
	return diffSnapshots(got, want, policyNames(s.compiled), policyNames(fresh))
}

// policyNames maps compiled policies to their names and the cache keys (the hash of kind,
// name and document) they were compiled from, and AWS's built-in ones to their ARN.
func policyNames(cache policyCache) map[*policy.Policy]string {
	out := map[*policy.Policy]string{}
	for k, p := range cache {
		out[p] = fmt.Sprintf("%s (%x)", p.Name(), k[:8])
	}
	for a, bp := range builtinPolicies {
		out[bp.compiled] = "builtin " + a
	}
	return out
}

func diffSnapshots(got, want *snapshot, gotNames, wantNames map[*policy.Policy]string) string {
	var b strings.Builder
	diff := func(format string, args ...any) {
		if b.Len() < 4000 {
			fmt.Fprintf(&b, format+"\n", args...)
		}
	}
	name := func(names map[*policy.Policy]string, p *policy.Policy) string {
		if p == nil {
			return "<nil>"
		}
		if n, ok := names[p]; ok {
			return n
		}
		return fmt.Sprintf("<unknown %p>", p)
	}
	names := func(names map[*policy.Policy]string, ps []*policy.Policy) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = name(names, p)
		}
		return out
	}
	samePolicy := func(what string, g, w *policy.Policy) {
		if gn, wn := name(gotNames, g), name(wantNames, w); gn != wn {
			diff("%s: %q, want %q", what, gn, wn)
		}
	}
	samePolicies := func(what string, g, w []*policy.Policy) {
		if gn, wn := names(gotNames, g), names(wantNames, w); !slices.Equal(gn, wn) {
			diff("%s: %q, want %q", what, gn, wn)
		}
	}
	tagCtx := func(tc []tagKV) []string {
		var out []string
		for _, kv := range tc {
			out = append(out, kv.key+"="+fmt.Sprint(kv.val))
		}
		slices.Sort(out)
		return out
	}
	samePrincipal := func(what string, g, w *principal) {
		if (g == nil) != (w == nil) {
			diff("%s: present %v, want %v", what, g != nil, w != nil)
			return
		}
		if g == nil {
			return
		}
		type plain struct {
			account, name, id, arn, path string
			maxSession                   int32
			revokedBefore                time.Time
			broken                       bool
		}
		gp := plain{g.account, g.name, g.id, g.arn, g.path, g.maxSession, g.revokedBefore, g.broken}
		wp := plain{w.account, w.name, w.id, w.arn, w.path, w.maxSession, w.revokedBefore, w.broken}
		if gp != wp {
			diff("%s: %+v, want %+v", what, gp, wp)
		}
		if !maps.Equal(g.tags, w.tags) || !slices.Equal(tagCtx(g.tagCtx), tagCtx(w.tagCtx)) {
			diff("%s: tags %v %v, want %v %v", what, g.tags, tagCtx(g.tagCtx), w.tags, tagCtx(w.tagCtx))
		}
		samePolicies(what+" identity", g.identity, w.identity)
		samePolicy(what+" boundary", g.boundary, w.boundary)
		samePolicy(what+" trust", g.trust, w.trust)
		samePolicies(what+" inline", g.src.inline, w.src.inline)
		if g.src.broken != w.src.broken || !slices.Equal(g.src.attached, w.src.attached) ||
			g.src.boundary != w.src.boundary || !slices.Equal(g.src.groups, w.src.groups) {
			diff("%s: source %+v, want %+v", what, *g.src, *w.src)
		}
	}
	sameCaller := func(what string, g, w *Caller) {
		if (g == nil) != (w == nil) {
			diff("%s: caller %v, want %v", what, g != nil, w != nil)
			return
		}
		if g == nil {
			return
		}
		if g.Account != w.Account || g.ARN != w.ARN || g.UserID != w.UserID || g.Type != w.Type ||
			g.AccessKeyID != w.AccessKeyID || g.Principal != w.Principal || g.name != w.name || g.broken != w.broken ||
			!maps.Equal(g.Tags, w.Tags) || !slices.Equal(tagCtx(g.tagCtx), tagCtx(w.tagCtx)) {
			diff("%s: caller %+v, want %+v", what, *g, *w)
		}
		samePolicies(what+" caller identity", g.identity, w.identity)
		samePolicy(what+" caller boundary", g.boundary, w.boundary)
	}
	sameKeys := func(what string, g, w []string) {
		if !slices.Equal(g, w) {
			diff("%s: %q, want %q", what, g, w)
		}
	}
	keysOf := func(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
	pkeys := func(all func(yield func(string) bool)) []string {
		var out []string
		all(func(k string) bool { out = append(out, k); return true })
		slices.Sort(out)
		return out
	}
	_ = keysOf

	if got.rev != want.rev {
		diff("rev %d, want %d", got.rev, want.rev)
	}
	if !reflect.DeepEqual(got.accounts, want.accounts) {
		diff("accounts %v, want %v", got.accounts, want.accounts)
	}
	if !reflect.DeepEqual(got.dbs, want.dbs) || !maps.Equal(got.byEndpoint, want.byEndpoint) || !reflect.DeepEqual(got.dbDocs, want.dbDocs) {
		diff("databases %v %v, want %v %v", got.dbs, got.byEndpoint, want.dbs, want.byEndpoint)
	}
	sameKeys("unsealable", sortedSet(got.unsealable), sortedSet(want.unsealable))

	sameKeys("managed", pkeys(pmapKeys(got.managed)), pkeys(pmapKeys(want.managed)))
	for a, w := range want.managed.All() {
		samePolicy("managed "+a, got.managed.Get(a), w)
	}
	sameKeys("policy keys", pkeys(pmapKeys(got.policyARNs)), pkeys(pmapKeys(want.policyARNs)))
	for k, w := range want.policyARNs.All() {
		if g := got.policyARNs.Get(k); g != w {
			diff("policy %s: ARN %q, want %q", k, g, w)
		}
	}
	sameKeys("groups", pkeys(pmapKeys(got.groups)), pkeys(pmapKeys(want.groups)))
	for k, w := range want.groups.All() {
		g := got.groups.Get(k)
		samePolicies("group "+k+" inline", g.inline, w.inline)
		if g.broken != w.broken || !slices.Equal(g.attached, w.attached) {
			diff("group %s: %+v, want %+v", k, *g, *w)
		}
	}
	for _, pm := range []struct {
		what      string
		got, want pmap[*principal]
	}{{"user", got.users, want.users}, {"role", got.roles, want.roles}} {
		sameKeys(pm.what+"s", pkeys(pmapKeys(pm.got)), pkeys(pmapKeys(pm.want)))
		for k, w := range pm.want.All() {
			samePrincipal(pm.what+" "+k, pm.got.Get(k), w)
		}
	}
	sameKeys("keys", pkeys(pmapKeys(got.keys)), pkeys(pmapKeys(want.keys)))
	for k, w := range want.keys.All() {
		g := got.keys.Get(k)
		if g == nil {
			continue
		}
		if g.id != w.id || g.user != w.user || g.inactive != w.inactive ||
			g.sealed != w.sealed || g.secret != w.secret || g.opened != w.opened || g.usable() != w.usable() {
			diff("key %s: %+v, want %+v", k, g, w)
		}
		if g.usable() && w.usable() {
			gk, wk := g.tokenKey(), w.tokenKey()
			if gk.SecretAccessKey != wk.SecretAccessKey || gk.Inactive != wk.Inactive || gk.Expiration != wk.Expiration {
				diff("key %s: token key %+v, want %+v", k, gk, wk)
			}
			sameCaller("key "+k, gk.Principal, wk.Principal)
			if g.owner != got.users.Get(g.user) {
				diff("key %s: its owner is not the snapshot's user", k)
			}
		}
	}
	for _, idx := range []struct {
		what      string
		got, want pmap[pset]
	}{{"members", got.members, want.members}, {"uses", got.uses, want.uses}} {
		sameKeys(idx.what, pkeys(pmapKeys(idx.got)), pkeys(pmapKeys(idx.want)))
		for k, w := range idx.want.All() {
			sameKeys(idx.what+" of "+k, sortedSet(idx.got.Get(k)), sortedSet(w))
		}
	}
	sameKeys("user keys", pkeys(pmapKeys(got.userKeys)), pkeys(pmapKeys(want.userKeys)))
	for k, w := range want.userKeys.All() {
		sameKeys("user keys of "+k, got.userKeys.Get(k), w)
	}
	return b.String()
}

func pmapKeys[V any](m pmap[V]) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// randomIAM makes random IAM changes through the Service's API, from small pools of names
// so that they collide, and now and then a write straight to the store that the API would
// refuse (a policy that does not compile).
type randomIAM struct {
	e     *env
	r     *rand.Rand
	seeds map[string][]byte // MFA device name → TOTP seed
}

var (
	eqUsers    = []string{"ann", "bo", "cy", "di", "ed"}
	eqRoles    = []string{"r1", "r2", "r3"}
	eqGroups   = []string{"g1", "g2", "g3"}
	eqPolicies = []string{"m1", "m2", "m3", "m4"}
	eqPaths    = []string{"/", "/team/"}
	eqInline   = []string{"p0", "p1", "p2"}
)

func (x *randomIAM) pick(list []string) string { return list[x.r.IntN(len(list))] }

func (x *randomIAM) doc() string {
	actions := []string{"rds-db:connect", "iam:GetUser", "sts:AssumeRole", "iam:*"}
	return allow(x.pick(actions), fmt.Sprintf("arn:aws:rds-db:*:*:dbuser:*/u%d", x.r.IntN(4)))
}

// policyARN returns the ARN of a customer policy of the pool (with the path it has, if
// it exists), or now and then one of AWS's.
func (x *randomIAM) policyARN() string {
	if x.r.IntN(6) == 0 {
		return "arn:aws:iam::aws:policy/AdministratorAccess"
	}
	name := x.pick(eqPolicies)
	snap := x.e.s.snap.Load()
	if a := snap.policyARNs.Get(entityKey(acctA, name)); a != "" && x.r.IntN(8) != 0 {
		return a
	}
	return policyARN(acctA, x.pick(eqPaths), name)
}

// keyOf returns an access key ID of a user of the pool, or a made-up one.
func (x *randomIAM) keyOf(user string) string {
	ids := x.e.s.snap.Load().userKeys.Get(entityKey(acctA, user))
	if len(ids) == 0 {
		return "AKIANOSUCHKEY0000000"
	}
	return x.pick(ids)
}

func (x *randomIAM) versionOf(a string) string {
	return "v" + strconv.Itoa(1+x.r.IntN(4))
}

func (x *randomIAM) step() (string, error) {
	s, e, ctx, admin := x.e.s, x.e, x.e.ctx, x.e.admin
	u, ro, g := x.pick(eqUsers), x.pick(eqRoles), x.pick(eqGroups)
	tags := []Tag{{Key: x.pick([]string{"team", "Env"}), Value: x.pick([]string{"a", "b"})}}
	ops := []struct {
		name string
		fn   func() error
	}{
		{"CreateUser", func() error {
			_, err := s.CreateUser(ctx, admin, CreateUserInput{UserName: u, Path: x.pick(eqPaths)})
			return err
		}},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, admin, u) }},
		{"TagUser", func() error { return s.TagUser(ctx, admin, u, tags) }},
		{"UntagUser", func() error { return s.UntagUser(ctx, admin, u, []string{tags[0].Key}) }},
		{"PutUserPolicy", func() error { return s.PutUserPolicy(ctx, admin, u, x.pick(eqInline), x.doc()) }},
		{"DeleteUserPolicy", func() error { return s.DeleteUserPolicy(ctx, admin, u, x.pick(eqInline)) }},
		{"AttachUserPolicy", func() error { return s.AttachUserPolicy(ctx, admin, u, x.policyARN()) }},
		{"DetachUserPolicy", func() error { return s.DetachUserPolicy(ctx, admin, u, x.policyARN()) }},
		{"PutUserPermissionsBoundary", func() error { return s.PutUserPermissionsBoundary(ctx, admin, u, x.policyARN()) }},
		{"DeleteUserPermissionsBoundary", func() error { return s.DeleteUserPermissionsBoundary(ctx, admin, u) }},
		{"CreateAccessKey", func() error { _, err := s.CreateAccessKey(ctx, admin, u); return err }},
		{"UpdateAccessKey", func() error {
			return s.UpdateAccessKey(ctx, admin, UpdateAccessKeyInput{UserName: u, AccessKeyID: x.keyOf(u), Status: x.pick([]string{StatusActive, StatusInactive})})
		}},
		{"DeleteAccessKey", func() error { return s.DeleteAccessKey(ctx, admin, u, x.keyOf(u)) }},

		{"CreateGroup", func() error {
			_, err := s.CreateGroup(ctx, admin, CreateGroupInput{GroupName: g, Path: x.pick(eqPaths)})
			return err
		}},
		{"DeleteGroup", func() error { return s.DeleteGroup(ctx, admin, g) }},
		{"AddUserToGroup", func() error { return s.AddUserToGroup(ctx, admin, g, u) }},
		{"RemoveUserFromGroup", func() error { return s.RemoveUserFromGroup(ctx, admin, g, u) }},
		{"PutGroupPolicy", func() error { return s.PutGroupPolicy(ctx, admin, g, x.pick(eqInline), x.doc()) }},
		{"DeleteGroupPolicy", func() error { return s.DeleteGroupPolicy(ctx, admin, g, x.pick(eqInline)) }},
		{"AttachGroupPolicy", func() error { return s.AttachGroupPolicy(ctx, admin, g, x.policyARN()) }},
		{"DetachGroupPolicy", func() error { return s.DetachGroupPolicy(ctx, admin, g, x.policyARN()) }},

		{"CreateRole", func() error {
			_, err := s.CreateRole(ctx, admin, CreateRoleInput{RoleName: ro, Path: x.pick(eqPaths), AssumeRolePolicyDocument: trustARN(admin.ARN)})
			return err
		}},
		{"DeleteRole", func() error { return s.DeleteRole(ctx, admin, ro) }},
		{"TagRole", func() error { return s.TagRole(ctx, admin, ro, tags) }},
		{"UntagRole", func() error { return s.UntagRole(ctx, admin, ro, []string{tags[0].Key}) }},
		{"UpdateAssumeRolePolicy", func() error {
			return s.UpdateAssumeRolePolicy(ctx, admin, ro, trustARN(x.pick([]string{admin.ARN, "arn:aws:iam::" + acctB + ":root"})))
		}},
		{"UpdateRole", func() error { return s.UpdateRole(ctx, admin, ro, nil, 3600*(1+x.r.IntN(12))) }},
		{"RevokeRoleSessions", func() error { return s.RevokeRoleSessions(ctx, admin, ro, e.clock.Now()) }},
		{"PutRolePolicy", func() error { return s.PutRolePolicy(ctx, admin, ro, x.pick(eqInline), x.doc()) }},
		{"DeleteRolePolicy", func() error { return s.DeleteRolePolicy(ctx, admin, ro, x.pick(eqInline)) }},
		{"AttachRolePolicy", func() error { return s.AttachRolePolicy(ctx, admin, ro, x.policyARN()) }},
		{"DetachRolePolicy", func() error { return s.DetachRolePolicy(ctx, admin, ro, x.policyARN()) }},
		{"PutRolePermissionsBoundary", func() error { return s.PutRolePermissionsBoundary(ctx, admin, ro, x.policyARN()) }},
		{"DeleteRolePermissionsBoundary", func() error { return s.DeleteRolePermissionsBoundary(ctx, admin, ro) }},

		{"CreatePolicy", func() error {
			_, err := s.CreatePolicy(ctx, admin, CreatePolicyInput{PolicyName: x.pick(eqPolicies), Path: x.pick(eqPaths), PolicyDocument: x.doc()})
			return err
		}},
		{"DeletePolicy", func() error { return s.DeletePolicy(ctx, admin, x.policyARN()) }},
		{"CreatePolicyVersion", func() error {
			_, err := s.CreatePolicyVersion(ctx, admin, CreatePolicyVersionInput{PolicyARN: x.policyARN(), PolicyDocument: x.doc(), SetAsDefault: x.r.IntN(2) == 0})
			return err
		}},
		{"SetDefaultPolicyVersion", func() error {
			a := x.policyARN()
			return s.SetDefaultPolicyVersion(ctx, admin, a, x.versionOf(a))
		}},
		{"DeletePolicyVersion", func() error {
			a := x.policyARN()
			return s.DeletePolicyVersion(ctx, admin, a, x.versionOf(a))
		}},
		{"BreakPolicy", func() error { return x.breakPolicy() }},

		{"DeleteUserFully", func() error { return x.deleteUser(u) }},
		{"DeleteRoleFully", func() error { return x.deleteRole(ro) }},
		{"DeleteGroupFully", func() error { return x.deleteGroup(g) }},
		{"DeletePolicyFully", func() error { return x.deletePolicy(x.policyARN()) }},

		{"RegisterDatabase", func() error {
			_, err := s.RegisterDatabase(ctx, DatabaseSpec{Identifier: "db" + strconv.Itoa(x.r.IntN(3)), Engine: "postgres",
				Port: 5432, Endpoints: []string{x.pick([]string{"a.example", "b.example"})}, IAMAuth: true})
			return err
		}},
		{"ClockTick", func() error { e.clock.Advance(time.Minute); return nil }},

		// Console passwords and MFA devices: kinds the snapshot does not hold, whose changes
		// apply must pass over (and DeleteUser must see).
		{"CreateLoginProfile", func() error { _, err := s.CreateLoginProfile(ctx, admin, u, "Equiv-passw0rd", false); return err }},
		{"DeleteLoginProfile", func() error { return s.DeleteLoginProfile(ctx, admin, u) }},
		{"UpdateAccountPasswordPolicy", func() error {
			return s.UpdateAccountPasswordPolicy(ctx, admin, PasswordPolicy{MinimumPasswordLength: 8 + x.r.IntN(4), AllowUsersToChangePassword: x.r.IntN(2) == 0})
		}},
		{"CreateVirtualMFADevice", func() error {
			d, err := s.CreateVirtualMFADevice(ctx, admin, CreateVirtualMFADeviceInput{VirtualMFADeviceName: "mfa-" + u})
			if err == nil {
				if x.seeds == nil {
					x.seeds = map[string][]byte{}
				}
				x.seeds["mfa-"+u], _ = seedEncoding.DecodeString(string(d.Base32StringSeed))
			}
			return err
		}},
		{"EnableMFADevice", func() error {
			seed := x.seeds["mfa-"+u]
			now := totpCounter(e.clock.Now())
			return s.EnableMFADevice(ctx, admin, u, mfaARN(acctA, "/", "mfa-"+u), totpCode(seed, now), totpCode(seed, now+1))
		}},
		{"DeactivateMFADevice", func() error { return s.DeactivateMFADevice(ctx, admin, u, mfaARN(acctA, "/", "mfa-"+u)) }},
	}
	// Creations and attachments twice as often as the rest, so that the store fills up.
	for _, op := range ops {
		if strings.HasPrefix(op.name, "Create") || strings.HasPrefix(op.name, "Attach") || strings.HasPrefix(op.name, "Add") ||
			strings.HasPrefix(op.name, "Put") {
			ops = append(ops, op)
		}
	}
	op := ops[x.r.IntN(len(ops))]
	return op.name, op.fn()
}

// allPolicyARNs returns every ARN policyARN may return.
func allPolicyARNs() []string {
	out := []string{"arn:aws:iam::aws:policy/AdministratorAccess"}
	for _, n := range eqPolicies {
		for _, p := range eqPaths {
			out = append(out, policyARN(acctA, p, n))
		}
	}
	return out
}

// deleteUser removes what stops a user from being deleted, and deletes it. The steps
// are changes of their own, checked only together.
func (x *randomIAM) deleteUser(u string) error {
	s, ctx, admin := x.e.s, x.e.ctx, x.e.admin
	for _, a := range allPolicyARNs() {
		s.DetachUserPolicy(ctx, admin, u, a)
	}
	for _, p := range eqInline {
		s.DeleteUserPolicy(ctx, admin, u, p)
	}
	for _, g := range eqGroups {
		s.RemoveUserFromGroup(ctx, admin, g, u)
	}
	for _, k := range x.e.s.snap.Load().userKeys.Get(entityKey(acctA, u)) {
		s.DeleteAccessKey(ctx, admin, u, k)
	}
	s.DeleteUserPermissionsBoundary(ctx, admin, u)
	s.DeleteLoginProfile(ctx, admin, u)
	s.DeactivateMFADevice(ctx, admin, u, mfaARN(acctA, "/", "mfa-"+u))
	return s.DeleteUser(ctx, admin, u)
}

func (x *randomIAM) deleteRole(r string) error {
	s, ctx, admin := x.e.s, x.e.ctx, x.e.admin
	for _, a := range allPolicyARNs() {
		s.DetachRolePolicy(ctx, admin, r, a)
	}
	for _, p := range eqInline {
		s.DeleteRolePolicy(ctx, admin, r, p)
	}
	s.DeleteRolePermissionsBoundary(ctx, admin, r)
	return s.DeleteRole(ctx, admin, r)
}

func (x *randomIAM) deleteGroup(g string) error {
	s, ctx, admin := x.e.s, x.e.ctx, x.e.admin
	for _, a := range allPolicyARNs() {
		s.DetachGroupPolicy(ctx, admin, g, a)
	}
	for _, p := range eqInline {
		s.DeleteGroupPolicy(ctx, admin, g, p)
	}
	for _, u := range eqUsers {
		s.RemoveUserFromGroup(ctx, admin, g, u)
	}
	return s.DeleteGroup(ctx, admin, g)
}

// deletePolicy detaches a managed policy from everything, drops its other versions and
// the boundaries that use it, and deletes it.
func (x *randomIAM) deletePolicy(a string) error {
	s, ctx, admin := x.e.s, x.e.ctx, x.e.admin
	snap := x.e.s.snap.Load()
	for _, u := range eqUsers {
		s.DetachUserPolicy(ctx, admin, u, a)
		if p := snap.users.Get(entityKey(acctA, u)); p != nil && p.src.boundary == a {
			s.DeleteUserPermissionsBoundary(ctx, admin, u)
		}
	}
	for _, r := range eqRoles {
		s.DetachRolePolicy(ctx, admin, r, a)
		if p := snap.roles.Get(entityKey(acctA, r)); p != nil && p.src.boundary == a {
			s.DeleteRolePermissionsBoundary(ctx, admin, r)
		}
	}
	for _, g := range eqGroups {
		s.DetachGroupPolicy(ctx, admin, g, a)
	}
	for v := range 12 {
		s.DeletePolicyVersion(ctx, admin, a, "v"+strconv.Itoa(v+1))
	}
	return s.DeletePolicy(ctx, admin, a)
}

// breakPolicy writes, straight to the store, a default version of a customer policy that
// does not compile, as a store written by another version might hold.
func (x *randomIAM) breakPolicy() error {
	key := entityKey(acctA, x.pick(eqPolicies))
	return x.e.raw.Update(x.e.ctx, func(tx store.Tx) error {
		var d policyDoc
		ok, err := getDoc(tx, kindPolicy, key, &d)
		if err != nil || !ok {
			return fmt.Errorf("no policy %s (%v)", key, err)
		}
		v := d.version(d.Default)
		if v == nil {
			return fmt.Errorf("policy %s has no default version", key)
		}
		v.Document = `{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps"}]}`
		return putDoc(tx, kindPolicy, key, &d)
	})
}
