package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/iamdb/iamdb/internal/store/storesql"
)

// migrations are the schema steps in order: step i (0-based) takes the schema from version i
// to version i+1. Append only; never edit a released step. The meta table itself is created
// by bootstrapMeta, before any step, because it records the version.
var migrations = [][]string{
	// 1: the items table and the global revision.
	{
		`CREATE TABLE items (
			kind  TEXT   NOT NULL,
			key   TEXT   NOT NULL,
			value BLOB   NOT NULL,
			rev   BIGINT NOT NULL,
			PRIMARY KEY (kind, key)
		)`,
		`INSERT INTO meta (name, value) VALUES ('revision', 0)`,
	},
	// 2: the change log, which starts at the current revision (changes_floor).
	{
		`CREATE TABLE changes (
			rev  BIGINT NOT NULL,
			kind TEXT   NOT NULL,
			key  TEXT   NOT NULL,
			PRIMARY KEY (rev, kind, key)
		) WITHOUT ROWID`,
		`INSERT INTO meta (name, value) SELECT 'changes_floor', value FROM meta WHERE name = 'revision'`,
	},
}

const bootstrapMeta = `CREATE TABLE IF NOT EXISTS meta (
	name  TEXT   NOT NULL PRIMARY KEY,
	value BIGINT NOT NULL
)`

// migrate brings db to len(steps), one step per transaction. db must be the writer, whose
// transactions begin IMMEDIATE, so concurrent openers (even in other processes) serialise
// and each step runs once.
func migrate(ctx context.Context, db *sql.DB, steps [][]string) error {
	for {
		done, err := migrateOne(ctx, db, steps)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next missing step, if any, and reports whether none was missing.
func migrateOne(ctx context.Context, db *sql.DB, steps [][]string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, bootstrapMeta); err != nil {
		return false, fmt.Errorf("store: migrate: create meta: %w", err)
	}
	done, next, err := storesql.MigrateStep(ctx, conn{tx}, "meta", "file", steps)
	switch {
	case err != nil:
		return false, err
	case done:
		return true, tx.Commit()
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migrate to version %d: commit: %w", next, err)
	}
	return false, nil
}
