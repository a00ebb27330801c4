package server

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/gateway"
)

// Config is the whole configuration of "iamdb serve". Every field documents its default,
// its TOML key and its environment variable. Precedence: flags > IAMDB_* environment >
// file > defaults; unknown keys in the file are errors.
type Config struct {
	// Dir is the state directory; relative paths below are resolved against it.
	// TOML dir, env IAMDB_DIR; default "/var/lib/iamdb".
	Dir string `toml:"dir"`
	// MasterKeyFile holds the 32-byte master key (64 hex digits) that encrypts secrets at
	// rest and seals session tokens. Created (0600) on first start when the store is empty.
	// TOML master_key_file, env IAMDB_MASTER_KEY_FILE; default "master.key". The key itself
	// may instead come from env IAMDB_MASTER_KEY (64 hex digits), which wins over the file.
	MasterKeyFile string `toml:"master_key_file"`
	// PreviousMasterKeyFiles are master keys of before a rotation ("iamdb
	// rotate-master-key"): session tokens sealed under them keep working until they
	// expire (at most 36 hours). TOML previous_master_key_files; default none.
	PreviousMasterKeyFiles []string `toml:"previous_master_key_files"`

	Store     StoreConfig     `toml:"store"`
	Authority AuthorityConfig `toml:"authority"`
	Bootstrap BootstrapConfig `toml:"bootstrap"`
	Log       LogConfig       `toml:"log"`
	// Accounts are extra accounts created at start, each with its own admin.
	Accounts []AccountConfig `toml:"accounts"`
	// Databases are registered (upserted) at start in the RDS registry.
	Databases []DatabaseConfig `toml:"databases"`
	// Postgres are the PostgreSQL gateways, one per database.
	Postgres []GatewayConfig `toml:"postgres"`
	// MySQL are the MySQL gateways (MariaDB backends), one per database.
	MySQL []MySQLGatewayConfig `toml:"mysql"`
	// IMDS are instance-metadata-compatible endpoints, each handing out the credentials
	// of one instance profile or role ([[imds]], docs/workload-credentials.md).
	IMDS []IMDSEndpointConfig `toml:"imds"`
	// ContainerCredentials are container-credentials-compatible endpoints, each handing
	// out the credentials of one role ([[container_credentials]]).
	ContainerCredentials []ContainerEndpointConfig `toml:"container_credentials"`
	// Native are native endpoints: Unix sockets on which database servers' PAM module
	// asks for login decisions ([[native]], NativeConfig).
	Native []NativeConfig `toml:"native"`
	// Ops serves /metrics, /healthz and /readyz.
	Ops OpsConfig `toml:"ops"`
	// Audit is the audit trail: its journal and its export ([audit], AuditConfig).
	Audit AuditConfig `toml:"audit"`

	// MasterKey, if set, is the master key itself (64 hex digits), which wins over
	// MasterKeyFile: env IAMDB_MASTER_KEY, never the file. It is never logged.
	MasterKey Secret `toml:"-"`
}

// StoreConfig chooses the store.
type StoreConfig struct {
	// Path of the embedded SQLite store. TOML store.path, env IAMDB_STORE_PATH; default
	// "iamdb.db". Not used when URL is set.
	Path string `toml:"path"`
	// URL of a PostgreSQL database to keep the store in instead, shared by every replica
	// (a libpq URL or key=value string; the password may come from PGPASSWORD or a
	// passfile). TOML store.url, env IAMDB_STORE_URL, flag --store-url; default none.
	URL string `toml:"url"`
}

