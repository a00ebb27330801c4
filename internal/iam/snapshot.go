package iam

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
	"github.com/iamdb/iamdb/token"
)

// snapshot is the data path's read-only view of the store at one revision: access keys
// with their decrypted secrets and callers, users and roles with compiled policies, and
// the databases. Nothing in it changes after it is published. A change to the store makes
// a new snapshot from the previous one (apply), copying only what the change reaches: its
// maps are persistent (pmap), so that a change costs time independent of the store's
// size; start-up and the cases apply cannot handle load one from scratch (build).
type snapshot struct {
	rev        int64
	accounts   map[string]*accountDoc // few: copied whole on change
	keys       pmap[*keyEntry]        // AKIA… → every stored access key
	users      pmap[*principal]       // entityKey → user
	roles      pmap[*principal]       // entityKey → role
	managed    pmap[*policy.Policy]   // ARN → default version; AWS's built-in ones too
	dbs        []Database             // in store key order
	byEndpoint map[string]int         // lower(host):port → index in dbs
	// unsealable are the IDs of the access keys of existing users whose secret the master
	// key cannot open (sealed under another master key, or damaged): those keys are
	// unknown to callers.
	unsealable pset

	// What apply needs to find what a change reaches.
	dbDocs     map[string]Database // store key → database
	groups     pmap[*groupSrc]     // entityKey → group's policies
	members    pmap[pset]          // group entityKey → users whose document lists the group
	uses       pmap[pset]          // managed policy ARN → refKey of its attachers and boundary users
	policyARNs pmap[string]        // policy store key → its ARN
	userKeys   pmap[[]string]      // user entityKey → IDs of the access keys naming the user, sorted
}

// Kinds of references in snapshot.uses.
const (
	refUser  = "u"
	refRole  = "r"
	refGroup = "g"
)

func refKey(kind, ek string) string { return kind + ek }

// maxCachedSessions bounds the session cache.
const maxCachedSessions = 1 << 16

// sessionCache holds the Callers of verified session tokens, across snapshots: an entry
// is used only while the principal and the managed session policies it was built from are
// still those of the current snapshot (pointer equality: snapshots replace what changes).
type sessionCache struct {
	m sync.Map // ASIA… → *sessionEntry
	n atomic.Int64
}

type sessionEntry struct {
	token    string
	key      token.Key[*Caller]
	fromKey  string           // the entity key of the user or role it was built from
	fromUser bool             // fromKey is a user's (GetSessionToken), not a role's
	from     *principal       // that user or role
	managed  []*policy.Policy // snapshot.managed of the payload's PA, in order
	p        *sessionPayload
}

// newSessionEntry records what a session's Caller is built from in snap: its user or role,
// and the managed session policies.
func newSessionEntry(snap *snapshot, tok string, key token.Key[*Caller], p *sessionPayload) *sessionEntry {
	e := &sessionEntry{token: tok, key: key, p: p, fromUser: p.U != ""}
	if e.fromUser {
		e.fromKey = entityKey(p.A, lastSegment(p.U))
	} else {
		e.fromKey = entityKey(p.A, roleNameOf(p.R))
	}
	e.from = e.fromIn(snap)
	if len(p.PA) > 0 {
		e.managed = make([]*policy.Policy, len(p.PA))
		for i, a := range p.PA {
			e.managed[i] = snap.managed.Get(a)
		}
	}
	return e
}

// fromIn returns the user or role e was built from as snap has it, or nil.
func (e *sessionEntry) fromIn(snap *snapshot) *principal {
	if e.fromUser {
		return snap.users.Get(e.fromKey)
	}
	return snap.roles.Get(e.fromKey)
}

// valid reports whether e still holds in snap.
func (e *sessionEntry) valid(snap *snapshot) bool {
	if e.fromIn(snap) != e.from {
		return false
	}
	for i, a := range e.p.PA {
		if snap.managed.Get(a) != e.managed[i] {
			return false
		}
	}
	return true
}

