package localdb

import (
	"context"
	"crypto/tls"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/nativesetup"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// ErrMariaDBNotFound means the MariaDB server binaries are not installed.
// errors.Is(ErrMariaDBNotFound, ErrNotFound) holds too, so callers that
// only ask "are the tools there" test for ErrNotFound.
var ErrMariaDBNotFound error = notFoundError("localdb: mariadb binaries not found")

type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// MariaDBOptions configures StartMariaDB.
type MariaDBOptions struct {
	// CA issues the server certificate and is the server's ssl_ca, so client
	// certificates it mints are trusted for REQUIRE SUBJECT logins. Required.
	// The server certificate (a year, capped at the CA's expiry) is minted
	// with the CA's clock.
	CA *pki.CA

	// Dir is the parent of the server's new directory. If empty, the system
	// temp dir. When running as root it must be searchable by OSUser.
	Dir string

	// Mariadbd is the server binary. If empty, the first of mariadbd and
	// mysqld found in /usr/sbin, /usr/bin, /usr/local/sbin, /usr/local/bin
	// (FindMariaDB).
	Mariadbd string

	// InstallDB is mariadb-install-db. If empty, the first of
	// mariadb-install-db and mysql_install_db found in the same places. It
	// picks its own server binary and share files (relative to its own
	// location, else /usr); for an unusual layout set Settings["basedir"].
	InstallDB string

	// OSUser is the unprivileged OS user the server runs as when the caller
	// is root. If empty, "mysql". Ignored when not root (the server runs as
	// the caller).
	OSUser string

	// AdminUser is the name of the administrative account 'AdminUser'@'%'
	// (ALL PRIVILEGES WITH GRANT OPTION, and rds_iam WITH ADMIN OPTION so that it can grant the role) for TCP logins. If empty, "admin".
	AdminUser string

	// AdminPassword is AdminUser's password (mysql_native_password). If
	// empty, a random one.
	AdminPassword string

	// Databases are created after start.
	Databases []string

	// Port to listen on at 127.0.0.1. If zero, a free port. 3306 is refused.
	Port int

	// MaxConnections is max_connections. If zero, 300.
	MaxConnections int

	// Settings are extra server options, passed as --key=value (--key when
	// the value is empty) after ours, so they win, in key order, to both
	// mariadb-install-db and mariadbd. Values are passed verbatim as one
	// argument each: no shell quoting.
	Settings map[string]string

	// StartTimeout bounds mariadb-install-db plus the wait for readiness
	// (the context may bound it further). If zero, 60s.
	StartTimeout time.Duration

	// Keep leaves the directory in place after Stop.
	Keep bool

	// Native, if set, loads the PAM plugin for iamdb's native mode (see MariaDBNative).
	Native *MariaDBNative
}

// MariaDBNative configures native mode: the server loads the PAM plugin auth_pam_v1 with
// pam_use_cleartext_plugin=ON (nativeconf.MariaDBConf says why v1), so that accounts
// created with rdsiam.MySQLNativeUserSQL log in with a token that PAM checks, sent with
// mysql_clear_password. The PAM service file (/etc/pam.d/<service>) is the caller's to
// write.
type MariaDBNative struct {
	// Plugin, if set, is iamdb's MariaDB authentication plugin (auth_iamdb.so, built by
	// pammodule.BuildMariaDBPlugin): the server loads it too, as AWSAuthenticationPlugin,
	// so that accounts created with rdsiam.MySQLPluginUserSQL log in with a token it asks
	// the verifier at NativeSocket(Dir()) about. The server's plugin directory is then a
	// directory of its own (plugin/ in Dir()) holding a copy of the plugin and links to
	// the system's plugins.
	Plugin string
}

// NativeSocket is the verifier socket native mode uses for a server in dir: the one
// MariaDBNative.Plugin asks, and where dev serves each server's verifier.
func NativeSocket(dir string) string { return filepath.Join(dir, "native.sock") }

// mariaDBPluginFile is the plugin's file name in the server's plugin directory.
const mariaDBPluginFile = nativeconf.PluginName + ".so"

// args returns mariadbd's options for native mode of a server in dir.
func (n *MariaDBNative) args(dir string) []string {
	args := []string{"--plugin-load-add=auth_pam_v1", "--pam-use-cleartext-plugin=ON"}
	if n.Plugin != "" {
		args = append(args, "--plugin-dir="+filepath.Join(dir, "plugin"),
			"--plugin-load-add="+mariaDBPluginFile,
			"--awsauthenticationplugin-socket="+NativeSocket(dir))
	}
	return args
}

// installPlugin makes dir/plugin the server's plugin directory: links to every file of
// the system's (nativesetup.PluginDirOf) and a copy of n.Plugin.
func (n *MariaDBNative) installPlugin(mariadbd, dir string) error {
	if n.Plugin == "" {
		return nil
	}
	system, err := nativesetup.PluginDirOf(context.Background(), mariadbd)
	if err != nil {
		return fmt.Errorf("localdb: the system's MariaDB plugin directory: %w", err)
	}
	own := filepath.Join(dir, "plugin")
	os.RemoveAll(own) // configure runs again for another port
	if err := os.Mkdir(own, 0o755); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	entries, err := os.ReadDir(system)
	if err != nil {
		return fmt.Errorf("localdb: the system's MariaDB plugins: %w", err)
	}
	for _, e := range entries {
		if e.Name() == mariaDBPluginFile {
			continue
		}
		if err := os.Symlink(filepath.Join(system, e.Name()), filepath.Join(own, e.Name())); err != nil {
			return fmt.Errorf("localdb: %w", err)
		}
	}
	so, err := os.ReadFile(n.Plugin)
	if err == nil {
		err = os.WriteFile(filepath.Join(own, mariaDBPluginFile), so, 0o644)
	}
	if err != nil {
		return fmt.Errorf("localdb: install the AWSAuthenticationPlugin: %w", err)
	}
	return nil
}

// MariaDB is a running throwaway MariaDB server. Its methods are safe for
// concurrent use; Stop and Restart are serialised.
type MariaDB struct {
	// AdminUser and AdminPassword are the credentials of 'AdminUser'@'%'
	// for TCP logins (mysql_native_password).
	AdminUser     string
	AdminPassword string

	mariadbd   string
	installDB  string
	serverUser string // the OS user mariadb-install-db makes root's socket user
	sockUser   string // the unix_socket account Exec logs in as
	tlsName    string // registered with the mysql driver for AdminDSN
	tlsConfig  *tls.Config
	extra      []string // server options from MariaDBOptions
	native     *MariaDBNative
	databases  []string // MariaDBOptions.Databases, created by setup
	server
}

// FindMariaDB returns the paths of the MariaDB server binary and of
// mariadb-install-db from the usual system locations, or ErrMariaDBNotFound.
func FindMariaDB() (mariadbd, installDB string, err error) {
	find := func(names ...string) string {
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			for _, n := range names {
				if p := filepath.Join(d, n); isExecutable(p) {
					return p
				}
			}
		}
		return ""
	}
	mariadbd, installDB = find("mariadbd", "mysqld"), find("mariadb-install-db", "mysql_install_db")
	if mariadbd == "" || installDB == "" {
		return "", "", ErrMariaDBNotFound
	}
	return mariadbd, installDB, nil
}

