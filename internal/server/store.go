package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/postgres"
	"github.com/iamdb/iamdb/internal/store/sqlite"
)

// openStore opens the configured store: the PostgreSQL database of store.url if set, else
// the embedded SQLite file of store.path. log (nil: discarded) hears of the PostgreSQL
// store's notification connection dropping and coming back.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger) (store.Store, error) {
	if cfg.Store.URL != "" {
		return postgres.Open(ctx, cfg.Store.URL, postgres.WithLogger(log))
	}
	return sqlite.Open(cfg.Path(cfg.Store.Path))
}

// loadMasterKey returns the master key: from IAMDB_MASTER_KEY if set, else from the key
// file. A missing file is created with a fresh random key when create is true (a new,
// empty store); otherwise a missing key is an error, since the store's secrets cannot be
// read without it.
func loadMasterKey(cfg *Config, create bool, random io.Reader) ([]byte, error) {
	if cfg.MasterKey != "" {
		return parseMasterKey([]byte(cfg.MasterKey.Reveal()))
	}
	path := cfg.Path(cfg.MasterKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := parseMasterKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("master key: %w", err)
	case !create && cfg.Store.URL != "":
		return nil, fmt.Errorf("master key: %s does not exist: with store.url every replica must use the same master key, and iamdb does not create one: copy the file from another replica or, for a new store, create it once (openssl rand -hex 32 > %s; chmod 600 %s), or set IAMDB_MASTER_KEY", path, path, path)
	case !create:
		return nil, fmt.Errorf("master key: %s does not exist, and the store already holds secrets encrypted under a key: restore the key file or set IAMDB_MASTER_KEY", path)
	}
	k, err := createKeyFile(path, random)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return k, nil
}

// createKeyFile creates a master key file (0600) holding a key from random.
func createKeyFile(path string, random io.Reader) ([]byte, error) {
	k := make([]byte, 32)
	if _, err := io.ReadFull(random, k); err != nil {
		return nil, err
	}
	if err := writeFileExclusive(path, []byte(hex.EncodeToString(k)+"\n")); err != nil {
		return nil, err
	}
	return k, nil
}

// writeFileExclusive creates path (and its directory) with mode 0600 and writes b; it
// refuses to overwrite an existing file.
func writeFileExclusive(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// credentialsFile renders an access key in the AWS shared credentials file format, with the
// account and endpoint as comments.
func credentialsFile(account, user, akid, secret string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# iamdb: access key of %s in account %s. Shown once; keep this file secret.\n", user, account)
	fmt.Fprintf(&b, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", akid, secret)
	return []byte(b.String())
}

// ReadAdminKeyFile reads the [default] key of an AWS credentials file, such as the one
// bootstrap writes (bootstrap.admin_key_file).
func ReadAdminKeyFile(path string) (akid, secret string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			akid = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if akid == "" || secret == "" {
		return "", "", fmt.Errorf("%s holds no access key", path)
	}
	return akid, secret, sc.Err()
}

// NewLogger returns the server's logger writing to w, as cfg says.
func NewLogger(w io.Writer, cfg LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isLoopback reports whether a listen address binds only loopback interfaces.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RotateMasterKey re-encrypts the secrets of cfg's store, read with cfg's master key (or
// one of its previous ones), under the key of newKeyFile, which it creates with a key from random (nil: crypto/rand)
// if it does not exist. It returns how many secrets it re-encrypted and whether it created
// the file. Every server on the store must be stopped.
func RotateMasterKey(ctx context.Context, cfg *Config, newKeyFile string, random io.Reader) (n int, created bool, err error) {
	if random == nil {
		random = rand.Reader
	}
	oldKey, err := loadMasterKey(cfg, false, random)
	if err != nil {
		return 0, false, err
	}
	previous, err := loadPreviousMasterKeys(cfg) // what an earlier rotation may have left
	if err != nil {
		return 0, false, err
	}
	newKey, created, err := loadOrCreateKeyFile(newKeyFile, random)
	if err != nil {
		return 0, false, err
	}
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		return 0, created, err
	}
	defer st.Close()
	n, err = iam.RotateMasterKey(ctx, st, oldKey, newKey, random, previous...)
	return n, created, err
}

// loadOrCreateKeyFile reads a master key file, or creates it with a random key.
func loadOrCreateKeyFile(path string, random io.Reader) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := parseMasterKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	k, err := createKeyFile(path, random)
	if err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// loadPreviousMasterKeys reads previous_master_key_files.
func loadPreviousMasterKeys(cfg *Config) ([][]byte, error) {
	var out [][]byte
	for _, f := range cfg.PreviousMasterKeyFiles {
		b, err := os.ReadFile(cfg.Path(f))
		if err != nil {
			return nil, fmt.Errorf("previous master key: %w", err)
		}
		k, err := parseMasterKey(b)
		if err != nil {
			return nil, fmt.Errorf("previous master key %s: %w", f, err)
		}
		out = append(out, k)
	}
	return out, nil
}
