package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/servertls"
)

// Defaults of Config.
const (
	DefaultAuthTimeout       = time.Minute // PostgreSQL's authentication_timeout
	DefaultConnectTimeout    = 10 * time.Second
	DefaultMembershipTTL     = 5 * time.Second
	DefaultMaxAdminConns     = 4
	DefaultMaxIdlePerKey     = 16
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultResetTimeout      = 5 * time.Second
	DefaultAdminDatabase     = "postgres"
	DefaultMaxMembershipKeys = 10000

	// DefaultStartupTimeout bounds the wait for a client's first message: PostgreSQL's
	// StartupMessage, MySQL's HandshakeResponse (TLS included).
	DefaultStartupTimeout = 10 * time.Second
	// DefaultMaxUnauthenticatedPerIP bounds the connections of one source address that
	// have not logged in yet when MaxClientConns is unlimited; otherwise the default is
	// a quarter of MaxClientConns (at least 16).
	DefaultMaxUnauthenticatedPerIP = 1024
	// MaxDefaultClientConns caps the default of Config.MaxClientConns, whatever the
	// file descriptor limit (DefaultMaxClientConns).
	MaxDefaultClientConns = 4096
	// minDefaultClientConns is the smallest default of Config.MaxClientConns.
	minDefaultClientConns = 64
)

// DefaultMaxClientConns returns the default of Config.MaxClientConns: an eighth of the
// process's file descriptor limit (RLIMIT_NOFILE, which Go raises to the hard limit at
// start), between 64 and MaxDefaultClientConns. A logged-in client holds two
// descriptors (its own and its backend session's), so one gateway full of sessions
// holds at most a quarter of them, two a half; the authority's listener is bounded by
// the same number (internal/server), and the store, the credential endpoints and
// /healthz keep the rest.
func DefaultMaxClientConns() int {
	n, ok := fileLimit()
	if !ok {
		return 1024
	}
	return int(min(max(n/8, minDefaultClientConns), MaxDefaultClientConns))
}

// Engines a Gateway serves (Config.Engine; the label "engine" of its metrics).
const (
	EnginePostgres = "postgres" // PostgreSQL clients and backends
	EngineMySQL    = "mysql"    // MySQL clients; MariaDB 10.4+ backends
)