// keyEntry is a stored access key. owner is nil when the key is unknown to callers: its
// user does not exist, or its secret cannot be opened.
type keyEntry struct {
	id     string
	user   string // entityKey of the user the key names (shared with snapshot.users' key)
	secret string
	owner  *principal // the user, when the key is usable
	// caller is the owner's Caller, made on the first lookup of the key rather than with
	// the entry: most keys of a large store never log in between two changes of their
	// user, and a change makes a new entry (withCaller) with an empty cache.
	caller   atomic.Pointer[Caller]
	sealed   [16]byte // the SHA-256 of the sealed secret, truncated
	inactive bool
	opened   bool // secret is the opened sealed secret
}

func (e *keyEntry) usable() bool { return e != nil && e.owner != nil }

// tokenKey returns the key as SigV4 verification needs it, with the Caller of its user.
// e must be usable.
func (e *keyEntry) tokenKey() token.Key[*Caller] {
	c := e.caller.Load()
	if c == nil {
		c = e.owner.userCaller(e.id)
		if !e.caller.CompareAndSwap(nil, c) {
			c = e.caller.Load()
		}
	}
	return token.Key[*Caller]{SecretAccessKey: e.secret, Inactive: e.inactive, Principal: c}
}

// sealedSum is keyEntry.sealed of a sealed secret.
func sealedSum(sealed []byte) (s [16]byte) {
	sum := sha256.Sum256(sealed)
	copy(s[:], sum[:])
	return s
}

// principal is a user or role with its compiled policies.
type principal struct {
	account, name, id, arn, path string
	tags                         map[string]string
	tagCtx                       []tagKV
	identity                     []*policy.Policy
	boundary                     *policy.Policy
	trust                        *policy.Policy // roles
	revokedBefore                time.Time      // roles
	src                          *principalSrc
	maxSession                   int32 // roles, seconds (at most 43200)
	broken                       bool  // a stored policy failed to compile: deny all
}

// principalSrc is what a principal's policies are resolved from, kept for apply.
type principalSrc struct {
	inline   []*policy.Policy // compiled inline policies, by name
	broken   bool             // an inline (or the trust) policy did not compile
	attached []string         // managed policy ARNs
	boundary string
	groups   []string // users: lower-case group names
}

// groupSrc is a group's policies.
type groupSrc struct {
	inline   []*policy.Policy
	broken   bool
	attached []string
}

// tagKV is a principal tag as a request-context key.
type tagKV struct {
	key string // "aws:principaltag/" + lower-case tag key
	val policy.Value
}

func makeTagCtx(tags map[string]string) []tagKV {
	out := make([]tagKV, 0, len(tags))
	for k, v := range tags {
		out = append(out, tagKV{key: policy.KeyPrincipalTagPrefix + strings.ToLower(k), val: policy.String(v)})
	}
	return out
}

func (p *principal) userCaller(akid string) *Caller {
	return &Caller{
		Account: p.account, ARN: p.arn, UserID: p.id, Type: CallerUser, AccessKeyID: akid,
		Principal: policy.Principal{ARN: p.arn, Account: p.account, Type: policy.PrincipalUser, UserID: p.id},
		Tags:      p.tags, name: p.name, identity: p.identity, boundary: p.boundary,
		tagCtx: p.tagCtx, broken: p.broken, advisor: "user/" + entityKey(p.account, p.name),
	}
}

