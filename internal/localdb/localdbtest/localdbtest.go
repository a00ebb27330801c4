// Package localdbtest starts throwaway database servers for tests, with
// cleanup registered on the test. Tests that need a server call Postgres or
// MariaDB; the test is skipped when the binaries are missing, or fails when the
// environment variable IAMDB_REQUIRE_TOOLS=1 (CI images that must have them).
package localdbtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
)

// Postgres starts a PostgreSQL cluster trusting ca for client certificates
// (see localdb.StartPostgres) and stops it when the test ends.
func Postgres(tb testing.TB, ca *pki.CA) *localdb.Postgres {
	tb.Helper()
	return PostgresWithOptions(tb, localdb.PostgresOptions{CA: ca})
}

// PostgresWithOptions is Postgres with options.
func PostgresWithOptions(tb testing.TB, opt localdb.PostgresOptions) *localdb.Postgres {
	tb.Helper()
	if opt.BinDir == "" {
		if _, err := localdb.FindPostgres(); errors.Is(err, localdb.ErrNotFound) {
			missing(tb, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := localdb.StartPostgres(ctx, opt)
	if err != nil {
		if errors.Is(err, localdb.ErrNotFound) {
			missing(tb, err)
		}
		tb.Fatalf("StartPostgres: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return p
}

// MariaDB starts a MariaDB server trusting ca for client certificates (see
// localdb.StartMariaDB) and stops it when the test ends.
func MariaDB(tb testing.TB, ca *pki.CA) *localdb.MariaDB {
	tb.Helper()
	return MariaDBWithOptions(tb, localdb.MariaDBOptions{CA: ca})
}

// MariaDBWithOptions is MariaDB with options.
func MariaDBWithOptions(tb testing.TB, opt localdb.MariaDBOptions) *localdb.MariaDB {
	tb.Helper()
	if opt.Mariadbd == "" || opt.InstallDB == "" {
		if _, _, err := localdb.FindMariaDB(); errors.Is(err, localdb.ErrNotFound) {
			missing(tb, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := localdb.StartMariaDB(ctx, opt)
	if err != nil {
		if errors.Is(err, localdb.ErrNotFound) {
			missing(tb, err)
		}
		tb.Fatalf("StartMariaDB: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return m
}

func missing(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
		tb.Fatalf("%v (IAMDB_REQUIRE_TOOLS=1)", err)
	}
	tb.Skipf("%v", err)
}
