package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// Run runs the compliance suite. open must return a new, empty store each time it is called
// (subtests run in parallel, each with its own); Run closes it when the subtest ends, so
// open may but need not register its own cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CRUD", testCRUD},
		{"Values", testValues},
		{"KindsAreSeparate", testKindsAreSeparate},
		{"ListOrder", testListOrder},
		{"ListPrefix", testListPrefix},
		{"ListPagination", testListPagination},
		{"ListSeesOwnWrites", testListSeesOwnWrites},
		{"Rollback", testRollback},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"SwallowedFailureIsNotCommitted", testSwallowedSentinel},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"ViewIsolation", testViewIsolation},
		{"Revision", testRevision},
		{"ItemRev", testItemRev},
		{"Changes", testChanges},
		{"UpdateQuiet", testUpdateQuiet},
		{"Watch", testWatch},
		{"WatchCoalesces", testWatchCoalesces},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"Bounds", testBounds},
		{"InvalidArguments", testInvalid},
		{"CanceledContext", testCanceledContext},
		{"TxAfterReturn", testTxAfterReturn},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close() = %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

var errTest = errors.New("storetest: fn failed on purpose")

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update() = %v", err)
	}
}

func put(t *testing.T, s store.Store, kind, key, value string) {
	t.Helper()
	update(t, s, func(tx store.Tx) error { return tx.Put(kind, key, []byte(value)) })
}

// get returns the value, or "" and false if absent.
func get(t *testing.T, s store.Store, kind, key string) (store.Item, bool) {
	t.Helper()
	var it store.Item
	var found bool
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		it, err = tx.Get(kind, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		t.Fatalf("View(Get(%q, %q)) = %v", kind, key, err)
	}
	return it, found
}

func list(t *testing.T, s store.Store, kind, prefix, after string, limit int) []string {
	t.Helper()
	var keys []string
	err := s.View(t.Context(), func(tx store.Tx) error {
		items, err := tx.List(kind, prefix, after, limit)
		for _, it := range items {
			if it.Kind != kind {
				t.Errorf("List(%q, …) returned an item of kind %q", kind, it.Kind)
			}
			keys = append(keys, it.Key)
		}
		return err
	})
	if err != nil {
		t.Fatalf("View(List(%q, %q, %q, %d)) = %v", kind, prefix, after, limit, err)
	}
	return keys
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision() = %v", err)
	}
	return rev
}

func testCRUD(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.Get("user", "1/alice"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(absent) = %v, want ErrNotFound", err)
		}
		if err := tx.Delete("user", "1/alice"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Delete(absent) = %v, want ErrNotFound", err)
		}
		if err := tx.Create("user", "1/alice", []byte("v1")); err != nil {
			t.Errorf("Create() = %v", err)
		}
		if err := tx.Create("user", "1/alice", []byte("v2")); !errors.Is(err, store.ErrExists) {
			t.Errorf("Create(present) = %v, want ErrExists", err)
		}
		it, err := tx.Get("user", "1/alice")
		if err != nil || string(it.Value) != "v1" || it.Kind != "user" || it.Key != "1/alice" {
			t.Errorf("Get() = %+v, %v; want user 1/alice v1", it, err)
		}
		return nil
	})
	if it, ok := get(t, s, "user", "1/alice"); !ok || string(it.Value) != "v1" || it.Kind != "user" || it.Key != "1/alice" {
		t.Errorf("after commit Get() = %+v, %v; want user 1/alice v1", it, ok)
	}

	put(t, s, "user", "1/alice", "v3") // replace
	if it, _ := get(t, s, "user", "1/alice"); string(it.Value) != "v3" {
		t.Errorf("after Put Get() = %q, want v3", it.Value)
	}
	put(t, s, "user", "1/bob", "b") // create
	if it, ok := get(t, s, "user", "1/bob"); !ok || string(it.Value) != "b" {
		t.Errorf("Put(new) then Get() = %q, %v, want b", it.Value, ok)
	}

	update(t, s, func(tx store.Tx) error {
		if err := tx.Delete("user", "1/alice"); err != nil {
			t.Errorf("Delete() = %v", err)
		}
		if _, err := tx.Get("user", "1/alice"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(deleted, same tx) = %v, want ErrNotFound", err)
		}
		if err := tx.Delete("user", "1/alice"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Delete(deleted) = %v, want ErrNotFound", err)
		}
		return nil
	})
	if _, ok := get(t, s, "user", "1/alice"); ok {
		t.Errorf("deleted item still present")
	}
	// Create after Delete works again.
	update(t, s, func(tx store.Tx) error { return tx.Create("user", "1/alice", []byte("v4")) })
	if it, _ := get(t, s, "user", "1/alice"); string(it.Value) != "v4" {
		t.Errorf("Create after Delete: Get() = %q, want v4", it.Value)
	}
}