// AuthorityConfig configures the AWS Query API (IAM, STS, RDS).
type AuthorityConfig struct {
	// Listen is the address of the API. TOML authority.listen, env IAMDB_AUTHORITY_LISTEN,
	// flag --listen; default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// TLSCertFile and TLSKeyFile turn on HTTPS. TOML authority.tls_cert_file /
	// authority.tls_key_file, env IAMDB_AUTHORITY_TLS_CERT_FILE / _KEY_FILE; default none
	// (plain HTTP, which serve allows only on loopback addresses).
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// Region is the default region of the registry. TOML authority.region, env
	// IAMDB_REGION; default "us-east-1".
	Region string `toml:"region"`
	// WebIdentityCAFile adds CA certificates to the system's roots for fetching OIDC
	// providers' keys (AssumeRoleWithWebIdentity): an issuer with a private CA, such as a
	// Kubernetes API server. TOML authority.web_identity_ca_file, env
	// IAMDB_WEB_IDENTITY_CA_FILE; default none.
	WebIdentityCAFile string `toml:"web_identity_ca_file"`
	// WebIdentityAllowInsecureLoopback lets the authority fetch the keys of OIDC issuers
	// at http:// loopback addresses (127.0.0.0/8, ::1, localhost), such as "iamdb oidc
	// serve" without TLS on the same machine. TOML
	// authority.web_identity_allow_insecure_loopback; default false (iamdb dev: true).
	WebIdentityAllowInsecureLoopback bool `toml:"web_identity_allow_insecure_loopback"`
	// DisableConsole turns off the web console (served under /console/ on the API's
	// listener). TOML authority.disable_console; default false.
	DisableConsole bool `toml:"disable_console"`
	// ConsoleIdleTimeout ends a console session after that long without a request. TOML
	// authority.console_idle_timeout; default 30m. Sessions end after 12 hours whatever.
	ConsoleIdleTimeout Duration `toml:"console_idle_timeout"`
	// MaxConns bounds the API's open connections (the console's included); beyond it a
	// new connection is closed at once, so that a flood of connections that send nothing
	// cannot take the file descriptors of the gateways, the endpoints and /healthz. TOML
	// authority.max_conns; default a gateway's default max_client_conns (an eighth of the
	// process's file descriptor limit, between 64 and 4096; docs/configuration.md); -1:
	// unlimited.
	MaxConns int `toml:"max_conns"`
}

// BootstrapConfig says what an empty store starts with.
type BootstrapConfig struct {
	// AccountID of the first account. TOML bootstrap.account_id, env IAMDB_ACCOUNT_ID;
	// default "123456789012".
	AccountID string `toml:"account_id"`
	// AdminUser is the name of its admin user. TOML bootstrap.admin_user, env
	// IAMDB_ADMIN_USER; default "admin".
	AdminUser string `toml:"admin_user"`
	// AdminKeyFile receives the admin's access key, once, in the AWS credentials-file
	// format (0600). TOML bootstrap.admin_key_file, env IAMDB_ADMIN_KEY_FILE; default
	// "admin-credentials".
	AdminKeyFile string `toml:"admin_key_file"`
}

// AccountConfig is an extra account.
type AccountConfig struct {
	ID           string `toml:"id"`
	Alias        string `toml:"alias"`
	AdminUser    string `toml:"admin_user"`     // default "admin"
	AdminKeyFile string `toml:"admin_key_file"` // default "admin-credentials-<id>"
}

// DatabaseConfig registers a database.
type DatabaseConfig struct {
	Identifier     string   `toml:"identifier"`
	Kind           string   `toml:"kind"`   // "instance" or "cluster"; default "instance"
	Engine         string   `toml:"engine"` // default "postgres"
	Endpoints      []string `toml:"endpoints"`
	ReaderEndpoint string   `toml:"reader_endpoint"`
	Port           int      `toml:"port"`
	Region         string   `toml:"region"`  // default authority.region
	Account        string   `toml:"account"` // default bootstrap.account_id
	IAMAuth        bool     `toml:"iam_auth"`
}

