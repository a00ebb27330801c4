// Package dbreport is the database side of "iamdb doctor": what a gateway tells a client
// that asked for a diagnosis instead of a session, and whose token let it log in.
//
// The client marks its PostgreSQL StartupMessage with the parameter [Param] ("1"), or
// its MySQL HandshakeResponse with the connection attribute [Param]. The
// gateway then runs the login's checks exactly as for a login — user name, TLS, token
// (signature, host and port, region), rds-db:connect — and refuses a caller that fails
// any of them with the login's own refusal, word for word. Only an authorized caller gets
// a [Report], in place of a session: an ErrorResponse of severity FATAL, code [PGCode],
// message [PGMessage], the report as JSON in its detail (MySQL: an ERR packet, code
// [MySQLCode], message [MySQLPrefix] and the JSON); then the gateway closes.
//
// A Report says no more than a login attempt by that principal, as that user, would
// tell its operator: whether the user exists, may log in and is a member of rds_iam,
// (or, if not, the name of a role that differs from it only in case), whether the
// database exists, takes connections and grants the user CONNECT, and which
// line of pg_hba.conf (its number and method only, not its addresses) the gateway's
// certificate login would meet. It never holds a token or a password.
package dbreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/iamdb/iamdb/internal/audit"
)

// Param is the PostgreSQL startup parameter, and the MySQL connection attribute, that
// asks for a diagnosis.
const Param = "iamdb.doctor"

// MySQLCode and MySQLPrefix mark the MySQL ERR packet that carries a Report: code 1105
// (ER_UNKNOWN_ERROR, SQLSTATE HY000), the message MySQLPrefix and the JSON.
const (
	MySQLCode   = 1105
	MySQLPrefix = "iamdb doctor report: "
)

// PGCode and PGMessage mark the ErrorResponse that carries a Report ("00000": nothing
// went wrong; psql prints "FATAL:  iamdb doctor report").
const (
	PGCode    = "00000"
	PGMessage = "iamdb doctor report"
)

// Version is the Report format's version (Report.V).
const Version = 1

// MaxLen bounds an encoded Report: every string in it is bounded (names at 63 bytes,
// errors at maxErr).
const MaxLen = 2048

// maxErr bounds the error texts of a Report.
const maxErr = 300

// maxName bounds the names of a Report: MariaDB's 80 characters of up to 4 bytes
// (PostgreSQL's are 63 bytes).
const maxName = 320

// Report is what the database says of a login.
type Report struct {
	V        int    `json:"v"`
	Engine   string `json:"engine,omitempty"` // "mysql" for MariaDB; "" for PostgreSQL
	User     string `json:"user"`
	Database string `json:"database"`
	// BackendError is why the backend could not be asked; the facts below are then
	// unknown (false).
	BackendError string `json:"backend_error,omitempty"`

	UserExists bool `json:"user_exists"`
	// CaseVariant is a role whose name differs from User only in case, when User does
	// not exist.
	CaseVariant string `json:"case_variant,omitempty"`
	CanLogin    bool   `json:"can_login"` // PostgreSQL: the role has LOGIN; MySQL: 'user'@'%' exists, not locked
	RDSIAM      bool   `json:"rds_iam"`   // a member of rds_iam (through any role)
	// CertSubject is the REQUIRE SUBJECT of 'user'@'%' (MySQL): the gateway's
	// certificate login needs "/CN=user".
	CertSubject string `json:"cert_subject,omitempty"`

	DatabaseExists   bool `json:"database_exists"`
	AllowConnections bool `json:"database_allows_connections"`
	Connect          bool `json:"connect_privilege"` // has_database_privilege(user, database, 'CONNECT')

	// HBALine and HBAMethod are the line of pg_hba.conf the gateway's certificate login
	// (hostssl, from its address) would meet first, 0 and "" if none does (PostgreSQL
	// then refuses it); HBAUnknown is true when that line names its address by a host
	// name, samehost or samenet. HBAError is why the file could not be read (the
	// gateway's admin role may not read pg_hba_file_rules): the three are then unknown.
	HBALine    int    `json:"hba_line"`
	HBAMethod  string `json:"hba_method,omitempty"`
	HBAUnknown bool   `json:"hba_unknown,omitempty"`
	HBAError   string `json:"hba_error,omitempty"`
}

// Encode returns r as JSON, its error texts clipped; an error if it is still longer than
// MaxLen (names longer than PostgreSQL's).
func (r Report) Encode() (string, error) {
	r.V = Version
	r.BackendError, r.HBAError, r.CertSubject = audit.Clip(r.BackendError, maxErr), audit.Clip(r.HBAError, maxErr), audit.Clip(r.CertSubject, maxErr)
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	if len(b) > MaxLen {
		return "", fmt.Errorf("dbreport: a report of %d bytes", len(b))
	}
	return string(b), nil
}

// ErrReport is Decode's error: not a Report of this version.
var ErrReport = errors.New("dbreport: not a report")

// Decode reads a Report from the detail of the gateway's ErrorResponse.
func Decode(s string) (Report, error) {
	var r Report
	if len(s) > MaxLen {
		return r, fmt.Errorf("%w: longer than %d bytes", ErrReport, MaxLen)
	}
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrReport, err)
	}
	if d.More() {
		return Report{}, fmt.Errorf("%w: data after the report", ErrReport)
	}
	if r.V != Version {
		return Report{}, fmt.Errorf("%w: version %d, want %d", ErrReport, r.V, Version)
	}
	if len(r.User) > maxName || len(r.Database) > maxName || len(r.HBAMethod) > maxName || len(r.CaseVariant) > maxName ||
		len(r.Engine) > maxName || len(r.CertSubject) > maxErr ||
		len(r.BackendError) > maxErr || len(r.HBAError) > maxErr || r.HBALine < 0 {
		return Report{}, fmt.Errorf("%w: a field out of bounds", ErrReport)
	}
	return r, nil
}
