package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/iamdb/iamdb/internal/store"
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
	var version int64
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'schema_version'`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		version = 0
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ('schema_version', 0)`); err != nil {
			return false, fmt.Errorf("store: migrate: %w", err)
		}
	} else if err != nil {
		return false, fmt.Errorf("store: migrate: read schema version: %w", err)
	}
	switch {
	case version > int64(len(steps)):
		return false, fmt.Errorf("%w: file has schema version %d, this binary knows up to %d", store.ErrSchemaTooNew, version, len(steps))
	case version == int64(len(steps)):
		return true, tx.Commit()
	}
	for _, q := range steps[version] {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("store: migrate to version %d: %w", version+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = $1 WHERE name = 'schema_version'`, version+1); err != nil {
		return false, fmt.Errorf("store: migrate to version %d: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migrate to version %d: commit: %w", version+1, err)
	}
	return false, nil
}
