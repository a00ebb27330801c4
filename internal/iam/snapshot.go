package iam

import (
	"context"
	"encoding/json"
	"iter"
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
// the databases. It is rebuilt after every revision and swapped atomically; nothing in it
// changes after it is published, except the session cache.
type snapshot struct {
	rev        int64
	accounts   map[string]*accountDoc
	keys       map[string]*keyEntry  // AKIA… → key
	users      map[string]*principal // entityKey → user
	roles      map[string]*principal // entityKey → role
	managed    map[string]*policy.Policy
	dbs        []Database
	byEndpoint map[string]int // lower(host):port → index in dbs
	// unsealable are the IDs of access keys whose secret the master key cannot open
	// (sealed under another master key, or damaged): those keys are unknown to callers.
	unsealable []string

	// Caches carried from one snapshot to the next: compiled policies by (kind, name,
	// document) and decrypted secrets by (key ID, ciphertext).
	compiled map[string]*policy.Policy
	secrets  map[string]string

	sessions  sync.Map // ASIA… → *sessionEntry
	nsessions atomic.Int64
}

// maxCachedSessions bounds the session cache of one snapshot.
const maxCachedSessions = 1 << 16

type sessionEntry struct {
	token string
	key   token.Key[*Caller]
}

type keyEntry struct {
	key token.Key[*Caller] // Principal is the *Caller
}

// principal is a user or role with its compiled policies.
type principal struct {
	account, name, id, arn, path string
	tags                         map[string]string
	tagCtx                       []tagKV
	identity                     []*policy.Policy
	boundary                     *policy.Policy
	trust                        *policy.Policy // roles
	maxSession                   int            // roles, seconds
	revokedBefore                time.Time      // roles
	broken                       bool           // a stored policy failed to compile: deny all
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
		tagCtx: p.tagCtx, broken: p.broken,
	}
}

