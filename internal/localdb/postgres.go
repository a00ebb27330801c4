package localdb

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound means the PostgreSQL server binaries are not installed.
var ErrNotFound = errors.New("localdb: postgresql binaries not found")

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	// CA issues the server certificate and is the server's ssl_ca_file, so
	// client certificates it mints are trusted for "cert" logins. Required.
	// The server certificate (a year, capped at the CA's expiry) is minted
	// with the CA's clock.
	CA *pki.CA

	// Dir is the parent of the cluster's new directory. If empty, the system
	// temp dir. When running as root it must be searchable by OSUser.
	Dir string

	// BinDir holds initdb and postgres. If empty, the newest
	// /usr/lib/postgresql/<version>/bin.
	BinDir string

	// OSUser is the unprivileged OS user the server runs as when the caller
	// is root. If empty, "postgres". Ignored when not root (the server runs
	// as the caller).
	OSUser string

	// AdminUser is the bootstrap superuser's name. If empty, "postgres".
	AdminUser string

	// AdminPassword is the superuser's SCRAM password. If empty, a random one.
	AdminPassword string

	// Databases are created after start, owned by AdminUser.
	Databases []string

	// Port to listen on at 127.0.0.1. If zero, a free port. 5432 is refused.
	Port int

	// MaxConnections is max_connections. If zero, 300.
	MaxConnections int

	// Settings are extra postgresql.conf settings written after ours (so
	// they win), in key order. Values are written verbatim: quote strings.
	Settings map[string]string

	// StartTimeout bounds initdb plus the wait for readiness (the context
	// may bound it further). If zero, 60s.
	StartTimeout time.Duration

	// Keep leaves the directory in place after Stop.
	Keep bool

	// Native, if set, runs the cluster in iamdb's native mode: members of rds_iam log
	// in over TLS with a token that PAM checks (see PostgresNative), not with a client
	// certificate.
	Native *PostgresNative
}

// PostgresNative configures native mode: pg_hba.conf starts with nativeconf's block for
// 127.0.0.1/32 and ::1/128, so that members of rds_iam log in over TLS through PAM (and
// no other way), and everyone else keeps the usual lines. The PAM service file
// (/etc/pam.d/<PAMService>) is the caller's to write: PostgreSQL reads it at each login.
type PostgresNative struct {
	// PAMService is the PAM service members of rds_iam authenticate with (pg_hba's
	// "pam pamservice="). Required.
	PAMService string

	// GatewaySource, if set, is the address an iamdb gateway dials from (an IP; for
	// example 127.0.0.2, which Linux routes over loopback with no extra listen address):
	// members of rds_iam from it log in with certificates (a cert line before the pam
	// lines), as without native mode, and everyone else with SCRAM as from 127.0.0.1.
	GatewaySource string
}

// hba returns pg_hba.conf for native mode.
func (n *PostgresNative) hba() (string, error) {
	h := nativeconf.HBA{
		Service:   n.PAMService,
		Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")},
	}
	if n.PAMService == "" {
		return "", errors.New("localdb: PostgresNative.PAMService is empty")
	}
	if n.GatewaySource != "" {
		a, err := netip.ParseAddr(n.GatewaySource)
		if err != nil {
			return "", fmt.Errorf("localdb: PostgresNative.GatewaySource: %w", err)
		}
		h.GatewaySource = a
	}
	block, err := nativeconf.HBABlock(h)
	if err != nil {
		return "", fmt.Errorf("localdb: %w", err)
	}
	rest := hbaEveryoneElse
	if h.GatewaySource.IsValid() && h.GatewaySource != netip.MustParseAddr("127.0.0.1") {
		// The gateway's password users and its admin log in with SCRAM from its address.
		src := netip.PrefixFrom(h.GatewaySource, h.GatewaySource.BitLen()).String()
		rest += fmt.Sprintf("hostssl   all      all       %s   scram-sha-256\nhost      all      all       %s   scram-sha-256\n", src, src)
	}
	return nativeconf.ApplyHBA(rest, block)
}

// Postgres is a running throwaway PostgreSQL cluster. Its methods are safe
// for concurrent use; Stop and Restart are serialised.
type Postgres struct {
	// AdminUser and AdminPassword are the superuser's credentials for TCP
	// (SCRAM) logins.
	AdminUser     string
	AdminPassword string

	binDir string
	opt    PostgresOptions // as started, defaults applied
	hba    string          // pg_hba.conf
	server
}

// FindPostgres returns the bin directory of the newest PostgreSQL version
// installed under /usr/lib/postgresql, or ErrNotFound.
func FindPostgres() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVer := "", []int(nil)
	for _, d := range dirs {
		if !isExecutable(filepath.Join(d, "postgres")) || !isExecutable(filepath.Join(d, "initdb")) {
			continue
		}
		v := parseVersion(filepath.Base(filepath.Dir(d)))
		if v == nil {
			continue
		}
		if best == "" || versionLess(bestVer, v) {
			best, bestVer = d, v
		}
	}
	if best == "" {
		return "", ErrNotFound
	}
	return best, nil
}

