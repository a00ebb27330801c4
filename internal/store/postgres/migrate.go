package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/store/storesql"
)

// migrations are the schema steps in order: step i (0-based) takes the schema from version i
// to version i+1. Append only; never edit a released step. The meta table itself is created
// by migrateOne, before any step, because it records the version.
var migrations = [][]string{
	// 1: the items table and the global revision.
	{
		`CREATE TABLE iamdb_items (
			kind  TEXT COLLATE "C" NOT NULL,
			key   TEXT COLLATE "C" NOT NULL,
			value BYTEA  NOT NULL,
			rev   BIGINT NOT NULL,
			PRIMARY KEY (kind, key)
		)`,
		`INSERT INTO iamdb_meta (name, value) VALUES ('revision', 0)`,
	},
	// 2: the change log, which starts at the current revision (changes_floor).
	{
		`CREATE TABLE iamdb_changes (
			rev  BIGINT NOT NULL,
			kind TEXT COLLATE "C" NOT NULL,
			key  TEXT COLLATE "C" NOT NULL,
			PRIMARY KEY (rev, kind, key)
		)`,
		`INSERT INTO iamdb_meta (name, value) SELECT 'changes_floor', value FROM iamdb_meta WHERE name = 'revision'`,
	},
}

const createMeta = `CREATE TABLE iamdb_meta (
	name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	value BIGINT NOT NULL
)`

// migrateLock is the key of the transaction-level advisory lock that serialises migrations
// of every process opening the database ("iamdb_mg" in ASCII). Advisory locks are per
// database, so stores in two schemas of one database share it, which only serialises them.
const migrateLock int64 = 0x69616d64625f6d67

// migrate brings the schema to len(steps), one step per transaction, each under the
// advisory lock, so that concurrent openers (in any process) serialise and each step runs
// once. At the current version it runs no DDL, so a role without CREATE on the schema can
// open a store that another role created.
func migrate(ctx context.Context, c *pgx.Conn, steps [][]string) error {
	for {
		done, err := migrateOne(ctx, c, steps)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next missing step, if any, and reports whether none was missing.
func migrateOne(ctx context.Context, c *pgx.Conn, steps [][]string) (done bool, err error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	defer rollback(ctx, tx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return false, fmt.Errorf("store: migrate: lock: %w", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('iamdb_meta') IS NOT NULL`).Scan(&exists); err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, createMeta); err != nil {
			return false, fmt.Errorf("store: migrate: create iamdb_meta: %w", err)
		}
	}
	done, next, err := storesql.MigrateStep(ctx, conn{tx}, "iamdb_meta", "database", steps)
	switch {
	case err != nil:
		return false, err
	case done:
		return true, tx.Commit(ctx)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("store: migrate to version %d: commit: %w", next, err)
	}
	return false, nil
}
