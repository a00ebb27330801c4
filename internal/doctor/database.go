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
	conf := &tls.Config{ServerName: strings.Trim(o.Hostname, "[]"), MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return []Result{skip("database", err.Error())}
		}
		conf.RootCAs = x509.NewCertPool()
		conf.RootCAs.AppendCertsFromPEM(pem)
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
