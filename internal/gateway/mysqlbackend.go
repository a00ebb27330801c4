package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/mysqlwire"
)

// myBackend is a MariaDB backend session after login.
type myBackend struct {
	nc     net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	connID uint32
	status uint16 // of the last OK packet
}

// MySQL commands the gateway sends or looks at (COM_* in MySQL's sources).
const (
	comQuit            = 0x01
	comInitDB          = 0x02
	comQuery           = 0x03
	comFieldList       = 0x04
	comStatistics      = 0x09
	comProcessKill     = 0x0c
	comDebug           = 0x0d
	comPing            = 0x0e
	comChangeUser      = 0x11
	comBinlogDump      = 0x12
	comStmtPrepare     = 0x16
	comStmtExecute     = 0x17
	comStmtSendLong    = 0x18
	comStmtClose       = 0x19
	comStmtReset       = 0x1a
	comSetOption       = 0x1b
	comStmtFetch       = 0x1c
	comResetConnection = 0x1f
	comStmtBulkExecute = 0xfa // MariaDB
)

// Close sends COM_QUIT (best effort) and closes the connection.
func (b *myBackend) Close() error {
	b.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	b.nc.Write([]byte{1, 0, 0, 0, comQuit})
	return b.nc.Close()
}

// command sends a one-packet command and reads its one-packet answer, which must be OK.
func (b *myBackend) command(payload []byte, timeout time.Duration) error {
	b.nc.SetDeadline(time.Now().Add(timeout))
	defer b.nc.SetDeadline(time.Time{})
	pkt, _ := mysqlwire.AppendPacket(nil, 0, payload)
	if _, err := b.w.Write(pkt); err != nil {
		return err
	}
	if err := b.w.Flush(); err != nil {
		return err
	}
	p, seq, err := mysqlwire.ReadPacket(b.r, maxInspect)
	if err != nil {
		return err
	}
	if seq != 1 || len(p) == 0 || p[0] != 0x00 {
		if len(p) > 0 && p[0] == 0xff {
			return fmt.Errorf("gateway: backend refused command %#x: %s", payload[0], errMessage(p))
		}
		return fmt.Errorf("gateway: unexpected answer to command %#x", payload[0])
	}
	if st, ok := okStatus(p, true); ok {
		b.status = st
	}
	return nil
}

// initDB selects database (COM_INIT_DB): the check of a pooled session before it is
// handed out.
func (b *myBackend) initDB(database string, timeout time.Duration) error {
	return b.command(append([]byte{comInitDB}, database...), timeout)
}

