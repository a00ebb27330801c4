package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/server"
)

const devUsage = `usage: iamdb dev [--dir D] [--region R] [--authority ADDR] [--pg ADDR] [--mysql ADDR] [--ops ADDR]
                 [--account ID]... [--imds-profile NAME|ARN [--imds ADDR]]... [--native=false]
                 [--audit=false] [--pprof]

Starts, in the foreground, everything iamdb needs on one machine with zero configuration:
the embedded store and the authority (AWS Query API for IAM, STS and RDS), a throwaway
PostgreSQL and a throwaway MariaDB from the system's binaries, and a gateway in front of
each (PostgreSQL and MySQL), with a generated CA and certificates (localhost, 127.0.0.1).
The PostgreSQL database is registered as an Aurora PostgreSQL cluster, the MariaDB as an
RDS instance, both with IAM authentication enabled; an admin is bootstrapped, and D/env
(to source) points the AWS CLI, psql, mariadb and the SDKs at it all. Without the MariaDB
binaries only PostgreSQL runs. Prints "ready" when everything serves; Ctrl-C stops it (the
throwaway servers are removed; D is kept). A run killed without the chance to stop (kill
-9) leaves its servers' directories in the temp dir; the next run removes them, and never
those of a run still going.

Run as root, the throwaway databases also take IAM logins on their own ports, as an RDS
database does (native mode, docs/native-mode.md): PostgreSQL and MariaDB hand the token to
PAM, whose module pam_iamdb.so (built at start: it needs gcc and libpam0g-dev) asks the
authority's local verifier. D/env names them IAMDB_PG_NATIVE_HOST/_PORT and
IAMDB_MYSQL_NATIVE_HOST/_PORT; tokens are signed for those ports, and the databases keep
their registrations (same resource ids) with the gateways' ports. Native MariaDB users
are made with "iamdb create-db-user --native". As another user, or with --native=false,
native mode is off and dev says why.

With --account ID (12 digits; repeatable) it also creates the account ID with an admin of
its own, for cross-account scenarios: D/env-ID, sourced after D/env, acts as that admin;
D/env lists the extra accounts in IAMDB_EXTRA_ACCOUNTS. The databases stay in the dev
account (IAMDB_ACCOUNT_ID).

With --imds-profile NAME it also serves an instance-metadata (IMDSv2) endpoint, an EC2
instance of its own, that hands out the credentials of the instance profile NAME of the
dev account, or of the instance profile ARN of an --account; the profile may be created
(aws iam create-instance-profile, add-role-to-instance-profile) after dev starts.
Repeatable: one endpoint per profile; the n-th --imds sets the n-th one's address. D/env
names each as IAMDB_IMDS_ENDPOINT_<NAME> (upper case, - and . as _), and the first also
as IAMDB_IMDS_ENDPOINT, for AWS_EC2_METADATA_SERVICE_ENDPOINT.
`

// The identifiers the dev databases are registered under.
const (
	devClusterID       = "iamdb-dev-pg"    // Aurora PostgreSQL cluster
	devMySQLInstanceID = "iamdb-dev-mysql" // RDS for MariaDB instance
)

// devMySQLDatabase is the database the dev MariaDB is created with.
const devMySQLDatabase = "demo"

// devGatewaySource is the address the PostgreSQL gateway dials its backend from in
// native mode, so that pg_hba.conf tells its certificate logins of rds_iam members
// from the native (PAM) logins of the same users from 127.0.0.1.
const devGatewaySource = "127.0.0.2"

// devFlags are the flags of "iamdb dev".
type devFlags struct {
	dir, region, authAddr, pgAddr, mysqlAddr, opsAddr, logLevel string
	accounts, imdsProfiles, imdsAddrs                           repeated
	native, audit, pprof                                        bool
}

