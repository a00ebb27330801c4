package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storetest"
)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "iamdb.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestCompliance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestPragmas(t *testing.T) {
	s, _ := openTemp(t)
	for _, tc := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.writer, "journal_mode", "wal"},
		{s.writer, "synchronous", "2"},
		{s.writer, "busy_timeout", "5000"},
		{s.readers, "journal_mode", "wal"},
		{s.readers, "query_only", "1"},
		{s.readers, "busy_timeout", "5000"},
	} {
		var got string
		if err := tc.db.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
	if _, err := s.readers.Exec(`INSERT INTO meta (name, value) VALUES ('x', 1)`); err == nil {
		t.Errorf("a reader connection wrote")
	}
}

func TestFileMode(t *testing.T) {
	s, path := openTemp(t)
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("k", "a", nil) }); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), mode)
		}
	}
}

func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#%x", "iamdb?.db")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	defer s.Close()
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("k", "a", nil) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("the log is not beside the file: %v", err)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iamdb.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s = storetest.Reopen(t, s, func() *Store {
		if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close the log remains (%v): the last connection should checkpoint it", err)
		}
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	var version int
	if err := s.readers.QueryRow(`SELECT value FROM meta WHERE name = 'schema_version'`).Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("schema_version = %d, %v; want %d", version, err, len(migrations))
	}
}

func TestSchemaTooNew(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.writer.Exec(`UPDATE meta SET value = value + 1 WHERE name = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("Open(newer schema) = %v, want ErrSchemaTooNew", err)
	}
}

// Steps apply in order, each atomically with its version; a failing step leaves the file at
// the previous version, and a later run resumes there.
func TestMigrate(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	db := s.writer
	storetest.CheckMigrate(t, storetest.Migration{
		Steps:   migrations,
		Migrate: func(steps [][]string) error { return migrate(ctx, db, steps) },
		Int: func(query string) (n int, err error) {
			err = db.QueryRow(query).Scan(&n)
			return n, err
		},
		VersionQuery: `SELECT value FROM meta WHERE name = 'schema_version'`,
		Exists: func(table string) (bool, error) {
			_, err := db.Exec(`SELECT * FROM ` + table)
			return err == nil, nil
		},
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"missing dir": filepath.Join(dir, "nosuch", "iamdb.db"),
		"a directory": dir,
		"not sqlite":  garbage,
		"empty":       "",
	} {
		if s, err := Open(path); err == nil {
			s.Close()
			t.Errorf("Open(%s) = nil error", name)
		}
	}
	if _, err := Open(filepath.Join(dir, "x.db"), WithReaders(-1)); err == nil {
		t.Errorf("Open(WithReaders(-1)) = nil error")
	}
}

// Changes since a revision the log was pruned past is ErrChangesGone; from the floor on,
// the log answers.
func TestChangesFloor(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("k", k, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.writer.Exec(`DELETE FROM changes WHERE rev <= 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.Exec(`UPDATE meta SET value = 2 WHERE name = 'changes_floor'`); err != nil {
		t.Fatal(err)
	}
	for since, want := range map[int64]int{0: -1, 1: -1, 2: 1, 3: 0} {
		err := s.View(ctx, func(tx store.Tx) error {
			got, err := tx.Changes(since, 0)
			if want < 0 {
				if !errors.Is(err, store.ErrChangesGone) {
					t.Errorf("Changes(%d) = %v, %v; want ErrChangesGone", since, got, err)
				}
				return nil
			}
			if err != nil || len(got) != want {
				t.Errorf("Changes(%d) = %v, %v; want %d", since, got, err, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
