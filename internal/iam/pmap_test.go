package iam

import (
	"maps"
	"math/rand/v2"
	"strconv"
	"testing"
)

// pmap behaves as a map under random sets and deletes, and every older version stays as it
// was; with a hash that collides often, and with one that always does.
func TestPmap(t *testing.T) {
	real := pmapHash
	defer func() { pmapHash = real }()
	for name, h := range map[string]func(string) uint64{
		"maphash": real,
		"few":     func(k string) uint64 { return real(k) & 0x8000_0000_0000_001f },
		"one":     func(string) uint64 { return 42 },
	} {
		t.Run(name, func(t *testing.T) {
			pmapHash = h
			r := rand.New(rand.NewPCG(1, 2))
			var m pmap[int]
			want := map[string]int{}
			type version struct {
				m    pmap[int]
				want map[string]int
			}
			var versions []version
			for i := range 3000 {
				k := strconv.Itoa(r.IntN(300))
				if r.IntN(3) == 0 {
					m = m.Delete(k)
					delete(want, k)
				} else {
					m = m.Set(k, i)
					want[k] = i
				}
				if i%100 == 0 {
					versions = append(versions, version{m, maps.Clone(want)})
				}
			}
			versions = append(versions, version{m, maps.Clone(want)})
			bulk := pmapOf(want)
			versions = append(versions, version{bulk, maps.Clone(want)})
			for k := range 320 { // a bulk-built map takes Sets and Deletes like any other
				key := strconv.Itoa(k)
				if k%2 == 0 {
					bulk = bulk.Delete(key)
					delete(want, key)
				} else {
					bulk = bulk.Set(key, -k)
					want[key] = -k
				}
			}
			versions = append(versions, version{bulk, want})
			for _, v := range versions {
				if v.m.Len() != len(v.want) {
					t.Fatalf("Len() = %d, want %d", v.m.Len(), len(v.want))
				}
				got := map[string]int{}
				for k, x := range v.m.All() {
					got[k] = x
				}
				if !maps.Equal(got, v.want) {
					t.Fatalf("All() = %v, want %v", got, v.want)
				}
				for k := range 310 {
					x, ok := v.m.Lookup(strconv.Itoa(k))
					y, wok := v.want[strconv.Itoa(k)]
					if ok != wok || x != y {
						t.Fatalf("Lookup(%d) = %d, %v; want %d, %v", k, x, ok, y, wok)
					}
				}
			}
		})
	}
}
