package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

const createDBUserUsage = `usage: iamdb create-db-user (--mysql DSN | --postgres URL) [--ca-file F] [--native [--pam-service S]] USER...
       iamdb create-db-user --print (--engine mysql|postgres | --mysql DSN | --postgres URL) [--native ...] USER...

Creates database users that log in only with IAM auth tokens, through the gateway (or
on the backend directly), as an administrator:

  MySQL/MariaDB, the equivalent of RDS's
      CREATE USER 'u' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'
  is
      CREATE USER 'u'@'%' REQUIRE SUBJECT '/CN=u'
      GRANT rds_iam TO 'u'@'%'
      SET DEFAULT ROLE rds_iam FOR 'u'@'%'
  (the administrator needs rds_iam WITH ADMIN OPTION; a failed GRANT drops the user again);

  PostgreSQL, as on RDS, in one transaction:
      CREATE USER "u" WITH LOGIN
      GRANT rds_iam TO "u"

--native creates users for native mode (docs/native-mode.md), in which the database checks
the token itself through PAM (--pam-service, default $IAMDB_MYSQL_PAM_SERVICE — which iamdb dev sets — else iamdb; see iamdb native-setup):

  MySQL/MariaDB (a MariaDB account is either a gateway user or a native user):
      CREATE USER 'u'@'%' IDENTIFIED VIA pam USING 'iamdb' REQUIRE SSL
      GRANT rds_iam TO 'u'@'%'
      SET DEFAULT ROLE rds_iam FOR 'u'@'%'
  PostgreSQL: the same statements as without --native; membership of rds_iam and
  pg_hba.conf's pam lines decide how the user logs in.

--mysql is a go-sql-driver DSN (user:password@tcp(host:port)/, as IAMDB_MYSQL_ADMIN_DSN of
iamdb dev); --postgres a libpq URL or key=value string (as IAMDB_PG_ADMIN_URL). Both use
TLS verified against --ca-file (default $IAMDB_CA_FILE; else the system's roots) unless
the DSN says otherwise (tls=, sslmode=, sslrootcert=). --print prints the statements and
connects nowhere; they mean the same in every sql_mode (MySQL: names are quoted without
backslash escapes, and a name that needs a backslash gets NO_BACKSLASH_ESCAPES for its
statements). Names that the server would not keep exactly are refused: MySQL trailing
spaces or characters beyond U+FFFF, PostgreSQL names over 63 bytes, control characters.
`

func runCreateDBUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iamdb create-db-user", flag.ContinueOnError)
	mysqlDSN := fs.String("mysql", "", "go-sql-driver DSN of a MySQL/MariaDB administrator")
	pgURL := fs.String("postgres", "", "connection URL of a PostgreSQL administrator")
	engine := fs.String("engine", "", "mysql or postgres (with --print, instead of a DSN)")
	caFile := fs.String("ca-file", os.Getenv("IAMDB_CA_FILE"), "CA that verifies the server's certificate (default $IAMDB_CA_FILE)")
	printOnly := fs.Bool("print", false, "print the SQL statements and connect nowhere")
	native := fs.Bool("native", false, "create native-mode users (MySQL: IDENTIFIED VIA pam)")
	defaultService := nativeconf.DefaultService
	if env := os.Getenv("IAMDB_MYSQL_PAM_SERVICE"); env != "" { // iamdb dev's D/env
		defaultService = env
	}
	pamService := fs.String("pam-service", defaultService, "with --native: the PAM service MySQL users authenticate with (default $IAMDB_MYSQL_PAM_SERVICE, else "+nativeconf.DefaultService+")")
	if help, err := parseFlags(fs, createDBUserUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	users := fs.Args()
	if len(users) == 0 {
		return usagef("create-db-user: name at least one user")
	}
	pamSet := false
	fs.Visit(func(f *flag.Flag) { pamSet = pamSet || f.Name == "pam-service" })
	if pamSet && !*native {
		return usagef("create-db-user: --pam-service goes with --native")
	}
	if err := nativeconf.CheckService(*pamService); err != nil {
		return usagef("create-db-user: --pam-service: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	mysqlSQL := rdsiam.MySQLIAMUserSQL
	if *native {
		mysqlSQL = func(u string) []string { return rdsiam.MySQLNativeUserSQL(u, *pamService) }
	}
	switch {
	case *mysqlDSN != "" && *pgURL != "":
		return usagef("create-db-user: --mysql and --postgres exclude each other")
	case *mysqlDSN != "":
		if *engine != "" && *engine != "mysql" && *engine != "mariadb" {
			return usagef("create-db-user: --engine %s with --mysql", *engine)
		}
		*engine = "mysql"
	case *pgURL != "":
		if *engine != "" && *engine != "postgres" {
			return usagef("create-db-user: --engine %s with --postgres", *engine)
		}
		*engine = "postgres"
	case *engine == "mariadb":
		*engine = "mysql"
	}
	if *engine != "mysql" && *engine != "postgres" {
		if *engine == "" {
			return usagef("create-db-user: --mysql DSN or --postgres URL required (or --print --engine E)")
		}
		return usagef("create-db-user: --engine %q must be mysql or postgres", *engine)
	}
	if !*printOnly && *mysqlDSN == "" && *pgURL == "" {
		return usagef("create-db-user: --engine only goes with --print: name the server with --mysql or --postgres")
	}
	for _, u := range users {
		check := rdsiam.CheckPostgresUser
		if *engine == "mysql" {
			check = rdsiam.CheckMySQLUser
		}
		if err := check(u); err != nil {
			return usagef("create-db-user: %s", strings.TrimPrefix(err.Error(), "rdsiam: "))
		}
	}

	if *printOnly {
		for _, u := range users {
			stmts := rdsiam.PostgresIAMUserSQL(u)
			if *engine == "mysql" {
				stmts = mysqlSQL(u)
			}
			for _, s := range stmts {
				fmt.Fprintf(stdout, "%s;\n", s)
			}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if *engine == "mysql" {
		return createMySQLUsers(ctx, *mysqlDSN, *caFile, users, mysqlSQL, stdout)
	}
	return createPostgresUsers(ctx, *pgURL, *caFile, users, stdout)
}

// createPostgresUsers runs rdsiam.PostgresIAMUserSQL for each user, each user in a transaction.
func createPostgresUsers(ctx context.Context, connString, caFile string, users []string, stdout io.Writer) error {
	cfg, err := pgx.ParseConfig(withPostgresTLS(connString, caFile))
	if err != nil {
		return fmt.Errorf("create-db-user: --postgres: %w", err)
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create-db-user: %w", err)
	}
	defer c.Close(context.Background())
	for _, u := range users {
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			for _, s := range rdsiam.PostgresIAMUserSQL(u) {
				if _, err := tx.Exec(ctx, s); err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("create-db-user: %w", err)
		}
		fmt.Fprintf(stdout, "created %s: a member of rds_iam, it logs in only with IAM auth tokens\n", u)
	}
	return nil
}

// withPostgresTLS makes verified TLS the default of a connection string: sslmode
// verify-full unless it names an sslmode, and sslrootcert=caFile unless it names one (or
// caFile is empty: the system's roots).
func withPostgresTLS(s, caFile string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return s // pgx reports it
		}
		// Append to the query as written: re-encoding it would turn spaces into '+',
		// which libpq and pgx read as a plus sign (options=-c%20x=y).
		q := u.Query()
		add := url.Values{}
		if !q.Has("sslmode") {
			add.Set("sslmode", "verify-full")
		}
		if !q.Has("sslrootcert") && caFile != "" {
			add.Set("sslrootcert", caFile)
		}
		if len(add) > 0 {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += strings.ReplaceAll(add.Encode(), "+", "%20")
		}
		return u.String()
	}
	has := func(key string) bool {
		for _, f := range strings.Fields(s) {
			if k, _, _ := strings.Cut(f, "="); strings.TrimSpace(k) == key {
				return true
			}
		}
		return false
	}
	if !has("sslmode") {
		s += " sslmode=verify-full"
	}
	if !has("sslrootcert") && caFile != "" {
		s += " sslrootcert=" + rdsiam.QuotePostgresConnValue(caFile)
	}
	return s
}

// createMySQLUsers runs userSQL (rdsiam.MySQLIAMUserSQL or MySQLNativeUserSQL) for each
// user; when a statement after CREATE USER fails, it drops the user again, so that a retry
// starts afresh.
func createMySQLUsers(ctx context.Context, dsn, caFile string, users []string, userSQL func(string) []string, stdout io.Writer) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("create-db-user: --mysql: %w", err)
	}
	if err := withMySQLTLS(cfg, caFile); err != nil {
		return fmt.Errorf("create-db-user: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("create-db-user: --mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("create-db-user: %w", err)
	}
	defer c.Close()
	// Our literals escape nothing with a backslash (rdsiam.QuoteMySQLString): in this
	// session a backslash stands for itself, whatever the server's sql_mode.
	if _, err := c.ExecContext(ctx, rdsiam.RawBackslashes); err != nil {
		return fmt.Errorf("create-db-user: %s: %w", rdsiam.RawBackslashes, err)
	}
	for _, u := range users {
		created := false
		for _, s := range userSQL(u) {
			if _, err := c.ExecContext(ctx, s); err != nil {
				err = fmt.Errorf("create-db-user: %s: %w", s, err)
				var me *mysql.MySQLError
				if created && errors.As(err, &me) && me.Number == 1698 {
					err = fmt.Errorf("%w (granting rds_iam takes rds_iam WITH ADMIN OPTION: GRANT rds_iam TO %s WITH ADMIN OPTION, as its creator)", err, rdsiam.MySQLAccount(cfg.User))
				}
				if created {
					if _, derr := c.ExecContext(ctx, "DROP USER "+rdsiam.MySQLAccount(u)); derr != nil {
						err = fmt.Errorf("%w; dropping the user again: %v", err, derr)
					}
				}
				return err
			}
			created = created || strings.HasPrefix(s, "CREATE USER ")
		}
		fmt.Fprintf(stdout, "created %s: a member of rds_iam, it logs in only with IAM auth tokens\n", rdsiam.MySQLAccount(u))
	}
	return nil
}

// withMySQLTLS makes verified TLS the default of a DSN: with no tls parameter (or
// tls=true), TLS verified against caFile (the system's roots if empty) for the DSN's
// host; other tls values are the driver's.
func withMySQLTLS(cfg *mysql.Config, caFile string) error {
	if cfg.TLSConfig != "" && cfg.TLSConfig != "true" {
		return nil
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	t := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file: %s holds no PEM certificate", caFile)
		}
	}
	cfg.TLS = t
	return nil
}