func parseDevFlags(args []string, stderr io.Writer) (*devFlags, error) {
	fs := newFlagSet("iamdb dev", devUsage, stderr)
	f := &devFlags{}
	fs.StringVar(&f.dir, "dir", ".iamdb", "state directory (store, CA, credentials, env)")
	fs.StringVar(&f.region, "region", "us-east-1", "region of the authority and the database")
	fs.StringVar(&f.authAddr, "authority", "127.0.0.1:0", "address of the AWS Query API (port 0: a free one)")
	fs.StringVar(&f.pgAddr, "pg", "127.0.0.1:0", "address of the PostgreSQL gateway (port 0: a free one)")
	fs.StringVar(&f.mysqlAddr, "mysql", "127.0.0.1:0", "address of the MySQL gateway (port 0: a free one)")
	fs.StringVar(&f.opsAddr, "ops", "127.0.0.1:0", "address of /metrics, /healthz and /readyz")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Var(&f.accounts, "account", "create this extra account (12 digits) with its own admin (repeatable)")
	fs.Var(&f.imdsProfiles, "imds-profile", "serve an IMDS endpoint for this instance profile: a name in the dev account or an ARN (repeatable; created later is fine)")
	fs.BoolVar(&f.native, "native", true, "as root, let the databases take IAM logins on their own ports too, through PAM")
	fs.BoolVar(&f.audit, "audit", true, "keep the audit journal (D/audit); --audit=false only to measure its cost (bench/audit.sh)")
	fs.BoolVar(&f.pprof, "pprof", false, "also serve net/http/pprof's /debug/pprof/ on the ops address (loopback only; bench/pg.sh, bench/mysql.sh)")
	fs.Var(&f.imdsAddrs, "imds", "address of the IMDS endpoint of the --imds-profile in the same position (default 127.0.0.1:0)")
	if done, err := parseArgs(fs, args); done {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("dev: unexpected argument %q", fs.Arg(0))
	}
	if len(f.imdsAddrs) > len(f.imdsProfiles) {
		return nil, usagef("dev: %d --imds addresses for %d --imds-profile", len(f.imdsAddrs), len(f.imdsProfiles))
	}
	return f, nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) error {
	f, err := parseDevFlags(args, stderr)
	if f == nil {
		return err
	}
	d, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	log := server.NewLogger(stderr, server.LogConfig{Level: f.logLevel, Format: "text"})
	ca, err := loadOrCreateCA(d)
	if err != nil {
		return err
	}
	serverCert, err := ca.ServerCert([]string{"localhost", "127.0.0.1"}, 365*24*time.Hour)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if err := pki.WritePEM(filepath.Join(d, "server.pem"), filepath.Join(d, "server-key.pem"), serverCert); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	dbs, stop, err := startDevDatabases(ctx, ca, planDevNative(ctx, f.native, log), log, h)
	defer stop()
	if err != nil {
		return err
	}
	cfg, lns, err := devConfig(d, f, dbs)
	for _, ln := range lns {
		defer ln.Close()
	}
	if err != nil {
		return err
	}
	imdsVars, err := devIMDS(&cfg, f.imdsProfiles, f.imdsAddrs)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, server.Options{Logger: log, Listeners: lns})
	if err != nil {
		return err
	}
	var imds []devEnvVar // IAMDB_OPS_ADDR, IAMDB_IMDS_ENDPOINT and one IAMDB_IMDS_ENDPOINT_<NAME> per profile
	if a := srv.OpsAddr(); a != "" {
		imds = append(imds, devEnvVar{"IAMDB_OPS_ADDR", a}) // not IAMDB_OPS_LISTEN: serve would read that
	}
	for i, e := range srv.WorkloadEndpoints() {
		if i == 0 {
			imds = append(imds, devEnvVar{"IAMDB_IMDS_ENDPOINT", e.URL})
		}
		imds = append(imds, devEnvVar{imdsVars[i], e.URL})
	}
	env, err := writeDevEnv(d, srv.URL(), &cfg, dbs, imds)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	io.WriteString(stdout, devReady(srv, &cfg, dbs, env, imdsVars))
	return runServer(ctx, srv, h)
}

// devDatabases are dev's throwaway servers, the ports of their gateways and native mode.
type devDatabases struct {
	native         *devNative
	pg             *localdb.Postgres
	maria          *localdb.MariaDB // nil when MariaDB is not installed
	pgPort, myPort int              // myPort is 0 without MariaDB
}