func parseVersion(s string) []int {
	var v []int
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

func versionLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func isExecutable(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// StartPostgres initialises and starts a new PostgreSQL cluster as described
// in the package documentation, and returns once it accepts connections and
// is set up. On failure nothing is left behind and the error carries the tail
// of the server log.
func StartPostgres(ctx context.Context, opt PostgresOptions) (*Postgres, error) {
	if err := checkOptions(&postgresSpec, opt.CA, opt.Port); err != nil {
		return nil, err
	}
	if opt.AdminUser == "" {
		opt.AdminUser = "postgres"
	}
	if opt.MaxConnections == 0 {
		opt.MaxConnections = 300
	}
	if opt.StartTimeout == 0 {
		opt.StartTimeout = 60 * time.Second
	}
	hba := hbaConf
	if opt.Native != nil {
		var err error
		if hba, err = opt.Native.hba(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opt.StartTimeout)
	defer cancel()

	binDir := opt.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindPostgres(); err != nil {
			return nil, err
		}
	} else if !isExecutable(filepath.Join(binDir, "postgres")) {
		return nil, fmt.Errorf("%w in %s", ErrNotFound, binDir)
	}
	run, err := lookupRunAs(opt.OSUser)
	if err != nil {
		return nil, err
	}
	if opt.AdminPassword == "" {
		opt.AdminPassword = randomPassword()
	}
	p := &Postgres{AdminUser: opt.AdminUser, AdminPassword: opt.AdminPassword, binDir: binDir, opt: opt, hba: hba}
	err = p.launch(ctx, p, &postgresSpec, launchOptions{ca: opt.CA, dir: opt.Dir, port: opt.Port, keep: opt.Keep, run: run})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// initialize runs initdb and writes pg_hba.conf and the include of iamdb.conf.
func (p *Postgres) initialize(ctx context.Context) error {
	if err := p.initdb(ctx, p.AdminUser); err != nil {
		return err
	}
	return p.writeConfig()
}

// configure writes iamdb.conf for p.port.
func (p *Postgres) configure() error { return p.writeSettings(p.opt) }

func (p *Postgres) command() *exec.Cmd {
	return exec.Command(filepath.Join(p.binDir, "postgres"), "-D", p.dataDir)
}

func (p *Postgres) ping(ctx context.Context) error {
	c, err := p.connect(ctx, "postgres")
	if err != nil {
		return err
	}
	c.Close(ctx)
	return nil
}

// setup gives the superuser its password, creates rds_iam and the databases.
func (p *Postgres) setup(ctx context.Context) error {
	stmts := rdsiam.PostgresSetupSQL(p.opt.AdminUser, p.opt.AdminPassword)
	for _, db := range p.opt.Databases {
		stmts = append(stmts, "CREATE DATABASE "+rdsiam.QuotePostgresIdent(db))
	}
	if err := p.Exec(ctx, stmts...); err != nil {
		return fmt.Errorf("localdb: set up cluster: %w", err)
	}
	return nil
}

// writeServerTLS mints a server certificate for localhost and 127.0.0.1 and
// writes it to dir/server.crt and dir/server.key (0600), and the CA to
// caFile, all owned by run.
func writeServerTLS(ca *pki.CA, dir, caFile string, run runAs) error {
	cert, err := ca.ServerCert([]string{"localhost", "127.0.0.1"}, 365*24*time.Hour)
	if err != nil {
		return fmt.Errorf("localdb: server certificate: %w", err)
	}
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := pki.WritePEM(crt, key, cert); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	if err := pki.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	for _, f := range []string{crt, key, caFile} {
		if err := run.own(f); err != nil {
			return err
		}
	}
	return nil
}

func (p *Postgres) initdb(ctx context.Context, admin string) error {
	logf, err := openLog(p.logFile, p.run)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, "initdb"),
		"-D", p.dataDir, "-U", admin, "-E", "UTF8", "--locale=C",
		"--auth=trust", "--no-sync", "--no-instructions")
	p.prepare(cmd, logf)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localdb: initdb: %w\n%s", err, logTail(p.logFile))
	}
	return nil
}

// hbaConf lets members of rds_iam in only with a client certificate over TLS: the cert
// line comes first, then a reject for them on every other way in (any TCP connection,
// with or without TLS or GSS encryption, from any address; the unix socket), before the
// lines for everyone else. Without the rejects, an IAM user that set itself a password
// (ALTER ROLE current_user PASSWORD …, which any role may do) would log in with it.
const hbaConf = `# Written by iamdb localdb. See the package documentation.
# TYPE    DATABASE USER      ADDRESS        METHOD
hostssl   all      +rds_iam  127.0.0.1/32   cert
host      all      +rds_iam  all            reject
local     all      +rds_iam                 reject
` + hbaEveryoneElse

