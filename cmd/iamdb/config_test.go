package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iamdb/iamdb/internal/server"
)

func noEnv(string) string { return "" }

func TestConfigFile(t *testing.T) {
	t.Parallel()
	got, err := loadConfig("testdata/full.toml", noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := server.Config{
		Dir:           filepath.Join("testdata", "state"),
		MasterKeyFile: "keys/master.key",
		Store:         server.StoreConfig{Path: "authority.db", URL: "postgres://file/iamdb"},
		Authority:     server.AuthorityConfig{Listen: "127.0.0.1:9001", Region: "ap-northeast-1", MaxConns: 1000},
		Bootstrap:     server.BootstrapConfig{AccountID: "111111111111", AdminUser: "root-admin", AdminKeyFile: "admin.ini"},
		Log:           server.LogConfig{Level: "debug", Format: "json"},
		Accounts:      []server.AccountConfig{{ID: "222222222222", Alias: "db-account"}},
		Databases: []server.DatabaseConfig{{
			Identifier: "aurorapgsqlv1", Kind: "cluster", Engine: "aurora-postgresql",
			Endpoints: []string{"localhost", "127.0.0.1"}, Port: 5432, Account: "222222222222",
		}, {
			Identifier: "mysqlv1", Engine: "mysql",
			Endpoints: []string{"mysqlv1.cxxxxxxxxxxx.ap-northeast-1.rds.amazonaws.com"}, Port: 3306, IAMAuth: true,
		}},
		Postgres: []server.GatewayConfig{{
			Database: "aurorapgsqlv1", Account: "222222222222", Listen: "127.0.0.1:15432",
			TLSCertFile: "tls/gateway.pem", TLSKeyFile: "tls/gateway-key.pem", MinTLSVersion: "1.3",
			Backend: "10.0.0.12:5432", BackendCAFile: "tls/backend-ca.pem",
			BackendAdminUser: "iamdb_gateway", BackendAdminPasswordFile: "secrets/pg.password",
			CACertFile: "tls/gateway-ca.pem", CAKeyFile: "tls/gateway-ca-key.pem",
			ClientCertTTL: server.Duration{Duration: 30 * time.Minute}, Pool: server.PoolTOML{MaxIdlePerKey: 4},
		}},
		MySQL: []server.MySQLGatewayConfig{{
			GatewayConfig: server.GatewayConfig{
				Database: "mysqlv1", Listen: "127.0.0.1:13306",
				TLSCertFile: "tls/gateway.pem", TLSKeyFile: "tls/gateway-key.pem", RevealReasons: true,
				Backend: "10.0.0.13:3306", BackendCAFile: "tls/backend-ca.pem", BackendServerName: "mariadb.internal",
				BackendAdminUser: "iamdb_gateway", BackendAdminPasswordFile: "secrets/mysql.password",
				CACertFile: "tls/gateway-ca.pem", CAKeyFile: "tls/gateway-ca-key.pem",
				Pool: server.PoolTOML{MaxSessionsPerKey: 10, IdleTimeout: server.Duration{Duration: time.Minute}, MaxDialsPerSecond: 50.5},
			},
			AllowLocalInfile: true, ServerVersion: "8.0.36-iamdb",
		}},
		IMDS: []server.IMDSEndpointConfig{{
			Listen: "127.0.0.1:8090", InstanceProfile: "pgmonitor-access-profile", Account: "222222222222",
			InstanceID: "i-0123456789abcdef0", Region: "us-east-2", SessionDuration: server.Duration{Duration: 2 * time.Hour},
		}, {
			Listen: "[::1]:8091", Role: "arn:aws:iam::111111111111:role/app", AllowIMDSv1: true,
		}},
		ContainerCredentials: []server.ContainerEndpointConfig{{
			Listen: "10.0.0.5:8092", AllowNonLoopback: true, Path: "/creds", Role: "task-role",
			AuthorizationTokenFile: "secrets/container.token", SessionName: "orders-task",
		}},
		Audit: server.AuditConfig{Enabled: true, Dir: "/var/log/iamdb/audit", Retention: server.Duration{Duration: 720 * time.Hour}, MaxBytes: 256 << 20,
			Sync: "always", SyncInterval: server.Duration{Duration: 250 * time.Millisecond}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(server.Config{})); diff != "" {
		t.Errorf("loadConfig(full.toml) mismatch (-want +got):\n%s", diff)
	}
	if p := got.Path(got.Store.Path); p != filepath.Join("testdata", "state", "authority.db") {
		t.Errorf("store path resolves to %q", p)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got, err := loadConfig("", noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(server.DefaultConfig(), got, cmpopts.IgnoreUnexported(server.Config{})); diff != "" {
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
		"IAMDB_STORE_URL":        "postgres://env/iamdb",
	}
	getenv := func(k string) string { return env[k] }
	flags := map[string]string{"listen": "127.0.0.1:9003", "store": "/flag/store.db", "store-url": "postgres://flag/iamdb"}
	got, err := loadConfig("testdata/full.toml", getenv, flags)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ what, got, want string }{
		{"listen (flag over env over file)", got.Authority.Listen, "127.0.0.1:9003"},
		{"store (flag over env over file)", got.Store.Path, "/flag/store.db"},
		{"store url (flag over env over file)", got.Store.URL, "postgres://flag/iamdb"},
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
		{"unknown keys", "testdata/unknown.toml", nil, []string{
			"unknown keys", "authority.lisen", "databases.prot",
			"postgres.allow_local_infile", // a [[mysql]] key
			"mysql.sever_version",
			"imds.allow_imds_v1", "container_credentials.authorization_token",
		}},
		{"invalid values", "testdata/invalid.toml", nil, []string{
			`bootstrap.account_id "12345"`, `log.level "loud"`, "databases[0].identifier", `databases[0].kind "table"`,
			"databases[0].port 0", "databases[0].endpoints", "databases[0].account 999999999999",
			"postgres[0]: tls_cert_file, tls_key_file, backend_ca_file, backend_admin_user, backend_admin_password_file, ca_cert_file, ca_key_file required",
			`postgres[0].min_tls_version "1.1" must be 1.2 or 1.3`, `postgres[0].backend "no-port" must be host:port`,
			`mysql[0]: database "pgdb": its engine is postgres, and a [[mysql]] gateway serves mysql, mariadb, aurora-mysql`,
			"imds[0].listen 0.0.0.0:8090 is not a loopback address", "imds[0]: exactly one of instance_profile and role",
			"imds[1].listen is required", `imds[1].role: "arn:aws:iam::111111111111:user/u" is not the ARN of an IAM role`,
			`imds[1].instance_id "vm-1"`, "imds[1].session_duration 5m0s must be between 15m and 12h",
			`imds[2].instance_profile: "bad name" is neither an ARN nor a name`, "imds[2].account 333333333333 is not a configured account",
			`container_credentials[0].listen "127.0.0.1" must be host:port`, "container_credentials[0].role is required",
			"container_credentials[0].authorization_token_file is required", `container_credentials[0].path "relative"`,
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

// gatewayFilesTOML is the body of a [[postgres]] or [[mysql]] table less its database: what
// the configuration tests of one gateway setting add their line to.
const gatewayFilesTOML = `tls_cert_file = "c.pem"
tls_key_file = "k.pem"
backend = "10.0.0.1:5432"
backend_ca_file = "ca.pem"
backend_admin_user = "a"
backend_admin_password_file = "pw"
ca_cert_file = "ca.pem"
ca_key_file = "ca-key.pem"
`

// The listener limits of a gateway: max_client_conns, max_unauthenticated_per_ip and
// startup_timeout, in [[postgres]] and [[mysql]] tables; -1 is unlimited, below is an
// error.
func TestConfigGatewayLimits(t *testing.T) {
	t.Parallel()
	write := func(text string) string {
		p := filepath.Join(t.TempDir(), "iamdb.toml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := loadConfig(write(`[[postgres]]
database = "pg"
max_client_conns = 500
max_unauthenticated_per_ip = 20
startup_timeout = "3s"
`+gatewayFilesTOML+`
[[mysql]]
database = "my"
max_client_conns = -1
max_unauthenticated_per_ip = -1
`+gatewayFilesTOML), noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	type limits struct {
		MaxClientConns, MaxUnauthenticatedPerIP int
		StartupTimeout                          time.Duration
	}
	var gotLimits []limits
	for _, g := range []server.GatewayConfig{got.Postgres[0], got.MySQL[0].GatewayConfig} {
		gotLimits = append(gotLimits, limits{g.MaxClientConns, g.MaxUnauthenticatedPerIP, g.StartupTimeout.Duration})
	}
	if diff := cmp.Diff([]limits{{500, 20, 3 * time.Second}, {-1, -1, 0}}, gotLimits); diff != "" {
		t.Errorf("gateway limits mismatch (-want +got):\n%s", diff)
	}
	_, err = loadConfig(write(`[[postgres]]
database = "pg"
max_client_conns = -2
max_unauthenticated_per_ip = -5
`+gatewayFilesTOML), noEnv, nil)
	for _, w := range []string{"postgres[0].max_client_conns -2 must be", "postgres[0].max_unauthenticated_per_ip -5 must be"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("loadConfig with negative limits = %v, want it to mention %q", err, w)
		}
	}
	if _, err = loadConfig(write("[[mysql]]\ndatabase = \"my\"\nstartup_timeout = \"-1s\"\n"+gatewayFilesTOML), noEnv, nil); err == nil || !strings.Contains(err.Error(), "negative duration") {
		t.Errorf("loadConfig with a negative startup_timeout = %v, want an error", err)
	}
}