// startDevDatabases starts the throwaway PostgreSQL and, if it is installed, MariaDB. stop
// stops them; it is never nil.
func startDevDatabases(ctx context.Context, ca *pki.CA, native *devNative, log *slog.Logger, h hooks) (dbs *devDatabases, stop func(), err error) {
	dbs = &devDatabases{native: native}
	// The PAM service files go last, once the servers that read them have stopped.
	stops := []func(){func() { native.remove(log) }}
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stopper := func(what string, s interface{ Stop(context.Context) error }) func() {
		return func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				log.Warn("stopping "+what, "err", err)
			}
		}
	}
	// A run killed with SIGKILL left its throwaway servers' directories, with their keys,
	// in the temp dir: remove those whose owner has died (never a live run's).
	removed, err := localdb.RemoveLeftovers("")
	for _, dir := range removed {
		log.Info("removed the leftovers of a run that did not stop", "dir", dir)
	}
	if err != nil {
		log.Warn("removing the leftovers of earlier runs", "err", err)
	}

	if !native.on() {
		log.Warn("native mode is off", "why", native.off)
	}
	log.Info("starting a throwaway PostgreSQL")
	pgOpts := localdb.PostgresOptions{CA: ca}
	if native.on() {
		pgOpts.Native = &localdb.PostgresNative{PAMService: native.pgService, GatewaySource: devGatewaySource}
	}
	if dbs.pg, err = localdb.StartPostgres(ctx, pgOpts); err != nil {
		return nil, stop, fmt.Errorf("dev: %w", err)
	}
	stops = append(stops, stopper("PostgreSQL", dbs.pg))
	if native.on() {
		if native.pgSocket, err = native.install(dbs.pg.Dir(), native.pgService); err != nil {
			return nil, stop, err
		}
	}
	log.Info("PostgreSQL ready", "addr", dbs.pg.Addr(), "log", dbs.pg.LogFile())
	if h.devPostgres != nil {
		h.devPostgres(dbs.pg)
	}

	log.Info("starting a throwaway MariaDB")
	// Its admin holds rds_iam WITH ADMIN OPTION, so that it can create IAM users (GRANT
	// rds_iam TO u) as RDS's master user can; the gateway does not count that grant as
	// membership: the admin stays a password user.
	startMariaDB := h.startMariaDB
	if startMariaDB == nil {
		startMariaDB = localdb.StartMariaDB
	}
	myOpts := localdb.MariaDBOptions{CA: ca, Databases: []string{devMySQLDatabase}}
	if native.on() {
		myOpts.Native = &localdb.MariaDBNative{}
	}
	maria, err := startMariaDB(ctx, myOpts)
	switch {
	case errors.Is(err, localdb.ErrMariaDBNotFound):
		log.Warn("MariaDB is not installed: running without the MySQL gateway", "err", err, "install", "apt-get install -y mariadb-server")
	case err != nil:
		return nil, stop, fmt.Errorf("dev: %w", err)
	default:
		dbs.maria = maria
		stops = append(stops, stopper("MariaDB", maria))
		if native.on() {
			if native.mySocket, err = native.install(maria.Dir(), native.myService); err != nil {
				return nil, stop, err
			}
		}
		log.Info("MariaDB ready", "addr", maria.Addr(), "log", maria.LogFile())
		if h.devMariaDB != nil {
			h.devMariaDB(maria)
		}
	}
	return dbs, stop, nil
}