// Config configures a Gateway. Zero values are the documented defaults.
type Config struct {
	// Engine is the wire protocol of the clients and the backend: EnginePostgres (the
	// default when empty) or EngineMySQL.
	Engine string
	// IAM is the authority's data path: signing keys (LookupKey), the database's
	// registration (DatabaseByEndpoint) and rds-db:connect decisions (AuthorizeConnect),
	// all from memory; an *iam.Service. Required.
	IAM Authority
	// Database is the database this gateway serves. Its Endpoints and Port are the host
	// names and port clients dial and sign tokens for — the gateway's own, not the
	// backend's. Required. At each connection the gateway re-reads the registration from
	// IAM (by endpoint and port) so that enabling or disabling IAM authentication applies
	// at once; if it is no longer registered, this copy is used.
	Database iam.Database
	// Addr is the address ListenAndServe listens on. If empty, ":PORT" with
	// Database.Port.
	Addr string

	// Certificate is the server certificate presented to clients; SetCertificate
	// replaces it at run time (SIGHUP). If nil and TLS supplies no certificate, the
	// gateway refuses TLS (SSLRequest is answered 'N') and so refuses IAM logins.
	Certificate *tls.Certificate
	// TLS is an optional base configuration toward clients (cipher suites, curves, …).
	// The gateway uses a clone whose GetCertificate returns the current Certificate (when
	// Certificate is set), with MinVersion raised to MinTLSVersion.
	TLS *tls.Config
	// MinTLSVersion is the oldest TLS version clients may use: tls.VersionTLS12 or
	// tls.VersionTLS13. If zero, TLS 1.2 (as RDS).
	MinTLSVersion uint16
	// AllowPlaintextPasswords lets users who are not IAM users send their password
	// without TLS. Default false (recommended): like a pg_hba.conf with only hostssl
	// lines, a plaintext attempt gets `pg_hba.conf rejects connection … SSL off`. IAM
	// users always need TLS, as on RDS.
	AllowPlaintextPasswords bool

	// AllowLocalInfile lets MySQL clients use LOAD DATA LOCAL INFILE (CLIENT_LOCAL_FILES
	// is offered to them and asked of the backend). Default false: a server can ask a
	// client that offers it for any file the client can read. MySQL only.
	AllowLocalInfile bool
	// ServerVersion is the version the MySQL engine announces in its greeting;
	// clients pick SQL dialect by it. If empty, the backend's, from the greeting of the
	// last backend connection (before the first: mysqlwire.DefaultServerVersion, MariaDB
	// 10.11). MySQL only.
	ServerVersion string

	// Backend is the database server behind the gateway. Required.
	Backend Backend
	// ClientCerts mints the client certificates the gateway logs IAM users in to the
	// backend with (PostgreSQL "cert" authentication; CN = user). Required; a
	// *pki.ClientCertCache.
	ClientCerts ClientCertSource
	// Pool limits the backend sessions of IAM users.
	Pool PoolConfig

	// Logger receives connection log lines (in the style of log_connections) and errors.
	// If nil, logs are discarded.
	Logger *slog.Logger
	// Registerer registers the gateway's metrics. If nil, they are not registered.
	Registerer prometheus.Registerer
	// Audit, if not nil, receives one record per authentication attempt. It is called on
	// the connection's goroutine and must not block.
	Audit func(AuditRecord)
	// Recorder, if not nil, receives the CloudTrail event of every login decision
	// (AuditRecord.Event; attempts where the client sent no password are not recorded).
	// A successful login is recorded before the client is told (AuthenticationOk, MySQL's
	// OK): Record is waited for, and if it fails the login is refused as the backend
	// being unavailable, so no login succeeds unrecorded. Refusals are recorded before
	// the refusal is sent as well; a failure to record one is only logged.
	Recorder audit.Recorder
	// Now returns the current time (token validity, policy time, logs). If nil, time.Now.
	Now func() time.Time
	// Skew is how far in the future a token's date may be. If zero, token.DefaultSkew
	// (5 minutes); if negative, none.
	Skew time.Duration
	// RevealReasons sends the reason of a refused IAM login ("expired",
	// "explicit-deny", …) to the client as the error's DETAIL, for debugging. Default
	// false: the client sees only RDS's `PAM authentication failed for user "u"`.
	RevealReasons bool
	// AuthTimeout bounds the time from accept to ReadyForQuery. If zero,
	// DefaultAuthTimeout (1 minute, PostgreSQL's authentication_timeout).
	AuthTimeout time.Duration
	// StartupTimeout bounds the time from accept to the client's first message:
	// PostgreSQL's StartupMessage (after SSLRequest and TLS), MySQL's HandshakeResponse
	// (after the greeting, SSLRequest and TLS). If zero, DefaultStartupTimeout (10 s);
	// never longer than AuthTimeout. A connection that sends nothing holds a descriptor
	// for at most this long.
	StartupTimeout time.Duration
	// MaxClientConns bounds the client connections of the gateway, logged in or not.
	// Beyond it a new connection is answered at once — PostgreSQL: FATAL 53300 "sorry,
	// too many clients already"; MySQL: ERROR 1040 (08004) "Too many connections" in
	// place of the greeting — and closed. If zero, DefaultMaxClientConns(); negative:
	// unlimited.
	MaxClientConns int
	// MaxUnauthenticatedPerIP bounds the connections of one source address (of one /64,
	// for IPv6) that have not logged in yet (are before or in authentication); beyond it
	// new connections
	// from that address are refused as for MaxClientConns. Sessions past login do not
	// count. If zero, a quarter of MaxClientConns (at least 16; so that a single source
	// cannot take every connection), or DefaultMaxUnauthenticatedPerIP when that is
	// unlimited; negative: unlimited. Behind a TCP load balancer every client has the
	// balancer's address: raise it, or make it negative.
	MaxUnauthenticatedPerIP int
	// MembershipTTL is how long the answer "is u a member of rds_iam" is cached, positive
	// or negative. If zero, DefaultMembershipTTL (5 s); negative: not cached. A role
	// granted or revoked rds_iam may log in the old way for that long.
	MembershipTTL time.Duration
}