// mariadbSockName is the server's unix socket in its socket directory.
const mariadbSockName = "mysqld.sock"

// StartMariaDB initialises and starts a new MariaDB server as described in
// the package documentation, and returns once it accepts connections and is
// set up. On failure nothing is left behind and the error carries the tail
// of the server log.
func StartMariaDB(ctx context.Context, opt MariaDBOptions) (*MariaDB, error) {
	if err := checkOptions(&mariaDBSpec, opt.CA, opt.Port); err != nil {
		return nil, err
	}
	if opt.AdminUser == "" {
		opt.AdminUser = "admin"
	}
	if opt.MaxConnections == 0 {
		opt.MaxConnections = 300
	}
	if opt.StartTimeout == 0 {
		opt.StartTimeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opt.StartTimeout)
	defer cancel()

	mariadbd, installDB, err := findMariaDB(opt)
	if err != nil {
		return nil, err
	}
	osUser := opt.OSUser
	if osUser == "" {
		osUser = "mysql"
	}
	run, err := lookupRunAs(osUser)
	if err != nil {
		return nil, err
	}
	// mariadb-install-db creates root@localhost and a second all-privilege
	// account for the server's OS user, both IDENTIFIED VIA unix_socket:
	// Exec logs in as whichever matches the calling process.
	serverUser, sockUser := run.name, "root"
	if !run.switched {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("localdb: %w", err)
		}
		serverUser, sockUser = u.Username, u.Username
	}
	if opt.AdminPassword == "" {
		opt.AdminPassword = randomPassword()
	}
	m := &MariaDB{
		AdminUser:     opt.AdminUser,
		AdminPassword: opt.AdminPassword,
		mariadbd:      mariadbd,
		installDB:     installDB,
		serverUser:    serverUser,
		sockUser:      sockUser,
		tlsConfig:     &tls.Config{RootCAs: opt.CA.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		extra:         mariaDBExtraArgs(opt),
		databases:     opt.Databases,
	}
	m.native = opt.Native
	m.onStop = func() { mysql.DeregisterTLSConfig(m.tlsName) }
	err = m.launch(ctx, m, &mariaDBSpec, launchOptions{ca: opt.CA, dir: opt.Dir, port: opt.Port, keep: opt.Keep, run: run})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// findMariaDB returns the binaries opt names, FindMariaDB's where it names none.
func findMariaDB(opt MariaDBOptions) (mariadbd, installDB string, err error) {
	mariadbd, installDB = opt.Mariadbd, opt.InstallDB
	if mariadbd == "" || installDB == "" {
		d, i, err := FindMariaDB()
		if err != nil {
			return "", "", err
		}
		if mariadbd == "" {
			mariadbd = d
		}
		if installDB == "" {
			installDB = i
		}
	}
	for _, f := range []string{mariadbd, installDB} {
		if !isExecutable(f) {
			return "", "", fmt.Errorf("%w: %s", ErrMariaDBNotFound, f)
		}
	}
	return mariadbd, installDB, nil
}

// mariaDBExtraArgs returns the server options from opt: max_connections, then Settings
// in key order.
func mariaDBExtraArgs(opt MariaDBOptions) []string {
	extra := []string{"--max-connections=" + strconv.Itoa(opt.MaxConnections)}
	keys := make([]string, 0, len(opt.Settings))
	for k := range opt.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := opt.Settings[k]; v != "" {
			extra = append(extra, "--"+k+"="+v)
		} else {
			extra = append(extra, "--"+k)
		}
	}
	return extra
}