// devConfig is the configuration of dev: the throwaway databases registered at the ports
// of their gateways' listeners, which it binds (lns, by address), and the accounts.
func devConfig(d string, f *devFlags, dbs *devDatabases) (cfg server.Config, lns map[string]net.Listener, err error) {
	cfg = server.DefaultConfig()
	cfg.Dir = d
	cfg.Authority.Listen = f.authAddr
	cfg.Authority.Region = f.region
	// Local OIDC issuers ("iamdb oidc serve" on 127.0.0.1, plain http) are trusted in dev.
	cfg.Authority.WebIdentityAllowInsecureLoopback = true
	cfg.Log.Level = f.logLevel
	cfg.Audit.Enabled = f.audit
	cfg.Ops.Listen = f.opsAddr
	cfg.Ops.DrainTimeout.Duration = 10 * time.Second
	cfg.Ops.Pprof = f.pprof
	lns = map[string]net.Listener{}
	// gateway binds addr and configures a gateway there for the database id of engine in
	// front of backend.
	gateway := func(addr, id, engine, backend, host, adminUser, adminPassword string) (server.GatewayConfig, int, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return server.GatewayConfig{}, 0, fmt.Errorf("dev: %w", err)
		}
		lns[ln.Addr().String()] = ln
		port := ln.Addr().(*net.TCPAddr).Port
		cfg.Databases = append(cfg.Databases, server.DatabaseConfig{
			Identifier: id, Kind: iam.KindInstance, Engine: engine,
			Endpoints: []string{"localhost", "127.0.0.1"}, Port: port, Region: f.region, IAMAuth: true,
		})
		return server.GatewayConfig{
			Database: id, Listen: ln.Addr().String(), TLSCertFile: "server.pem", TLSKeyFile: "server-key.pem",
			Backend: backend, BackendCAFile: "ca.pem", BackendServerName: host,
			BackendAdminUser: adminUser, BackendAdminPassword: server.Secret(adminPassword), CACertFile: "ca.pem", CAKeyFile: "ca-key.pem",
		}, port, nil
	}
	pg, maria, native := dbs.pg, dbs.maria, dbs.native
	pgGateway, port, err := gateway(f.pgAddr, devClusterID, "aurora-postgresql", pg.Addr(), pg.Host(), pg.AdminUser, pg.AdminPassword)
	if err != nil {
		return cfg, lns, err
	}
	if native.on() {
		pgGateway.BackendSourceAddress = devGatewaySource
		cfg.Native = append(cfg.Native, server.NativeConfig{Database: devClusterID, Socket: native.pgSocket, Port: pg.Port()})
	}
	cfg.Databases[0].Kind = iam.KindCluster
	cfg.Postgres, dbs.pgPort = []server.GatewayConfig{pgGateway}, port
	if maria != nil {
		myGateway, port, err := gateway(f.mysqlAddr, devMySQLInstanceID, "mariadb", maria.Addr(), maria.Host(), maria.AdminUser, maria.AdminPassword)
		if err != nil {
			return cfg, lns, err
		}
		cfg.MySQL, dbs.myPort = []server.MySQLGatewayConfig{{GatewayConfig: myGateway}}, port
		if native.on() {
			cfg.Native = append(cfg.Native, server.NativeConfig{Database: devMySQLInstanceID, Socket: native.mySocket, Port: maria.Port()})
		}
	}
	return cfg, lns, devAccounts(&cfg, f.accounts)
}

