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
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
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
}

// MariaDB is a running throwaway MariaDB server. Its methods are safe for
// concurrent use; Stop and Restart are serialised.
type MariaDB struct {
	// AdminUser and AdminPassword are the credentials of 'AdminUser'@'%'
	// for TCP logins (mysql_native_password).
	AdminUser     string
	AdminPassword string

	mariadbd  string
	installDB string
	pidFile   string
	sockUser  string // the unix_socket account Exec logs in as
	tlsName   string // registered with the mysql driver for AdminDSN
	tlsConfig *tls.Config
	extra     []string // server options from MariaDBOptions
	server

	mu      sync.Mutex
	proc    *exec.Cmd
	exited  chan struct{} // closed when proc has exited
	stopped bool
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
func StartMariaDB(ctx context.Context, opt MariaDBOptions) (_ *MariaDB, err error) {
	if opt.CA == nil {
		return nil, errors.New("localdb: MariaDBOptions.CA is nil")
	}
	if opt.Port == 3306 {
		return nil, errors.New("localdb: port 3306 belongs to the machine's instance")
	}
	if opt.Port < 0 || opt.Port > 65535 {
		return nil, fmt.Errorf("localdb: bad port %d", opt.Port)
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

	mariadbd, installDB := opt.Mariadbd, opt.InstallDB
	if mariadbd == "" || installDB == "" {
		d, i, err := FindMariaDB()
		if err != nil {
			return nil, err
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
			return nil, fmt.Errorf("%w: %s", ErrMariaDBNotFound, f)
		}
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

	parent := opt.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	base, err := os.MkdirTemp(parent, "iamdb-mariadb-")
	if err != nil {
		return nil, fmt.Errorf("localdb: %w", err)
	}
	if base, err = filepath.Abs(base); err != nil {
		os.RemoveAll(base)
		return nil, fmt.Errorf("localdb: %w", err)
	}
	m := &MariaDB{
		AdminUser:     opt.AdminUser,
		AdminPassword: opt.AdminPassword,
		mariadbd:      mariadbd,
		installDB:     installDB,
		pidFile:       filepath.Join(base, "mariadbd.pid"),
		sockUser:      sockUser,
		tlsName:       "iamdb-localdb-" + filepath.Base(base),
		server: server{
			baseDir: base,
			dataDir: filepath.Join(base, "data"),
			sockDir: base,
			logFile: filepath.Join(base, "mariadb.log"),
			caFile:  filepath.Join(base, "ca.crt"),
			keep:    opt.Keep,
			run:     run,
		},
	}
	m.extra = append(m.extra, "--max-connections="+strconv.Itoa(opt.MaxConnections))
	keys := make([]string, 0, len(opt.Settings))
	for k := range opt.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := opt.Settings[k]; v != "" {
			m.extra = append(m.extra, "--"+k+"="+v)
		} else {
			m.extra = append(m.extra, "--"+k)
		}
	}
	defer func() {
		if err != nil {
			m.kill()
			m.removeDirs()
		}
	}()
	if m.owner, err = lockDir(base); err != nil {
		return nil, err
	}
	if err := run.own(base); err != nil {
		return nil, err
	}
	if err := run.checkSearchable(base); err != nil {
		return nil, err
	}
	// A unix socket path is limited to about 107 bytes.
	if len(m.sockDir)+len("/"+mariadbSockName) > 100 {
		d, err := os.MkdirTemp("", "mys")
		if err != nil {
			return nil, fmt.Errorf("localdb: %w", err)
		}
		m.sockDir, m.tmpSock = d, true
		if err := noteSockDir(base, d); err != nil {
			return nil, err
		}
		if err := run.own(d); err != nil {
			return nil, err
		}
	}
	if err := writeServerTLS(opt.CA, base, m.caFile, run); err != nil {
		return nil, err
	}
	m.tlsConfig = &tls.Config{RootCAs: opt.CA.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if err := m.install(ctx, serverUser); err != nil {
		return nil, err
	}

	for attempt := 0; ; attempt++ {
		m.port = opt.Port
		if m.port == 0 {
			if m.port, err = freePort(); err != nil {
				return nil, err
			}
		}
		var logSize int64
		if fi, err := os.Stat(m.logFile); err == nil {
			logSize = fi.Size()
		}
		err = m.start(ctx)
		if err == nil {
			break
		}
		// Another process took the port between our probe and the server's
		// bind: try another one.
		if opt.Port == 0 && attempt < 5 && errors.Is(err, errMariaDBExited) &&
			strings.Contains(m.logSince(logSize), "Address already in use") {
			continue
		}
		return nil, err
	}

	// The setup's literals never escape with a backslash: its first statement makes one
	// stand for itself.
	stmts := rdsiam.MySQLSetupSQL(opt.AdminUser, opt.AdminPassword)
	for _, db := range opt.Databases {
		stmts = append(stmts, "CREATE DATABASE "+rdsiam.QuoteMySQLIdent(db))
	}
	if err := m.Exec(ctx, stmts...); err != nil {
		return nil, fmt.Errorf("localdb: set up server: %w", err)
	}
	if err := mysql.RegisterTLSConfig(m.tlsName, m.TLSConfig()); err != nil {
		return nil, fmt.Errorf("localdb: %w", err)
	}
	return m, nil
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

func (m *MariaDB) prepare(cmd *exec.Cmd, logf *os.File) {
	cmd.Dir = m.baseDir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"}
	cmd.SysProcAttr = m.run.sysProcAttr()
}

var errMariaDBExited = errors.New("localdb: mariadbd exited during startup")

// start runs the server and waits until it accepts connections. m.mu must be
// held or m not yet shared.
func (m *MariaDB) start(ctx context.Context) error {
	logf, err := openLog(m.logFile, m.run)
	if err != nil {
		return err
	}
	args := append([]string{"--no-defaults"}, m.commonArgs()...)
	args = append(args,
		"--socket="+m.Socket(),
		"--port="+strconv.Itoa(m.port),
		"--bind-address=127.0.0.1",
		"--pid-file="+m.pidFile,
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
	args = append(args, m.extra...)
	cmd := exec.Command(m.mariadbd, args...)
	m.prepare(cmd, logf)
	err = cmd.Start()
	logf.Close() // the child has its own descriptor
	if err != nil {
		return fmt.Errorf("localdb: start mariadbd: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	m.proc, m.exited = cmd, exited
	if err := m.waitReady(ctx); err != nil {
		if !errors.Is(err, errMariaDBExited) {
			m.kill()
		}
		m.proc = nil
		return fmt.Errorf("%w\n%s", err, logTail(m.logFile))
	}
	return nil
}

// waitReady polls the unix socket until a login succeeds, the server exits,
// or ctx ends.
func (m *MariaDB) waitReady(ctx context.Context) error {
	delay := 5 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := m.connect(actx, "")
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-m.exited:
			t.Stop()
			return fmt.Errorf("%w: %s", errMariaDBExited, m.proc.ProcessState)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("localdb: mariadbd not ready: %w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
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

// kill stops the server at once (SIGKILL) and waits. InnoDB recovers on the
// next start, but the directory is about to be removed anyway.
func (m *MariaDB) kill() {
	if m.proc == nil {
		return
	}
	m.proc.Process.Kill()
	<-m.exited
	m.proc = nil
}

// stop shuts the server down (SIGTERM: a clean shutdown that flushes
// InnoDB), and kills it if it has not exited when ctx ends or, if ctx has
// no deadline, after 30s.
func (m *MariaDB) stop(ctx context.Context) {
	if m.proc == nil {
		return
	}
	m.proc.Process.Signal(sigTerm)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-m.exited:
		m.proc = nil
		return
	case <-ctx.Done():
	case <-t.C:
	}
	m.kill()
}

// Stop shuts the server down (cleanly; killed if ctx ends first) and removes
// its directory unless Keep was set. It is idempotent.
func (m *MariaDB) Stop(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return nil
	}
	m.stopped = true
	m.stop(ctx)
	mysql.DeregisterTLSConfig(m.tlsName)
	if m.keep {
		m.keepDirs()
		return nil
	}
	return m.removeDirs()
}

// Restart stops the server (cleanly) and starts it again on the same data
// directory and port.
func (m *MariaDB) Restart(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return errors.New("localdb: restart after stop")
	}
	m.stop(ctx)
	return m.start(ctx)
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
func (m *MariaDB) PIDFile() string { return m.pidFile }

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

// logSince returns what the server log gained after its first off bytes.
func (m *MariaDB) logSince(off int64) string {
	b, err := os.ReadFile(m.logFile)
	if err != nil || int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// IAMUserSQL returns the statements that create user as an IAM user on MariaDB.
//
// Deprecated: use rdsiam.MySQLIAMUserSQL, which this calls.
func IAMUserSQL(user string) []string { return rdsiam.MySQLIAMUserSQL(user) }
