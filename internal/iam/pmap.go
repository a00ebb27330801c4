package iam

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"slices"
)

// pmap is an immutable map from strings to V: Set and Delete return a new map that shares
// all but O(log n) of its nodes with the old one, which stays valid and unchanged. It is a
// hash array mapped trie (32 ways per level, 5 bits of a 64-bit hash each) with collision
// buckets below the last level. The zero value is an empty map; it is safe for concurrent
// reads.
type pmap[V any] struct {
	root *pnode[V]
	n    int
}

type pnode[V any] struct {
	bitmap  uint32      // which of the 32 slots are used; 0 in a collision bucket
	entries []pentry[V] // one per bit of bitmap, in bit order
}

// pentry is a leaf (child == nil) or a branch.
type pentry[V any] struct {
	key   string
	val   V
	child *pnode[V]
}

const (
	pmapBits     = 5
	pmapMaxShift = 60 // the last level of slots; below it, collision buckets
)

var pmapSeed = maphash.MakeSeed()

// pmapHash hashes a key; tests replace it to force collisions.
var pmapHash = func(k string) uint64 { return maphash.String(pmapSeed, k) }

// Len returns the number of entries.
func (m pmap[V]) Len() int { return m.n }

// Lookup returns the value of k and whether k is present.
func (m pmap[V]) Lookup(k string) (V, bool) {
	h := pmapHash(k)
	n := m.root
	for shift := uint(0); n != nil; shift += pmapBits {
		if shift > pmapMaxShift {
			for i := range n.entries {
				if n.entries[i].key == k {
					return n.entries[i].val, true
				}
			}
			break
		}
		bit := uint32(1) << ((h >> shift) & 31)
		if n.bitmap&bit == 0 {
			break
		}
		e := &n.entries[bits.OnesCount32(n.bitmap&(bit-1))]
		if e.child == nil {
			if e.key == k {
				return e.val, true
			}
			break
		}
		n = e.child
	}
	var zero V
	return zero, false
}

// Get returns the value of k, or the zero value if k is absent.
func (m pmap[V]) Get(k string) V {
	v, _ := m.Lookup(k)
	return v
}

// Set returns m with k set to v.
func (m pmap[V]) Set(k string, v V) pmap[V] {
	root, added := m.root.set(pmapHash(k), 0, k, v)
	if added {
		return pmap[V]{root: root, n: m.n + 1}
	}
	return pmap[V]{root: root, n: m.n}
}

// Delete returns m without k.
func (m pmap[V]) Delete(k string) pmap[V] {
	root, deleted := m.root.del(pmapHash(k), 0, k)
	if !deleted {
		return m
	}
	return pmap[V]{root: root, n: m.n - 1}
}

// All yields every entry, in no particular order.
func (m pmap[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) { m.root.each(yield) }
}

func (n *pnode[V]) each(yield func(string, V) bool) bool {
	if n == nil {
		return true
	}
	for i := range n.entries {
		e := &n.entries[i]
		if e.child != nil {
			if !e.child.each(yield) {
				return false
			}
		} else if !yield(e.key, e.val) {
			return false
		}
	}
	return true
}

// set returns a copy of n (nil: empty) with k set, and whether k was added.
func (n *pnode[V]) set(h uint64, shift uint, k string, v V) (*pnode[V], bool) {
	if shift > pmapMaxShift { // collision bucket
		if n == nil {
			return &pnode[V]{entries: []pentry[V]{{key: k, val: v}}}, true
		}
		for i := range n.entries {
			if n.entries[i].key == k {
				c := n.clone(0)
				c.entries[i].val = v
				return c, false
			}
		}
		c := n.clone(1)
		c.entries = append(c.entries, pentry[V]{key: k, val: v})
		return c, true
	}
	bit := uint32(1) << ((h >> shift) & 31)
	if n == nil {
		return &pnode[V]{bitmap: bit, entries: []pentry[V]{{key: k, val: v}}}, true
	}
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		c := &pnode[V]{bitmap: n.bitmap | bit, entries: make([]pentry[V], len(n.entries)+1)}
		copy(c.entries, n.entries[:i])
		c.entries[i] = pentry[V]{key: k, val: v}
		copy(c.entries[i+1:], n.entries[i:])
		return c, true
	}
	e := n.entries[i]
	c := n.clone(0)
	switch {
	case e.child != nil:
		child, added := e.child.set(h, shift+pmapBits, k, v)
		c.entries[i] = pentry[V]{child: child}
		return c, added
	case e.key == k:
		c.entries[i].val = v
		return c, false
	}
	// Another key in this slot: push both a level down.
	child, _ := (*pnode[V])(nil).set(pmapHash(e.key), shift+pmapBits, e.key, e.val)
	child, _ = child.set(h, shift+pmapBits, k, v)
	c.entries[i] = pentry[V]{child: child}
	return c, true
}