func testValues(t *testing.T, s store.Store) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := map[string][]byte{
		"nil":    nil,
		"empty":  {},
		"binary": all,
		"json":   []byte(`{"UserName":"alice","Arn":"arn:aws:iam::123456789012:user/alice"}`),
		"max":    bytes.Repeat([]byte{0xA5}, store.MaxValueLen),
	}
	update(t, s, func(tx store.Tx) error {
		for k, v := range cases {
			if err := tx.Put("v", k, v); err != nil {
				return err
			}
		}
		return nil
	})
	for k, want := range cases {
		it, ok := get(t, s, "v", k)
		if !ok || !bytes.Equal(it.Value, want) {
			t.Errorf("Get(v, %q): %d bytes, found %v; want %d bytes", k, len(it.Value), ok, len(want))
		}
	}

	// The store copies what it is given, and hands out copies.
	buf := []byte("original")
	update(t, s, func(tx store.Tx) error {
		err := tx.Put("v", "copy", buf)
		copy(buf, "mutated!")
		return err
	})
	it, _ := get(t, s, "v", "copy")
	if string(it.Value) != "original" {
		t.Errorf("Put kept a reference to the caller's slice: Get() = %q", it.Value)
	}
	it.Value[0] = 'X'
	if again, _ := get(t, s, "v", "copy"); string(again.Value) != "original" {
		t.Errorf("Get returned shared memory: after mutation Get() = %q", again.Value)
	}
}

func testKindsAreSeparate(t *testing.T, s store.Store) {
	put(t, s, "user", "k", "u")
	put(t, s, "role", "k", "r")
	put(t, s, "users", "k", "us")
	for kind, want := range map[string]string{"user": "u", "role": "r", "users": "us"} {
		if it, _ := get(t, s, kind, "k"); string(it.Value) != want {
			t.Errorf("Get(%q, k) = %q, want %q", kind, it.Value, want)
		}
	}
	if got := list(t, s, "user", "", "", 0); !slices.Equal(got, []string{"k"}) {
		t.Errorf("List(user) = %q, want [k]", got)
	}
	if got := list(t, s, "use", "", "", 0); len(got) != 0 {
		t.Errorf("List(use) = %q, want none", got)
	}
	update(t, s, func(tx store.Tx) error { return tx.Delete("role", "k") })
	if _, ok := get(t, s, "user", "k"); !ok {
		t.Errorf("Delete(role, k) removed user k")
	}
}

// listKeys are keys chosen to break naive implementations: LIKE wildcards, separators,
// case, multi-byte UTF-8 and the edges of its encoding lengths.
var listKeys = []string{
	"a", "A", "b", "ab", "a/b", "a/b/c", "a//", "a0", "a%", "a%b", "a_", "a_b", "axb", "a\\b",
	"%", "_", "%%", "__", "a.b", "a b", "a~", "a\u007f", "a\u0080", "a\u07ff", "a\u0800",
	"a\uffff", "a\U00010000", "a\U0010ffff", "a\U0010ffffz", "\U0010ffff", "é", "éa", "e",
	"ê", "😀", "😀/x", "123456789012/alice", "123456789012/alice2", "123456789012/bob",
	"12345678901/x", "'", "a'b", "a\"b", "a;b",
}

func putKeys(t *testing.T, s store.Store, kind string, keys []string) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Create(kind, k, []byte("v:"+k)); err != nil {
				return fmt.Errorf("Create(%q): %w", k, err)
			}
		}
		return nil
	})
}

