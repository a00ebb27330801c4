package storesql

import (
	"context"
	"errors"
	"fmt"

	"github.com/iamdb/iamdb/internal/store"
)

// MigrateStep applies, in the transaction c, the next missing step of steps, if any. The
// schema version is kept in the table meta; what names the store in the error for a newer
// schema ("database", "file"). It reports whether none was missing (done), and otherwise
// the version it migrated to; the caller commits either way.
func MigrateStep(ctx context.Context, c Conn, meta, what string, steps [][]string) (done bool, next int64, err error) {
	var version int64
	err = c.QueryRow(ctx, `SELECT value FROM `+meta+` WHERE name = 'schema_version'`, nil, &version)
	if errors.Is(err, store.ErrNotFound) {
		version = 0
		if _, err := c.Exec(ctx, `INSERT INTO `+meta+` (name, value) VALUES ('schema_version', 0)`); err != nil {
			return false, 0, fmt.Errorf("store: migrate: %w", err)
		}
	} else if err != nil {
		return false, 0, fmt.Errorf("store: migrate: read schema version: %w", err)
	}
	switch {
	case version > int64(len(steps)):
		return false, 0, fmt.Errorf("%w: %s has schema version %d, this binary knows up to %d", store.ErrSchemaTooNew, what, version, len(steps))
	case version == int64(len(steps)):
		return true, version, nil
	}
	next = version + 1
	for _, q := range steps[version] {
		if _, err := c.Exec(ctx, q); err != nil {
			return false, 0, fmt.Errorf("store: migrate to version %d: %w", next, err)
		}
	}
	if _, err := c.Exec(ctx, `UPDATE `+meta+` SET value = $1 WHERE name = 'schema_version'`, next); err != nil {
		return false, 0, fmt.Errorf("store: migrate to version %d: %w", next, err)
	}
	return false, next, nil
}
