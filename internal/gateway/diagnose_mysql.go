package gateway

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/iamdb/iamdb/internal/dbreport"
	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// iamdb doctor's questions to MariaDB: as diagnose.go's for PostgreSQL, the client marked
// by the connection attribute dbreport.Param, the report in an ERR packet.

// serveDoctorMySQL answers a MySQL client that asked for a diagnosis.
func (e *mysqlEngine) serveDoctorMySQL(ctx context.Context, c *mysqlwire.Conn, nc net.Conn, start time.Time, source netip.AddrPort) {
	e.g.serveDoctor(ctx, nc, start, source, doctorRequest{
		engine: EngineMySQL, user: c.User(), database: c.Database(), tls: c.TLS(),
		password: func() (string, error) {
			pw, err := c.RequestCleartextPassword()
			return string(pw), err
		},
		report: e.report,
		answer: func(detail string) {
			c.SendError(dbreport.MySQLCode, mysqlwire.StateGeneral, dbreport.MySQLPrefix+detail)
		},
		refuse: mysqlRefuse(c),
	})
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