func testListOrder(t *testing.T, s store.Store) {
	putKeys(t, s, "k", listKeys)
	putKeys(t, s, "other", []string{"a", "zzz"})
	want := slices.Clone(listKeys)
	slices.Sort(want) // Go compares strings bytewise
	if got := list(t, s, "k", "", "", 0); !slices.Equal(got, want) {
		t.Errorf("List(k) =\n%q\nwant byte order\n%q", got, want)
	}
	err := s.View(t.Context(), func(tx store.Tx) error {
		items, err := tx.List("k", "a%", "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			if string(it.Value) != "v:"+it.Key || it.Rev <= 0 {
				t.Errorf("List item %q = %q rev %d, want value %q and a revision", it.Key, it.Value, it.Rev, "v:"+it.Key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testListPrefix(t *testing.T, s store.Store) {
	putKeys(t, s, "k", listKeys)
	putKeys(t, s, "k2", []string{"a%", "a_"}) // another kind: never listed
	prefixes := []string{
		"", "a", "A", "a%", "a_", "%", "_", "a/", "a/b", "a\\", "é", "e", "a\u007f",
		"a\uffff", "a\U0010ffff", "\U0010ffff", "😀", "123456789012/", "123456789012/alice",
		"12345678901", "'", "a'", "zzz", "a/b/c/d",
	}
	sorted := slices.Clone(listKeys)
	slices.Sort(sorted)
	for _, p := range prefixes {
		var want []string
		for _, k := range sorted {
			if strings.HasPrefix(k, p) {
				want = append(want, k)
			}
		}
		if got := list(t, s, "k", p, "", 0); !slices.Equal(got, want) {
			t.Errorf("List(k, prefix %q) = %q, want %q", p, got, want)
		}
	}
}

func testListPagination(t *testing.T, s store.Store) {
	var keys []string
	for i := range 57 {
		keys = append(keys, fmt.Sprintf("p/%03d", i))
	}
	putKeys(t, s, "k", keys)
	putKeys(t, s, "k", []string{"o/1", "q/1", "p", "p0"})
	for _, limit := range []int{1, 2, 10, 56, 57, 58, 100} {
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > 100 {
				t.Fatalf("limit %d: pagination does not end", limit)
			}
			keys := list(t, s, "k", "p/", after, limit)
			if len(keys) > limit {
				t.Fatalf("List(limit %d) returned %d items", limit, len(keys))
			}
			got = append(got, keys...)
			if len(keys) < limit {
				break
			}
			after = keys[len(keys)-1]
		}
		if !slices.Equal(got, keys) {
			t.Errorf("pages of %d = %q, want %q", limit, got, keys)
		}
	}
	// after before the prefix, inside it, past it; and after without a prefix.
	if got := list(t, s, "k", "p/", "a", 2); !slices.Equal(got, []string{"p/000", "p/001"}) {
		t.Errorf("List(p/, after a) = %q", got)
	}
	if got := list(t, s, "k", "p/", "p/0555", 3); !slices.Equal(got, []string{"p/056"}) {
		t.Errorf("List(p/, after p/0555) = %q, want [p/056]", got)
	}
	if got := list(t, s, "k", "p/", "p/056", 0); len(got) != 0 {
		t.Errorf("List(p/, after last) = %q, want none", got)
	}
	if got := list(t, s, "k", "p/", "zzz", 0); len(got) != 0 {
		t.Errorf("List(p/, after zzz) = %q, want none", got)
	}
	if got := list(t, s, "k", "", "p/056", 0); !slices.Equal(got, []string{"p0", "q/1"}) {
		t.Errorf("List(all, after p/056) = %q, want [p0 q/1]", got)
	}
	if got := list(t, s, "k", "", "", 3); !slices.Equal(got, []string{"o/1", "p", "p/000"}) {
		t.Errorf("List(all, limit 3) = %q", got)
	}
}

func testListSeesOwnWrites(t *testing.T, s store.Store) {
	putKeys(t, s, "k", []string{"a", "b", "c"})
	update(t, s, func(tx store.Tx) error {
		if err := tx.Delete("k", "b"); err != nil {
			return err
		}
		if err := tx.Put("k", "bb", []byte("new")); err != nil {
			return err
		}
		items, err := tx.List("k", "", "", 0)
		if err != nil {
			return err
		}
		var got []string
		for _, it := range items {
			got = append(got, it.Key)
		}
		if want := []string{"a", "bb", "c"}; !slices.Equal(got, want) {
			t.Errorf("List inside Update = %q, want %q", got, want)
		}
		return nil
	})
}

func testRollback(t *testing.T, s store.Store) {
	putKeys(t, s, "k", []string{"keep", "gone"})
	before := revision(t, s)
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for i := range 20 {
			if err := tx.Put("k", fmt.Sprintf("new%d", i), []byte("x")); err != nil {
				return err
			}
		}
		if err := tx.Put("k", "keep", []byte("changed")); err != nil {
			return err
		}
		if err := tx.Delete("k", "gone"); err != nil {
			return err
		}
		return errTest
	})
	if err != errTest {
		t.Fatalf("Update() = %v, want the fn's error as is", err)
	}
	if got := list(t, s, "k", "", "", 0); !slices.Equal(got, []string{"gone", "keep"}) {
		t.Errorf("after rollback List() = %q, want [gone keep]", got)
	}
	if it, _ := get(t, s, "k", "keep"); string(it.Value) != "v:keep" {
		t.Errorf("after rollback Get(keep) = %q, want v:keep", it.Value)
	}
	if after := revision(t, s); after != before {
		t.Errorf("Revision() after rollback = %d, want %d", after, before)
	}
	// A wrapped error is returned as is too.
	wrapped := fmt.Errorf("domain: %w", errTest)
	if err := s.Update(t.Context(), func(tx store.Tx) error { return wrapped }); err != wrapped {
		t.Errorf("Update() = %v, want %v", err, wrapped)
	}
	// The store still works.
	put(t, s, "k", "after", "ok")
	if after := revision(t, s); after != before+1 {
		t.Errorf("Revision() = %d, want %d", after, before+1)
	}
}

func testRollbackOnPanic(t *testing.T, s store.Store) {
	before := revision(t, s)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recover() = %v, want the panic to propagate", r)
			}
		}()
		_ = s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.Put("k", "half", []byte("x")); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if _, ok := get(t, s, "k", "half"); ok {
		t.Errorf("a write before the panic was committed")
	}
	if after := revision(t, s); after != before {
		t.Errorf("Revision() after panic = %d, want %d", after, before)
	}
	// The write lock was released.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("k", "after", nil) }); err != nil {
		t.Errorf("Update() after a panic = %v", err)
	}
}

// An fn that swallows a sentinel error and returns nil commits the rest: sentinels do not
// poison the transaction (the domain layer uses ErrExists and ErrNotFound as answers).
func testSwallowedSentinel(t *testing.T, s store.Store) {
	put(t, s, "k", "present", "v")
	before := revision(t, s)
	update(t, s, func(tx store.Tx) error {
		if err := tx.Create("k", "present", []byte("other")); !errors.Is(err, store.ErrExists) {
			t.Errorf("Create(present) = %v, want ErrExists", err)
		}
		if err := tx.Put("k", strings.Repeat("x", store.MaxKeyLen+1), nil); !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("Put(long key) = %v, want ErrTooLarge", err)
		}
		return tx.Put("k", "written", []byte("w"))
	})
	if it, _ := get(t, s, "k", "written"); string(it.Value) != "w" {
		t.Errorf("Get(written) = %q, want w", it.Value)
	}
	if it, _ := get(t, s, "k", "present"); string(it.Value) != "v" {
		t.Errorf("Get(present) = %q, want v (Create must not overwrite)", it.Value)
	}
	if after := revision(t, s); after != before+1 {
		t.Errorf("Revision() = %d, want %d", after, before+1)
	}
}

