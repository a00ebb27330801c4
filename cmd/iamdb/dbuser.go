package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/dbuser"
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
the token itself:

  MySQL/MariaDB (a MariaDB account is either a gateway user or a native user), where the
  server has iamdb's AWSAuthenticationPlugin loaded (iamdb native-setup; iamdb dev), with
  RDS's own syntax:
      CREATE USER 'u'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL
      GRANT rds_iam TO 'u'@'%'
      SET DEFAULT ROLE rds_iam FOR 'u'@'%'
  else, or with --pam-service, through PAM (--pam-service, default $IAMDB_MYSQL_PAM_SERVICE
  — which iamdb dev sets — else iamdb):
      CREATE USER 'u'@'%' IDENTIFIED VIA pam USING 'iamdb' REQUIRE SSL
      (the same GRANT and SET DEFAULT ROLE)
  --print prints the plugin's form unless --pam-service is given.
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
	native := fs.Bool("native", false, "create native-mode users (MySQL: IDENTIFIED WITH AWSAuthenticationPlugin, or VIA pam)")
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
	// mysqlSQL creates a MySQL user: a gateway user, or with --native an
	// AWSAuthenticationPlugin user where the server has the plugin (and --pam-service is
	// not given), else a PAM user.
	mysqlSQL := func(u string, plugin bool) []string {
		switch {
		case !*native:
			return rdsiam.MySQLIAMUserSQL(u)
		case plugin && !pamSet:
			return rdsiam.MySQLPluginUserSQL(u)
		}
		return rdsiam.MySQLNativeUserSQL(u, *pamService)
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
				stmts = mysqlSQL(u, true)
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

// createPostgresUsers creates users on the PostgreSQL server of connString.
func createPostgresUsers(ctx context.Context, connString, caFile string, users []string, stdout io.Writer) error {
	cfg, err := pgx.ParseConfig(dbuser.PostgresTLS(connString, caFile))
	if err != nil {
		return fmt.Errorf("create-db-user: --postgres: %w", err)
	}
	err = dbuser.CreatePostgres(ctx, cfg, users, func(u string) {
		fmt.Fprintf(stdout, "created %s: a member of rds_iam, it logs in only with IAM auth tokens\n", u)
	})
	if err != nil {
		return fmt.Errorf("create-db-user: %w", err)
	}
	return nil
}

// createMySQLUsers creates users with userSQL (dbuser.CreateMySQL's) on the MySQL server
// of dsn.
func createMySQLUsers(ctx context.Context, dsn, caFile string, users []string, userSQL func(string, bool) []string, stdout io.Writer) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("create-db-user: --mysql: %w", err)
	}
	if err := dbuser.MySQLTLS(cfg, caFile); err != nil {
		return fmt.Errorf("create-db-user: %w", err)
	}
	err = dbuser.CreateMySQL(ctx, cfg, users, userSQL, func(account string) {
		fmt.Fprintf(stdout, "created %s: a member of rds_iam, it logs in only with IAM auth tokens\n", account)
	})
	if err != nil {
		return fmt.Errorf("create-db-user: %w", err)
	}
	return nil
}
