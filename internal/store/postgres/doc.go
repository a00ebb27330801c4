// Package postgres is the [store.Store] backend for several iamdb replicas: one PostgreSQL
// database, through pgx v5, shared by every process that opens it. Each process keeps its
// caches current through Watch, which LISTEN/NOTIFY feeds with the other processes'
// commits.
//
// # Schema
//
// Three tables in the session's current schema (the first of its search_path), prefixed so
// that a database shared with other things is not disturbed:
//
//	iamdb_meta    (name TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL)
//	              -- 'schema_version', 'revision', 'changes_floor'
//	iamdb_items   (kind TEXT COLLATE "C", key TEXT COLLATE "C", value BYTEA, rev BIGINT,
//	               PRIMARY KEY (kind, key))
//	iamdb_changes (rev BIGINT, kind TEXT COLLATE "C", key TEXT COLLATE "C",
//	               PRIMARY KEY (rev, kind, key))  -- the change log of [store.Tx.Changes]
//
// COLLATE "C" makes keys compare bytewise whatever the database's collation, which is
// the order [store.Tx.List] promises; prefixes are range predicates ([store.PrefixEnd]),
// never LIKE. The database must be UTF8. Migrations are the sqlite backend's scheme: a
// numbered, append-only list of steps, each applied in its own transaction together with
// the new schema_version, under a transaction-level advisory lock so that openers in
// several processes serialise; a newer schema_version than the list is refused with
// [store.ErrSchemaTooNew]. At the current version Open runs no DDL, so a role with only
// SELECT, INSERT, UPDATE and DELETE on the three tables can use a store another role created.
//
// # Revisions
//
// An Update runs in READ COMMITTED and begins by locking the revision row (SELECT … FOR
// UPDATE). That lock serialises it with every other Update of every process, so the
// revision it read plus one is the revision it will commit as (stamped on the items it
// writes), and each of its statements sees everything committed before it. An Update that
// wrote something sets the revision and calls pg_notify('iamdb_store', revision) in the
// same transaction, then commits; a read-only one rolls back and neither bumps nor
// notifies. In this process Updates also queue on a semaphore, so that they hold one pooled
// connection rather than one each while waiting for the row lock. Update returns nil only
// after COMMIT returned, which with synchronous_commit on (or local, remote_write,
// remote_apply) means the commit record was flushed: Open, and every new pool connection,
// refuses a session where it is off, and one on a standby (in recovery). (fsync = off on
// the server defeats this, and no client can tell; do not run a store there.) Once COMMIT
// is sent, the caller's cancellation is no longer heeded, so that an Update never reports
// failure for a commit that took effect. Pool sessions start with
// idle_in_transaction_session_timeout = 60s and TCP keepalives after 30s, unless the
// connection string sets them: a replica that freezes in the middle of an Update releases
// the row lock, and with it every replica's writes, within a minute. A View is a
// REPEATABLE READ, READ ONLY transaction: one snapshot throughout, never blocked by
// Updates.
//
// # Notifications
//
// One connection outside the pool LISTENs on the channel iamdb_store. Watchers receive a
// revision only if it is greater than the last one delivered, so the values they see
// increase, whether they come from this process's commits (delivered right after COMMIT)
// or from the listener — with one exception: when the revision read from the table is
// lower than one delivered, and still is when read again under the delivery lock, the
// database lost commits (a failover to a standby that lagged, a restore), and watchers get
// the lower revision, with an error logged, so that caches follow what the store now
// holds. A payload is only a hint: any session in the database may NOTIFY on the channel.
// The connection's notification handler folds what arrives into one hint (no queue, so a
// flood costs no memory); a batch whose revisions all equal the last delivery (mostly this
// process's own commits) is skipped, and anything else (newer, older, or not a revision:
// bounded to 19 digits and parsed with strconv) makes the listener read the revision from
// the table and deliver that. A forged payload thus costs at most one query per batch and
// can neither announce a revision that was not committed nor hide later ones. With no
// notification for 30s the listener reads the revision anyway, as a heartbeat.
// When the connection fails the listener reconnects with backoff (100ms doubling to 5s),
// LISTENs again and then reads the revision, delivering it if it advanced while nobody
// listened. Close stops the listener and closes the watch channels.
//
// # What it is not for
//
// It is not a general PostgreSQL client or a queue: the tables belong to this package; do
// not write to them by other means. It needs a session-level connection for LISTEN, so it
// cannot run through a transaction-pooling proxy (PgBouncer in transaction mode). It does
// not retry fn: with the row lock no serialisation failure is expected, and a broken
// connection fails the Update. A single process needs no server: the sqlite backend is the
// default.
package postgres