// hbaEveryoneElse are the lines for everyone but members of rds_iam: the superuser over the
// socket without a password (Exec), and SCRAM over TCP.
const hbaEveryoneElse = `# Everyone else.
local     all      all                      trust
hostssl   all      all       127.0.0.1/32   scram-sha-256
host      all      all       127.0.0.1/32   scram-sha-256
`

// writeConfig writes pg_hba.conf and includes iamdb.conf from postgresql.conf.
func (p *Postgres) writeConfig() error {
	hba := filepath.Join(p.dataDir, "pg_hba.conf")
	if err := pki.WriteFile(hba, []byte(p.hba), 0o600); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(p.dataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	_, err = f.WriteString("\n# Written by iamdb localdb; overrides the settings above.\ninclude 'iamdb.conf'\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	return p.run.own(hba)
}

// writeSettings writes iamdb.conf for p.port.
func (p *Postgres) writeSettings(opt PostgresOptions) error {
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	b.WriteString("# Written by iamdb localdb. See the package documentation.\n")
	set("listen_addresses", "'127.0.0.1'")
	set("port", strconv.Itoa(p.port))
	set("unix_socket_directories", quoteConf(p.sockDir))
	set("unix_socket_permissions", "0700")
	set("max_connections", strconv.Itoa(opt.MaxConnections))
	set("ssl", "on")
	set("ssl_cert_file", quoteConf(filepath.Join(p.baseDir, "server.crt")))
	set("ssl_key_file", quoteConf(filepath.Join(p.baseDir, "server.key")))
	set("ssl_ca_file", quoteConf(p.caFile))
	set("ssl_min_protocol_version", "'TLSv1.2'")
	set("password_encryption", "'scram-sha-256'")
	set("log_connections", "on")
	set("log_line_prefix", "'%m [%p] %q%u@%d '")
	set("fsync", "off")
	set("synchronous_commit", "off")
	set("full_page_writes", "off")
	keys := make([]string, 0, len(opt.Settings))
	for k := range opt.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set(k, opt.Settings[k])
	}
	name := filepath.Join(p.dataDir, "iamdb.conf")
	if err := pki.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	return p.run.own(name)
}

// connect opens a superuser connection over the unix socket.
func (p *Postgres) connect(ctx context.Context, db string) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		rdsiam.QuotePostgresConnValue(p.sockDir), p.port, rdsiam.QuotePostgresConnValue(p.AdminUser), rdsiam.QuotePostgresConnValue(db)))
	if err != nil {
		return nil, fmt.Errorf("localdb: %w", err)
	}
	cfg.Password = ""
	cfg.RuntimeParams = map[string]string{}
	return pgconn.ConnectConfig(ctx, cfg)
}

// Exec runs each SQL string (which may hold several statements) as the
// superuser over the unix socket, in the database "postgres".
func (p *Postgres) Exec(ctx context.Context, sql ...string) error {
	return p.ExecDB(ctx, "postgres", sql...)
}

// ExecDB is Exec in database db.
func (p *Postgres) ExecDB(ctx context.Context, db string, sql ...string) error {
	c, err := p.connect(ctx, db)
	if err != nil {
		return fmt.Errorf("localdb: connect: %w", err)
	}
	defer c.Close(context.Background())
	for _, s := range sql {
		if _, err := c.Exec(ctx, s).ReadAll(); err != nil {
			return fmt.Errorf("localdb: %w", err)
		}
	}
	return nil
}

// AdminURL returns a URL for the superuser over TCP with TLS verified
// against the CA: postgres://user:pw@127.0.0.1:PORT/db?sslmode=verify-full&sslrootcert=FILE.
func (p *Postgres) AdminURL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(p.AdminUser, p.AdminPassword),
		Host:     p.Addr(),
		Path:     "/" + db,
		RawQuery: url.Values{"sslmode": {"verify-full"}, "sslrootcert": {p.caFile}}.Encode(),
	}
	return u.String()
}

func freePort() (int, error) {
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("localdb: find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port != 5432 && port != 3306 {
			return port, nil
		}
	}
	return 0, errors.New("localdb: no free port")
}

func randomPassword() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// quoteConf quotes s as a postgresql.conf string value, where a backslash
// escapes as in C. (Configuration, not SQL: the rds_iam SQL's quoting is rdsiam's.)
func quoteConf(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + `'`
}

// runAs is the OS identity the server runs as.
type runAs struct {
	name     string
	uid, gid int
	switched bool // the caller is root and the server runs as name
}

func lookupRunAs(name string) (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return runAs{}, fmt.Errorf("localdb: running as root needs an unprivileged OS user: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return runAs{}, fmt.Errorf("localdb: unusable OS user %q (uid %s)", name, u.Uid)
	}
	return runAs{name: name, uid: uid, gid: gid, switched: true}, nil
}

// own gives name to the server's OS user.
func (r runAs) own(name string) error {
	if !r.switched {
		return nil
	}
	if err := os.Chown(name, r.uid, r.gid); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	return nil
}