// Backend is the database server the gateway logs in to: PostgreSQL, or MariaDB for
// EngineMySQL.
type Backend struct {
	// Addr is the server's host:port. Required.
	Addr string
	// TLS verifies the server (RootCAs with the CA of its certificate, ServerName).
	// Required: IAM users log in with client certificates, and passwords go through
	// SCRAM with channel binding over it.
	TLS *tls.Config
	// AdminUser and AdminPassword log the gateway in (PostgreSQL: SCRAM over TLS;
	// MySQL: mysql_native_password over TLS) to ask whether a user is a member of
	// rds_iam. Required. On PostgreSQL the role needs no privileges; on MariaDB it needs
	// SELECT on mysql.roles_mapping.
	AdminUser     string
	AdminPassword string
	// AdminDatabase is the database of those connections. If empty, "postgres".
	// PostgreSQL only.
	AdminDatabase string
	// MaxAdminConns bounds the admin connections. If zero, DefaultMaxAdminConns.
	MaxAdminConns int
	// ConnectTimeout bounds one backend login. If zero, DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// LocalAddr, if set, is the IP address every backend connection is dialed from
	// (net.Dialer.LocalAddr), so that the backend can tell the gateway's certificate
	// logins from direct ones by address: in native mode pg_hba.conf gives this address a
	// cert line and everyone else PAM (docs/native-mode.md). If empty, the system picks.
	LocalAddr string
}

// dialer returns the dialer of backend connections: from LocalAddr, if set.
func (b *Backend) dialer() *net.Dialer {
	d := &net.Dialer{}
	if b.LocalAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(b.LocalAddr)}
	}
	return d
}

// PoolConfig limits the pooled backend sessions of IAM users. A pool key is (user,
// database, startup parameters other than application_name); sessions of password users
// are never pooled.
type PoolConfig struct {
	// MaxSessionsPerKey bounds the sessions (busy and idle) of one key; a client beyond it
	// waits for one to be released (up to AuthTimeout). If zero, unlimited (the backend's
	// max_connections is the limit).
	MaxSessionsPerKey int
	// MaxIdlePerKey bounds the idle sessions kept per key. If zero,
	// DefaultMaxIdlePerKey; negative disables pooling.
	MaxIdlePerKey int
	// IdleTimeout closes sessions idle for longer. If zero, DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxDialsPerSecond limits new backend connections (IAM and password) per second; a
	// login beyond it waits. If zero, unlimited.
	MaxDialsPerSecond float64
	// DialBurst is the token-bucket burst of MaxDialsPerSecond. If zero,
	// max(1, MaxDialsPerSecond).
	DialBurst int
	// ResetTimeout bounds DISCARD ALL when a session returns to the pool and the check
	// when it is handed out. If zero, DefaultResetTimeout.
	ResetTimeout time.Duration
}

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	switch c.Engine {
	case "":
		c.Engine = EnginePostgres
	case EnginePostgres, EngineMySQL:
	default:
		return c, fmt.Errorf("gateway: config: unknown engine %q", c.Engine)
	}
	if c.IAM == nil {
		return c, errors.New("gateway: config: IAM is required")
	}
	if len(c.Database.Endpoints) == 0 || c.Database.Port < 1 || c.Database.Port > 65535 {
		return c, errors.New("gateway: config: Database needs endpoints and a port")
	}
	if c.Database.Region == "" || c.Database.Account == "" || c.Database.ResourceID == "" {
		return c, errors.New("gateway: config: Database needs region, account and resource ID")
	}
	if c.Addr == "" {
		c.Addr = ":" + strconv.Itoa(c.Database.Port)
	}
	var err error
	if c.MinTLSVersion, err = servertls.MinVersion(c.MinTLSVersion); err != nil {
		return c, fmt.Errorf("gateway: config: %w", err)
	}
	if err := c.Backend.withDefaults(); err != nil {
		return c, err
	}
	if c.ClientCerts == nil {
		return c, errors.New("gateway: config: ClientCerts is required")
	}
	if err := c.Pool.withDefaults(); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.limitDefaults()
	return c, nil
}

