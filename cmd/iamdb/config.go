package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/iamdb/iamdb/internal/server"
)

// The configuration of "iamdb serve" is server.Config, whose fields document their TOML
// keys, environment variables and defaults. This file applies the precedence: flags >
// IAMDB_* environment > file > defaults; unknown keys in the file are errors.

// maxConfigSize bounds the configuration file.
const maxConfigSize = 1 << 20

// loadConfig reads the file (if path is not empty) over the defaults, then the
// environment, then the flag overrides, and validates the result.
func loadConfig(path string, getenv func(string) string, flags map[string]string) (server.Config, error) {
	cfg := server.DefaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return server.Config{}, fmt.Errorf("config: %w", err)
		}
		if len(b) > maxConfigSize {
			return server.Config{}, fmt.Errorf("config: %s is larger than %d bytes", path, maxConfigSize)
		}
		md, err := toml.Decode(string(b), &cfg)
		if err != nil {
			return server.Config{}, fmt.Errorf("config: %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			sort.Strings(keys)
			return server.Config{}, fmt.Errorf("config: %s: unknown keys: %s", path, strings.Join(keys, ", "))
		}
		// A relative dir in the file is relative to the file.
		if !filepath.IsAbs(cfg.Dir) {
			cfg.Dir = filepath.Join(filepath.Dir(path), cfg.Dir)
		}
	}
	for _, e := range envVars {
		if v := getenv(e.name); v != "" {
			*e.field(&cfg) = v
		}
	}
	cfg.MasterKey = server.Secret(getenv("IAMDB_MASTER_KEY"))
	for name, v := range flags {
		f, ok := flagFields[name]
		if !ok {
			return server.Config{}, fmt.Errorf("config: unknown override %q", name)
		}
		*f(&cfg) = v
	}
	return cfg, cfg.Validate()
}

var envVars = []struct {
	name  string
	field func(*server.Config) *string
}{
	{"IAMDB_DIR", func(c *server.Config) *string { return &c.Dir }},
	{"IAMDB_MASTER_KEY_FILE", func(c *server.Config) *string { return &c.MasterKeyFile }},
	{"IAMDB_STORE_PATH", func(c *server.Config) *string { return &c.Store.Path }},
	{"IAMDB_STORE_URL", func(c *server.Config) *string { return &c.Store.URL }},
	{"IAMDB_AUTHORITY_LISTEN", func(c *server.Config) *string { return &c.Authority.Listen }},
	{"IAMDB_AUTHORITY_TLS_CERT_FILE", func(c *server.Config) *string { return &c.Authority.TLSCertFile }},
	{"IAMDB_AUTHORITY_TLS_KEY_FILE", func(c *server.Config) *string { return &c.Authority.TLSKeyFile }},
	{"IAMDB_REGION", func(c *server.Config) *string { return &c.Authority.Region }},
	{"IAMDB_WEB_IDENTITY_CA_FILE", func(c *server.Config) *string { return &c.Authority.WebIdentityCAFile }},
	{"IAMDB_ACCOUNT_ID", func(c *server.Config) *string { return &c.Bootstrap.AccountID }},
	{"IAMDB_ADMIN_USER", func(c *server.Config) *string { return &c.Bootstrap.AdminUser }},
	{"IAMDB_ADMIN_KEY_FILE", func(c *server.Config) *string { return &c.Bootstrap.AdminKeyFile }},
	{"IAMDB_LOG_LEVEL", func(c *server.Config) *string { return &c.Log.Level }},
	{"IAMDB_LOG_FORMAT", func(c *server.Config) *string { return &c.Log.Format }},
	{"IAMDB_OPS_LISTEN", func(c *server.Config) *string { return &c.Ops.Listen }},
}

// flagFields are the overrides "iamdb serve" takes as flags.
var flagFields = map[string]func(*server.Config) *string{
	"dir":       func(c *server.Config) *string { return &c.Dir },
	"listen":    func(c *server.Config) *string { return &c.Authority.Listen },
	"store":     func(c *server.Config) *string { return &c.Store.Path },
	"store-url": func(c *server.Config) *string { return &c.Store.URL },
	"log-level": func(c *server.Config) *string { return &c.Log.Level },
}
