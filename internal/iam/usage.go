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
// the hot path; the Service writes the records to the store in batches.
type usageTracker struct {
	keys  sync.Map // AKIA… → *usageCell
	roles sync.Map // entityKey → *usageCell
}

type usageCell struct {
	at      atomic.Int64 // Unix nanoseconds of the last use
	flushed atomic.Int64 // the value of at last written
	where   atomic.Pointer[usageWhere]
}

type usageWhere struct{ service, region string }

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

// noteUse records that c made a request to service in region.
func (s *Service) noteUse(c *Caller, service, region string, now time.Time) {
	switch {
	case c.Session != nil && c.roleKey != "":
		note(&s.usage.roles, c.roleKey, service, region, now)
	case c.Session == nil && strings.HasPrefix(c.AccessKeyID, "AKIA"):
		note(&s.usage.keys, c.AccessKeyID, service, region, now)
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
		d.Service, d.Region = w.service, w.region
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
			recs = append(recs, rec{cell: c, at: at, key: key, doc: d, kind: kind, ek: ek, m: m})
			return true
		})
	}
	collect(&s.usage.keys, func(k string) (string, string, string) { return lastUsedKeyKey(k), kindKey, k })
	collect(&s.usage.roles, func(k string) (string, string, string) { return "role/" + k, kindRole, k })
	if len(recs) == 0 {
		return nil
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
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
			r.m.Delete(r.ek)
			continue
		}
		r.cell.flushed.Store(r.at)
	}
	return nil
}