func testViewIsReadOnly(t *testing.T, s store.Store) {
	put(t, s, "k", "a", "v")
	err := s.View(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("k", "b", []byte("x")); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Put in View = %v, want ErrReadOnly", err)
		}
		if err := tx.Create("k", "c", []byte("x")); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Create in View = %v, want ErrReadOnly", err)
		}
		if err := tx.Delete("k", "a"); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Delete in View = %v, want ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View() = %v", err)
	}
	if got := list(t, s, "k", "", "", 0); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after View writes List() = %q, want [a]", got)
	}
	if err := s.View(t.Context(), func(store.Tx) error { return errTest }); err != errTest {
		t.Errorf("View() = %v, want the fn's error as is", err)
	}
}

// A View that has read sees the same committed state to its end, while an Update commits.
func testViewIsolation(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, k := range []string{"a", "b", "c"} {
			if err := tx.Put("acct", k, []byte("100")); err != nil {
				return err
			}
		}
		return nil
	})
	rev0 := revision(t, s)
	err := s.View(t.Context(), func(tx store.Tx) error {
		a, err := tx.Get("acct", "a")
		if err != nil {
			return err
		}
		// Commit a transfer and a new item while this View is open. Done synchronously on
		// another goroutine: a backend whose writers wait for readers would deadlock here
		// and fail the test by its timeout rather than silently pass.
		done := make(chan error, 1)
		go func() {
			done <- s.Update(t.Context(), func(tx store.Tx) error {
				if err := tx.Put("acct", "a", []byte("50")); err != nil {
					return err
				}
				if err := tx.Put("acct", "b", []byte("150")); err != nil {
					return err
				}
				if err := tx.Delete("acct", "c"); err != nil {
					return err
				}
				return tx.Put("acct", "d", []byte("1"))
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("concurrent Update: %w", err)
			}
		case <-time.After(30 * time.Second):
			return errors.New("an Update waited for an open View")
		}
		b, err := tx.Get("acct", "b")
		if err != nil {
			return err
		}
		if string(a.Value) != "100" || string(b.Value) != "100" {
			t.Errorf("View saw a=%s b=%s, want the snapshot 100 100", a.Value, b.Value)
		}
		if _, err := tx.Get("acct", "c"); err != nil {
			t.Errorf("View: Get(c) = %v, want the snapshot's c", err)
		}
		if _, err := tx.Get("acct", "d"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("View: Get(d) = %v, want ErrNotFound in the snapshot", err)
		}
		items, err := tx.List("acct", "", "", 0)
		if err != nil {
			return err
		}
		var keys []string
		for _, it := range items {
			keys = append(keys, it.Key)
		}
		if !slices.Equal(keys, []string{"a", "b", "c"}) {
			t.Errorf("View: List() = %q, want the snapshot [a b c]", keys)
		}
		for _, it := range items {
			if it.Rev > rev0 {
				t.Errorf("View: item %q has rev %d, newer than the snapshot's %d", it.Key, it.Rev, rev0)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View() = %v", err)
	}
	// A new View sees the commit.
	if it, _ := get(t, s, "acct", "b"); string(it.Value) != "150" {
		t.Errorf("after commit Get(b) = %q, want 150", it.Value)
	}
}

func testRevision(t *testing.T, s store.Store) {
	r0 := revision(t, s)
	put(t, s, "k", "a", "1")
	if r := revision(t, s); r != r0+1 {
		t.Errorf("after one write Revision() = %d, want %d", r, r0+1)
	}
	update(t, s, func(tx store.Tx) error { // many writes, one revision
		for i := range 5 {
			if err := tx.Put("k", strconv.Itoa(i), nil); err != nil {
				return err
			}
		}
		return tx.Delete("k", "a")
	})
	if r := revision(t, s); r != r0+2 {
		t.Errorf("after a five-write Update Revision() = %d, want %d", r, r0+2)
	}
	update(t, s, func(tx store.Tx) error { // reads only
		_, err := tx.Get("k", "0")
		if err != nil {
			return err
		}
		_, err = tx.List("k", "", "", 0)
		return err
	})
	update(t, s, func(tx store.Tx) error { // failed writes only
		if err := tx.Delete("k", "absent"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Delete(absent) = %v", err)
		}
		if err := tx.Create("k", "0", nil); !errors.Is(err, store.ErrExists) {
			t.Errorf("Create(present) = %v", err)
		}
		return nil
	})
	_ = s.Update(t.Context(), func(tx store.Tx) error { // rolled back
		_ = tx.Put("k", "z", nil)
		return errTest
	})
	_ = s.View(t.Context(), func(tx store.Tx) error { _, err := tx.Get("k", "0"); return err })
	if r := revision(t, s); r != r0+2 {
		t.Errorf("after read-only, no-op and rolled-back Updates Revision() = %d, want %d", r, r0+2)
	}
	put(t, s, "k", "0", "again") // overwriting with anything is a write
	if r := revision(t, s); r != r0+3 {
		t.Errorf("Revision() = %d, want %d", r, r0+3)
	}
}

// changes returns Tx.Changes(since, limit) in a View, and the View's Revision.
func changes(t *testing.T, s store.Store, since int64, limit int) ([]store.Change, int64, error) {
	t.Helper()
	var out []store.Change
	var rev int64
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		if rev, err = tx.Revision(); err != nil {
			t.Fatalf("Tx.Revision() = %v", err)
		}
		out, err = tx.Changes(since, limit)
		return err
	})
	return out, rev, err
}

func testChanges(t *testing.T, s store.Store) {
	r0 := revision(t, s)
	if got, rev, err := changes(t, s, r0, 0); err != nil || len(got) != 0 || rev != r0 {
		t.Fatalf("Changes(%d) on a new store = %v, rev %d, %v; want none at %d", r0, got, rev, err, r0)
	}
	put(t, s, "k", "a", "1")
	update(t, s, func(tx store.Tx) error {
		if rev, err := tx.Revision(); err != nil || rev != r0+1 {
			t.Errorf("Tx.Revision() inside an Update = %d, %v; want the committed %d", rev, err, r0+1)
		}
		for _, k := range []string{"c", "b", "c"} { // twice: listed once
			if err := tx.Put("k", k, []byte(k)); err != nil {
				return err
			}
		}
		if err := tx.Put("j", "z", nil); err != nil {
			return err
		}
		return tx.Delete("k", "a")
	})
	update(t, s, func(tx store.Tx) error { // no change: not logged
		_ = tx.Delete("k", "absent")
		_ = tx.Create("k", "b", nil)
		return nil
	})
	_ = s.Update(t.Context(), func(tx store.Tx) error { // rolled back: not logged
		_ = tx.Put("k", "rolled back", nil)
		return errTest
	})
	want := []store.Change{
		{Rev: r0 + 1, Kind: "k", Key: "a"},
		{Rev: r0 + 2, Kind: "j", Key: "z"}, {Rev: r0 + 2, Kind: "k", Key: "a"},
		{Rev: r0 + 2, Kind: "k", Key: "b"}, {Rev: r0 + 2, Kind: "k", Key: "c"},
	}
	got, rev, err := changes(t, s, r0, 0)
	if err != nil || !slices.Equal(got, want) || rev != r0+2 {
		t.Errorf("Changes(%d) = %v, rev %d, %v;\nwant %v at %d", r0, got, rev, err, want, r0+2)
	}
	if got, _, err := changes(t, s, r0+1, 0); err != nil || !slices.Equal(got, want[1:]) {
		t.Errorf("Changes(%d) = %v, %v; want %v", r0+1, got, err, want[1:])
	}
	if got, _, err := changes(t, s, r0, 2); err != nil || !slices.Equal(got, want[:2]) {
		t.Errorf("Changes(%d, limit 2) = %v, %v; want %v", r0, got, err, want[:2])
	}
	if got, _, err := changes(t, s, r0+2, 0); err != nil || len(got) != 0 {
		t.Errorf("Changes(current) = %v, %v; want none", got, err)
	}
	for _, since := range []int64{r0 + 3, -1} {
		if _, _, err := changes(t, s, since, 0); !errors.Is(err, store.ErrChangesGone) {
			t.Errorf("Changes(%d) = %v, want ErrChangesGone", since, err)
		}
	}
	if _, _, err := changes(t, s, r0, -1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Changes(limit -1) = %v, want ErrInvalid", err)
	}
	// A View lists only the changes its snapshot sees, even if more commit meanwhile.
	err = s.View(t.Context(), func(tx store.Tx) error {
		if _, err := tx.Revision(); err != nil {
			return err
		}
		put(t, s, "k", "later", "1")
		rev, err := tx.Revision()
		if err != nil {
			return err
		}
		got, err := tx.Changes(r0, 0)
		if err != nil {
			return err
		}
		if rev != r0+2 || !slices.Equal(got, want) {
			t.Errorf("in a View begun before a commit: Revision %d, Changes %v; want %d, %v", rev, got, r0+2, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, rev, err := changes(t, s, r0+2, 0); err != nil || rev != r0+3 ||
		!slices.Equal(got, []store.Change{{Rev: r0 + 3, Kind: "k", Key: "later"}}) {
		t.Errorf("Changes(%d) after the commit = %v, rev %d, %v", r0+2, got, rev, err)
	}
}

func testUpdateQuiet(t *testing.T, s store.Store) {
	put(t, s, "k", "a", "1")
	r1 := revision(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := s.Watch(ctx)
	err := s.UpdateQuiet(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("k", "b", []byte("quiet")); err != nil {
			return err
		}
		return tx.Put("k", "a", []byte("2"))
	})
	if err != nil {
		t.Fatalf("UpdateQuiet() = %v", err)
	}
	if r := revision(t, s); r != r1 {
		t.Errorf("after UpdateQuiet Revision() = %d, want %d", r, r1)
	}
	for k, v := range map[string]string{"a": "2", "b": "quiet"} {
		if it, ok := get(t, s, "k", k); !ok || string(it.Value) != v || it.Rev != r1 {
			t.Errorf("Get(%s) after UpdateQuiet = %q rev %d (found %v), want %q rev %d", k, it.Value, it.Rev, ok, v, r1)
		}
	}
	if got, _, err := changes(t, s, r1, 0); err != nil || len(got) != 0 {
		t.Errorf("Changes(%d) after UpdateQuiet = %v, %v; want none", r1, got, err)
	}
	if got, _, err := changes(t, s, r1-1, 0); err != nil || !slices.Equal(got, []store.Change{{Rev: r1, Kind: "k", Key: "a"}}) {
		t.Errorf("Changes(%d) after UpdateQuiet = %v, %v; want only the Update's", r1-1, got, err)
	}
	select {
	case v := <-ch:
		t.Errorf("Watch received %d after UpdateQuiet", v)
	case <-time.After(200 * time.Millisecond):
	}
	if err := s.UpdateQuiet(t.Context(), func(tx store.Tx) error {
		_ = tx.Put("k", "c", nil)
		return errTest
	}); !errors.Is(err, errTest) {
		t.Errorf("UpdateQuiet(failing fn) = %v", err)
	}
	if _, ok := get(t, s, "k", "c"); ok {
		t.Error("a failed UpdateQuiet was committed")
	}
	put(t, s, "k", "d", "1")
	if v, _ := recvWithin(t, ch); v != r1+1 {
		t.Errorf("Watch received %d after the next Update, want %d", v, r1+1)
	}
}

func testItemRev(t *testing.T, s store.Store) {
	var inside int64
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("k", "a", []byte("1")); err != nil {
			return err
		}
		if err := tx.Put("k", "b", []byte("1")); err != nil {
			return err
		}
		it, err := tx.Get("k", "a")
		inside = it.Rev
		return err
	})
	r1 := revision(t, s)
	if inside != r1 {
		t.Errorf("Rev inside the Update = %d, want the revision it committed as, %d", inside, r1)
	}
	a, _ := get(t, s, "k", "a")
	b, _ := get(t, s, "k", "b")
	if a.Rev != r1 || b.Rev != r1 {
		t.Errorf("Rev of a, b = %d, %d; want %d", a.Rev, b.Rev, r1)
	}
	put(t, s, "k", "b", "2")
	r2 := revision(t, s)
	a, _ = get(t, s, "k", "a")
	b, _ = get(t, s, "k", "b")
	if a.Rev != r1 || b.Rev != r2 || r2 != r1+1 {
		t.Errorf("after writing b: Rev a=%d b=%d, want a=%d b=%d", a.Rev, b.Rev, r1, r1+1)
	}
	var listed []store.Item
	_ = s.View(t.Context(), func(tx store.Tx) error {
		var err error
		listed, err = tx.List("k", "", "", 0)
		return err
	})
	if len(listed) != 2 || listed[0].Rev != r1 || listed[1].Rev != r2 {
		t.Errorf("List revs = %+v, want a@%d b@%d", listed, r1, r2)
	}
}

func recvWithin(t *testing.T, ch <-chan int64) (int64, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(10 * time.Second):
		t.Fatalf("Watch channel: nothing within 10s")
		return 0, false
	}
}

func testWatch(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Watch(ctx)
	put(t, s, "k", "a", "1")
	r1 := revision(t, s)
	if v, ok := recvWithin(t, ch); !ok || v != r1 {
		t.Errorf("Watch received %d, %v; want %d", v, ok, r1)
	}
	// Read-only and rolled-back Updates notify nothing: the next value is the next write's.
	update(t, s, func(tx store.Tx) error { _, err := tx.Get("k", "a"); return err })
	_ = s.Update(t.Context(), func(tx store.Tx) error { _ = tx.Put("k", "b", nil); return errTest })
	put(t, s, "k", "c", "1")
	if v, ok := recvWithin(t, ch); !ok || v != r1+1 {
		t.Errorf("Watch received %d, %v; want %d", v, ok, r1+1)
	}
	// A second watcher gets the same.
	ch2 := s.Watch(t.Context())
	put(t, s, "k", "d", "1")
	for i, c := range []<-chan int64{ch, ch2} {
		if v, ok := recvWithin(t, c); !ok || v != r1+2 {
			t.Errorf("watcher %d received %d, %v; want %d", i, v, ok, r1+2)
		}
	}
	cancel()
	for {
		if _, ok := recvWithin(t, ch); !ok {
			break
		}
	}
	// The other watcher is unaffected.
	put(t, s, "k", "e", "1")
	if v, ok := recvWithin(t, ch2); !ok || v != r1+3 {
		t.Errorf("watcher 2 received %d, %v; want %d", v, ok, r1+3)
	}
	// A context that is already done gives a channel that closes.
	done, cancel2 := context.WithCancel(t.Context())
	cancel2()
	for {
		if _, ok := recvWithin(t, s.Watch(done)); !ok {
			break
		}
	}
}

func testWatchCoalesces(t *testing.T, s store.Store) {
	ch := s.Watch(t.Context())
	const n = 20
	for i := range n { // nobody reads meanwhile
		put(t, s, "k", strconv.Itoa(i), "v")
	}
	last := revision(t, s)
	prev := int64(-1)
	for prev != last {
		v, ok := recvWithin(t, ch)
		if !ok {
			t.Fatalf("Watch channel closed early")
		}
		if v <= prev || v > last {
			t.Fatalf("Watch received %d after %d, want increasing up to %d", v, prev, last)
		}
		prev = v
	}
	select {
	case v := <-ch:
		t.Errorf("Watch received %d after the latest %d", v, last)
	default:
	}
}

// Read-modify-write increments from many goroutines lose nothing; Views meanwhile see
// consistent pairs.
func testConcurrentIncrements(t *testing.T, s store.Store) {
	const workers, each = 8, 20
	r0 := revision(t, s)
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("counter", "n", []byte("0")); err != nil {
			return err
		}
		return tx.Put("counter", "mirror", []byte("0"))
	})
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.View(t.Context(), func(tx store.Tx) error {
					n, err := tx.Get("counter", "n")
					if err != nil {
						return err
					}
					m, err := tx.Get("counter", "mirror")
					if err != nil {
						return err
					}
					if !bytes.Equal(n.Value, m.Value) {
						t.Errorf("View saw n=%s mirror=%s: a half-applied Update", n.Value, m.Value)
					}
					return nil
				})
				if err != nil {
					t.Errorf("View() = %v", err)
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for range workers {
		writers.Go(func() {
			for range each {
				err := s.Update(t.Context(), func(tx store.Tx) error {
					v, err := Increment(tx, "counter", "n")
					if err != nil {
						return err
					}
					return tx.Put("counter", "mirror", v)
				})
				if err != nil {
					t.Errorf("Update() = %v", err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	it, _ := get(t, s, "counter", "n")
	if want := strconv.Itoa(workers * each); string(it.Value) != want {
		t.Errorf("counter = %s, want %s", it.Value, want)
	}
	if r := revision(t, s); r != r0+1+workers*each {
		t.Errorf("Revision() = %d, want %d", r, r0+1+workers*each)
	}
}

func testBounds(t *testing.T, s store.Store) {
	kind64, kind65 := strings.Repeat("k", store.MaxKindLen), strings.Repeat("k", store.MaxKindLen+1)
	key1024, key1025 := strings.Repeat("é", store.MaxKeyLen/2), strings.Repeat("x", store.MaxKeyLen+1)
	big := make([]byte, store.MaxValueLen+1)
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(kind64, key1024, make([]byte, store.MaxValueLen)); err != nil {
			t.Errorf("Put at the limits = %v", err)
		}
		for name, err := range map[string]error{
			"Put(long kind)":     tx.Put(kind65, "k", nil),
			"Create(long kind)":  tx.Create(kind65, "k", nil),
			"Put(long key)":      tx.Put("k", key1025, nil),
			"Create(long key)":   tx.Create("k", key1025, nil),
			"Put(big value)":     tx.Put("k", "k", big),
			"Create(big value)":  tx.Create("k", "k", big),
			"Get(long kind)":     second(tx.Get(kind65, "k")),
			"Get(long key)":      second(tx.Get("k", key1025)),
			"Delete(long kind)":  tx.Delete(kind65, "k"),
			"Delete(long key)":   tx.Delete("k", key1025),
			"List(long kind)":    second(tx.List(kind65, "", "", 0)),
			"List(long prefix)":  second(tx.List("k", key1025, "", 0)),
			"List(long after)":   second(tx.List("k", "", key1025, 0)),
			"Put(4-byte runes)":  tx.Put("k", strings.Repeat("😀", store.MaxKeyLen/4+1), nil),
			"Put(kind of runes)": tx.Put(strings.Repeat("é", store.MaxKindLen/2+1), "k", nil),
		} {
			if !errors.Is(err, store.ErrTooLarge) {
				t.Errorf("%s = %v, want ErrTooLarge", name, err)
			}
		}
		return nil
	})
	if it, ok := get(t, s, kind64, key1024); !ok || len(it.Value) != store.MaxValueLen {
		t.Errorf("item at the limits: found %v, %d bytes", ok, len(it.Value))
	}
	if got := list(t, s, "k", "", "", 0); len(got) != 0 {
		t.Errorf("rejected writes left %q", got)
	}
}

func second[T any](_ T, err error) error { return err }

func testInvalid(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for name, err := range map[string]error{
			"Put(empty kind)":     tx.Put("", "k", nil),
			"Put(empty key)":      tx.Put("k", "", nil),
			"Create(empty key)":   tx.Create("k", "", nil),
			"Get(empty key)":      second(tx.Get("k", "")),
			"Delete(empty kind)":  tx.Delete("", "k"),
			"List(empty kind)":    second(tx.List("", "", "", 0)),
			"List(limit -1)":      second(tx.List("k", "", "", -1)),
			"Put(invalid UTF-8)":  tx.Put("k", "a\xffb", nil),
			"Put(NUL)":            tx.Put("k", "a\x00b", nil),
			"Put(kind with NUL)":  tx.Put("k\x00", "a", nil),
			"List(prefix UTF-8)":  second(tx.List("k", "\xc3", "", 0)),
			"List(after NUL)":     second(tx.List("k", "", "\x00", 0)),
			"Get(surrogate half)": second(tx.Get("k", "\xed\xa0\x80")),
		} {
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s = %v, want ErrInvalid", name, err)
			}
		}
		return nil
	})
	if got := list(t, s, "k", "", "", 0); len(got) != 0 {
		t.Errorf("rejected writes left %q", got)
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("k", "a", []byte("x")) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update(canceled) = %v, want context.Canceled", err)
	}
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Get("k", "a"); return err }); !errors.Is(err, context.Canceled) {
		t.Errorf("View(canceled) = %v, want context.Canceled", err)
	}
	// Canceled in the middle: nothing committed.
	ctx, cancel = context.WithCancel(t.Context())
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put("k", "b", []byte("x")); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update(canceled inside fn) = %v, want context.Canceled", err)
	}
	if _, ok := get(t, s, "k", "b"); ok {
		t.Errorf("a write of an Update whose context ended was committed")
	}
	put(t, s, "k", "c", "ok")
}