// refresh brings the snapshot up to the store's current revision.
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
	// the snapshot must follow what the store now holds.
	if prev != nil && prev.rev == rev {
		return nil
	}
	next, err := s.build(ctx, rev, prev)
	if err != nil {
		return err
	}
	s.snap.Store(next)
	if prev != nil {
		// New refuses a store it cannot open; a key that becomes unreadable later means the
		// store was re-encrypted under another master key (rotate-master-key while this
		// process runs, or a replica with another key) or damaged.
		if lost := newIDs(next.unsealable, prev.unsealable); len(lost) > 0 {
			s.log.Error("iam: access keys became unknown: the master key cannot decrypt their secrets; "+
				"the store was re-encrypted under another master key or damaged: restart with the store's master key",
				"count", len(lost), "keys", strings.Join(firstN(lost, 3), ","))
		}
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

// build loads a snapshot; its content is at least as new as rev.
func (s *Service) build(ctx context.Context, rev int64, prev *snapshot) (*snapshot, error) {
	kinds := []string{kindAccount, kindUser, kindGroup, kindRole, kindPolicy, kindKey, kindDB}
	items := make(map[string][]store.Item, len(kinds))
	err := s.st.View(ctx, func(tx store.Tx) error {
		for _, k := range kinds {
			its, err := listAll(tx, k, "")
			if err != nil {
				return err
			}
			items[k] = its
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := &builder{s: s, prev: prev, next: &snapshot{
		rev: rev, accounts: map[string]*accountDoc{}, keys: map[string]*keyEntry{},
		users: map[string]*principal{}, roles: map[string]*principal{}, managed: map[string]*policy.Policy{},
		byEndpoint: map[string]int{}, compiled: map[string]*policy.Policy{}, secrets: map[string]string{},
	}}
	// Managed policies before the principals that attach them, users before their keys.
	b.addAccounts(items[kindAccount])
	b.addManaged(items[kindPolicy])
	b.addUsers(items[kindUser], items[kindGroup])
	b.addRoles(items[kindRole])
	b.addKeys(items[kindKey])
	b.addDatabases(items[kindDB])
	return b.next, nil
}

func (b *builder) addAccounts(items []store.Item) {
	for _, d := range decoded[accountDoc](items) {
		b.next.accounts[d.ID] = d
	}
}

// addManaged compiles the default version of every managed policy, and adds AWS's
// built-in ones.
func (b *builder) addManaged(items []store.Item) {
	n := b.next
	for a, bp := range builtinPolicies {
		n.managed[a] = bp.compiled
	}
	for key, d := range decoded[policyDoc](items) {
		acct := keyAccount(key)
		a := policyARN(acct, d.Path, d.Name)
		if v := d.version(d.Default); v != nil {
			if p := b.compile(policy.KindIdentity, a, v.Document); p != nil {
				n.managed[a] = p
			}
		}
	}
}

// addUsers adds the users with their own policies and those of their groups.
func (b *builder) addUsers(users, groupItems []store.Item) {
	groups := map[string]*groupDoc{}
	for key, d := range decoded[groupDoc](groupItems) {
		groups[key] = d
	}
	for key, d := range decoded[userDoc](users) {
		acct := keyAccount(key)
		p := &principal{account: acct, name: d.Name, id: d.ID, arn: userARN(acct, d.Path, d.Name), path: d.Path, tags: tagMap(d.Tags)}
		b.addPolicies(p, &d.holder)
		for _, g := range d.Groups {
			if gd := groups[entityKey(acct, g)]; gd != nil {
				b.addPolicies(p, &gd.holder)
			}
		}
		b.setBoundary(p, d.Boundary)
		p.tagCtx = makeTagCtx(p.tags)
		b.next.users[key] = p
	}
}

// addRoles adds the roles with their policies and trust policies.
func (b *builder) addRoles(items []store.Item) {
	for key, d := range decoded[roleDoc](items) {
		acct := keyAccount(key)
		a := roleARN(acct, d.Path, d.Name)
		p := &principal{account: acct, name: d.Name, id: d.ID, arn: a, path: d.Path, tags: tagMap(d.Tags),
			maxSession: d.MaxSession, revokedBefore: d.RevokedBefore}
		b.addPolicies(p, &d.holder)
		b.setBoundary(p, d.Boundary)
		p.trust = b.compile(policy.KindTrust, a, d.Trust)
		if p.trust == nil {
			p.broken = true
		}
		p.tagCtx = makeTagCtx(p.tags)
		b.next.roles[key] = p
	}
}

// addKeys adds the access keys of known users with their decrypted secrets, and notes
// those whose secret the master key cannot open.
func (b *builder) addKeys(items []store.Item) {
	n := b.next
	for _, d := range decoded[keyDoc](items) {
		u := n.users[entityKey(d.Account, d.User)]
		if u == nil {
			continue
		}
		secret, ok := b.secret(d)
		if !ok {
			n.unsealable = append(n.unsealable, d.ID) // New refuses to start with these
			continue
		}
		n.keys[d.ID] = &keyEntry{key: token.Key[*Caller]{
			SecretAccessKey: secret, Inactive: d.Status != StatusActive, Principal: u.userCaller(d.ID),
		}}
	}
}

// addDatabases adds the databases and indexes them by endpoint; the first database
// listing an endpoint owns it.
func (b *builder) addDatabases(items []store.Item) {
	n := b.next
	for _, d := range decoded[dbDoc](items) {
		db := d.database()
		i := len(n.dbs)
		n.dbs = append(n.dbs, db)
		hosts := append(append([]string(nil), db.Endpoints...), db.ReaderEndpoint)
		for _, h := range hosts {
			if h == "" {
				continue
			}
			k := endpointKey(h, db.Port)
			if _, dup := n.byEndpoint[k]; !dup {
				n.byEndpoint[k] = i
			}
		}
	}
}

// decoded yields the key and the decoded document of each item, skipping those that do not
// decode.
func decoded[T any](items []store.Item) iter.Seq2[string, *T] {
	return func(yield func(string, *T) bool) {
		for _, it := range items {
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

type builder struct {
	s          *Service
	prev, next *snapshot
}

// compile parses a stored document, reusing the previous snapshot's compilation. It
// returns nil if the document does not parse (which validation at write time prevents).
func (b *builder) compile(kind policy.Kind, name, doc string) *policy.Policy {
	k := strconv.Itoa(int(kind)) + "\x00" + name + "\x00" + doc
	if p := b.next.compiled[k]; p != nil {
		return p
	}
	if b.prev != nil {
		if p := b.prev.compiled[k]; p != nil {
			b.next.compiled[k] = p
			return p
		}
	}
	p, err := policy.Parse([]byte(doc), policy.WithKind(kind), policy.WithMaxSize(-1), policy.WithName(name))
	if err != nil {
		return nil
	}
	b.next.compiled[k] = p
	return p
}

func (b *builder) addPolicies(p *principal, h *holder) {
	for _, name := range sortedKeys(h.Inline) {
		c := b.compile(policy.KindIdentity, name, h.Inline[name])
		if c == nil {
			p.broken = true
			continue
		}
		p.identity = append(p.identity, c)
	}
	for _, a := range h.Attached {
		if c := b.next.managed[a]; c != nil {
			p.identity = append(p.identity, c)
		}
	}
}

func (b *builder) setBoundary(p *principal, a string) {
	if a == "" {
		return
	}
	if c := b.next.managed[a]; c != nil {
		p.boundary = c
	} else {
		p.broken = true
	}
}

func (b *builder) secret(d *keyDoc) (string, bool) {
	k := d.ID + "\x00" + string(d.Secret)
	if v, ok := b.next.secrets[k]; ok {
		return v, true
	}
	if b.prev != nil {
		if v, ok := b.prev.secrets[k]; ok {
			b.next.secrets[k] = v
			return v, true
		}
	}
	pt, err := open(b.s.secrets, d.Secret, []byte(d.ID))
	if err != nil {
		return "", false
	}
	b.next.secrets[k] = string(pt)
	return string(pt), true
}
