// Package store is the authority's storage contract: a small transactional document store
// that keeps opaque values under (kind, key) pairs, and the types every backend shares.
//
// The domain layer (accounts, users, roles, keys, policies) keeps JSON documents under kinds
// such as "user" with keys such as "123456789012/alice", and maintains its own index entries
// (kind "accesskey", key = the access key ID) in the same transaction as the documents they
// point to. Every mutation is one transaction ([Store.Update]); reads run in snapshots
// ([Store.View]). Each committed Update that wrote something advances one global revision,
// stamped on the items it wrote ([Item.Rev]) and broadcast through [Store.Watch] so that
// in-memory caches know when to reload; the store logs which items each revision changed,
// so that a cache can reload only those ([Tx.Changes]). Bookkeeping that no cache follows
// is written with [Store.UpdateQuiet], which advances no revision.
//
// Keys sort in byte order of their UTF-8 encoding; [Tx.List] walks a kind in that order by
// prefix, with cursor pagination. Kinds, keys and values are bounded ([MaxKindLen],
// [MaxKeyLen], [MaxValueLen]); kinds and keys must be valid UTF-8 without NUL, so that every
// backend (SQLite, PostgreSQL) can store them as text and order them the same way.
//
// Backends live in sub-packages (store/sqlite, the embedded default for one process;
// store/postgres, one database shared by several replicas) and prove their conformance by
// passing store/storetest's compliance suite. This package imports no database driver.
//
// It is not a general database: there are no secondary indexes, queries or schemas beyond
// (kind, key); nothing here interprets values, encrypts secrets or knows what a user is.
// Those belong to the domain layer above.
package store
