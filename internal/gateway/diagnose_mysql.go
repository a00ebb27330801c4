package gateway

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/dbreport"
	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// iamdb doctor's questions to MariaDB: as diagnose.go's for PostgreSQL, the client marked
// by the connection attribute dbreport.Param, the report in an ERR packet.

// serveDoctor answers a MySQL client that asked for a diagnosis.
func (e *mysqlEngine) serveDoctor(ctx context.Context, c *mysqlwire.Conn, nc net.Conn, start time.Time, source netip.AddrPort) {
	g := e.g
	g.startupDone(nc, start)
	rec, log := g.loginRecord(EngineMySQL, source, c.User(), c.Database())
	rec.Mode, rec.TLSVersion = access.ModeDoctor, tlsVersionName(c.TLS())
	log = log.With("mode", access.ModeDoctor)
	r := e.doctorLogin(ctx, c, &rec, log)
	var rep dbreport.Report
	if r.kind == loginOK {
		rep = e.report(ctx, c.User(), c.Database())
	}
	if err := g.recordLogin(ctx, &rec, start, log); err != nil && r.kind == loginOK {
		r.kind = refuseUnavailable
	}
	if r.kind == loginOK {
		detail, err := rep.Encode()
		if err == nil {
			log.Info("doctor report", "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "user_exists", rep.UserExists,
				"rds_iam", rep.RDSIAM, "database_exists", rep.DatabaseExists, "cert_subject", rep.CertSubject)
			c.SendError(dbreport.MySQLCode, mysqlwire.StateGeneral, dbreport.MySQLPrefix+detail)
			return
		}
		log.Error("doctor report", "err", err)
		r.kind = refuseUnavailable
	}
	if msg := mysqlRefusals[r.kind](r, c); msg != nil {
		c.SendError(msg.Code, msg.SQLState, msg.Message)
	}
}

// doctorLogin runs a login's checks on a MySQL diagnosis, refusing as a login would.
func (e *mysqlEngine) doctorLogin(ctx context.Context, c *mysqlwire.Conn, rec *AuditRecord, log *slog.Logger) refusal {
	g := e.g
	user := c.User()
	r := refusal{user: user, host: rec.Source.Addr().String()}
	if why := checkUserName(EngineMySQL, user); why != "" {
		rec.User = printableUser(user)
		rec.Outcome, rec.Reason = outcomeRefused, reasonInvalidUser
		g.warns.Warn(log, "authentication failed", "reason", reasonInvalidUser, "detail", why)
		r.kind, r.user, r.detail = refuseInvalidUser, rec.User, why
		return r
	}
	if why := checkUserName(EngineMySQL, c.Database()); c.Database() != "" && why != "" {
		rec.Outcome, rec.Reason = outcomeRefused, reasonProtocol
		r.kind = refuseSilently
		return r
	}
	if c.TLS() == nil {
		return g.noSSL(r, rec, log)
	}
	rec.IAM = true
	pw, err := c.RequestCleartextPassword()
	if err != nil {
		rec.Outcome, rec.Reason = outcomeRefused, reasonNoPassword
		log.Debug("no password", "err", err)
		r.kind = refuseSilently
		return r
	}
	if !g.auth.Authorize(ctx, user, string(pw), rec.Source.Addr(), true, rec) {
		log.Warn("authentication failed", "reason", rec.Reason, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
		r.kind, r.usingPassword = refuseDenied, len(pw) > 0
		if g.cfg.RevealReasons {
			r.detail = rec.Reason
		}
	}
	return r
}

// doctorMySQLQuery asks of user ($1 … $4) and database ($5, $6): the user exists (not a
// role); 'user'@'%' exists and is not locked, and its REQUIRE SUBJECT; an account whose
// name differs only in case; the database exists ("" for none named).
const doctorMySQLQuery = `select
	exists (select 1 from mysql.user where binary User = ? and is_role = 'N'),
	exists (select 1 from mysql.global_priv where binary User = ? and Host = '%' and coalesce(json_value(Priv, '$.account_locked'), 'false') <> 'true'),
	coalesce((select x509_subject from mysql.user where binary User = ? and Host = '%'), ''),
	coalesce((select User from mysql.user where lower(User) = lower(?) and is_role = 'N' order by User limit 1), ''),
	? = '' or exists (select 1 from information_schema.SCHEMATA where SCHEMA_NAME = ?)`

// report asks MariaDB, through the admin connections, what it says of user logging in
// to database.
func (e *mysqlEngine) report(ctx context.Context, user, database string) dbreport.Report {
	rep := dbreport.Report{Engine: EngineMySQL, User: user, Database: database}
	qctx, cancel := context.WithTimeout(ctx, e.g.cfg.Backend.ConnectTimeout)
	defer cancel()
	var variant string
	err := e.admin.db.QueryRowContext(qctx, doctorMySQLQuery, user, user, user, user, database, database).
		Scan(&rep.UserExists, &rep.CanLogin, &rep.CertSubject, &variant, &rep.DatabaseExists)
	if err == nil {
		err = e.admin.db.QueryRowContext(qctx, rdsiam.MySQLMemberQuery, user).Scan(&rep.RDSIAM)
	}
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = errors.New("gateway: no answer to the doctor's query")
		}
		return dbreport.Report{Engine: EngineMySQL, User: user, Database: database, BackendError: err.Error()}
	}
	if !rep.UserExists && variant != user {
		rep.CaseVariant = variant
	}
	rep.AllowConnections = rep.DatabaseExists
	return rep
}
