// Package localdbtest starts throwaway database servers for tests, with
// cleanup registered on the test. Tests that need a server call Postgres or
// MariaDB; the test is skipped when the binaries are missing, or fails when the
// environment variable IAMDB_REQUIRE_TOOLS=1 (CI images that must have them).
package localdbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/native/pammodule"
	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/pki"
)

// CA returns a new CA, valid for a day, for one test's servers and the client
// certificates they trust.
func CA(tb testing.TB) *pki.CA {
	tb.Helper()
	ca, err := pki.NewCA("iamdb test CA", 24*time.Hour, nil, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

// Postgres starts a PostgreSQL cluster trusting ca for client certificates
// (see localdb.StartPostgres) and stops it when the test ends.
func Postgres(tb testing.TB, ca *pki.CA) *localdb.Postgres {
	tb.Helper()
	return PostgresWithOptions(tb, localdb.PostgresOptions{CA: ca})
}

// PostgresWithOptions is Postgres with options.
func PostgresWithOptions(tb testing.TB, opt localdb.PostgresOptions) *localdb.Postgres {
	tb.Helper()
	return start(tb, "StartPostgres", opt.BinDir == "", func() error {
		_, err := localdb.FindPostgres()
		return err
	}, func(ctx context.Context) (*localdb.Postgres, error) { return localdb.StartPostgres(ctx, opt) })
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
	return start(tb, "StartMariaDB", opt.Mariadbd == "" || opt.InstallDB == "", func() error {
		_, _, err := localdb.FindMariaDB()
		return err
	}, func(ctx context.Context) (*localdb.MariaDB, error) { return localdb.StartMariaDB(ctx, opt) })
}

// MariaDBAdmin opens a pool of one connection of m's administrator (AdminDSN, over TLS),
// so that session settings such as sql_mode last from one statement to the next. The
// driver logs nothing (a connection a test breaks on purpose is expected); the pool is
// closed when the test ends.
func MariaDBAdmin(tb testing.TB, m *localdb.MariaDB) *sql.DB {
	tb.Helper()
	cfg, err := mysql.ParseDSN(m.AdminDSN(""))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Logger = &mysql.NopLogger{}
	cn, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(cn)
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

// start starts a server with startFn (named name, in messages) and stops it when the
// test ends. When search is set, the binaries are looked for first with find.
func start[S interface{ Stop(context.Context) error }](tb testing.TB, name string, search bool, find func() error, startFn func(context.Context) (S, error)) S {
	tb.Helper()
	if search {
		if err := find(); errors.Is(err, localdb.ErrNotFound) {
			missing(tb, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := startFn(ctx)
	if err != nil {
		if errors.Is(err, localdb.ErrNotFound) {
			missing(tb, err)
		}
		tb.Fatalf("%s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return s
}

func missing(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
		tb.Fatalf("%v (IAMDB_REQUIRE_TOOLS=1)", err)
	}
	tb.Skipf("%v", err)
}

// PAMDir is where PAMService writes service files: Linux-PAM's /etc/pam.d.
const PAMDir = "/etc/pam.d"

// PAMService writes a PAM service file holding lines under a new unique name
// (iamdb-test-<random>) in /etc/pam.d, removes it when the test ends, and returns the
// name, for native-mode servers (localdb.PostgresNative, localdb.MariaDBNative). The
// directory is root's: as another user the test is skipped, saying so (CI runs as
// root). Rewrite the file between logins with SetPAMService: PAM reads it at each login.
func PAMService(tb testing.TB, lines ...string) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("native mode needs a PAM service file in %s, which only root may write; run as root (CI does)", PAMDir)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	name := "iamdb-test-" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		if err := os.Remove(filepath.Join(PAMDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			tb.Errorf("remove PAM service file: %v", err)
		}
	})
	SetPAMService(tb, name, lines...)
	return name
}

// SetPAMService replaces the lines of the service file name that PAMService wrote.
func SetPAMService(tb testing.TB, name string, lines ...string) {
	tb.Helper()
	text := "# Written by an iamdb test; removed when it ends.\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(PAMDir, name), []byte(text), 0o644); err != nil {
		tb.Fatalf("write PAM service file: %v", err)
	}
}

// PAMPermit and PAMDeny are service files' lines that let every login in, and none
// (pam_permit never prompts: the client is asked for no password at all).
var (
	PAMPermit = []string{"auth required pam_permit.so", "account required pam_permit.so"}
	PAMDeny   = []string{"auth required pam_deny.so", "account required pam_permit.so"}
)

// MariaDBPlugin builds iamdb's MariaDB authentication plugin (auth_iamdb.so) in a
// directory of the test's and returns its path, for localdb.MariaDBNative.Plugin. Without
// a C compiler or MariaDB's server plugin headers the test is skipped, or fails when
// IAMDB_REQUIRE_TOOLS=1.
func MariaDBPlugin(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(tb.TempDir(), nativeconf.PluginName+".so")
	err := pammodule.BuildMariaDBPlugin(ctx, path)
	if errors.Is(err, pammodule.ErrToolchainMissing) {
		missing(tb, err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return path
}
