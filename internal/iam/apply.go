package iam

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/iamdb/iamdb/internal/store"
)

// maxApplied bounds the number of changes applyChanges takes on: past it, loading
// everything is as cheap.
func maxApplied(prev *snapshot) int {
	return max(4096, (prev.users.Len()+prev.roles.Len()+prev.keys.Len())/4)
}

// compiledStale reports whether the cache of compiled policies has taken on so many
// compilations since the last build (each change of a policy leaves the old one behind)
// that the next refresh should build, which starts a cache of those in use.
func (s *Service) compiledStale() bool {
	return s.compiledAdds > max(4096, s.compiledLive)
}

// applyChanges returns prev brought to the store's revision by applying the changes the
// store logged since prev's revision, read in one transaction; nil if the log does not
// reach back that far (or the revision went back), or holds too many changes.
func (s *Service) applyChanges(ctx context.Context, prev *snapshot) (next *snapshot, lost []string, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		rev, err := tx.Revision()
		if err != nil || rev < prev.rev {
			return err
		}
		limit := maxApplied(prev)
		changes, err := tx.Changes(prev.rev, limit+1)
		if errors.Is(err, store.ErrChangesGone) || len(changes) > limit {
			return nil
		}
		if err != nil {
			return err
		}
		items := map[[2]string]*store.Item{}
		for _, c := range changes {
			k := [2]string{c.Kind, c.Key}
			if _, done := items[k]; done || !snapshotKinds[c.Kind] {
				continue
			}
			it, err := tx.Get(c.Kind, c.Key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				items[k] = nil
			case err != nil:
				return err
			default:
				items[k] = &it
			}
		}
		b := &builder{aead: s.secrets, compiled: s.compiled}
		next, lost = apply(prev, rev, items, b)
		s.compiledAdds += b.adds
		return nil
	})
	if err != nil || next == nil {
		return nil, nil, err
	}
	s.appliedBuilds.Add(1)
	return next, lost, nil
}

// apply returns a new snapshot at rev: prev with the items changed (nil: deleted), and
// everything they reach. It also returns the IDs of keys that became unsealable.
func apply(prev *snapshot, rev int64, items map[[2]string]*store.Item, b *builder) (*snapshot, []string) {
	n := *prev
	n.rev = rev
	if len(items) == 0 {
		return &n, nil
	}
	a := &applier{
		n: &n, prev: prev, b: b, items: items, byKind: map[string][]string{},
		dirtyUsers: map[string]bool{}, dirtyRoles: map[string]bool{}, dirtyKeys: map[string]bool{},
	}
	for k := range items {
		a.byKind[k[0]] = append(a.byKind[k[0]], k[1])
	}
	for _, keys := range a.byKind {
		slices.Sort(keys)
	}
	a.accounts()
	a.policies()
	a.groups()
	a.users()
	a.roles()
	a.resolve()
	lost := a.keys()
	a.databases()
	return &n, lost
}

// applier is one apply in progress: the snapshot being built, the changed items by kind,
// and the principals and keys that must be resolved again.
type applier struct {
	n, prev *snapshot
	b       *builder
	items   map[[2]string]*store.Item
	byKind  map[string][]string // kind → changed keys, sorted

	dirtyUsers, dirtyRoles, dirtyKeys map[string]bool
	dirtyARNs                         []string // managed policies changed
}

// doc decodes the changed item (kind, key) into v; false if it was deleted (or does not
// decode, which the full build treats alike).
func (a *applier) doc(kind, key string, v any) bool {
	it := a.items[[2]string{kind, key}]
	return it != nil && json.Unmarshal(it.Value, v) == nil
}

func (a *applier) accounts() {
	a.n.accounts, _ = applyDocs(a, kindAccount, a.prev.accounts, func(d *accountDoc) *accountDoc { return d })
}

