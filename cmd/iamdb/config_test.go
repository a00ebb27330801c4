package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func noEnv(string) string { return "" }

func TestConfigFile(t *testing.T) {
	t.Parallel()
	got, err := loadConfig("testdata/full.toml", noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Dir:           filepath.Join("testdata", "state"),
		MasterKeyFile: "keys/master.key",
		Store:         StoreConfig{Path: "authority.db"},
		Authority:     AuthorityConfig{Listen: "127.0.0.1:9001", Region: "ap-northeast-1"},
		Bootstrap:     BootstrapConfig{AccountID: "111111111111", AdminUser: "root-admin", AdminKeyFile: "admin.ini"},
		Log:           LogConfig{Level: "debug", Format: "json"},
		Accounts:      []AccountConfig{{ID: "222222222222", Alias: "db-account"}},
		Databases: []DatabaseConfig{{
			Identifier: "aurorapgsqlv1", Kind: "cluster", Engine: "aurora-postgresql",
			Endpoints: []string{"localhost", "127.0.0.1"}, Port: 5432, Account: "222222222222",
		}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("loadConfig(full.toml) mismatch (-want +got):\n%s", diff)
	}
	if p := got.path(got.Store.Path); p != filepath.Join("testdata", "state", "authority.db") {
		t.Errorf("store path resolves to %q", p)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got, err := loadConfig("", noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaultConfig(), got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

// Precedence: flags > IAMDB_* environment > file > defaults.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"IAMDB_AUTHORITY_LISTEN": "127.0.0.1:9002",
		"IAMDB_LOG_LEVEL":        "warn",
		"IAMDB_REGION":           "eu-west-1",
		"IAMDB_STORE_PATH":       "/env/store.db",
	}
	getenv := func(k string) string { return env[k] }
	flags := map[string]string{"listen": "127.0.0.1:9003", "store": "/flag/store.db"}
	got, err := loadConfig("testdata/full.toml", getenv, flags)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ what, got, want string }{
		{"listen (flag over env over file)", got.Authority.Listen, "127.0.0.1:9003"},
		{"store (flag over env over file)", got.Store.Path, "/flag/store.db"},
		{"log level (env over file)", got.Log.Level, "warn"},
		{"region (env over file)", got.Authority.Region, "eu-west-1"},
		{"account (file over default)", got.Bootstrap.AccountID, "111111111111"},
		{"admin key file (file)", got.Bootstrap.AdminKeyFile, "admin.ini"},
		{"format (file)", got.Log.Format, "json"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.what, tt.got, tt.want)
		}
	}
	// The environment alone over defaults.
	got, err = loadConfig("", getenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Authority.Listen != "127.0.0.1:9002" || got.Bootstrap.AccountID != "123456789012" {
		t.Errorf("env over defaults: listen %q, account %q", got.Authority.Listen, got.Bootstrap.AccountID)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  string
		env   map[string]string
		wants []string
	}{
		{"unknown keys", "testdata/unknown.toml", nil, []string{"unknown keys", "authority.lisen", "databases.prot"}},
		{"invalid values", "testdata/invalid.toml", nil, []string{
			`bootstrap.account_id "12345"`, `log.level "loud"`, "databases[0].identifier", `databases[0].kind "table"`,
			"databases[0].port 0", "databases[0].endpoints", "databases[0].account 999999999999",
		}},
		{"missing file", "testdata/nope.toml", nil, []string{"no such file"}},
		{"bad master key", "", map[string]string{"IAMDB_MASTER_KEY": "short"}, []string{"IAMDB_MASTER_KEY", "64 hex digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(tt.path, func(k string) string { return tt.env[k] }, nil)
			if err == nil {
				t.Fatalf("loadConfig(%q) = nil error", tt.path)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig(%q) = %v, want it to mention %q", tt.path, err, w)
				}
			}
		})
	}
}