// GatewayConfig runs a gateway in front of one registered database: the keys of a
// [[postgres]] table, and of a [[mysql]] table besides MySQL's own (MySQLGatewayConfig).
// Relative file names are resolved against dir.
type GatewayConfig struct {
	// Database is the identifier of a [[databases]] entry (or of a database already in the
	// registry) whose endpoints and port are what clients dial and sign. Its engine must be
	// the gateway's: postgres or aurora-postgresql for [[postgres]]; mysql, mariadb or
	// aurora-mysql for [[mysql]]. Required.
	Database string `toml:"database"`
	// Account of that database; default bootstrap.account_id.
	Account string `toml:"account"`
	// Listen is the gateway's address; default ":<the database's port>".
	Listen string `toml:"listen"`
	// TLSCertFile and TLSKeyFile are the certificate presented to clients; re-read on
	// SIGHUP. Required: IAM logins need TLS.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// MinTLSVersion is "1.2" (default, as RDS) or "1.3".
	MinTLSVersion string `toml:"min_tls_version"`
	// AllowPlaintextPasswords lets non-IAM users log in without TLS. Default false.
	AllowPlaintextPasswords bool `toml:"allow_plaintext_passwords"`
	// RevealReasons sends refusal reasons to clients (debugging only). Default false.
	RevealReasons bool `toml:"reveal_reasons"`
	// Backend is the database server's host:port (PostgreSQL; MariaDB 10.4+ for
	// [[mysql]]). Required.
	Backend string `toml:"backend"`
	// BackendCAFile verifies the backend's server certificate. Required.
	BackendCAFile string `toml:"backend_ca_file"`
	// BackendServerName is the name checked in the backend's certificate; default the
	// backend's host.
	BackendServerName string `toml:"backend_server_name"`
	// BackendSourceAddress, if set, is the IP address the gateway dials the backend from,
	// so that its pg_hba.conf can give the gateway's certificate logins a line of their own
	// in native mode (docs/native-mode.md). Default: the system picks.
	BackendSourceAddress string `toml:"backend_source_address"`
	// BackendAdminUser and BackendAdminPasswordFile log the gateway in to ask whether a
	// user is a member of rds_iam (PostgreSQL: the role needs no privileges; MariaDB:
	// SELECT on mysql.roles_mapping). Required.
	BackendAdminUser         string `toml:"backend_admin_user"`
	BackendAdminPasswordFile string `toml:"backend_admin_password_file"`
	// BackendAdminPassword, if set, is the password itself instead of the file's (iamdb
	// dev: the throwaway servers' passwords never reach a file of their own). Not a TOML
	// key. It is never logged.
	BackendAdminPassword Secret `toml:"-"`
	// CACertFile and CAKeyFile are the gateway CA whose client certificates (CN = user) the
	// backend trusts for IAM users (PostgreSQL hostssl … cert; MariaDB REQUIRE SUBJECT
	// '/CN=u' with ssl_ca = this CA). Required.
	CACertFile string `toml:"ca_cert_file"`
	CAKeyFile  string `toml:"ca_key_file"`
	// ClientCertTTL is the validity of minted client certificates; default 1h.
	ClientCertTTL Duration `toml:"client_cert_ttl"`
	// Pool limits the pooled backend sessions of IAM users.
	Pool PoolTOML `toml:"pool"`
	// MaxClientConns bounds the gateway's client connections, logged in or not; beyond
	// it a client is refused at once (PostgreSQL: FATAL 53300 "sorry, too many clients
	// already"; MySQL: ERROR 1040 "Too many connections"). TOML max_client_conns; default
	// an eighth of the process's file descriptor limit, between 64 and 4096
	// (docs/configuration.md); -1: unlimited.
	MaxClientConns int `toml:"max_client_conns"`
	// MaxUnauthenticatedPerIP bounds the connections of one client address that have not
	// logged in yet; beyond it that address is refused as above. TOML
	// max_unauthenticated_per_ip; default a quarter of max_client_conns (at least 16); -1:
	// unlimited (behind a TCP load balancer every client has the balancer's address).
	MaxUnauthenticatedPerIP int `toml:"max_unauthenticated_per_ip"`
	// StartupTimeout bounds the wait for a client's first message (PostgreSQL's
	// StartupMessage, MySQL's HandshakeResponse, TLS included). TOML startup_timeout;
	// default 10s.
	StartupTimeout Duration `toml:"startup_timeout"`
}

// MySQLGatewayConfig is a [[mysql]] table: a MySQL gateway, for MySQL clients in front
// of a MariaDB backend. A [[postgres]] table that sets these keys is refused as having
// unknown keys.
type MySQLGatewayConfig struct {
	GatewayConfig
	// AllowLocalInfile lets clients use LOAD DATA LOCAL INFILE. Default false: a server
	// can ask a client that offers it for any file the client can read.
	AllowLocalInfile bool `toml:"allow_local_infile"`
	// ServerVersion is the version announced to clients in the greeting (at most 255
	// bytes); clients pick their SQL dialect by it. Default "5.5.5-10.11.0-MariaDB-iamdb".
	ServerVersion string `toml:"server_version"`
}

// PoolTOML mirrors gateway.PoolConfig; zero values take the gateway's defaults.
type PoolTOML struct {
	MaxSessionsPerKey int      `toml:"max_sessions_per_key"`
	MaxIdlePerKey     int      `toml:"max_idle_per_key"`
	IdleTimeout       Duration `toml:"idle_timeout"`
	MaxDialsPerSecond float64  `toml:"max_dials_per_second"`
}

