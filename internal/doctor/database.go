package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/dbreport"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// ident is name as SQL writes it: as it is if PostgreSQL would not fold or refuse it,
// else quoted.
func ident(name string) string {
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			return rdsiam.QuotePostgresIdent(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}

// The database side (package dbreport): doctor logs in to the gateway with the token and
// the startup parameter dbreport.Param, and the gateway, once the token let it in,
// answers with what the database says of the user and the database instead of a session.

// tlsConfig is the TLS configuration doctor logs in to the gateway with: o's CA, o's
// host name.
func tlsConfig(o Options) (*tls.Config, error) {
	conf := &tls.Config{ServerName: strings.Trim(o.Hostname, "[]"), MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = x509.NewCertPool()
		conf.RootCAs.AppendCertsFromPEM(pem)
	}
	return conf, nil
}

// checkMySQLDatabase asks the MySQL gateway at o's address for its report on o's login
// with tok (the connection attribute dbreport.Param), and turns it into findings.
func checkMySQLDatabase(ctx context.Context, o Options, tok string) []Result {
	conf, err := tlsConfig(o)
	if err != nil {
		return []Result{skip("database", err.Error())}
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = o.Username, tok, o.DBName
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(strings.Trim(o.Hostname, "[]"), strconv.Itoa(o.Port))
	cfg.TLS, cfg.AllowCleartextPasswords = conf, true
	cfg.ConnectionAttributes = dbreport.Param + ":1,program_name:iamdb-doctor"
	cfg.Timeout = 15 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return []Result{skip("database", err.Error())}
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := conn.Connect(cctx)
	if err == nil {
		c.Close()
		return []Result{ok("database", fmt.Sprintf("logged in as %s: the server is not an iamdb gateway, but the login works", o.Username))}
	}
	var me *mysql.MySQLError
	switch {
	case !errors.As(err, &me):
		return []Result{skip("database", "could not ask the gateway: "+err.Error())}
	case me.Number == dbreport.MySQLCode && strings.HasPrefix(me.Message, dbreport.MySQLPrefix):
	case me.Number == 1045:
		return []Result{skip("database", "the gateway refused the token, as a login ("+me.Message+"): the checks above say why")}
	case me.Number == 1049 || me.Number == 1044: // not a gateway: the server's own answer
		return []Result{fail("dbname", me.Message, "name an existing database the user may use: --database NAME (and doctor --dbname NAME)")}
	default:
		return []Result{skip("database", fmt.Sprintf("the server answered %d %s: not an iamdb gateway that answers doctor", me.Number, me.Message))}
	}
	rep, err := dbreport.Decode(strings.TrimPrefix(me.Message, dbreport.MySQLPrefix))
	if err != nil {
		return []Result{fail("database", "the gateway's report: "+err.Error(), "upgrade iamdb doctor to the gateway's version")}
	}
	return mysqlReportResults(o, rep)
}

// mysqlReportResults turns a MySQL gateway's report into findings.
func mysqlReportResults(o Options, rep dbreport.Report) []Result {
	if rep.BackendError != "" {
		return []Result{fail("database", "the gateway could not ask the database: "+rep.BackendError, "check the gateway's log and its backend (backend-unavailable in docs/troubleshooting.md)")}
	}
	acct := rdsiam.QuoteMySQLString(rep.User) + "@'%'"
	create := fmt.Sprintf("iamdb create-db-user --mysql DSN %s (CREATE USER %s REQUIRE SUBJECT '/CN=…'; GRANT rds_iam TO %s; SET DEFAULT ROLE rds_iam FOR %s)", rep.User, acct, acct, acct)
	var rs []Result
	switch {
	case !rep.UserExists && rep.CaseVariant != "":
		rs = append(rs, fail("user_case", fmt.Sprintf("the database has no user %q, but %q, which differs only in case (user names are case-sensitive)", rep.User, rep.CaseVariant),
			"log in as "+rep.CaseVariant+" (and sign for it), or "+create))
	case !rep.UserExists:
		rs = append(rs, fail("db_user", fmt.Sprintf("the database has no user %q", rep.User), create))
	case !rep.CanLogin:
		rs = append(rs, fail("db_user", fmt.Sprintf("no account %s, or it is locked: the gateway logs in from its own address", acct), create+"; or ALTER USER "+acct+" ACCOUNT UNLOCK"))
	case !rep.RDSIAM:
		rs = append(rs, fail("db_user", fmt.Sprintf("the user %q is not a member of rds_iam: the gateway takes it for a password user", rep.User),
			"GRANT rds_iam TO "+acct+"; SET DEFAULT ROLE rds_iam FOR "+acct+";"))
	case rep.CertSubject != "/CN="+rep.User:
		rs = append(rs, fail("db_cert", fmt.Sprintf("%s requires the certificate subject %q: the gateway's certificate says /CN=%s", acct, rep.CertSubject, rep.User),
			"ALTER USER "+acct+" REQUIRE SUBJECT "+rdsiam.QuoteMySQLString("/CN="+rep.User)+";"))
	default:
		rs = append(rs, ok("db_user", fmt.Sprintf("%s exists, is a member of rds_iam and takes the gateway's certificate", acct)))
	}
	switch {
	case rep.Database == "":
		rs = append(rs, ok("dbname", "no database named (MySQL clients need none)"))
	case !rep.DatabaseExists:
		rs = append(rs, fail("dbname", fmt.Sprintf("the database %q does not exist", rep.Database), "name an existing database: --database NAME (and doctor --dbname NAME), or CREATE DATABASE "+rdsiam.QuoteMySQLIdent(rep.Database)+";"))
	default:
		rs = append(rs, ok("dbname", fmt.Sprintf("%q exists (the user's privileges on it are not checked)", rep.Database)))
	}
	return rs
}

// checkDatabase asks the PostgreSQL gateway at o's address for its report on o's login
// with tok, and turns it into findings.
func checkDatabase(ctx context.Context, o Options, tok string) []Result {
	dbname := o.DBName
	if dbname == "" {
		dbname = o.Username // libpq's default
	}
	cfg, err := pgconn.ParseConfig("")
	if err != nil {
		return []Result{skip("database", err.Error())}
	}
	conf, err := tlsConfig(o)
	if err != nil {
		return []Result{skip("database", err.Error())}
	}
	cfg.Host, cfg.Port = strings.Trim(o.Hostname, "[]"), uint16(o.Port)
	cfg.User, cfg.Database, cfg.Password = o.Username, dbname, tok
	cfg.TLSConfig, cfg.Fallbacks = conf, nil
	cfg.RuntimeParams = map[string]string{dbreport.Param: "1", "application_name": "iamdb-doctor"}
	cfg.ConnectTimeout = 15 * time.Second
	cfg.DialFunc = (&net.Dialer{}).DialContext
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(cctx, cfg)
	if err == nil {
		pc.Close(context.Background())
		return []Result{ok("database", fmt.Sprintf("logged in as %s to %s: the server is not an iamdb gateway, but the login works", o.Username, dbname))}
	}
	var pgErr *pgconn.PgError
	switch {
	case !errors.As(err, &pgErr):
		return []Result{skip("database", "could not ask the gateway: "+err.Error())}
	case pgErr.Code == dbreport.PGCode && pgErr.Message == dbreport.PGMessage:
	case pgErr.Code == "28000":
		return []Result{skip("database", "the gateway refused the token, as a login ("+pgErr.Message+"): the checks above say why")}
	case pgErr.Code == "3D000" || pgErr.Code == "42501": // not a gateway: the server's own answer to the login
		return []Result{fail("dbname", pgErr.Message, "name an existing database the user may connect to: psql -d NAME, iamdb connect --dbname NAME (and doctor --dbname NAME)")}
	default:
		return []Result{skip("database", "the server answered "+pgErr.Code+" "+pgErr.Message+": not an iamdb gateway that answers doctor")}
	}
	rep, err := dbreport.Decode(pgErr.Detail)
	if err != nil {
		return []Result{fail("database", "the gateway's report: "+err.Error(), "upgrade iamdb doctor to the gateway's version")}
	}
	return reportResults(o, rep)
}

// reportResults turns the gateway's report into findings.
func reportResults(o Options, rep dbreport.Report) []Result {
	if rep.BackendError != "" {
		return []Result{fail("database", "the gateway could not ask the database: "+rep.BackendError, "check the gateway's log and its backend (backend-unavailable in docs/troubleshooting.md)")}
	}
	user, db := ident(rep.User), ident(rep.Database)
	var rs []Result
	switch {
	case !rep.UserExists && rep.CaseVariant != "":
		rs = append(rs, fail("user_case", fmt.Sprintf("the database has no user %q, but %q, which differs only in case (user names are case-sensitive)", rep.User, rep.CaseVariant),
			fmt.Sprintf("log in as %s (and sign for it), or create %s: CREATE USER %s WITH LOGIN; GRANT rds_iam TO %s;", rep.CaseVariant, rep.User, user, user)))
	case !rep.UserExists:
		rs = append(rs, fail("db_user", fmt.Sprintf("the database has no user %q", rep.User),
			fmt.Sprintf("CREATE USER %s WITH LOGIN; GRANT rds_iam TO %s; (iamdb create-db-user)", user, user)))
	case !rep.CanLogin:
		rs = append(rs, fail("db_user", fmt.Sprintf("the user %q may not log in (NOLOGIN)", rep.User), "ALTER ROLE "+user+" LOGIN;"))
	case !rep.RDSIAM:
		rs = append(rs, fail("db_user", fmt.Sprintf("the user %q is not a member of rds_iam: the gateway takes it for a password user and relays its token to the database as a password", rep.User),
			"GRANT rds_iam TO "+user+";"))
	default:
		rs = append(rs, ok("db_user", fmt.Sprintf("%q exists, may log in and is a member of rds_iam", rep.User)))
	}
	dflt := ""
	if o.DBName == "" {
		dflt = " (no --dbname: the driver's default, the user's name)"
	}
	switch {
	case !rep.DatabaseExists:
		rs = append(rs, fail("dbname", fmt.Sprintf("the database %q does not exist%s", rep.Database, dflt),
			"name an existing database: psql -d NAME, iamdb connect --dbname NAME (and doctor --dbname NAME), or CREATE DATABASE "+db+";"))
	case !rep.AllowConnections:
		rs = append(rs, fail("dbname", fmt.Sprintf("the database %q does not allow connections (datallowconn false)", rep.Database), "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true;"))
	case rep.UserExists && !rep.Connect:
		rs = append(rs, fail("dbname", fmt.Sprintf("%q may not connect to the database %q (no CONNECT privilege)", rep.User, rep.Database), "GRANT CONNECT ON DATABASE "+db+" TO "+user+";"))
	case rep.UserExists:
		rs = append(rs, ok("dbname", fmt.Sprintf("%q exists%s and %q may connect to it", rep.Database, dflt, rep.User)))
	default:
		rs = append(rs, ok("dbname", fmt.Sprintf("%q exists%s", rep.Database, dflt)))
	}
	if !rep.UserExists {
		return rs
	}
	const hbaFix = "put \"hostssl all +rds_iam <the gateway's address>/32 cert\" before every other line for members of rds_iam (docs/operations.md), then SELECT pg_reload_conf()"
	switch {
	case rep.HBAError != "":
		rs = append(rs, skip("db_hba", rep.HBAError+" (doctor --postgres as a superuser checks pg_hba.conf)"))
	case rep.HBALine == 0:
		rs = append(rs, fail("db_hba", "no line of pg_hba.conf matches the gateway's certificate login as "+strconv.Quote(rep.User)+" to "+strconv.Quote(rep.Database)+": PostgreSQL refuses it", hbaFix))
	case rep.HBAUnknown:
		rs = append(rs, warn("db_hba", fmt.Sprintf("pg_hba.conf line %d (%s) names its address by a host name, samehost or samenet: it may be the line the gateway's login meets", rep.HBALine, rep.HBAMethod), hbaFix))
	case rep.HBAMethod == "cert":
		rs = append(rs, ok("db_hba", fmt.Sprintf("pg_hba.conf line %d lets the gateway's certificate login in (cert)", rep.HBALine)))
	case rep.HBAMethod == "trust":
		rs = append(rs, warn("db_hba", fmt.Sprintf("pg_hba.conf line %d lets the gateway in with trust, not its certificate", rep.HBALine), hbaFix))
	default:
		rs = append(rs, fail("db_hba", fmt.Sprintf("pg_hba.conf line %d (%s) is the first the gateway's certificate login meets: PostgreSQL refuses it", rep.HBALine, rep.HBAMethod), hbaFix))
	}
	return rs
}