// initialize runs mariadb-install-db.
func (m *MariaDB) initialize(ctx context.Context) error {
	m.tlsName = "iamdb-localdb-" + filepath.Base(m.baseDir)
	return m.install(ctx, m.serverUser)
}

// configure installs native mode's plugin, if any; the rest is on mariadbd's command line.
func (m *MariaDB) configure() error {
	if m.native == nil {
		return nil
	}
	return m.native.installPlugin(m.mariadbd, m.baseDir)
}

func (m *MariaDB) command() *exec.Cmd {
	args := append([]string{"--no-defaults"}, m.commonArgs()...)
	args = append(args,
		"--socket="+m.Socket(),
		"--port="+strconv.Itoa(m.port),
		"--bind-address=127.0.0.1",
		"--pid-file="+m.PIDFile(),
		"--log-error="+m.logFile,
		"--skip-name-resolve",
		"--host-cache-size=0",
		"--ssl",
		"--ssl-cert="+filepath.Join(m.baseDir, "server.crt"),
		"--ssl-key="+filepath.Join(m.baseDir, "server.key"),
		"--ssl-ca="+m.caFile,
		"--tls-version=TLSv1.2,TLSv1.3",
		"--require-secure-transport=OFF",
	)
	if m.native != nil {
		args = append(args, m.native.args(m.baseDir)...)
	}
	args = append(args, m.extra...)
	return exec.Command(m.mariadbd, args...)
}

