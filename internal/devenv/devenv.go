package devenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/server"
)

// The identifiers the dev databases are registered under.
const (
	ClusterID       = "iamdb-dev-pg"    // Aurora PostgreSQL cluster
	MySQLInstanceID = "iamdb-dev-mysql" // RDS for MariaDB instance
)

// mysqlDatabase is the database the dev MariaDB is created with.
const mysqlDatabase = "demo"

// gatewaySource is the address the PostgreSQL gateway dials its backend from in native
// mode, so that pg_hba.conf tells its certificate logins of rds_iam members from the
// native (PAM) logins of the same users from 127.0.0.1.
const gatewaySource = "127.0.0.2"

// Config is what "iamdb dev" is told on its command line.
type Config struct {
	Dir                                             string // state directory (store, CA, credentials, env)
	Region                                          string
	AuthorityAddr, PostgresAddr, MySQLAddr, OpsAddr string // port 0: a free one
	LogLevel                                        string
	Accounts                                        []string // extra accounts (12 digits), each with an admin
	IMDSProfiles                                    []string // an IMDS endpoint per instance profile (name or ARN)
	IMDSAddrs                                       []string // the n-th IMDS endpoint's address (default 127.0.0.1:0)
	Native, Audit, Pprof                            bool
}

// Options are Start's test seams; the zero value is the program's.
type Options struct {
	Logger *slog.Logger // nil: discard
	// PostgresReady and MariaDBReady, if set, are called with the throwaway servers once
	// they are ready (cmd/iamdb's tests restart them under the gateway).
	PostgresReady func(*localdb.Postgres)
	MariaDBReady  func(*localdb.MariaDB)
	// StartMariaDB starts the throwaway MariaDB; nil: localdb.StartMariaDB (a test runs
	// dev as on a machine without MariaDB).
	StartMariaDB func(context.Context, localdb.MariaDBOptions) (*localdb.MariaDB, error)
}

// A UsageError is a Config that cannot be run as given: a command-line mistake.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// Env is a running dev environment: the server (bound, not yet running) and what stands
// behind it.
type Env struct {
	Server *server.Server
	Config server.Config // as given to server.New
	// Postgres and MariaDB are the throwaway servers; MariaDB is nil when it is not
	// installed. PostgresPort and MySQLPort are their gateways' ports (MySQLPort 0
	// without MariaDB).
	Postgres                *localdb.Postgres
	MariaDB                 *localdb.MariaDB
	PostgresPort, MySQLPort int
	// NativeOff says why native mode is off; "" when it is on.
	NativeOff string
	EnvFile   string // D/env
	// ConsolePasswordFile is D/console-password, the admin's console password;
	// ConsolePassword is that password when this start set it (printed once), else "".
	ConsolePasswordFile, ConsolePassword string
	IMDSVars                             []string // the D/env variable of each IMDS endpoint, in Config.IMDSProfiles' order

	stop func()
	lns  map[string]net.Listener
}

// Start creates the state directory, the CA and the server certificate, starts the
// throwaway databases, builds the server's configuration, calls server.New and writes
// D/env. On error it undoes what it did.
func Start(ctx context.Context, c Config, opts Options) (_ *Env, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := filepath.Abs(c.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	ca, err := loadOrCreateCA(d)
	if err != nil {
		return nil, err
	}
	serverCert, err := ca.ServerCert([]string{"localhost", "127.0.0.1"}, 365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	if err := pki.WritePEM(filepath.Join(d, "server.pem"), filepath.Join(d, "server-key.pem"), serverCert); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	e := &Env{}
	dbs, stop, err := startDatabases(ctx, ca, planNative(ctx, c.Native, log), log, opts)
	e.stop = stop
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	e.Postgres, e.MariaDB, e.NativeOff = dbs.pg, dbs.maria, dbs.native.off
	cfg, lns, err := serverConfig(d, c, dbs)
	e.lns = lns
	if err != nil {
		return nil, err
	}
	e.PostgresPort, e.MySQLPort = dbs.pgPort, dbs.myPort
	if e.IMDSVars, err = addIMDS(&cfg, c.IMDSProfiles, c.IMDSAddrs); err != nil {
		return nil, err
	}
	e.Config = cfg
	if e.Server, err = server.New(ctx, cfg, server.Options{Logger: log, Listeners: lns}); err != nil {
		return nil, err
	}
	var extra []envVar // IAMDB_OPS_ADDR, IAMDB_IMDS_ENDPOINT and one IAMDB_IMDS_ENDPOINT_<NAME> per profile
	if a := e.Server.OpsAddr(); a != "" {
		extra = append(extra, envVar{"IAMDB_OPS_ADDR", a}) // not IAMDB_OPS_LISTEN: serve would read that
	}
	for i, ep := range e.Server.WorkloadEndpoints() {
		if i == 0 {
			extra = append(extra, envVar{"IAMDB_IMDS_ENDPOINT", ep.URL})
		}
		extra = append(extra, envVar{e.IMDSVars[i], ep.URL})
	}
	if e.EnvFile, err = writeEnv(d, e.Server.URL(), &cfg, dbs, extra); err != nil {
		e.Server.Shutdown(context.Background())
		return nil, err
	}
	e.ConsolePasswordFile = filepath.Join(d, "console-password")
	if e.ConsolePassword, err = consolePassword(ctx, e.Server, &cfg, e.ConsolePasswordFile); err != nil {
		e.Server.Shutdown(context.Background())
		return nil, err
	}
	return e, nil
}

// Close closes the listeners the server did not take and stops the throwaway databases.
// Shut the server down (or let Run return) first.
func (e *Env) Close() {
	for _, ln := range e.lns {
		ln.Close()
	}
	e.lns = nil
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// AccountEnvFile is D/env-ID, which switches a shell that sourced D/env to the admin of the
// extra account ID.
func AccountEnvFile(d, id string) string { return filepath.Join(d, "env-"+id) }