// devReady is what dev prints once everything listens: the endpoints and what to do next.
func devReady(srv *server.Server, cfg *server.Config, dbs *devDatabases, env string, imdsVars []string) string {
	resourceID := map[string]string{}
	for _, g := range srv.Gateways() {
		resourceID[g.Database.Identifier] = g.Database.ResourceID
	}
	pgPort, myPort := dbs.pgPort, dbs.myPort
	var b strings.Builder
	fmt.Fprintf(&b, "ready\n  authority  %s   (AWS Query API: IAM, STS, RDS)\n", srv.URL())
	fmt.Fprintf(&b, "  postgres   localhost:%d   (gateway; cluster %q, resource id %s)\n", pgPort, devClusterID, resourceID[devClusterID])
	if dbs.maria != nil {
		fmt.Fprintf(&b, "  mysql      localhost:%d   (gateway; instance %q, resource id %s)\n", myPort, devMySQLInstanceID, resourceID[devMySQLInstanceID])
	} else {
		b.WriteString("  mysql      not started: MariaDB is not installed (apt-get install -y mariadb-server)\n")
	}
	if dbs.native.on() {
		fmt.Fprintf(&b, "  postgres   localhost:%d   (native: the database itself checks tokens through PAM; same cluster)\n", dbs.pg.Port())
		if dbs.maria != nil {
			fmt.Fprintf(&b, "  mysql      localhost:%d   (native: the database itself checks tokens through PAM; same instance)\n", dbs.maria.Port())
		}
	} else {
		fmt.Fprintf(&b, "  native     off: %s\n", dbs.native.off)
	}
	for _, acc := range cfg.Accounts {
		fmt.Fprintf(&b, "  account    %s   (source %s to act as its admin)\n", acc.ID, devAccountEnvFile(cfg.Dir, acc.ID))
	}
	for i, e := range srv.WorkloadEndpoints() {
		fmt.Fprintf(&b, "  imds       %s   (instance profile %s, $%s; for AWS_EC2_METADATA_SERVICE_ENDPOINT)\n", e.URL, cfg.IMDS[i].InstanceProfile, imdsVars[i])
	}
	fmt.Fprintf(&b, `  ops        http://%s   (/metrics, /healthz, /readyz)

Next:
  source %s
  aws --endpoint-url "$AWS_ENDPOINT_URL" sts get-caller-identity
  psql "$IAMDB_PG_ADMIN_URL" -c "CREATE USER iam_user WITH LOGIN; GRANT rds_iam TO iam_user;"
  export PGPASSWORD=$(aws rds generate-db-auth-token --hostname localhost --port %d --username iam_user)
  psql "host=localhost port=%d user=iam_user dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE"
`, srv.OpsAddr(), env, pgPort, pgPort)
	if dbs.native.on() {
		fmt.Fprintf(&b, `
Natively, as on RDS (no hop: PostgreSQL asks PAM, which asks iamdb; same user, same policy):
  export PGPASSWORD=$(aws rds generate-db-auth-token --hostname localhost --port %d --username iam_user)
  psql "host=localhost port=%d user=iam_user dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE"
`, dbs.pg.Port(), dbs.pg.Port())
	}
	if dbs.maria != nil {
		self := "iamdb" // as the user ran it: bin/iamdb from scripts/quickstart
		if strings.ContainsRune(os.Args[0], '/') && !strings.HasSuffix(os.Args[0], ".test") {
			self = os.Args[0]
		}
		fmt.Fprintf(&b, `
MySQL (as RDS for MySQL's CREATE USER 'iam_user' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'):
  `+self+` create-db-user --mysql "$IAMDB_MYSQL_ADMIN_DSN" iam_user
  TOKEN=$(aws rds generate-db-auth-token --hostname localhost --port %d --username iam_user)
  mariadb --host=localhost --port=%d --ssl-ca="$IAMDB_CA_FILE" --ssl-verify-server-cert --enable-cleartext-plugin --user=iam_user --password="$TOKEN"
`, myPort, myPort)
		if dbs.native.on() {
			fmt.Fprintf(&b, `  # natively: a native user (IDENTIFIED VIA pam), a token for MariaDB's own port
  `+self+` create-db-user --native --mysql "$IAMDB_MYSQL_ADMIN_DSN" native_user
  mariadb --host=localhost --port=%d --ssl-ca="$IAMDB_CA_FILE" --ssl-verify-server-cert --user=native_user \
    --password="$(aws rds generate-db-auth-token --hostname localhost --port %d --username native_user)"
`, dbs.maria.Port(), dbs.maria.Port())
		}
	}
	return b.String()
}

// loadOrCreateCA keeps the dev CA in D/ca.pem and D/ca-key.pem across restarts, so that
// clients keep trusting it.
func loadOrCreateCA(d string) (*pki.CA, error) {
	certFile, keyFile := filepath.Join(d, "ca.pem"), filepath.Join(d, "ca-key.pem")
	certPEM, err1 := os.ReadFile(certFile)
	keyPEM, err2 := os.ReadFile(keyFile)
	if err1 == nil && err2 == nil {
		ca, err := pki.LoadCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("dev: %s: %w", certFile, err)
		}
		return ca, nil
	}
	if !errors.Is(err1, fs.ErrNotExist) && err1 != nil {
		return nil, fmt.Errorf("dev: %w", err1)
	}
	ca, err := pki.NewCA("iamdb dev CA", 10*365*24*time.Hour, nil, time.Now())
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	if err := pki.WriteFile(keyFile, ca.KeyPEM(), 0o600); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	if err := pki.WriteFile(certFile, ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	return ca, nil
}

// devEnvVar is a variable of D/env.
type devEnvVar struct{ k, v string }