func (m *MariaDB) ping(ctx context.Context) error {
	c, err := m.connect(ctx, "")
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// setup creates rds_iam, the admin and the databases, and registers the TLS
// configuration with the driver.
func (m *MariaDB) setup(ctx context.Context) error {
	// The setup's literals never escape with a backslash: its first statement makes one
	// stand for itself.
	stmts := rdsiam.MySQLSetupSQL(m.AdminUser, m.AdminPassword)
	for _, db := range m.databases {
		stmts = append(stmts, "CREATE DATABASE "+rdsiam.QuoteMySQLIdent(db))
	}
	if err := m.Exec(ctx, stmts...); err != nil {
		return fmt.Errorf("localdb: set up server: %w", err)
	}
	if err := mysql.RegisterTLSConfig(m.tlsName, m.TLSConfig()); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	return nil
}

// commonArgs are the options both mariadb-install-db (for the bootstrap
// server) and mariadbd get, before the server's own.
func (m *MariaDB) commonArgs() []string {
	return []string{
		"--datadir=" + m.dataDir,
		// Our own tmpdir: concurrent bootstraps sharing /tmp collide on their temporary
		// tables ("Unknown table 'mysql.tmp_user_sys'").
		"--tmpdir=" + m.baseDir,
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
		"--innodb-log-file-size=16M",
		"--innodb-buffer-pool-size=64M",
		"--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0",
		"--skip-log-bin",
	}
}

func (m *MariaDB) install(ctx context.Context, serverUser string) error {
	logf, err := openLog(m.logFile, m.run)
	if err != nil {
		return err
	}
	defer logf.Close()
	// No --user: it would make the script chown files outside the data
	// directory (the PAM tool's) and the bootstrap server switch users; we
	// already run it as the server's OS user.
	args := append([]string{
		"--no-defaults", // must come first: never /etc/mysql
		"--auth-root-authentication-method=socket",
		"--auth-root-socket-user=" + serverUser,
		"--skip-test-db",
		"--skip-name-resolve",
	}, m.commonArgs()...)
	args = append(args, m.extra...)
	cmd := exec.CommandContext(ctx, m.installDB, args...)
	m.prepare(cmd, logf)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localdb: mariadb-install-db: %w\n%s", err, logTail(m.logFile))
	}
	return nil
}

// connect logs in over the unix socket with unix_socket authentication.
func (m *MariaDB) connect(ctx context.Context, db string) (driver.Conn, error) {
	cfg := mysql.NewConfig()
	cfg.User = m.sockUser
	cfg.Net = "unix"
	cfg.Addr = m.Socket()
	cfg.DBName = db
	cfg.MultiStatements = true
	cfg.Logger = &mysql.NopLogger{} // libraries never log
	cn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("localdb: %w", err)
	}
	return cn.Connect(ctx)
}

// Exec runs each SQL string (which may hold several statements separated by
// semicolons) as root over the unix socket (unix_socket authentication), with
// no default database.
func (m *MariaDB) Exec(ctx context.Context, sql ...string) error {
	return m.ExecDB(ctx, "", sql...)
}

// ExecDB is Exec with db as the default database.
func (m *MariaDB) ExecDB(ctx context.Context, db string, stmts ...string) error {
	c, err := m.connect(ctx, db)
	if err != nil {
		return fmt.Errorf("localdb: connect: %w", err)
	}
	defer c.Close()
	ex, ok := c.(driver.ExecerContext)
	if !ok {
		return errors.New("localdb: mysql driver connection cannot Exec")
	}
	for _, s := range stmts {
		if _, err := ex.ExecContext(ctx, s, nil); err != nil {
			return fmt.Errorf("localdb: %w", err)
		}
	}
	return nil
}

// Socket returns the path of the server's unix socket.
func (m *MariaDB) Socket() string { return filepath.Join(m.sockDir, mariadbSockName) }

// PIDFile returns the path of the server's pid file.
func (m *MariaDB) PIDFile() string { return filepath.Join(m.baseDir, mariaDBSpec.pidFile) }

// TLSConfig returns a new client TLS configuration that verifies the server
// against the CA (ServerName 127.0.0.1, TLS 1.2 or later). Add a client
// certificate minted by the CA to log in as an IAM user, and pass it in
// mysql.Config.TLS or register it with mysql.RegisterTLSConfig.
func (m *MariaDB) TLSConfig() *tls.Config { return m.tlsConfig.Clone() }

// TLSConfigName is the name under which StartMariaDB registered TLSConfig
// with github.com/go-sql-driver/mysql, for a DSN's tls parameter. Stop
// deregisters it.
func (m *MariaDB) TLSConfigName() string { return m.tlsName }

// AdminDSN returns a github.com/go-sql-driver/mysql DSN for AdminUser over
// TCP with TLS verified against the CA (tls=TLSConfigName()), with db as the
// default database (none if empty). It is valid until Stop.
func (m *MariaDB) AdminDSN(db string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = m.AdminUser, m.AdminPassword
	cfg.Net, cfg.Addr = "tcp", m.Addr()
	cfg.DBName = db
	cfg.TLSConfig = m.tlsName
	return cfg.FormatDSN()
}
