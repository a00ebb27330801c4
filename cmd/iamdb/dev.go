package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iamdb/iamdb/internal/devenv"
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

// parseDevFlags parses the flags of "iamdb dev".
func parseDevFlags(args []string, stderr io.Writer) (*devenv.Config, error) {
	fs := newFlagSet("iamdb dev", devUsage, stderr)
	c := &devenv.Config{}
	fs.StringVar(&c.Dir, "dir", ".iamdb", "state directory (store, CA, credentials, env)")
	fs.StringVar(&c.Region, "region", "us-east-1", "region of the authority and the database")
	fs.StringVar(&c.AuthorityAddr, "authority", "127.0.0.1:0", "address of the AWS Query API (port 0: a free one)")
	fs.StringVar(&c.PostgresAddr, "pg", "127.0.0.1:0", "address of the PostgreSQL gateway (port 0: a free one)")
	fs.StringVar(&c.MySQLAddr, "mysql", "127.0.0.1:0", "address of the MySQL gateway (port 0: a free one)")
	fs.StringVar(&c.OpsAddr, "ops", "127.0.0.1:0", "address of /metrics, /healthz and /readyz")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.Var((*repeated)(&c.Accounts), "account", "create this extra account (12 digits) with its own admin (repeatable)")
	fs.Var((*repeated)(&c.IMDSProfiles), "imds-profile", "serve an IMDS endpoint for this instance profile: a name in the dev account or an ARN (repeatable; created later is fine)")
	fs.BoolVar(&c.Native, "native", true, "as root, let the databases take IAM logins on their own ports too, through PAM")
	fs.BoolVar(&c.Audit, "audit", true, "keep the audit journal (D/audit); --audit=false only to measure its cost (bench/audit.sh)")
	fs.BoolVar(&c.Pprof, "pprof", false, "also serve net/http/pprof's /debug/pprof/ on the ops address (loopback only; bench/pg.sh, bench/mysql.sh)")
	fs.Var((*repeated)(&c.IMDSAddrs), "imds", "address of the IMDS endpoint of the --imds-profile in the same position (default 127.0.0.1:0)")
	if done, err := parseArgs(fs, args); done {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("dev: unexpected argument %q", fs.Arg(0))
	}
	if len(c.IMDSAddrs) > len(c.IMDSProfiles) {
		return nil, usagef("dev: %d --imds addresses for %d --imds-profile", len(c.IMDSAddrs), len(c.IMDSProfiles))
	}
	return c, nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) error {
	c, err := parseDevFlags(args, stderr)
	if c == nil {
		return err
	}
	env, err := devenv.Start(ctx, *c, devenv.Options{
		Logger:        server.NewLogger(stderr, server.LogConfig{Level: c.LogLevel, Format: "text"}),
		PostgresReady: h.devPostgres, MariaDBReady: h.devMariaDB, StartMariaDB: h.startMariaDB,
	})
	if usage := (*devenv.UsageError)(nil); errors.As(err, &usage) {
		return usagef("%s", usage.Msg)
	}
	if err != nil {
		return err
	}
	defer env.Close()
	io.WriteString(stdout, devReady(env))
	return runServer(ctx, env.Server, h)
}

// devReady is what dev prints once everything listens: the endpoints and what to do next.
func devReady(e *devenv.Env) string {
	srv, cfg, pg, maria := e.Server, &e.Config, e.Postgres, e.MariaDB
	resourceID := map[string]string{}
	for _, g := range srv.Gateways() {
		resourceID[g.Database.Identifier] = g.Database.ResourceID
	}
	pgPort, myPort := e.PostgresPort, e.MySQLPort
	var b strings.Builder
	fmt.Fprintf(&b, "ready\n  authority  %s   (AWS Query API: IAM, STS, RDS)\n", srv.URL())
	if u := srv.ConsoleURL(); u != "" {
		admin := cfg.Bootstrap.AdminUser
		if e.ConsolePassword != "" {
			fmt.Fprintf(&b, "  console    %s   (account %s, user %s, password %s; kept in %s)\n", u, cfg.Bootstrap.AccountID, admin, e.ConsolePassword, e.ConsolePasswordFile)
		} else {
			fmt.Fprintf(&b, "  console    %s   (account %s, user %s, password in %s)\n", u, cfg.Bootstrap.AccountID, admin, e.ConsolePasswordFile)
		}
	}
	fmt.Fprintf(&b, "  postgres   localhost:%d   (gateway; cluster %q, resource id %s)\n", pgPort, devenv.ClusterID, resourceID[devenv.ClusterID])
	if maria != nil {
		fmt.Fprintf(&b, "  mysql      localhost:%d   (gateway; instance %q, resource id %s)\n", myPort, devenv.MySQLInstanceID, resourceID[devenv.MySQLInstanceID])
	} else {
		b.WriteString("  mysql      not started: MariaDB is not installed (apt-get install -y mariadb-server)\n")
	}
	if e.NativeOff == "" {
		fmt.Fprintf(&b, "  postgres   localhost:%d   (native: the database itself checks tokens through PAM; same cluster)\n", pg.Port())
		if maria != nil {
			fmt.Fprintf(&b, "  mysql      localhost:%d   (native: the database itself checks tokens through PAM; same instance)\n", maria.Port())
		}
	} else {
		fmt.Fprintf(&b, "  native     off: %s\n", e.NativeOff)
	}
	for _, acc := range cfg.Accounts {
		fmt.Fprintf(&b, "  account    %s   (source %s to act as its admin)\n", acc.ID, devenv.AccountEnvFile(cfg.Dir, acc.ID))
	}
	for i, ep := range srv.WorkloadEndpoints() {
		fmt.Fprintf(&b, "  imds       %s   (instance profile %s, $%s; for AWS_EC2_METADATA_SERVICE_ENDPOINT)\n", ep.URL, cfg.IMDS[i].InstanceProfile, e.IMDSVars[i])
	}
	fmt.Fprintf(&b, `  ops        http://%s   (/metrics, /healthz, /readyz)

Next:
  source %s
  aws --endpoint-url "$AWS_ENDPOINT_URL" sts get-caller-identity
  psql "$IAMDB_PG_ADMIN_URL" -c "CREATE USER iam_user WITH LOGIN; GRANT rds_iam TO iam_user;"
  export PGPASSWORD=$(aws rds generate-db-auth-token --hostname localhost --port %d --username iam_user)
  psql "host=localhost port=%d user=iam_user dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE"
`, srv.OpsAddr(), e.EnvFile, pgPort, pgPort)
	if e.NativeOff == "" {
		fmt.Fprintf(&b, `
Natively, as on RDS (no hop: PostgreSQL asks PAM, which asks iamdb; same user, same policy):
  export PGPASSWORD=$(aws rds generate-db-auth-token --hostname localhost --port %d --username iam_user)
  psql "host=localhost port=%d user=iam_user dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE"
`, pg.Port(), pg.Port())
	}
	if maria != nil {
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
		if e.NativeOff == "" {
			fmt.Fprintf(&b, `  # natively: a native user (IDENTIFIED WITH AWSAuthenticationPlugin), a token for MariaDB's own port
  `+self+` create-db-user --native --mysql "$IAMDB_MYSQL_ADMIN_DSN" native_user
  mariadb --host=localhost --port=%d --ssl-ca="$IAMDB_CA_FILE" --ssl-verify-server-cert --user=native_user \
    --password="$(aws rds generate-db-auth-token --hostname localhost --port %d --username native_user)"
`, maria.Port(), maria.Port())
		}
	}
	return b.String()
}