// withDefaults validates b and fills in defaults.
func (b *Backend) withDefaults() error {
	if _, _, err := net.SplitHostPort(b.Addr); err != nil {
		return fmt.Errorf("gateway: config: backend address: %w", err)
	}
	if b.TLS == nil {
		return errors.New("gateway: config: backend TLS is required")
	}
	if b.AdminUser == "" {
		return errors.New("gateway: config: backend admin user is required")
	}
	if b.AdminDatabase == "" {
		b.AdminDatabase = DefaultAdminDatabase
	}
	if b.MaxAdminConns <= 0 {
		b.MaxAdminConns = DefaultMaxAdminConns
	}
	if b.ConnectTimeout <= 0 {
		b.ConnectTimeout = DefaultConnectTimeout
	}
	if b.LocalAddr != "" {
		if a, err := netip.ParseAddr(b.LocalAddr); err != nil || a.Zone() != "" {
			return fmt.Errorf("gateway: config: backend local address %q is not an IP address", b.LocalAddr)
		}
	}
	return nil
}

// withDefaults validates p and fills in defaults.
func (p *PoolConfig) withDefaults() error {
	if p.MaxSessionsPerKey < 0 {
		p.MaxSessionsPerKey = 0
	}
	if p.MaxIdlePerKey == 0 {
		p.MaxIdlePerKey = DefaultMaxIdlePerKey
	}
	if p.MaxIdlePerKey < 0 {
		p.MaxIdlePerKey = 0
	}
	if p.IdleTimeout <= 0 {
		p.IdleTimeout = DefaultIdleTimeout
	}
	if p.MaxDialsPerSecond < 0 {
		return errors.New("gateway: config: negative MaxDialsPerSecond")
	}
	if p.DialBurst <= 0 {
		p.DialBurst = max(1, int(p.MaxDialsPerSecond))
	}
	if p.ResetTimeout <= 0 {
		p.ResetTimeout = DefaultResetTimeout
	}
	return nil
}

// limitDefaults fills in the defaults of the timeouts and connection limits.
func (c *Config) limitDefaults() {
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.StartupTimeout <= 0 {
		c.StartupTimeout = DefaultStartupTimeout
	}
	c.StartupTimeout = min(c.StartupTimeout, c.AuthTimeout)
	switch {
	case c.MaxClientConns == 0:
		c.MaxClientConns = DefaultMaxClientConns()
	case c.MaxClientConns < 0:
		c.MaxClientConns = 0
	}
	switch {
	case c.MaxUnauthenticatedPerIP == 0 && c.MaxClientConns == 0:
		c.MaxUnauthenticatedPerIP = DefaultMaxUnauthenticatedPerIP
	case c.MaxUnauthenticatedPerIP == 0:
		c.MaxUnauthenticatedPerIP = max(c.MaxClientConns/4, 16)
	case c.MaxUnauthenticatedPerIP < 0:
		c.MaxUnauthenticatedPerIP = 0
	}
	if c.MembershipTTL == 0 {
		c.MembershipTTL = DefaultMembershipTTL
	}
}
