// Package storetest is the compliance suite that every [store.Store] backend must pass:
// [Run] checks the semantics the interface documents — CRUD and its errors, List order,
// prefixes and pagination, atomicity and rollback, snapshot isolation of View, the global
// revision and item revisions, Watch, concurrent read-modify-write, bounds and closed-store
// errors — against a fresh store per subtest. A backend's own tests call it:
//
//	func TestCompliance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { … })
//	}
//
// Run it with -race. It is not for backend-specific behaviour (pragmas, files, migrations,
// crash recovery): each backend tests those itself. It needs no database driver of its own.
package storetest