// policies applies managed policies: the principals that attach them (directly or through
// a group) or use them as boundary resolve again.
func (a *applier) policies() {
	n := a.n
	for _, key := range a.byKind[kindPolicy] {
		if old, ok := n.policyARNs.Lookup(key); ok {
			n.managed = n.managed.Delete(old)
			n.policyARNs = n.policyARNs.Delete(key)
			a.dirtyARNs = append(a.dirtyARNs, old)
		}
		if d := new(policyDoc); a.doc(kindPolicy, key, d) {
			pa := policyARN(keyAccount(key), d.Path, d.Name)
			n.policyARNs = n.policyARNs.Set(key, pa)
			if p := a.b.managed(pa, d); p != nil {
				n.managed = n.managed.Set(pa, p)
			}
			a.dirtyARNs = append(a.dirtyARNs, pa)
		}
	}
}

// groups applies groups: their members resolve again.
func (a *applier) groups() {
	n := a.n
	for _, key := range a.byKind[kindGroup] {
		if old := n.groups.Get(key); old != nil {
			n.uses = removeRefs(n.uses, old.attached, refKey(refGroup, key))
			n.groups = n.groups.Delete(key)
		}
		if d := new(groupDoc); a.doc(kindGroup, key, d) {
			g := a.b.groupSrc(d)
			n.groups = n.groups.Set(key, g)
			n.uses = addRefs(n.uses, g.attached, refKey(refGroup, key))
		}
		for u := range n.members.Get(key).All() {
			a.dirtyUsers[u] = true
		}
	}
}

// users applies users' own documents; resolve completes them.
func (a *applier) users() {
	n := a.n
	for _, key := range a.byKind[kindUser] {
		if old := n.users.Get(key); old != nil {
			n.uses = removeRefs(n.uses, old.src.policyRefs(), refKey(refUser, key))
			for _, g := range old.src.groups {
				n.members = removeRefs(n.members, []string{entityKey(old.account, g)}, key)
			}
			n.users = n.users.Delete(key)
		}
		if d := new(userDoc); a.doc(kindUser, key, d) {
			p := a.b.user(key, d)
			n.uses = addRefs(n.uses, p.src.policyRefs(), refKey(refUser, key))
			for _, g := range p.src.groups {
				n.members = addRefs(n.members, []string{entityKey(p.account, g)}, key)
			}
			n.users = n.users.Set(key, p)
		}
		a.dirtyUsers[key] = true
	}
}

// roles applies roles' own documents; resolve completes them.
func (a *applier) roles() {
	n := a.n
	for _, key := range a.byKind[kindRole] {
		if old := n.roles.Get(key); old != nil {
			n.uses = removeRefs(n.uses, old.src.policyRefs(), refKey(refRole, key))
			n.roles = n.roles.Delete(key)
		}
		if d := new(roleDoc); a.doc(kindRole, key, d) {
			p := a.b.role(key, d)
			n.uses = addRefs(n.uses, p.src.policyRefs(), refKey(refRole, key))
			n.roles = n.roles.Set(key, p)
		}
		a.dirtyRoles[key] = true
	}
}

// resolve resolves again every user and role that a changed document reaches (through a
// changed managed policy, directly or by group), and marks their access keys for new
// Callers.
func (a *applier) resolve() {
	n := a.n
	for _, pa := range a.dirtyARNs {
		for ref := range n.uses.Get(pa).All() {
			kind, ek := ref[:1], ref[1:]
			switch kind {
			case refUser:
				a.dirtyUsers[ek] = true
			case refRole:
				a.dirtyRoles[ek] = true
			case refGroup:
				for u := range n.members.Get(ek).All() {
					a.dirtyUsers[u] = true
				}
			}
		}
	}
	for key := range a.dirtyRoles {
		if p := n.roles.Get(key); p != nil {
			n.roles = n.roles.Set(key, resolveRole(p, n.managed.Get))
		}
	}
	for key := range a.dirtyUsers {
		if p := n.users.Get(key); p != nil {
			n.users = n.users.Set(key, resolveUser(p, n.managed.Get, n.groups.Get))
		}
		for _, id := range n.userKeys.Get(key) {
			a.dirtyKeys[id] = true
		}
	}
}

