package iam

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// usageTracker records when access keys and roles were last used, in memory, lock-free on
// the hot path; the Service writes the records to the store in batches. Every use is
// noted (nothing is sampled): a reader merges the pending records with the stored ones.
//
// Besides the per-key and per-role records of GetAccessKeyLastUsed and GetRole, it keeps
// the access advisor's: per principal (user or role) and action, the last time the
// principal was authenticated for the action (allowed or not, as AWS counts them), and
// per principal and rds-db:connect resource (dbuser ARN), the last allowed login.
type usageTracker struct {
	keys    sync.Map     // AKIA… → *usageCell
	roles   sync.Map     // entityKey → *usageCell
	actions sync.Map     // principalKey + " " + lower(action) → *usageCell
	logins  sync.Map     // principalKey + " " + dbuser ARN → *usageCell
	cells   atomic.Int64 // entries of actions and logins, at most maxUsageCells
}

// maxUsageCells bounds the advisor's records kept in memory (actions and logins). A flush
// that finds more than half of it used drops the records it has written (readers find
// them in the store); a use that finds it full is not noted until then.
var maxUsageCells int64 = 1 << 18

type usageCell struct {
	at      atomic.Int64 // Unix nanoseconds of the last use
	flushed atomic.Int64 // the value of at last written
	where   atomic.Pointer[usageWhere]
}

// usageWhere is where a use was made; entity (the principal's ARN) and name (the action
// as the request spelt it) only for the advisor's records.
type usageWhere struct{ service, region, entity, name string }

func note(m *sync.Map, key, service, region string, now time.Time) {
	v, ok := m.Load(key)
	if !ok {
		v, _ = m.LoadOrStore(key, new(usageCell))
	}
	c := v.(*usageCell)
	t := now.UnixNano()
	if t <= c.at.Load() {
		return
	}
	if w := c.where.Load(); w == nil || w.service != service || w.region != region {
		c.where.Store(&usageWhere{service: service, region: region})
	}
	c.at.Store(t)
}

// noteAdvisor is note for the advisor's maps, bounded by maxUsageCells.
func (u *usageTracker) noteAdvisor(m *sync.Map, key string, w usageWhere, now time.Time) {
	v, ok := m.Load(key)
	if !ok {
		if u.cells.Load() >= maxUsageCells {
			return
		}
		var loaded bool
		v, loaded = m.LoadOrStore(key, new(usageCell))
		if !loaded {
			u.cells.Add(1)
		}
	}
	c := v.(*usageCell)
	t := now.UnixNano()
	if t <= c.at.Load() {
		return
	}
	if old := c.where.Load(); old == nil || *old != w {
		nw := w // on the heap only when stored
		c.where.Store(&nw)
	}
	c.at.Store(t)
}

// principalKey is the advisor's key of c's principal: "user/ACCT/name" for a user (and
// its GetSessionToken sessions), "role/ACCT/name" for a role session; "" for root and
// federated callers. The Caller's constructors (userCaller, sessionCaller) make it once:
// a Caller is kept per key, and every login notes its principal twice.
func principalKey(c *Caller) string { return c.advisor }

// noteUse records that c made a request for action (service:Action) in region.
func (s *Service) noteUse(c *Caller, action, region string, now time.Time) {
	service := serviceOf(action)
	switch {
	case c.Session != nil && c.roleKey != "":
		note(&s.usage.roles, c.roleKey, service, region, now)
	case c.Session == nil && strings.HasPrefix(c.AccessKeyID, "AKIA"):
		note(&s.usage.keys, c.AccessKeyID, service, region, now)
	}
	if pk := principalKey(c); pk != "" {
		s.usage.noteAdvisor(&s.usage.actions, pk+" "+strings.ToLower(action),
			usageWhere{service: service, region: region, entity: c.Principal.ARN, name: action}, now)
	}
}

// noteLogin records that c was allowed to log in as the database user of connectARN.
func (s *Service) noteLogin(c *Caller, connectARN, region string, now time.Time) {
	if pk := principalKey(c); pk != "" {
		s.usage.noteAdvisor(&s.usage.logins, pk+" "+connectARN,
			usageWhere{service: "rds-db", region: region, entity: c.Principal.ARN, name: "connect"}, now)
	}
}

