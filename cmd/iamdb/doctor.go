package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iamdb/iamdb/internal/dbuser"
	"github.com/iamdb/iamdb/internal/doctor"
	"github.com/iamdb/iamdb/internal/nativesetup"
)

const doctorUsage = `usage: iamdb doctor --hostname H --port P --username U [--engine auto|postgres|mysql]
                    [--endpoint URL] [--region R] [--profile NAME] [--ca-file F]
                    [--signing-host H] [--token-env VAR] [--client NAME] [--dbname D]
                    [--postgres URL [--pam-dir DIR]] [native mode flags] [--format text|json]
       iamdb doctor --postgres URL [--ca-file F] [--pam-dir DIR] [native mode flags]
       iamdb doctor native mode flags
native mode flags: --native-socket PATH [--native-user U] [--native-source ADDR]
                   [--native-engine postgres|mariadb [--native-mariadb-auth plugin|pam]
                    [--native-plugin-dir DIR] [--native-service S] [--native-module PATH]
                    [--native-timeout MS] [--native-addresses CIDR,...]
                    [--native-gateway-source ADDR] [--native-hba FILE] [--native-cnf FILE]
                    [--native-harden-pam-other]]

iamdb doctor checks, one line each, what an IAM database login needs, and says how to fix
what fails:
  credentials  the AWS SDK's standard chain finds credentials (and where, and until when)
  region       the token's region (it embeds it): --region, else an RDS host name's, else
               the AWS configuration's
  identity     the authority (--endpoint, default $AWS_ENDPOINT_URL) knows the caller
  tls          the server at H:P speaks TLS with a certificate valid for H (--ca-file,
               default $IAMDB_CA_FILE, else the system's roots)
  token        a token for U, and the authority's verdict on it: accepted, or exactly why
               not (expired, wrong host, no policy allows rds-db:connect, an explicit deny…)
  token_*      with --token-env VAR (PGPASSWORD, MYSQL_PWD, …), the client's own token in
               $VAR instead of one doctor signs (never printed): token_host and
               token_port (signed for another name, address or port than the one dialled:
               sign for the registered endpoint, --signing-host through a tunnel),
               token_user and user_case, token_region, token_age (older than its 15
               minutes, or dated in the future)
  clock        this machine's clock against the authority's (its Date header): 5 minutes
               ahead or 15 behind refuses every token
  client_tls   (PostgreSQL) $PGSSLMODE=disable or allow
  cleartext    (MySQL) the client sends the token with mysql_clear_password: --client
               mysql (Oracle's) needs --enable-cleartext-plugin or
               LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1, go-sql-driver allowCleartextPasswords
  socket       (MySQL) --hostname localhost with --client mysql or mysqlnd: they use the
               Unix socket and ignore the port
and, for a token the authority accepts, what the database says, asked through the
gateway with the token itself (it answers only a caller it would let in):
  db_user      the user exists, may log in (LOGIN), is a member of rds_iam; or
  user_case    a user whose name differs only in case exists
  dbname       the database (--dbname, default the user's name as libpq's) exists, takes
               connections, and the user has CONNECT on it
  db_hba       the line of pg_hba.conf the gateway's certificate login meets is a cert line
               (its number and method only)
  db_cert      (MySQL) the account 'U'@'%' requires the gateway's subject /CN=U
and, for a refused token, what the authority tells the caller with its own credentials:
  endpoint     no database is registered at the signing host and port: the names and
               ports of those the caller may describe (rds:DescribeDBClusters/-Instances)
  region       the database's region, for a token signed for another
  policy_arn   a policy of the principal (that it may read: iam:ListAttached*Policies,
               iam:GetPolicyVersion, …) allows rds-db:connect on an ARN with the
               database's identifier instead of its resource id (db-…, cluster-…), or
               another region
  user_case    such an ARN names the user in another case
  profile      another profile of the shared files (at most 10 tried) is a principal the
               login is allowed for: the credentials found are the wrong ones
--client is one of psql, mysql, mariadb, mysqlnd, go-sql-driver or jdbc.
and, with --postgres URL (a PostgreSQL backend, as a superuser: pg_hba_file_rules is
theirs to read; TLS as in create-db-user), on the backend:
  pg_hba       no line of pg_hba.conf lets a member of rds_iam (or one yet to be
               created) log in without the gateway's client certificate: every line
               that a member reaches, in PostgreSQL's first-match order, before a
               reject for it, is named with the fix (the file on disk: reload after
               editing it). Native mode's hostssl pam lines count as IAM logins when
               their PAM service is native:
  pam_service  each PAM service pg_hba.conf's pam lines name (<pam-dir>/<service>,
               --pam-dir default /etc/pam.d: run doctor on the database server) is
               native mode if its first auth rule is pam_iamdb.so, required or
               requisite; one that names pam_iamdb.so otherwise is a warning
and, for native mode (docs/native-mode.md), with --native-socket PATH:
  native       the local verifier's socket exists, is a socket, is not writable by
               everyone, and the verifier answers a probe that is not a token with a
               refusal and its reason (run as root or as the database's OS user: the
               verifier answers only the uids it allows)
  native_login the verifier's verdict on a token: the one doctor signs for --username
               (with --hostname, --port, --username), or, with --native-user U, the one
               in $IAMDB_NATIVE_TOKEN (never printed); --native-source is the client
               address the verifier is told (aws:SourceIp: MariaDB's plugin sends the
               client's, PAM's PAM_RHOST), default none
  native_setup with --native-engine: the files iamdb native-setup writes are what
               native-setup --apply with the same flags would write (--native-X is
               native-setup's --X; --pam-dir is shared): for MariaDB, by default, the
               option file loading AWSAuthenticationPlugin and the plugin
               <plugin-dir>/auth_iamdb.so; with PAM (PostgreSQL, or --native-mariadb-auth
               pam) the PAM service file, pg_hba.conf's block or the option file loading
               auth_pam_v1, and the module pam_iamdb.so
  pam_other    with --native-engine mariadb --native-mariadb-auth pam: what PAM's
               fallback service <pam-dir>/other loads at every MariaDB PAM login;
               modules beyond pam_deny, pam_warn and pam_permit (Debian's common-*
               stack) are noted with the native-setup --harden-pam-other command that
               removes their cost (informational: it never fails the run)
--format json prints one JSON document: {"ok": bool, "checks": [{"check", "status" (ok,
skip, warn, fail), "detail", "fix"}]}. It exits 1 if any check fails or warns: 0 only when,
as far as doctor can see, the login would succeed. Without an endpoint (real RDS) the identity and token
verdicts are skipped. Without --hostname, --port and --username only --postgres and the
native mode checks run.
`