// refresh brings the snapshot up to the store's current revision: by applying the
// changes since the snapshot's revision when the store's change log has them, by loading
// everything otherwise.
func (s *Service) refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	rev, err := s.st.Revision(ctx)
	if err != nil {
		return err
	}
	prev := s.snap.Load()
	// Equal: nothing changed. Lower, though, is not "older": a shared store's revision goes
	// back when its database loses commits (a failover to a lagging standby, a restore), and
	// the snapshot must follow what the store now holds: load it all.
	if prev != nil && prev.rev == rev {
		return nil
	}
	var next *snapshot
	var lost []string
	if prev != nil && rev > prev.rev && !s.compiledStale() {
		if next, lost, err = s.applyChanges(ctx, prev); err != nil {
			return err
		}
	}
	if next == nil {
		if next, err = s.build(ctx, rev, prev); err != nil {
			return err
		}
		if prev != nil {
			lost = newIDs(sortedSet(next.unsealable), sortedSet(prev.unsealable))
		}
	}
	s.snap.Store(next)
	// New refuses a store it cannot open; a key that becomes unreadable later means the
	// store was re-encrypted under another master key (rotate-master-key while this process
	// runs, or a replica with another key) or damaged.
	if len(lost) > 0 {
		s.log.Error("iam: access keys became unknown: the master key cannot decrypt their secrets; "+
			"the store was re-encrypted under another master key or damaged: restart with the store's master key",
			"count", len(lost), "keys", strings.Join(firstN(lost, 3), ","))
	}
	return nil
}

