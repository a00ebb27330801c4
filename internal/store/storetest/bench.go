package storetest

import (
	"strconv"
	"testing"

	"github.com/iamdb/iamdb/internal/store"
)

// Bench runs the benchmarks every backend reports, so that backends compare side by side
// in one run (docs/benchmarks.md): Update (one durable commit of one small item: the cost of
// a write, dominated by flushing the log), UpdateParallel (Updates from many goroutines,
// serialised by the backend), and ViewGet (a snapshot transaction with one Get). open
// returns a fresh, empty store, closed by the caller's cleanup.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("Update", func(b *testing.B) {
		s := open(b)
		value := []byte(`{"UserName":"alice","UserId":"AIDAEXAMPLE","Path":"/"}`)
		i := 0
		for b.Loop() {
			key := "123456789012/u" + strconv.Itoa(i%1000)
			i++
			if err := s.Update(b.Context(), func(tx store.Tx) error { return tx.Put("user", key, value) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UpdateParallel", func(b *testing.B) {
		s := open(b)
		value := []byte(`{"UserName":"alice"}`)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				key := "u" + strconv.Itoa(i%1000)
				i++
				if err := s.Update(b.Context(), func(tx store.Tx) error { return tx.Put("user", key, value) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ViewGet", func(b *testing.B) {
		s := open(b)
		err := s.Update(b.Context(), func(tx store.Tx) error {
			for i := range 1000 {
				if err := tx.Put("user", "123456789012/u"+strconv.Itoa(i), []byte(`{"UserName":"u"}`)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			key := "123456789012/u" + strconv.Itoa(i%1000)
			i++
			if err := s.View(b.Context(), func(tx store.Tx) error { _, err := tx.Get("user", key); return err }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