// devAccounts adds the extra accounts of "iamdb dev --account" to cfg.
func devAccounts(cfg *server.Config, ids []string) error {
	for _, id := range ids {
		switch {
		case !arn.IsAccountID(id):
			return usagef("dev: --account %q: an account id is 12 digits", id)
		case id == cfg.Bootstrap.AccountID:
			return usagef("dev: --account %s is the dev account itself", id)
		case slices.ContainsFunc(cfg.Accounts, func(a server.AccountConfig) bool { return a.ID == id }):
			return usagef("dev: --account %s given twice", id)
		}
		cfg.Accounts = append(cfg.Accounts, server.AccountConfig{ID: id, AdminKeyFile: "admin-credentials-" + id})
	}
	return nil
}

// devIMDS adds an IMDS endpoint to cfg for each "--imds-profile", listening on the
// "--imds" in the same position (or a free port), and returns the name of each one's
// D/env variable: IAMDB_IMDS_ENDPOINT_ and the profile's name in upper case.
func devIMDS(cfg *server.Config, profiles, addrs []string) (vars []string, err error) {
	seen := map[string]string{}
	for i, p := range profiles {
		profileARN, err := cfg.EntityARN(p, "instance-profile", "")
		if err != nil {
			return nil, usagef("dev: --imds-profile: %v", err)
		}
		a, _ := arn.Parse(profileARN)
		if a.AccountID != cfg.Bootstrap.AccountID && !slices.ContainsFunc(cfg.Accounts, func(acc server.AccountConfig) bool { return acc.ID == a.AccountID }) {
			return nil, usagef("dev: --imds-profile %s: account %s is neither the dev account nor an --account", p, a.AccountID)
		}
		name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
		v := "IAMDB_IMDS_ENDPOINT_" + envName(name)
		if other, ok := seen[v]; ok {
			return nil, usagef("dev: --imds-profile %s and %s would both be $%s", other, p, v)
		}
		seen[v] = p
		listen := "127.0.0.1:0"
		if i < len(addrs) {
			listen = addrs[i]
		}
		cfg.IMDS = append(cfg.IMDS, server.IMDSEndpointConfig{Listen: listen, InstanceProfile: profileARN})
		vars = append(vars, v)
	}
	return vars, nil
}

// envName turns an IAM name into the tail of an environment variable's name: upper case,
// and _ for every character that is not a letter or a digit.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}

// devAccountEnvFile is D/env-ID, which switches a shell that sourced D/env to the admin
// of the extra account ID.
func devAccountEnvFile(d, id string) string { return filepath.Join(d, "env-"+id) }

