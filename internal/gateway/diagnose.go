package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/dbreport"
	"github.com/iamdb/iamdb/internal/pghba"
	"github.com/iamdb/iamdb/internal/pgwire"
)

// iamdb doctor's questions to the database (package dbreport): a PostgreSQL client whose
// StartupMessage carries dbreport.Param goes through the login's checks, and if its token
// lets it in, gets a dbreport.Report from the admin connections instead of a session.

// doctorRequest is one engine's client asking for a diagnosis.
type doctorRequest struct {
	engine, user, database string
	tls                    *tls.ConnectionState
	password               func() (string, error)                                           // asks the client for its token
	report                 func(ctx context.Context, user, database string) dbreport.Report // asks the backend
	answer                 func(detail string)                                              // sends the report
	refuse                 func(r refusal)                                                  // sends the engine's refusal
}

// serveDoctorPG answers a PostgreSQL client that asked for a diagnosis.
func (e *pgEngine) serveDoctorPG(ctx context.Context, c *pgwire.Conn, nc net.Conn, start time.Time, source netip.AddrPort) {
	e.g.serveDoctor(ctx, nc, start, source, doctorRequest{
		engine: EnginePostgres, user: c.User(), database: c.Database(), tls: c.TLS(),
		password: func() (string, error) {
			pw, err := c.RequestPassword()
			return string(pw), err
		},
		report: e.report,
		answer: func(detail string) {
			c.Fatal(&pgwire.Error{Severity: pgwire.SeverityFatal, Code: dbreport.PGCode, Message: dbreport.PGMessage, Detail: detail})
		},
		refuse: pgRefuse(c),
	})
}

// serveDoctor answers a client that asked for a diagnosis: the login's checks, then the
// report or the login's refusal. The attempt is audited as a login (event "connect") with
// mode "doctor", and logged with mode=doctor.
func (g *Gateway) serveDoctor(ctx context.Context, nc net.Conn, start time.Time, source netip.AddrPort, q doctorRequest) {
	g.startupDone(nc, start)
	rec, log := g.loginRecord(q.engine, source, q.user, q.database)
	rec.Mode, rec.TLSVersion = access.ModeDoctor, tlsVersionName(q.tls)
	log = log.With("mode", access.ModeDoctor)
	r := g.doctorLogin(ctx, q, rec, log)
	var rep dbreport.Report
	if r.kind == loginOK {
		rep = q.report(ctx, q.user, q.database)
	}
	if err := g.recordLogin(ctx, rec, start, log); err != nil && r.kind == loginOK {
		r.kind = refuseUnavailable // no report unrecorded
	}
	if r.kind == loginOK {
		detail, err := rep.Encode()
		if err == nil {
			log.Info("doctor report", "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "user_exists", rep.UserExists,
				"rds_iam", rep.RDSIAM, "database_exists", rep.DatabaseExists, "connect_privilege", rep.Connect,
				"hba_line", rep.HBALine, "hba_method", rep.HBAMethod, "cert_subject", rep.CertSubject, "backend_error", rep.BackendError)
			q.answer(detail)
			return
		}
		log.Error("doctor report", "err", err)
		r.kind = refuseUnavailable
	}
	q.refuse(r)
}

// doctorLogin runs the checks of a login on a diagnosis: the user name, TLS, the token
// and rds-db:connect, refusing as a login would. Membership of rds_iam is not asked
// first: the user may not exist, and the token is asked for whatever the user is.
func (g *Gateway) doctorLogin(ctx context.Context, q doctorRequest, rec *AuditRecord, log *slog.Logger) refusal {
	r := refusal{user: q.user, host: rec.Source.Addr().String()}
	if why := checkUserName(q.engine, q.user); why != "" {
		rec.User = printableUser(q.user)
		rec.Outcome, rec.Reason = outcomeRefused, reasonInvalidUser
		g.warns.Warn(log, "authentication failed", "reason", reasonInvalidUser, "detail", why)
		r.kind, r.user, r.detail = refuseInvalidUser, rec.User, why
		return r
	}
	if why := checkUserName(q.engine, q.database); q.database != "" && why != "" {
		rec.Outcome, rec.Reason = outcomeRefused, reasonProtocol
		log.Debug("doctor: a database name no database can have", "detail", why)
		r.kind = refuseSilently
		return r
	}
	if q.tls == nil {
		return g.noSSL(r, rec, log)
	}
	rec.IAM = true
	pw, err := q.password()
	if err != nil {
		rec.Outcome, rec.Reason = outcomeRefused, reasonNoPassword
		log.Debug("no password", "err", err)
		r.kind = refuseSilently
		return r
	}
	if !g.auth.Authorize(ctx, q.user, pw, rec.Source.Addr(), true, rec) {
		log.Warn("authentication failed", "reason", rec.Reason, "principal", rec.Principal, "access_key_id", rec.AccessKeyID, "policy", rec.Policy, "statement", rec.Statement)
		r.kind, r.usingPassword = refuseDenied, pw != ""
		if g.cfg.RevealReasons {
			r.detail = rec.Reason
		}
	}
	return r
}