// IMDSEndpointConfig is an [[imds]] table: an EC2 instance-metadata-compatible endpoint
// (IMDSv2) for workloads pointed at it with AWS_EC2_METADATA_SERVICE_ENDPOINT.
type IMDSEndpointConfig struct {
	// Listen is the endpoint's address, e.g. "127.0.0.1:8090". Required; a loopback
	// address unless allow_non_loopback.
	Listen string `toml:"listen"`
	// InstanceProfile is the instance profile whose role the endpoint serves: its name in
	// account, or its ARN. Looked up at each request: it may be created, or get its role,
	// after serve starts. Exactly one of instance_profile and role.
	InstanceProfile string `toml:"instance_profile"`
	// Role is the role served directly: its name in account (path /), or its ARN.
	Role string `toml:"role"`
	// Account of instance_profile or role given by name; default bootstrap.account_id.
	Account string `toml:"account"`
	// InstanceID is served as meta-data/instance-id and is the role session name; default
	// "i-" and 17 hex digits derived from the profile's or role's ARN.
	InstanceID string `toml:"instance_id"`
	// Region is served as placement/region (the SDKs' region discovery); default
	// authority.region.
	Region string `toml:"region"`
	// AllowIMDSv1 serves requests without an IMDSv2 session token. Default false.
	AllowIMDSv1 bool `toml:"allow_imdsv1"`
	// SessionDuration of the role sessions, 15m to 12h (capped by the role's maximum);
	// default 1h. Sessions rotate once a third of it remains.
	SessionDuration Duration `toml:"session_duration"`
	// AllowNonLoopback lets listen be a non-loopback address. Default false: whoever
	// reaches the endpoint gets the role's credentials.
	AllowNonLoopback bool `toml:"allow_non_loopback"`
}

// ContainerEndpointConfig is a [[container_credentials]] table: an ECS / EKS Pod
// Identity container-credentials-compatible endpoint, for workloads pointed at it with
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).
type ContainerEndpointConfig struct {
	// Listen is the endpoint's address. Required; a loopback address unless
	// allow_non_loopback.
	Listen string `toml:"listen"`
	// Path is the URL path served; default "/v1/credentials".
	Path string `toml:"path"`
	// Role is the role served: its name in account (path /), or its ARN. Required.
	Role string `toml:"role"`
	// Account of a role given by name; default bootstrap.account_id.
	Account string `toml:"account"`
	// AuthorizationTokenFile holds the token clients send as Authorization (16 to 1024
	// visible ASCII characters; a trailing newline is ignored). Created (0600) with a
	// random token, without a newline, if it does not exist: give the same file to the
	// workload as AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE. Required.
	AuthorizationTokenFile string `toml:"authorization_token_file"`
	// SessionName is the role session name; default "iamdb-container".
	SessionName string `toml:"session_name"`
	// SessionDuration of the role sessions, 15m to 12h; default 1h.
	SessionDuration Duration `toml:"session_duration"`
	// AllowNonLoopback lets listen be a non-loopback address. Default false.
	AllowNonLoopback bool `toml:"allow_non_loopback"`
}

// OpsConfig serves the operational endpoints.
type OpsConfig struct {
	// Listen is the address of /metrics, /healthz and /readyz. TOML ops.listen, env
	// IAMDB_OPS_LISTEN; default "" (off).
	Listen string `toml:"listen"`
	// DrainTimeout is how long SIGTERM waits for gateway sessions to end before closing
	// them; default 30s.
	DrainTimeout Duration `toml:"drain_timeout"`
	// Pprof also serves net/http/pprof's /debug/pprof/ (profiles of the whole process) on
	// ops.listen, which must then be a loopback address. TOML ops.pprof; default false.
	Pprof bool `toml:"pprof"`
}

// Secret is a configured secret: it prints and logs as "REDACTED"; Reveal returns it.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret: fmt's %v and %s of a Config do not show it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// LogValue redacts the secret in logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString redacts s under %#v too.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON redacts s in JSON, so no encoding of a Config carries it.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Duration is a time.Duration written as "30s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText reads a Go duration; negative ones are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %s", b)
	}
	d.Duration = v
	return nil
}

// LogConfig configures logging.
type LogConfig struct {
	// Level: debug, info, warn, error. TOML log.level, env IAMDB_LOG_LEVEL, flag
	// --log-level; default "info".
	Level string `toml:"level"`
	// Format: text or json. TOML log.format, env IAMDB_LOG_FORMAT; default "text".
	Format string `toml:"format"`
}