// dialMySQL logs in to the backend for client c: with cert (an IAM user; empty
// password), or relaying the client's own authentication through relay.
func (f *mysqlFront) dialMySQL(ctx context.Context, c *mysqlwire.Conn, cert *tls.Certificate, relay mysqlwire.AuthRelay) (*myBackend, error) {
	if err := f.dialLimit.wait(ctx); err != nil {
		return nil, err
	}
	b := &f.g.cfg.Backend
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", b.Addr)
	if err != nil {
		f.g.m.dials.WithLabelValues(EngineMySQL, outcomeError).Inc()
		return nil, err
	}
	tc := b.TLS.Clone()
	if cert != nil {
		tc.Certificates = nil
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	attrs := make(map[string]string, len(c.Attrs())+1)
	for k, v := range c.Attrs() {
		attrs[k] = v
	}
	attrs["_iamdb_client"] = addrPort(c.NetConn().RemoteAddr()).String()
	cc, err := mysqlwire.ClientHandshake(ctx, nc, mysqlwire.ClientConfig{
		User: c.User(), Database: c.Database(), TLS: tc,
		Capabilities: c.Capabilities() &^ mysqlwire.CapSSL, Charset: c.Charset(),
		Attrs: attrs, MaxPacketSize: max(c.MaxPacketSize(), 1<<10), ReadBufferSize: backendBufSize,
		Relay: relay,
	})
	if err != nil {
		nc.Close()
		f.g.m.dials.WithLabelValues(EngineMySQL, outcomeError).Inc()
		return nil, err
	}
	// Client and backend must frame results alike: every capability that changes the
	// framing must be the same on both sides.
	const framing = mysqlwire.CapDeprecateEOF | mysqlwire.CapSessionTrack | mysqlwire.CapMultiResults |
		mysqlwire.CapPSMultiResults | mysqlwire.CapProtocol41 | mysqlwire.CapLocalFiles |
		mysqlwire.CapOptionalResultsetMetadata | mysqlwire.CapQueryAttributes
	if want := c.Capabilities() & framing; cc.Capabilities&framing != want {
		cc.Conn.Close()
		f.g.m.dials.WithLabelValues(EngineMySQL, outcomeError).Inc()
		return nil, fmt.Errorf("gateway: the backend does not support capabilities %#x the client negotiated", uint32(want&^cc.Capabilities))
	}
	f.g.m.dials.WithLabelValues(EngineMySQL, outcomeOK).Inc()
	if f.g.cfg.ServerVersion == "" && cc.ServerVersion != f.srv.ServerVersion() {
		f.srv.SetServerVersion(cc.ServerVersion) // an invalid one was refused by ClientHandshake
	}
	return &myBackend{nc: cc.Conn, r: cc.Reader, w: bufio.NewWriterSize(cc.Conn, backendBufSize), connID: cc.ConnectionID, status: cc.Status}, nil
}

// okStatus returns the status flags of an OK packet (0x00, or 0xFE as the end of a
// result set with CLIENT_DEPRECATE_EOF), or of an EOF packet when ok41 is false and
// p is an EOF packet.
func okStatus(p []byte, isOK bool) (uint16, bool) {
	if !isOK { // EOF: 0xFE, warnings, status
		if len(p) >= 5 {
			return uint16(p[3]) | uint16(p[4])<<8, true
		}
		return 0, false
	}
	i := 1
	for range 2 { // affected rows, last insert id
		_, n, ok := mysqlwire.LenEncInt(p[min(i, len(p)):])
		if !ok {
			return 0, false
		}
		i += n
	}
	if i+2 > len(p) {
		return 0, false
	}
	return uint16(p[i]) | uint16(p[i+1])<<8, true
}

// errMessage returns the message of an ERR packet.
func errMessage(p []byte) string {
	if len(p) < 3 {
		return ""
	}
	m := p[3:]
	if len(m) >= 6 && m[0] == '#' {
		m = m[6:]
	}
	return fmt.Sprintf("%d %s", uint16(p[1])|uint16(p[2])<<8, m)
}

// mysqlMemberQuery asks whether any account named ? holds rds_iam, directly or through
// roles, following mysql.roles_mapping. Grants WITH ADMIN OPTION do not count: MariaDB
// gives one to the creator of every role (CREATE ROLE), which would turn the
// administrator who ran it into an IAM user. The user is compared as bytes (BINARY):
// the column's PAD SPACE collation would find 'u' for 'u ', a name the backend then
// refuses, and the audit would name a user that does not exist.
const mysqlMemberQuery = `with recursive m(name) as (
	select cast('rds_iam' as char(128))
	union
	select rm.User from mysql.roles_mapping rm join m on rm.Role = m.name where rm.Host = '' and rm.Admin_option <> 'Y')
select exists (select 1 from mysql.roles_mapping rm join m on rm.Role = m.name where binary rm.User = ? and rm.Host <> '' and rm.Admin_option <> 'Y')`

// mysqlAdmin runs the membership query through a few connections of the admin account.
type mysqlAdmin struct {
	db *sql.DB
}

func newMySQLAdmin(b Backend) (*mysqlAdmin, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = b.AdminUser, b.AdminPassword
	cfg.Net, cfg.Addr = "tcp", b.Addr
	cfg.TLS = b.TLS.Clone()
	cfg.Timeout = b.ConnectTimeout
	cfg.ConnectionAttributes = "program_name:iamdb-gateway"
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("gateway: backend admin: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(b.MaxAdminConns)
	db.SetMaxIdleConns(b.MaxAdminConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &mysqlAdmin{db: db}, nil
}

// isMember runs mysqlMemberQuery. database/sql retries once on a broken pooled
// connection, so a backend restart costs no refused login.
func (a *mysqlAdmin) isMember(ctx context.Context, user string) (bool, error) {
	var member bool
	err := a.db.QueryRowContext(ctx, mysqlMemberQuery, user).Scan(&member)
	if err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) {
			return false, fmt.Errorf("gateway: rds_iam membership query: %w", err)
		}
		return false, err
	}
	return member, nil
}

func (a *mysqlAdmin) close() { a.db.Close() }