// del returns n without k (nil if it becomes empty), and whether k was present.
func (n *pnode[V]) del(h uint64, shift uint, k string) (*pnode[V], bool) {
	if n == nil {
		return nil, false
	}
	if shift > pmapMaxShift {
		for i := range n.entries {
			if n.entries[i].key == k {
				return n.without(i, 0), true
			}
		}
		return n, false
	}
	bit := uint32(1) << ((h >> shift) & 31)
	if n.bitmap&bit == 0 {
		return n, false
	}
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	e := n.entries[i]
	if e.child == nil {
		if e.key != k {
			return n, false
		}
		return n.without(i, bit), true
	}
	child, ok := e.child.del(h, shift+pmapBits, k)
	if !ok {
		return n, false
	}
	if child == nil {
		return n.without(i, bit), true
	}
	c := n.clone(0)
	if len(child.entries) == 1 && child.entries[0].child == nil {
		c.entries[i] = child.entries[0] // a lone leaf moves up: lookups still find it here
	} else {
		c.entries[i] = pentry[V]{child: child}
	}
	return c, true
}

// clone copies n with room for extra more entries.
func (n *pnode[V]) clone(extra int) *pnode[V] {
	c := &pnode[V]{bitmap: n.bitmap, entries: make([]pentry[V], len(n.entries), len(n.entries)+extra)}
	copy(c.entries, n.entries)
	return c
}

// without returns a copy of n without entry i, whose bitmap bit is bit (0 in a bucket);
// nil if nothing is left.
func (n *pnode[V]) without(i int, bit uint32) *pnode[V] {
	if len(n.entries) == 1 {
		return nil
	}
	c := &pnode[V]{bitmap: n.bitmap &^ bit, entries: make([]pentry[V], 0, len(n.entries)-1)}
	c.entries = append(append(c.entries, n.entries[:i]...), n.entries[i+1:]...)
	return c
}

// pset is an immutable set of strings.
type pset = pmap[struct{}]

// pmapOf returns a pmap holding the entries of m, built in one pass rather than by n
// Sets, each of which copies a path.
func pmapOf[V any](m map[string]V) pmap[V] {
	ents := make([]pentry[V], 0, len(m))
	hashes := make([]uint64, 0, len(m))
	for k, v := range m {
		ents = append(ents, pentry[V]{key: k, val: v})
		hashes = append(hashes, pmapHash(k))
	}
	if len(ents) == 0 {
		return pmap[V]{}
	}
	// One scratch array for every level, rather than one per node: what the build leaves
	// behind is only the nodes.
	tmp, tmpH := make([]pentry[V], len(ents)), make([]uint64, len(ents))
	return pmap[V]{root: buildPnode(ents, hashes, tmp, tmpH, 0), n: len(ents)}
}

// buildPnode returns the node at shift holding ents (whose hashes are hashes), which it
// reorders, using tmp and tmpH (as long as ents) as scratch.
func buildPnode[V any](ents []pentry[V], hashes []uint64, tmp []pentry[V], tmpH []uint64, shift uint) *pnode[V] {
	if shift > pmapMaxShift {
		return &pnode[V]{entries: slices.Clone(ents)}
	}
	var count [33]int
	for _, h := range hashes {
		count[(h>>shift)&31+1]++
	}
	n := &pnode[V]{}
	for i := range 32 {
		if count[i+1] > 0 {
			n.bitmap |= 1 << i
		}
		count[i+1] += count[i] // count[i] is now where slot i starts
	}
	next := count
	for i, h := range hashes {
		s := (h >> shift) & 31
		tmp[next[s]], tmpH[next[s]] = ents[i], h
		next[s]++
	}
	copy(ents, tmp)
	copy(hashes, tmpH)
	n.entries = make([]pentry[V], 0, bits.OnesCount32(n.bitmap))
	for i := range 32 {
		lo, hi := count[i], count[i+1]
		switch {
		case hi-lo == 1:
			n.entries = append(n.entries, ents[lo])
		case hi-lo > 1:
			n.entries = append(n.entries, pentry[V]{child: buildPnode(ents[lo:hi], hashes[lo:hi], tmp[lo:hi], tmpH[lo:hi], shift+pmapBits)})
		}
	}
	return n
}