// DefaultConfig returns the defaults every field documents.
func DefaultConfig() Config {
	return Config{
		Dir:           "/var/lib/iamdb",
		MasterKeyFile: "master.key",
		Store:         StoreConfig{Path: "iamdb.db"},
		Authority:     AuthorityConfig{Listen: "127.0.0.1:8080", Region: "us-east-1"},
		Bootstrap:     BootstrapConfig{AccountID: "123456789012", AdminUser: "admin", AdminKeyFile: "admin-credentials"},
		Log:           LogConfig{Level: "info", Format: "text"},
		Audit:         defaultAuditConfig(),
	}
}

// Validate checks c as New does, and reports every problem at once, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	if !arn.IsAccountID(c.Bootstrap.AccountID) {
		errs = append(errs, fmt.Errorf("bootstrap.account_id %q must be 12 digits", c.Bootstrap.AccountID))
	}
	if c.Bootstrap.AdminUser == "" {
		errs = append(errs, errors.New("bootstrap.admin_user must not be empty"))
	}
	if (c.Authority.TLSCertFile == "") != (c.Authority.TLSKeyFile == "") {
		errs = append(errs, errors.New("authority.tls_cert_file and authority.tls_key_file go together"))
	}
	if c.Authority.MaxConns < -1 {
		errs = append(errs, fmt.Errorf("authority.max_conns %d must be -1 (unlimited), 0 (the default) or positive", c.Authority.MaxConns))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q must be debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format %q must be text or json", c.Log.Format))
	}
	seen := map[string]bool{c.Bootstrap.AccountID: true}
	for i, a := range c.Accounts {
		if !arn.IsAccountID(a.ID) {
			errs = append(errs, fmt.Errorf("accounts[%d].id %q must be 12 digits", i, a.ID))
		}
		if seen[a.ID] {
			errs = append(errs, fmt.Errorf("accounts[%d].id %s is declared twice", i, a.ID))
		}
		seen[a.ID] = true
	}
	for i, d := range c.Databases {
		if d.Identifier == "" {
			errs = append(errs, fmt.Errorf("databases[%d].identifier must not be empty", i))
		}
		if d.Kind != "" && d.Kind != "instance" && d.Kind != "cluster" {
			errs = append(errs, fmt.Errorf("databases[%d].kind %q must be instance or cluster", i, d.Kind))
		}
		if d.Port < 1 || d.Port > 65535 {
			errs = append(errs, fmt.Errorf("databases[%d].port %d out of range", i, d.Port))
		}
		if len(d.Endpoints) == 0 {
			errs = append(errs, fmt.Errorf("databases[%d].endpoints must name at least one host", i))
		}
		if d.Account != "" && !seen[d.Account] {
			errs = append(errs, fmt.Errorf("databases[%d].account %s is not a configured account", i, d.Account))
		}
	}
	errs = append(errs, c.validateGateways()...)
	errs = append(errs, c.validateWorkloadEndpoints(seen)...)
	errs = append(errs, c.validateNative()...)
	errs = append(errs, c.validateAudit()...)
	errs = append(errs, c.validateAuditExport()...)
	errs = append(errs, c.validateOps()...)
	if c.MasterKey != "" {
		if _, err := parseMasterKey([]byte(c.MasterKey.Reveal())); err != nil {
			errs = append(errs, fmt.Errorf("IAMDB_MASTER_KEY: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// validateGateways checks the [[postgres]] and [[mysql]] tables.
func (c *Config) validateGateways() []error {
	var errs []error
	for _, g := range c.gatewaySections() {
		pwFile := g.BackendAdminPasswordFile
		if g.BackendAdminPassword != "" {
			pwFile = "(given)"
		}
		var missing []string
		for _, f := range []struct{ name, v string }{
			{"database", g.Database}, {"tls_cert_file", g.TLSCertFile}, {"tls_key_file", g.TLSKeyFile},
			{"backend", g.Backend}, {"backend_ca_file", g.BackendCAFile}, {"backend_admin_user", g.BackendAdminUser},
			{"backend_admin_password_file", pwFile}, {"ca_cert_file", g.CACertFile}, {"ca_key_file", g.CAKeyFile},
		} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s: %s required", g.name, strings.Join(missing, ", ")))
		}
		if g.MinTLSVersion != "" && g.MinTLSVersion != "1.2" && g.MinTLSVersion != "1.3" {
			errs = append(errs, fmt.Errorf("%s.min_tls_version %q must be 1.2 or 1.3", g.name, g.MinTLSVersion))
		}
		if g.MaxClientConns < -1 {
			errs = append(errs, fmt.Errorf("%s.max_client_conns %d must be -1 (unlimited), 0 (the default) or positive", g.name, g.MaxClientConns))
		}
		if g.MaxUnauthenticatedPerIP < -1 {
			errs = append(errs, fmt.Errorf("%s.max_unauthenticated_per_ip %d must be -1 (unlimited), 0 (the default) or positive", g.name, g.MaxUnauthenticatedPerIP))
		}
		if g.Backend != "" {
			if _, _, err := net.SplitHostPort(g.Backend); err != nil {
				errs = append(errs, fmt.Errorf("%s.backend %q must be host:port", g.name, g.Backend))
			}
		}
		if len(g.serverVersion) > 255 || strings.IndexByte(g.serverVersion, 0) >= 0 {
			errs = append(errs, fmt.Errorf("%s.server_version must be at most 255 bytes, without NUL", g.name))
		}
		// A database declared here must be of the gateway's engine (the [[databases]]
		// default, postgres, is the usual mistake in front of a [[mysql]] table).
		for _, d := range c.Databases {
			if !strings.EqualFold(d.Identifier, g.Database) || c.accountOr(d.Account) != c.accountOr(g.Account) {
				continue
			}
			engine := d.Engine
			if engine == "" {
				engine = "postgres"
			}
			if err := checkGatewayEngine(g.engine, engine); err != nil {
				errs = append(errs, fmt.Errorf("%s: database %q: %w", g.name, g.Database, err))
			}
		}
	}
	return errs
}

// gatewaySection is a [[postgres]] or [[mysql]] table with its engine.
type gatewaySection struct {
	engine string // gateway.EnginePostgres or gateway.EngineMySQL
	name   string // "postgres[0]", "mysql[1]": the table in messages
	GatewayConfig
	allowLocalInfile bool   // [[mysql]] only
	serverVersion    string // [[mysql]] only
}

// gatewaySections returns the gateways of c, PostgreSQL first, in file order.
func (c *Config) gatewaySections() []gatewaySection {
	var out []gatewaySection
	for i, g := range c.Postgres {
		out = append(out, gatewaySection{engine: gateway.EnginePostgres, name: fmt.Sprintf("postgres[%d]", i), GatewayConfig: g})
	}
	for i, g := range c.MySQL {
		out = append(out, gatewaySection{
			engine: gateway.EngineMySQL, name: fmt.Sprintf("mysql[%d]", i), GatewayConfig: g.GatewayConfig,
			allowLocalInfile: g.AllowLocalInfile, serverVersion: g.ServerVersion,
		})
	}
	return out
}

// gatewayEngines are the registry's engines each kind of gateway serves.
var gatewayEngines = map[string][]string{
	gateway.EnginePostgres: {"postgres", "aurora-postgresql"},
	gateway.EngineMySQL:    {"mysql", "mariadb", "aurora-mysql"},
}

// checkGatewayEngine says whether a gateway of engine (gateway.EnginePostgres or
// gateway.EngineMySQL) can serve a database registered with dbEngine.
func checkGatewayEngine(engine, dbEngine string) error {
	if slices.Contains(gatewayEngines[engine], strings.ToLower(dbEngine)) {
		return nil
	}
	return fmt.Errorf("its engine is %s, and a [[%s]] gateway serves %s", dbEngine, engine, strings.Join(gatewayEngines[engine], ", "))
}

// accountOr returns account, or the bootstrap account if it is empty.
func (c *Config) accountOr(account string) string {
	if account == "" {
		return c.Bootstrap.AccountID
	}
	return account
}

// Path resolves p against the state directory.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// parseMasterKey reads a master key: 64 hex digits, surrounding white space ignored.
func parseMasterKey(b []byte) ([]byte, error) {
	s := strings.TrimSpace(string(b))
	if len(s) != 64 {
		return nil, errors.New("master key must be 64 hex digits (32 bytes)")
	}
	k, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("master key must be 64 hex digits (32 bytes)")
	}
	return k, nil
}
