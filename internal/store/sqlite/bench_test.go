package sqlite

import (
	"strconv"
	"testing"

	"github.com/iamdb/iamdb/internal/store"
)

// BenchmarkUpdate measures one committed Update writing one small item: the cost of a
// durable write, dominated by the fsync of the log.
func BenchmarkUpdate(b *testing.B) {
	s, _ := openTemp(b)
	value := []byte(`{"UserName":"alice","UserId":"AIDAEXAMPLE","Path":"/"}`)
	i := 0
	for b.Loop() {
		key := "123456789012/u" + strconv.Itoa(i%1000)
		i++
		if err := s.Update(b.Context(), func(tx store.Tx) error { return tx.Put("user", key, value) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateParallel: Updates from many goroutines serialise on the one writer.
func BenchmarkUpdateParallel(b *testing.B) {
	s, _ := openTemp(b)
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
}

// BenchmarkViewGet measures a read-only snapshot transaction with one Get.
func BenchmarkViewGet(b *testing.B) {
	s, _ := openTemp(b)
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
}
