package sqlite

import (
	"testing"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storetest"
)

// BenchmarkStore runs the backends' common benchmarks on a fresh SQLite file (WAL,
// synchronous=FULL: every commit is fsync'ed).
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, _ := openTemp(b)
		return s
	})
}