// newIDs returns the IDs of ids that are not in old.
func newIDs(ids, old []string) []string {
	if len(old) == 0 {
		return ids
	}
	seen := make(map[string]bool, len(old))
	for _, id := range old {
		seen[id] = true
	}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func sortedSet(s pset) []string {
	out := make([]string, 0, s.Len())
	for k := range s.All() {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The kinds the snapshot is made of; changes to others (usage records, instance profiles,
// OIDC providers, the ID index) do not reach it.
var snapshotKinds = map[string]bool{
	kindAccount: true, kindUser: true, kindGroup: true, kindRole: true, kindPolicy: true, kindKey: true, kindDB: true,
}

// build loads a snapshot from scratch; its content is at least as new as rev. It reuses
// the compiled policies and opened secrets of prev, and starts a new cache of compiled
// policies holding only those in use.
func (s *Service) build(ctx context.Context, rev int64, prev *snapshot) (*snapshot, error) {
	items, err := loadAll(ctx, s.st)
	if err != nil {
		return nil, err
	}
	compiled := policyCache{}
	next := buildFrom(items, rev, s.secrets, compiled, s.compiled, prev)
	s.compiled, s.compiledAdds, s.compiledLive = compiled, 0, len(compiled)
	s.fullBuilds.Add(1)
	return next, nil
}

// loadAll reads every item of the snapshot's kinds, in one transaction.
func loadAll(ctx context.Context, st store.Store) (map[string][]store.Item, error) {
	items := make(map[string][]store.Item, len(snapshotKinds))
	err := st.View(ctx, func(tx store.Tx) error {
		for k := range snapshotKinds {
			its, err := listAll(tx, k, "")
			if err != nil {
				return err
			}
			items[k] = its
		}
		return nil
	})
	return items, err
}

// buildFrom makes a snapshot of items (by kind) from scratch, compiling into compiled
// (reusing old's entries) and reusing prev's opened secrets. It consumes items. It is the reference that
// apply must agree with: it derives everything at once, with no notion of what changed.
func buildFrom(items map[string][]store.Item, rev int64, aead cipher.AEAD, compiled, old policyCache, prev *snapshot) *snapshot {
	b := &builder{aead: aead, compiled: compiled, old: old, bodies: policyCache{}, strs: map[string]string{}}
	n := &snapshot{rev: rev, accounts: map[string]*accountDoc{}, byEndpoint: map[string]int{}, dbDocs: map[string]Database{}}
	for key, d := range decoded[accountDoc](items[kindAccount]) {
		n.accounts[key] = d // key is the ID
	}
	// Plain maps first, made persistent at the end in one pass each. Managed policies
	// before the principals that attach them, users before their keys.
	managed := map[string]*policy.Policy{}
	for a, bp := range builtinPolicies {
		managed[a] = bp.compiled
	}
	policyARNs := map[string]string{}
	for key, d := range decoded[policyDoc](items[kindPolicy]) {
		a := policyARN(keyAccount(key), d.Path, d.Name)
		policyARNs[key] = a
		if p := b.managed(a, d); p != nil {
			managed[a] = p
		}
	}
	uses := map[string]map[string]struct{}{}
	members := map[string]map[string]struct{}{}
	groups := map[string]*groupSrc{}
	for key, d := range decoded[groupDoc](items[kindGroup]) {
		g := b.groupSrc(d)
		groups[key] = g
		for _, a := range g.attached {
			addTo(uses, a, refKey(refGroup, key))
		}
	}
	getManaged := func(a string) *policy.Policy { return managed[a] }
	users := map[string]*principal{}
	userKeys := map[string]string{} // the entity key of each user, as users holds it
	for key, d := range decoded[userDoc](items[kindUser]) {
		p := b.user(key, d)
		userKeys[key] = key
		for _, g := range p.src.groups {
			addTo(members, entityKey(p.account, g), key)
		}
		for _, a := range p.src.policyRefs() {
			addTo(uses, a, refKey(refUser, key))
		}
		p.resolveUser(getManaged, func(k string) *groupSrc { return groups[k] }) // p is new: no copy
		users[key] = p
	}
	roles := map[string]*principal{}
	for key, d := range decoded[roleDoc](items[kindRole]) {
		p := b.role(key, d)
		for _, a := range p.src.policyRefs() {
			addTo(uses, a, refKey(refRole, key))
		}
		p.resolveRole(getManaged)
		roles[key] = p
	}
	byUser := map[string][]string{}
	keys := map[string]*keyEntry{}
	unsealable := map[string]struct{}{}
	var ukBuf []byte
	for key, d := range decoded[keyDoc](items[kindKey]) { // key is the ID
		var old *keyEntry
		if prev != nil {
			old = prev.keys.Get(key)
		}
		// One copy of the user's entity key, in the entries, byUser and users.
		ukBuf = append(append(append(ukBuf[:0], d.Account...), '/'), strings.ToLower(d.User)...)
		uk, ok := userKeys[string(ukBuf)]
		if !ok {
			uk = string(ukBuf)
			userKeys[uk] = uk
		}
		e := b.keyEntry(d, uk, old)
		if e.id == key {
			key = e.id // one copy of the ID, in the entry and as the key of the maps
		}
		byUser[uk] = append(byUser[uk], key)
		u := users[uk]
		if u != nil && !e.opened {
			unsealable[key] = struct{}{} // New refuses to start with these
		}
		if u != nil && e.opened {
			e.owner = u // as withCaller, in place: e is new
		}
		keys[key] = e
	}
	for _, it := range items[kindDB] {
		d := new(dbDoc)
		if json.Unmarshal(it.Value, d) == nil {
			n.dbDocs[it.Key] = d.database()
		}
	}
	n.dbs, n.byEndpoint = indexDatabases(n.dbDocs)
	n.managed, n.policyARNs, n.groups = pmapOf(managed), pmapOf(policyARNs), pmapOf(groups)
	n.users, n.roles, n.keys, n.unsealable = pmapOf(users), pmapOf(roles), pmapOf(keys), pmapOf(unsealable)
	for _, ids := range byUser {
		slices.Sort(ids) // the store lists in key order already
	}
	n.uses, n.members, n.userKeys = setsOf(uses), setsOf(members), pmapOf(byUser)
	return n
}

func addTo(m map[string]map[string]struct{}, k, v string) {
	s := m[k]
	if s == nil {
		s = map[string]struct{}{}
		m[k] = s
	}
	s[v] = struct{}{}
}

func setsOf(m map[string]map[string]struct{}) pmap[pset] {
	sets := make(map[string]pset, len(m))
	for k, s := range m {
		sets[k] = pmapOf(s)
	}
	return pmapOf(sets)
}

// policyRefs returns the managed policies the source refers to: attached, and boundary.
func (src *principalSrc) policyRefs() []string {
	if src.boundary == "" {
		return src.attached
	}
	return append(slices.Clip(src.attached), src.boundary)
}

// indexDatabases returns the databases in store key order and their index by endpoint;
// the first database listing an endpoint owns it.
func indexDatabases(docs map[string]Database) ([]Database, map[string]int) {
	var dbs []Database
	byEndpoint := map[string]int{}
	for _, k := range sortedKeys(docs) {
		db := docs[k]
		i := len(dbs)
		dbs = append(dbs, db)
		hosts := append(append([]string(nil), db.Endpoints...), db.ReaderEndpoint)
		for _, h := range hosts {
			if h == "" {
				continue
			}
			k := endpointKey(h, db.Port)
			if _, dup := byEndpoint[k]; !dup {
				byEndpoint[k] = i
			}
		}
	}
	return dbs, byEndpoint
}

// resolveUser returns p with its identity policies, boundary and broken flag resolved
// against managed and groups: its inline policies, the managed ones it attaches, then for
// each of its groups in order, the group's inline and attached policies.
func resolveUser(p *principal, managed func(string) *policy.Policy, groups func(string) *groupSrc) *principal {
	q := *p
	q.resolveUser(managed, groups)
	return &q
}

// resolveUser is the function resolveUser in place, for a principal not yet shared.
func (q *principal) resolveUser(managed func(string) *policy.Policy, groups func(string) *groupSrc) {
	var missing bool
	q.identity, missing = q.ownPolicies(managed)
	q.broken = q.src.broken || missing
	for _, g := range q.src.groups {
		if gs := groups(entityKey(q.account, g)); gs != nil {
			q.identity = append(q.identity, gs.inline...)
			q.identity, missing = appendManaged(q.identity, managed, gs.attached)
			q.broken = q.broken || gs.broken || missing
		}
	}
	q.resolveBoundary(managed)
}

// resolveRole is resolveUser for a role, which has no groups.
func resolveRole(p *principal, managed func(string) *policy.Policy) *principal {
	q := *p
	q.resolveRole(managed)
	return &q
}

// resolveRole is the function resolveRole in place, for a principal not yet shared.
func (q *principal) resolveRole(managed func(string) *policy.Policy) {
	var missing bool
	q.identity, missing = q.ownPolicies(managed)
	q.broken = q.src.broken || missing
	q.resolveBoundary(managed)
}

// ownPolicies returns the principal's inline policies and the managed ones it attaches;
// the inline slice itself when it attaches none, so that most principals keep one slice.
// missing is as appendManaged's.
func (q *principal) ownPolicies(managed func(string) *policy.Policy) (_ []*policy.Policy, missing bool) {
	if len(q.src.attached) == 0 && len(q.src.groups) == 0 {
		return slices.Clip(q.src.inline), false
	}
	return appendManaged(slices.Clip(q.src.inline), managed, q.src.attached)
}

// appendManaged appends the compiled managed policies at arns to dst. missing says that one
// is not there (it does not compile, as in a store written by another version): the
// principal is then broken and denies everything, since dropping the policy would drop
// its Denies.
func appendManaged(dst []*policy.Policy, managed func(string) *policy.Policy, arns []string) (_ []*policy.Policy, missing bool) {
	for _, a := range arns {
		if c := managed(a); c != nil {
			dst = append(dst, c)
		} else {
			missing = true
		}
	}
	return dst, missing
}

func (p *principal) resolveBoundary(managed func(string) *policy.Policy) {
	p.boundary = nil
	if p.src.boundary == "" {
		return
	}
	if c := managed(p.src.boundary); c != nil {
		p.boundary = c
	} else {
		p.broken = true
	}
}

// withCaller returns e owned by user u (so that its Caller is u's), or without an owner if
// u is nil or the secret did not open.
func withCaller(e *keyEntry, u *principal) *keyEntry {
	f := &keyEntry{id: e.id, user: e.user, secret: e.secret, sealed: e.sealed, inactive: e.inactive, opened: e.opened}
	if u != nil && e.opened {
		f.owner = u
	}
	return f
}

// decoded yields the key and the decoded document of each item, skipping those that do not
// decode. It drops each item from items as it goes, so that a build does not hold every
// raw item and every decoded one at once.
func decoded[T any](items []store.Item) iter.Seq2[string, *T] {
	return func(yield func(string, *T) bool) {
		for i := range items {
			it := items[i]
			items[i] = store.Item{}
			d := new(T)
			if json.Unmarshal(it.Value, d) == nil && !yield(it.Key, d) {
				return
			}
		}
	}
}

// keyAccount is the account of an entity key ("account/name").
func keyAccount(key string) string {
	acct, _, _ := strings.Cut(key, "/")
	return acct
}

func endpointKey(host string, port int) string {
	return strings.ToLower(strings.TrimSuffix(host, ".")) + ":" + strconv.Itoa(port)
}

// policyKey identifies a compiled policy in the cache: the SHA-256 of its kind, name and
// document, truncated to 128 bits (collision-resistant still), so that the cache does not
// keep a copy of every document.
type policyKey [16]byte

// policyCache holds compiled policies by kind, name and document.
type policyCache = map[policyKey]*policy.Policy

// keyOf returns the key of a policy of kind named name with document doc; a document
// without a name (named false) has keys of its own, for bodies. buf is scratch space: it
// returns buf, grown, for the next call.
func keyOf(kind policy.Kind, named bool, name, doc string, buf []byte) (policyKey, []byte) {
	buf = append(buf[:0], byte(kind), 0)
	if named {
		buf[1] = 1
	}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(name)))
	buf = append(append(buf, name...), doc...)
	sum := sha256.Sum256(buf)
	var k policyKey
	copy(k[:], sum[:])
	return k, buf
}

// builder compiles policies and opens secrets for build and apply.
type builder struct {
	aead     cipher.AEAD
	compiled policyCache // written
	old      policyCache // read: a previous cache, or nil
	adds     int         // compilations added to compiled
	// bodies holds a compilation of each document (by kind and document) that build
	// compiled, so that policies with the same document under other names (the trust
	// policies of many roles) share it; nil in apply.
	bodies policyCache
	// strs holds one copy of the strings that many entities repeat (accounts, paths,
	// statuses) in build; nil in apply.
	strs map[string]string
	buf  []byte // scratch space for compile: what a build leaves behind is what it keeps
}

// intern returns s, or an equal string the builder has seen before.
func (b *builder) intern(s string) string {
	if b.strs == nil {
		return s
	}
	if t, ok := b.strs[s]; ok {
		return t
	}
	b.strs[s] = s
	return s
}

// compile parses a stored document, reusing a cached compilation. It returns nil if the
// document does not parse (which validation at write time prevents).
func (b *builder) compile(kind policy.Kind, name, doc string) *policy.Policy {
	var k, bk policyKey
	k, b.buf = keyOf(kind, true, name, doc, b.buf)
	if p := b.compiled[k]; p != nil {
		return p
	}
	if b.bodies != nil {
		bk, b.buf = keyOf(kind, false, "", doc, b.buf)
	}
	p := b.old[k]
	if p == nil && b.bodies != nil {
		if same := b.bodies[bk]; same != nil {
			p = same.Named(name)
		}
	}
	if p == nil {
		var err error
		b.buf = append(b.buf[:0], doc...) // Parse keeps none of it
		if p, err = policy.Parse(b.buf, policy.WithKind(kind), policy.WithMaxSize(-1), policy.WithName(name)); err != nil {
			return nil
		}
	}
	if b.bodies != nil && b.bodies[bk] == nil {
		b.bodies[bk] = p
	}
	b.compiled[k] = p
	b.adds++
	return p
}

// trust compiles a role's trust policy with its principals bound to ids (roleDoc.TrustIDs),
// cached like compile under the document and the IDs, so that builds share it; nil if it
// does not compile.
func (b *builder) trust(name, doc string, ids map[string]string) *policy.Policy {
	p := b.compile(policy.KindTrust, name, doc)
	if p == nil || len(ids) == 0 {
		return p
	}
	// A document holds no raw NUL (JSON escapes it), so the key's text cannot be a document's.
	text := []byte(doc)
	for _, a := range slices.Sorted(maps.Keys(ids)) {
		text = append(append(append(append(text, 0), a...), 0), ids[a]...)
	}
	var k policyKey
	k, b.buf = keyOf(policy.KindTrust, true, name, string(text), b.buf)
	if q := b.compiled[k]; q != nil {
		return q
	}
	q := b.old[k]
	if q == nil {
		q = p.BindPrincipalIDs(ids)
	}
	b.compiled[k] = q
	b.adds++
	return q
}

// managed compiles the default version of a managed policy; nil if it has none or it
// does not compile.
func (b *builder) managed(a string, d *policyDoc) *policy.Policy {
	if v := d.version(d.Default); v != nil {
		return b.compile(policy.KindIdentity, a, v.Document)
	}
	return nil
}

func (b *builder) inline(h *holder) (out []*policy.Policy, broken bool) {
	for _, name := range sortedKeys(h.Inline) {
		c := b.compile(policy.KindIdentity, name, h.Inline[name])
		if c == nil {
			broken = true
			continue
		}
		out = append(out, c)
	}
	return out, broken
}

func (b *builder) groupSrc(d *groupDoc) *groupSrc {
	g := &groupSrc{attached: d.Attached}
	g.inline, g.broken = b.inline(&d.holder)
	return g
}

// user returns the unresolved principal of a user document.
func (b *builder) user(key string, d *userDoc) *principal {
	acct := keyAccount(key)
	a := userARN(acct, d.Path, d.Name)
	p := &principal{account: acct, name: a[len(a)-len(d.Name):], id: d.ID, arn: a, path: b.intern(d.Path), tags: tagMap(d.Tags),
		src: &principalSrc{attached: d.Attached, boundary: d.Boundary, groups: d.Groups}}
	p.src.inline, p.src.broken = b.inline(&d.holder)
	p.tagCtx = makeTagCtx(p.tags)
	return p
}

// role returns the unresolved principal of a role document.
func (b *builder) role(key string, d *roleDoc) *principal {
	acct := keyAccount(key)
	a := roleARN(acct, d.Path, d.Name)
	p := &principal{account: acct, name: a[len(a)-len(d.Name):], id: d.ID, arn: a, path: b.intern(d.Path), tags: tagMap(d.Tags),
		maxSession: int32(min(max(d.MaxSession, 0), math.MaxInt32)), revokedBefore: d.RevokedBefore,
		src: &principalSrc{attached: d.Attached, boundary: d.Boundary}}
	p.src.inline, p.src.broken = b.inline(&d.holder)
	p.trust = b.trust(a, d.Trust, d.TrustIDs)
	if p.trust == nil {
		p.src.broken = true
	}
	p.tagCtx = makeTagCtx(p.tags)
	return p
}

// keyEntry returns the entry of a key document, without its owner, reusing old's opened
// secret if the sealed one is the same. user is the entityKey of the user the key names.
func (b *builder) keyEntry(d *keyDoc, user string, old *keyEntry) *keyEntry {
	e := &keyEntry{id: d.ID, user: user, inactive: d.Status != StatusActive, sealed: sealedSum(d.Secret)}
	if old != nil && old.sealed == e.sealed && old.opened {
		e.secret, e.opened = old.secret, true
		return e
	}
	if pt, err := open(b.aead, d.Secret, []byte(d.ID)); err == nil {
		e.secret, e.opened = string(pt), true
	}
	return e
}
