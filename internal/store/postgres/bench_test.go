package postgres

import (
	"strconv"
	"testing"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storetest"
)

// BenchmarkStore runs the backends' common benchmarks on a fresh database of the throwaway
// cluster, which runs with fsync on when benchmarks run (see pg), so that a commit costs
// what it costs on a production server on this disk.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openDB(b, newDB(b)) })
}

// BenchmarkCommitSeenByReplica measures one Update through store A until store B (another
// Store on the same database, as another replica has) receives its revision from Watch:
// the commit plus NOTIFY, delivery to B's listening connection, and B's revision read.
// Compare with BenchmarkStore/Update, the commit alone.
func BenchmarkCommitSeenByReplica(b *testing.B) {
	db := newDB(b)
	a, r := openDB(b, db), openDB(b, db)
	w := r.Watch(b.Context())
	value := []byte(`{"UserName":"alice"}`)
	i := 0
	for b.Loop() {
		key := "u" + strconv.Itoa(i%1000)
		i++
		var rev int64
		if err := a.Update(b.Context(), func(tx store.Tx) error {
			if err := tx.Put("user", key, value); err != nil {
				return err
			}
			it, err := tx.Get("user", key) // Rev: the revision this Update commits as
			rev = it.Rev
			return err
		}); err != nil {
			b.Fatal(err)
		}
		for seen := int64(0); seen < rev; {
			v, ok := <-w
			if !ok {
				b.Fatal("watch closed")
			}
			seen = v
		}
	}
}