// pending returns the unflushed record of key in m, if any.
func pending(m *sync.Map, key string) (lastUsedDoc, bool) {
	v, ok := m.Load(key)
	if !ok {
		return lastUsedDoc{}, false
	}
	c := v.(*usageCell)
	t := c.at.Load()
	if t == 0 {
		return lastUsedDoc{}, false
	}
	d := lastUsedDoc{Date: time.Unix(0, t).UTC()}
	if w := c.where.Load(); w != nil {
		d.Service, d.Region, d.Entity, d.Name = w.service, w.region, w.entity, w.name
	}
	return d, true
}

// flushUsage writes the records that changed since the last flush, in one transaction.
func (s *Service) flushUsage(ctx context.Context) error {
	type rec struct {
		cell *usageCell
		at   int64
		key  string // store key in kindLastUsed
		doc  lastUsedDoc
		kind string // the kind of the entity that must still exist
		ek   string
		mkey string // the key in m
		m    *sync.Map
		gone bool
	}
	var recs []rec
	collect := func(m *sync.Map, mk func(k string) (string, string, string)) {
		m.Range(func(k, v any) bool {
			c := v.(*usageCell)
			at := c.at.Load()
			if at == 0 || at == c.flushed.Load() {
				return true
			}
			d, _ := pending(m, k.(string))
			key, kind, ek := mk(k.(string))
			recs = append(recs, rec{cell: c, at: at, key: key, doc: d, kind: kind, ek: ek, m: m, mkey: k.(string)})
			return true
		})
	}
	collect(&s.usage.keys, func(k string) (string, string, string) { return lastUsedKeyKey(k), kindKey, k })
	collect(&s.usage.roles, func(k string) (string, string, string) { return "role/" + k, kindRole, k })
	advisor := func(prefix string) func(k string) (string, string, string) {
		return func(k string) (string, string, string) {
			kind, ek := principalOfKey(k)
			return prefix + k, kind, ek
		}
	}
	collect(&s.usage.actions, advisor(lastUsedActionPrefix))
	collect(&s.usage.logins, advisor(lastUsedLoginPrefix))
	if len(recs) == 0 {
		return nil
	}
	// Quietly: usage records are no part of the snapshot, and a revision would send every
	// replica looking for changes.
	err := s.st.UpdateQuiet(ctx, func(tx store.Tx) error {
		for i := range recs {
			r := &recs[i]
			r.gone = false
			if _, err := tx.Get(r.kind, r.ek); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					r.gone = true // deleted meanwhile
					continue
				}
				return err
			}
			var old lastUsedDoc
			if ok, err := getDoc(tx, kindLastUsed, r.key, &old); err != nil {
				return err
			} else if ok && !old.Date.Before(r.doc.Date) {
				continue
			}
			if err := putDoc(tx, kindLastUsed, r.key, r.doc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.gone {
			if _, ok := r.m.LoadAndDelete(r.mkey); ok && r.m != &s.usage.keys && r.m != &s.usage.roles {
				s.usage.cells.Add(-1)
			}
			continue
		}
		r.cell.flushed.Store(r.at)
	}
	if s.usage.cells.Load() > maxUsageCells/2 {
		s.usage.evictFlushed(&s.usage.actions)
		s.usage.evictFlushed(&s.usage.logins)
	}
	return nil
}

// evictFlushed drops from m the records whose last use is in the store. A use noted in a
// record while it is being dropped is put back.
func (u *usageTracker) evictFlushed(m *sync.Map) {
	m.Range(func(k, v any) bool {
		c := v.(*usageCell)
		at := c.at.Load()
		if at != c.flushed.Load() || !m.CompareAndDelete(k, v) {
			return true
		}
		if c.at.Load() != at {
			if actual, loaded := m.LoadOrStore(k, c); loaded {
				// Another cell took its place meanwhile: keep the later use in it.
				n := actual.(*usageCell)
				if t := c.at.Load(); t > n.at.Load() {
					n.where.Store(c.where.Load())
					n.at.Store(t)
				}
				u.cells.Add(-1)
			}
			return true
		}
		u.cells.Add(-1)
		return true
	})
}

// deleteAdvisorRecords deletes the stored advisor records of a principal (principalKey),
// with the principal.
func deleteAdvisorRecords(tx store.Tx, pk string) error {
	for _, prefix := range []string{lastUsedActionPrefix, lastUsedLoginPrefix} {
		its, err := listAll(tx, kindLastUsed, prefix+pk+" ")
		if err != nil {
			return err
		}
		for _, it := range its {
			if err := tx.Delete(kindLastUsed, it.Key); err != nil {
				return err
			}
		}
	}
	return nil
}