// doctorFlags are iamdb doctor's flags.
type doctorFlags struct {
	tokenFlags
	engine, endpoint, caFile, signingHost, pgURL string
	pamDir, tokenEnv, client, format, dbname     string
	native                                       nativeDoctorFlags
}

// nativeDoctorFlags are iamdb doctor's native mode flags: the socket to probe, and
// native-setup's flags for its --check.
type nativeDoctorFlags struct {
	socket, engine, mariadbAuth, pluginDir, service, module string
	addresses, gatewaySource, hba, cnf                      string
	timeout                                                 int
	hardenPAMOther                                          bool
	user, source                                            string // native_login
}

// nativeTokenEnv holds the token of doctor --native-user.
const nativeTokenEnv = "IAMDB_NATIVE_TOKEN"

// parseDoctorFlags parses and checks iamdb doctor's flags; nil and no error for -h.
func parseDoctorFlags(args []string, stderr io.Writer) (*doctorFlags, error) {
	fs := newFlagSet("iamdb doctor", doctorUsage, stderr)
	var f doctorFlags
	f.register(fs)
	fs.StringVar(&f.engine, "engine", "auto", "auto, postgres or mysql")
	fs.StringVar(&f.endpoint, "endpoint", os.Getenv("AWS_ENDPOINT_URL"), "the iamdb authority (default $AWS_ENDPOINT_URL)")
	fs.StringVar(&f.caFile, "ca-file", os.Getenv("IAMDB_CA_FILE"), "CA certificate(s) verifying the server (default $IAMDB_CA_FILE)")
	fs.StringVar(&f.signingHost, "signing-host", "", "host name the token is signed for (default --hostname)")
	fs.StringVar(&f.pgURL, "postgres", "", "a PostgreSQL backend to check pg_hba.conf on, as a superuser (libpq URL or key=value)")
	fs.StringVar(&f.pamDir, "pam-dir", "/etc/pam.d", "directory of PAM service files")
	fs.StringVar(&f.tokenEnv, "token-env", "", "check the client's token in this environment variable (PGPASSWORD, MYSQL_PWD) instead of signing one")
	fs.StringVar(&f.client, "client", "", "the client program: "+doctor.Clients)
	fs.StringVar(&f.format, "format", "text", "text or json")
	fs.StringVar(&f.dbname, "dbname", "", "the database the login names (default: the driver's, the user's name for PostgreSQL)")
	n := &f.native
	fs.StringVar(&n.socket, "native-socket", "", "native mode: the local verifier's Unix socket to probe")
	fs.StringVar(&n.engine, "native-engine", "", "native mode: compare native-setup's files for this engine (postgres or mariadb)")
	fs.StringVar(&n.mariadbAuth, "native-mariadb-auth", "", "native-setup's --mariadb-auth")
	fs.StringVar(&n.pluginDir, "native-plugin-dir", "", "native-setup's --plugin-dir")
	fs.StringVar(&n.service, "native-service", "", "native-setup's --service")
	fs.StringVar(&n.module, "native-module", "", "native-setup's --module")
	fs.IntVar(&n.timeout, "native-timeout", 0, "native-setup's --timeout")
	fs.StringVar(&n.addresses, "native-addresses", "", "native-setup's --addresses")
	fs.StringVar(&n.gatewaySource, "native-gateway-source", "", "native-setup's --gateway-source")
	fs.StringVar(&n.hba, "native-hba", "", "native-setup's --hba")
	fs.StringVar(&n.cnf, "native-cnf", "", "native-setup's --cnf")
	fs.BoolVar(&n.hardenPAMOther, "native-harden-pam-other", false, "native-setup's --harden-pam-other")
	fs.StringVar(&n.user, "native-user", "", "native mode: ask the verifier for this user with the token in $"+nativeTokenEnv)
	fs.StringVar(&n.source, "native-source", "", "native mode: the client address the verifier is told (PAM_RHOST)")
	if done, err := parseArgs(fs, args); done {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("doctor: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if n.engine == "" {
		for _, name := range []string{"native-mariadb-auth", "native-plugin-dir", "native-service", "native-module", "native-timeout", "native-addresses",
			"native-gateway-source", "native-hba", "native-cnf", "native-harden-pam-other"} {
			if set[name] {
				return nil, usagef("doctor: --%s goes with --native-engine", name)
			}
		}
	} else if n.socket == "" {
		return nil, usagef("doctor: --native-engine needs --native-socket (native-setup's --socket)")
	}
	switch {
	case (n.user != "" || n.source != "") && n.socket == "":
		return nil, usagef("doctor: --native-user and --native-source need --native-socket")
	case n.user != "" && (f.hostname != "" || f.port != 0 || f.username != ""):
		return nil, usagef("doctor: --native-user takes the token from $%s; with --username doctor signs one itself", nativeTokenEnv)
	case n.user != "" && os.Getenv(nativeTokenEnv) == "":
		return nil, usagef("doctor: --native-user: $%s holds no token", nativeTokenEnv)
	}
	if !f.backendOnly() {
		if err := f.required("doctor"); err != nil {
			return nil, usagef("doctor: --hostname, --port and --username are required (or --postgres or --native-socket alone)")
		}
	}
	switch f.engine {
	case "auto", "postgres", "mysql":
	default:
		return nil, usagef("doctor: --engine must be auto, postgres or mysql")
	}
	switch {
	case f.format != "text" && f.format != "json":
		return nil, usagef("doctor: --format must be text or json")
	case !doctor.ValidClient(f.client):
		return nil, usagef("doctor: --client must be one of %s", doctor.Clients)
	case f.tokenEnv != "" && f.hostname == "":
		return nil, usagef("doctor: --token-env goes with --hostname, --port and --username")
	case f.tokenEnv != "" && os.Getenv(f.tokenEnv) == "":
		return nil, usagef("doctor: --token-env: $%s holds no token", f.tokenEnv)
	}
	if f.signingHost == "" {
		f.signingHost = f.hostname
	}
	return &f, nil
}

// backendOnly reports whether no login was named, only --postgres or native mode: only
// those are checked.
func (f *doctorFlags) backendOnly() bool {
	return (f.pgURL != "" || f.native.socket != "") && f.hostname == "" && f.port == 0 && f.username == ""
}

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDoctorFlags(args, stderr)
	if f == nil {
		return err
	}
	o := doctor.Options{
		Engine: f.engine, Region: f.region, Profile: f.profile, Endpoint: f.endpoint,
		CAFile: f.caFile, SigningHost: f.signingHost, PAMDir: f.pamDir, Client: f.client, DBName: f.dbname,
		Native: doctor.Native{Socket: f.native.socket, User: f.native.user, Source: f.native.source},
	}
	if !f.backendOnly() {
		o.Hostname, o.Port, o.Username = f.hostname, f.port, f.username
	}
	if f.pgURL != "" {
		o.Postgres = dbuser.PostgresTLS(f.pgURL, f.caFile)
	}
	if f.native.user != "" {
		o.Native.Token = os.Getenv(nativeTokenEnv)
	}
	if f.tokenEnv != "" {
		o.Token, o.TokenFrom = os.Getenv(f.tokenEnv), "$"+f.tokenEnv
	}
	if n := f.native; n.engine != "" {
		o.Native.Setup = &nativesetup.Options{
			Engine: n.engine, MariaDBAuth: n.mariadbAuth, PluginDir: n.pluginDir,
			Socket: n.socket, Service: n.service, Module: n.module, TimeoutMS: n.timeout,
			Addresses: n.addresses, GatewaySource: n.gatewaySource, HBA: n.hba, Cnf: n.cnf, PAMDir: f.pamDir,
			HardenPAMOther: n.hardenPAMOther,
		}
	}
	results, err := doctor.Run(ctx, o)
	write := doctor.Print
	if f.format == "json" {
		write = doctor.PrintJSON
	}
	if perr := write(stdout, results); err == nil {
		err = perr
	}
	switch {
	case errors.Is(err, nativesetup.ErrOptions):
		// native-setup's flags are doctor's --native-X.
		msg := strings.TrimPrefix(err.Error(), "nativesetup: ")
		for _, name := range []string{"engine", "mariadb-auth", "plugin-dir", "socket", "service", "module", "timeout",
			"addresses", "gateway-source", "hba", "cnf", "harden-pam-other"} {
			msg = strings.ReplaceAll(msg, "--"+name+" ", "--native-"+name+" ")
		}
		return usagef("doctor: %s", msg)
	case err != nil:
		return fmt.Errorf("doctor: %w", err)
	case doctor.Failed(results):
		return exitCode(1)
	}
	return nil
}
