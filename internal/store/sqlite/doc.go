// Package sqlite is the embedded default backend of [store.Store]: one SQLite database file,
// through modernc.org/sqlite (pure Go, no cgo), for a single iamdb process.
//
// # Schema
//
// Three tables, in SQL that PostgreSQL shares (the PostgreSQL backend differs only in column
// types: BYTEA for BLOB, and key TEXT COLLATE "C" so that keys sort in byte order there too):
//
//	meta    (name TEXT PRIMARY KEY, value BIGINT NOT NULL)  -- 'schema_version', 'revision', 'changes_floor'
//	items   (kind TEXT, key TEXT, value BLOB, rev BIGINT, PRIMARY KEY (kind, key))
//	changes (rev BIGINT, kind TEXT, key TEXT, PRIMARY KEY (rev, kind, key))  -- store.Tx.Changes
//
// Migrations are a numbered list of SQL steps (see migrations); Open applies those the file
// lacks, each in its own transaction together with the new schema_version, so a crash leaves
// the file at one version or the next. A file whose schema_version is higher than the list
// is refused with store.ErrSchemaTooNew: an older binary must not write a newer schema.
// Queries use only portable SQL: $n placeholders, INSERT … ON CONFLICT, range predicates for
// prefixes (never LIKE), LIMIT.
//
// # Connections and pragmas
//
// One writer connection runs every Update, serialised in process by a semaphore and across
// processes by BEGIN IMMEDIATE (the write lock is taken at BEGIN, so a transaction never
// fails later on a lock upgrade, and Update never needs to retry fn). A pool of reader
// connections runs View and Revision. The pragmas, set on each connection when it opens:
//
//   - journal_mode=WAL (writer; persistent in the file): readers see a snapshot and never
//     block the writer nor wait for it, and a commit appends to the log instead of rewriting
//     pages in place.
//   - synchronous=FULL (writer): every commit fsyncs the log before returning, so an
//     acknowledged Update survives power loss and OS crashes, not only a process crash
//     (WAL's NORMAL would keep the file consistent but could lose the last commits).
//   - busy_timeout (every connection; if zero, 5s): wait for a lock held by another process
//     sharing the file (or by a checkpoint) instead of failing at once with SQLITE_BUSY.
//   - query_only=1 (readers): a reader can never write, whatever SQL reaches it.
//
// The file is created with mode 0600 (SQLite gives the -wal and -shm files the same mode).
// Foreign keys are not used.
//
// # What it is not for
//
// It is not for several iamdb replicas: other processes may open the same file safely, but
// Watch only sees this process's commits and SQLite allows one writer at a time. Replicas
// share the PostgreSQL backend instead. Nor is it a general SQLite wrapper: the database
// belongs to this package; do not write to it by other means.
package sqlite