// keys applies access keys' own documents and gives every marked key its user's new
// Caller; it returns the IDs of keys that became unsealable.
func (a *applier) keys() (lost []string) {
	n := a.n
	for _, key := range a.byKind[kindKey] {
		old := n.keys.Get(key)
		if old != nil {
			n.userKeys = removeKeyID(n.userKeys, old.user, key)
			n.keys = n.keys.Delete(key)
		}
		if d := new(keyDoc); a.doc(kindKey, key, d) {
			uk := entityKey(d.Account, d.User)
			if old != nil && old.user == uk {
				uk = old.user
			}
			e := a.b.keyEntry(d, uk, old)
			n.userKeys = addKeyID(n.userKeys, uk, key)
			n.keys = n.keys.Set(key, e)
		}
		a.dirtyKeys[key] = true
	}
	for _, key := range slices.Sorted(maps.Keys(a.dirtyKeys)) {
		e := n.keys.Get(key)
		if e == nil {
			n.unsealable = n.unsealable.Delete(key)
			continue
		}
		u := n.users.Get(e.user)
		if u != nil && !e.opened {
			if _, was := n.unsealable.Lookup(key); !was {
				lost = append(lost, key)
			}
			n.unsealable = n.unsealable.Set(key, struct{}{})
		} else {
			n.unsealable = n.unsealable.Delete(key)
		}
		n.keys = n.keys.Set(key, withCaller(e, u))
	}
	return lost
}

func (a *applier) databases() {
	if m, changed := applyDocs(a, kindDB, a.prev.dbDocs, (*dbDoc).database); changed {
		a.n.dbDocs = m
		a.n.dbs, a.n.byEndpoint = indexDatabases(m)
	}
}

// applyDocs returns prev with the changed documents of kind applied (each decoded into a
// D and kept as conv of it), a copy if any changed, and whether any did. For the kinds
// kept in a plain map, copied whole on change because they are few.
func applyDocs[D, V any](a *applier, kind string, prev map[string]V, conv func(*D) V) (map[string]V, bool) {
	keys := a.byKind[kind]
	if len(keys) == 0 {
		return prev, false
	}
	m := maps.Clone(prev)
	for _, key := range keys {
		if d := new(D); a.doc(kind, key, d) {
			m[key] = conv(d)
		} else {
			delete(m, key)
		}
	}
	return m, true
}

// addRefs returns index with ref added to the set of each of keys.
func addRefs(index pmap[pset], keys []string, ref string) pmap[pset] {
	for _, k := range keys {
		index = index.Set(k, index.Get(k).Set(ref, struct{}{}))
	}
	return index
}

// removeRefs returns index with ref removed from the set of each of keys, and the sets
// that become empty removed.
func removeRefs(index pmap[pset], keys []string, ref string) pmap[pset] {
	for _, k := range keys {
		set, ok := index.Lookup(k)
		if !ok {
			continue
		}
		if set = set.Delete(ref); set.Len() == 0 {
			index = index.Delete(k)
		} else {
			index = index.Set(k, set)
		}
	}
	return index
}

// addKeyID returns index with the access key ID id added to the IDs of user (an entity
// key), kept sorted; the slices in index are never changed in place.
func addKeyID(index pmap[[]string], user, id string) pmap[[]string] {
	ids := index.Get(user)
	i, found := slices.BinarySearch(ids, id)
	if found {
		return index
	}
	return index.Set(user, slices.Insert(slices.Clip(ids), i, id))
}

// removeKeyID returns index without the access key ID id among the IDs of user, and
// without user if it has none left.
func removeKeyID(index pmap[[]string], user, id string) pmap[[]string] {
	ids := index.Get(user)
	i, found := slices.BinarySearch(ids, id)
	switch {
	case !found:
		return index
	case len(ids) == 1:
		return index.Delete(user)
	}
	return index.Set(user, slices.Delete(slices.Clone(ids), i, i+1))
}