// The report's queries: the role and the database ($1 user, $2 database), the roles the
// user is a member of (for pg_hba.conf's +group), pg_hba.conf.
const (
	doctorFactsQuery = `select
	r.oid is not null, coalesce(r.rolcanlogin, false),
	coalesce(exists (select 1 from pg_catalog.pg_roles i where i.rolname = 'rds_iam' and pg_catalog.pg_has_role(r.oid, i.oid, 'MEMBER')), false),
	d.oid is not null, coalesce(d.datallowconn, false),
	coalesce(case when r.oid is not null and d.oid is not null then pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT') end, false),
	case when r.oid is null then (select c.rolname from pg_catalog.pg_roles c where lower(c.rolname) = lower($1) order by c.rolname limit 1) end
	from (select 1) one
	left join pg_catalog.pg_roles r on r.rolname = $1
	left join pg_catalog.pg_database d on d.datname = $2`
	doctorGroupsQuery = `with recursive m(grp) as (
	select a.roleid from pg_catalog.pg_auth_members a join pg_catalog.pg_roles r on r.oid = a.member where r.rolname = $1
	union
	select a.roleid from m join pg_catalog.pg_auth_members a on a.member = m.grp)
select g.rolname from m join pg_catalog.pg_roles g on g.oid = m.grp limit 1000`
)

// report asks the backend, through the admin connections, what it says of user logging
// in to database.
func (e *pgEngine) report(ctx context.Context, user, database string) dbreport.Report {
	rep := dbreport.Report{User: user, Database: database}
	qctx, cancel := context.WithTimeout(ctx, e.g.cfg.Backend.ConnectTimeout)
	defer cancel()
	err := e.admin.do(qctx, func(pc *pgconn.PgConn) error {
		args := [][]byte{[]byte(user), []byte(database)}
		res := pc.ExecParams(qctx, doctorFactsQuery, args, nil, nil, nil).Read()
		if res.Err != nil {
			return res.Err
		}
		if len(res.Rows) != 1 || len(res.Rows[0]) != 7 {
			return errors.New("gateway: unexpected answer to the doctor's query")
		}
		f := res.Rows[0]
		rep.UserExists, rep.CanLogin, rep.RDSIAM = string(f[0]) == "t", string(f[1]) == "t", string(f[2]) == "t"
		rep.DatabaseExists, rep.AllowConnections, rep.Connect = string(f[3]) == "t", string(f[4]) == "t", string(f[5]) == "t"
		rep.CaseVariant = string(f[6])
		res = pc.ExecParams(qctx, doctorGroupsQuery, args[:1], nil, nil, nil).Read()
		if res.Err != nil {
			return res.Err
		}
		login := pghba.Login{Database: database, User: pghba.Member{Name: user}}
		for _, row := range res.Rows {
			login.User.Groups = append(login.User.Groups, string(row[0]))
		}
		if a, ok := pc.Conn().LocalAddr().(*net.TCPAddr); ok {
			login.Addr = a.AddrPort().Addr().Unmap()
		}
		rules, err := readHBARules(qctx, pc)
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Severity == pgwire.SeverityFatal {
				return err
			}
			rep.HBAError = "the gateway's admin role may not read pg_hba_file_rules: " + pgErr.Message
			return nil
		}
		if r, found, known := pghba.FirstMatch(rules, login); found {
			rep.HBALine, rep.HBAMethod, rep.HBAUnknown = r.Line, r.Method, !known
		}
		return nil
	})
	if err != nil {
		rep = dbreport.Report{User: user, Database: database, BackendError: err.Error()}
	}
	return rep
}

// maxHBARules bounds the lines of pg_hba.conf the report reads.
const maxHBARules = 10000

// readHBARules reads pg_hba.conf (pghba.RulesQuery) on pc.
func readHBARules(ctx context.Context, pc *pgconn.PgConn) ([]pghba.Rule, error) {
	res := pc.ExecParams(ctx, pghba.RulesQuery+" limit 10000", nil, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, res.Err
	}
	m := pgtype.NewMap()
	rules := make([]pghba.Rule, 0, min(len(res.Rows), maxHBARules))
	for _, row := range res.Rows {
		if len(row) != 9 {
			return nil, errors.New("gateway: unexpected answer to pg_hba_file_rules")
		}
		var r pghba.Rule
		var line *int32
		for i, dst := range []any{&line, &r.Type, &r.Databases, &r.Users, &r.Address, &r.Netmask, &r.Method, &r.Options, &r.Err} {
			oid := uint32(pgtype.TextOID)
			switch i {
			case 0:
				oid = pgtype.Int4OID
			case 2, 3, 7:
				oid = pgtype.TextArrayOID
			}
			if err := m.Scan(oid, pgtype.TextFormatCode, row[i], dst); err != nil {
				return nil, err
			}
		}
		if line != nil {
			r.Line = int(*line)
		}
		rules = append(rules, r)
	}
	return rules, nil
}