// writeDevEnv writes D/env: a file to source that points the AWS CLI, the SDKs, psql,
// mariadb and iamdb's own commands at the dev instance, and D/env-ID for each extra
// account. They hold admins' secrets and the databases' admin passwords: 0600. dbs.maria
// is nil when MariaDB did not start; imds are the variables of the ops address and of the
// IMDS endpoints. D/env does not set AWS_EC2_METADATA_SERVICE_ENDPOINT: the admin's keys in
// the same file would win over the instance's credentials anyway.
func writeDevEnv(d, authorityURL string, cfg *server.Config, dbs *devDatabases, imds []devEnvVar) (string, error) {
	pg, pgPort, maria, myPort := dbs.pg, dbs.pgPort, dbs.maria, dbs.myPort
	akid, secret, err := readAdminKeyFile(cfg.Path(cfg.Bootstrap.AdminKeyFile))
	if err != nil {
		return "", fmt.Errorf("dev: %w", err)
	}
	caFile := filepath.Join(d, "ca.pem")
	admin := url.URL{
		Scheme: "postgres", User: url.UserPassword(pg.AdminUser, pg.AdminPassword),
		Host: net.JoinHostPort("localhost", strconv.Itoa(pgPort)), Path: "/postgres",
		RawQuery: url.Values{"sslmode": {"verify-full"}, "sslrootcert": {caFile}}.Encode(),
	}
	var extra []string
	for _, acc := range cfg.Accounts {
		extra = append(extra, acc.ID)
	}
	vars := []devEnvVar{
		{"AWS_ENDPOINT_URL", authorityURL},
		// The SDKs resolve credential providers (web identity, role_arn profiles) before
		// AWS_ENDPOINT_URL applies: their STS calls need the service-specific variable.
		{"AWS_ENDPOINT_URL_STS", authorityURL},
		{"AWS_ACCESS_KEY_ID", akid},
		{"AWS_SECRET_ACCESS_KEY", secret},
		{"AWS_REGION", cfg.Authority.Region},
		{"AWS_DEFAULT_REGION", cfg.Authority.Region},
		{"IAMDB_ACCOUNT_ID", cfg.Bootstrap.AccountID},
		{"IAMDB_EXTRA_ACCOUNTS", strings.Join(extra, " ")},
		{"IAMDB_CA_FILE", caFile},
		{"IAMDB_PG_HOST", "localhost"},
		{"IAMDB_PG_PORT", strconv.Itoa(pgPort)},
		{"IAMDB_PG_CLUSTER", devClusterID},
		{"IAMDB_PG_ADMIN_URL", admin.String()},
		{"IAMDB_PG_BACKEND_ADDR", pg.Addr()},
	}
	if dbs.native.on() {
		vars = append(vars, devEnvVar{"IAMDB_PG_NATIVE_HOST", "localhost"}, devEnvVar{"IAMDB_PG_NATIVE_PORT", strconv.Itoa(pg.Port())},
			devEnvVar{"IAMDB_PG_NATIVE_SOCKET", dbs.native.pgSocket}) // for iamdb doctor --native-socket
	}
	if maria != nil {
		// A go-sql-driver DSN without TLS parameters: the CA cannot be named in one, so
		// the program adds TLS verified against IAMDB_CA_FILE (create-db-user does).
		dsn := mysql.NewConfig()
		dsn.User, dsn.Passwd = maria.AdminUser, maria.AdminPassword
		dsn.Net, dsn.Addr = "tcp", net.JoinHostPort("localhost", strconv.Itoa(myPort))
		vars = append(vars, []devEnvVar{
			{"IAMDB_MYSQL_HOST", "localhost"},
			{"IAMDB_MYSQL_PORT", strconv.Itoa(myPort)},
			{"IAMDB_MYSQL_INSTANCE", devMySQLInstanceID},
			{"IAMDB_MYSQL_ADMIN_USER", maria.AdminUser},
			{"IAMDB_MYSQL_ADMIN_PASSWORD", maria.AdminPassword},
			{"IAMDB_MYSQL_ADMIN_DSN", dsn.FormatDSN()},
			{"IAMDB_MYSQL_BACKEND_ADDR", maria.Addr()},
		}...)
		if dbs.native.on() {
			vars = append(vars, devEnvVar{"IAMDB_MYSQL_NATIVE_HOST", "localhost"}, devEnvVar{"IAMDB_MYSQL_NATIVE_PORT", strconv.Itoa(maria.Port())},
				devEnvVar{"IAMDB_MYSQL_PAM_SERVICE", dbs.native.myService}, // create-db-user --native's default
				devEnvVar{"IAMDB_MYSQL_NATIVE_SOCKET", dbs.native.mySocket})
		}
	}
	vars = append(vars, imds...)
	path := filepath.Join(d, "env")
	if err := writeEnvFile(path, "# iamdb dev: source this file. It holds the admin's secret key.\n", vars); err != nil {
		return "", err
	}
	for _, acc := range cfg.Accounts {
		akid, secret, err := readAdminKeyFile(cfg.Path(acc.AdminKeyFile))
		if err != nil {
			return "", fmt.Errorf("dev: %w", err)
		}
		head := "# iamdb dev: source this file after " + path + " to act as the admin of account " + acc.ID + ".\n"
		if err := writeEnvFile(devAccountEnvFile(d, acc.ID), head, []devEnvVar{{"AWS_ACCESS_KEY_ID", akid}, {"AWS_SECRET_ACCESS_KEY", secret}}); err != nil {
			return "", err
		}
	}
	return path, nil
}

// writeEnvFile writes a file of export lines to source, after head; it unsets the
// variables that would otherwise win over the keys it sets.
func writeEnvFile(path, head string, vars []devEnvVar) error {
	var b strings.Builder
	b.WriteString(head)
	for _, kv := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", kv.k, shellQuote(kv.v))
	}
	b.WriteString("unset AWS_SESSION_TOKEN AWS_PROFILE\n")
	if err := pki.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	return nil
}

// readAdminKeyFile reads the [default] key of an AWS credentials file.
func readAdminKeyFile(path string) (akid, secret string, err error) {
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