func testTxAfterReturn(t *testing.T, s store.Store) {
	var leaked store.Tx
	update(t, s, func(tx store.Tx) error { leaked = tx; return nil })
	if err := leaked.Put("k", "late", nil); err == nil {
		t.Errorf("Put on a finished Tx = nil, want an error")
	}
	if _, err := leaked.Get("k", "late"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get on a finished Tx = %v, want an error other than ErrNotFound", err)
	}
	if _, ok := get(t, s, "k", "late"); ok {
		t.Errorf("a write on a finished Tx was stored")
	}
}

func testClosed(t *testing.T, s store.Store) {
	put(t, s, "k", "a", "1")
	ch := s.Watch(t.Context())
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	called := false
	if err := s.Update(t.Context(), func(store.Tx) error { called = true; return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update() after Close = %v, want ErrClosed", err)
	}
	if err := s.View(t.Context(), func(store.Tx) error { called = true; return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View() after Close = %v, want ErrClosed", err)
	}
	if called {
		t.Errorf("fn ran on a closed store")
	}
	if _, err := s.Revision(t.Context()); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Revision() after Close = %v, want ErrClosed", err)
	}
	for _, c := range []<-chan int64{ch, s.Watch(t.Context())} {
		if _, ok := recvWithin(t, c); ok {
			t.Errorf("Watch channel open after Close")
		}
	}
}

// Reopen checks that commits outlive the store: it puts "1", "2" and "3" to user 1/alice
// in s, a new store, closes s, and checks that the store reopen then returns is at
// revision 3 with the key holding "3" at revision 3. It returns that store.
func Reopen[S store.Store](t *testing.T, s S, reopen func() S) S {
	t.Helper()
	for _, v := range []string{"1", "2", "3"} {
		put(t, s, "user", "1/alice", v)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	if rev, err := s.Revision(t.Context()); err != nil || rev != 3 {
		t.Errorf("Revision() after reopen = %d, %v; want 3", rev, err)
	}
	err := s.View(t.Context(), func(tx store.Tx) error {
		it, err := tx.Get("user", "1/alice")
		if err == nil && (string(it.Value) != "3" || it.Rev != 3) {
			t.Errorf("Get() after reopen = %q rev %d, want 3 rev 3", it.Value, it.Rev)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Increment adds one to the decimal number at kind/key in tx and returns the new value.
func Increment(tx store.Tx, kind, key string) ([]byte, error) {
	it, err := tx.Get(kind, key)
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(string(it.Value))
	if err != nil {
		return nil, err
	}
	v := []byte(strconv.Itoa(n + 1))
	if err := tx.Put(kind, key, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Migration is a backend's schema migrations, for CheckMigrate.
type Migration struct {
	// Steps are the backend's own migrations: one version per step.
	Steps [][]string
	// Migrate brings the database, already at len(Steps), to the version len(steps).
	Migrate func(steps [][]string) error
	// Int runs a query that returns one integer.
	Int func(query string) (int, error)
	// VersionQuery returns the schema version.
	VersionQuery string
	// Exists reports whether the table exists.
	Exists func(table string) (bool, error)
}

// CheckMigrate checks that steps apply in order, each atomically with its version; that a
// failing step leaves the database at the previous version and a later run resumes there;
// that a run is idempotent, and that a list older than the database is refused.
func CheckMigrate(t *testing.T, m Migration) {
	t.Helper()
	steps := [][]string{
		{`CREATE TABLE t1 (a BIGINT)`},
		{`CREATE TABLE t2 (a BIGINT)`, `INSERT INTO t2 (a) VALUES (1)`},
	}
	// Test steps appended to the real ones, so versions continue from len(m.Steps).
	all := append(slices.Clone(m.Steps), steps...)
	broken := append(slices.Clone(all), []string{`CREATE TABLE t3 (a BIGINT)`, `INSERT INTO nosuch VALUES (1)`})
	failed := fmt.Sprintf("migrate to version %d", len(broken))
	if err := m.Migrate(broken); err == nil || !strings.Contains(err.Error(), failed) {
		t.Fatalf("migrate(broken) = %v, want a failure at version %d", err, len(broken))
	}
	version := func() int {
		v, err := m.Int(m.VersionQuery)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := version(); v != len(all) {
		t.Errorf("after a failed step %d: version %d, want %d", len(broken), v, len(all))
	}
	if n, err := m.Int(`SELECT count(*) FROM t2`); err != nil || n != 1 {
		t.Errorf("step %d applied: count = %d, %v; want 1", len(all), n, err)
	}
	if t3, err := m.Exists("t3"); err != nil || t3 {
		t.Errorf("the failed step left table t3 behind (%v)", err)
	}
	fixed := append(slices.Clone(all), []string{`CREATE TABLE t3 (a BIGINT)`})
	if err := m.Migrate(fixed); err != nil {
		t.Fatalf("migrate(fixed) = %v", err)
	}
	if v := version(); v != len(fixed) {
		t.Errorf("version %d, want %d", v, len(fixed))
	}
	if err := m.Migrate(fixed); err != nil { // idempotent
		t.Fatalf("migrate again = %v", err)
	}
	if n, err := m.Int(`SELECT count(*) FROM t2`); err != nil || n != 1 {
		t.Errorf("a step ran twice: count = %d, %v", n, err)
	}
	if err := m.Migrate(all); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("migrate(older list) = %v, want ErrSchemaTooNew", err)
	}
}
