package gateway

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// mysqlBackend is a MariaDB backend session after login.
type mysqlBackend struct {
	nc     net.Conn
	r      *relayReader // no buffer while idle, in the pool or in a relay
	w      *relayWriter
	connID uint32
	status uint16 // of the last OK packet
}

// quitPacket is COM_QUIT, sent to a backend session before it is closed.
var quitPacket = mysqlwire.CommandPacket(mysqlwire.ComQuit, nil)

// Close sends COM_QUIT (best effort) and closes the connection.
func (b *mysqlBackend) Close() error {
	b.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	b.nc.Write(quitPacket)
	return b.nc.Close()
}

// command sends a one-packet command and reads its one-packet answer, which must be OK.
func (b *mysqlBackend) command(cmd byte, arg []byte, timeout time.Duration) error {
	b.nc.SetDeadline(time.Now().Add(timeout))
	defer b.nc.SetDeadline(time.Time{})
	if _, err := b.w.writer().Write(mysqlwire.CommandPacket(cmd, arg)); err != nil {
		return err
	}
	if err := b.w.flush(); err != nil {
		return err
	}
	p, seq, err := mysqlwire.ReadPacket(b.r.reader(), maxInspect)
	b.r.release()
	if err != nil {
		return err
	}
	if seq != 1 || len(p) == 0 || p[0] != mysqlwire.HeaderOK {
		if e, err := mysqlwire.DecodeError(p); err == nil {
			return fmt.Errorf("gateway: backend refused command %#x: %d %s", cmd, e.Code, e.Message)
		}
		return fmt.Errorf("gateway: unexpected answer to command %#x", cmd)
	}
	if st, ok := mysqlwire.OKStatus(p); ok {
		b.status = st
	}
	return nil
}

// initDB selects database (COM_INIT_DB): the check of a pooled session before it is
// handed out.
func (b *mysqlBackend) initDB(database string, timeout time.Duration) error {
	return b.command(mysqlwire.ComInitDB, []byte(database), timeout)
}

// dialMySQL logs in to the backend for client c: with cert (an IAM user; empty
// password), or relaying the client's own authentication through relay.
func (e *mysqlEngine) dialMySQL(ctx context.Context, c *mysqlwire.Conn, cert *tls.Certificate, relay mysqlwire.AuthRelay) (*mysqlBackend, error) {
	if err := e.dialLimit.wait(ctx); err != nil {
		return nil, err
	}
	b := &e.g.cfg.Backend
	nc, err := b.dialer().DialContext(ctx, "tcp", b.Addr)
	if err != nil {
		e.g.m.dials.WithLabelValues(EngineMySQL, outcomeError).Inc()
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
		Attrs: attrs, MaxPacketSize: max(c.MaxPacketSize(), 1<<10), ReadBufferSize: loginBufSize,
		Relay: relay,
	})
	if err != nil {
		nc.Close()
		e.g.m.dials.WithLabelValues(EngineMySQL, outcomeError).Inc()
		return nil, err
	}
	// Client and backend must frame results alike: every capability that changes the
	// framing must be the same on both sides.
	const framing = mysqlwire.FramingCapabilities
	if want := c.Capabilities() & framing; cc.Capabilities&framing != want {
		cc.Conn.Close()
		e.g.m.dials.WithLabelValues(EngineMySQL, outcomeError).Inc()
		return nil, fmt.Errorf("gateway: the backend does not support capabilities %#x the client negotiated", uint32(want&^cc.Capabilities))
	}
	e.g.m.dials.WithLabelValues(EngineMySQL, outcomeOK).Inc()
	if e.g.cfg.ServerVersion == "" && cc.ServerVersion != e.srv.ServerVersion() {
		e.srv.SetServerVersion(cc.ServerVersion) // an invalid one was refused by ClientHandshake
	}
	return &mysqlBackend{nc: cc.Conn, r: newRelayReader(cc.Conn, backendBufSize, buffered(cc.Reader)), w: newRelayWriter(cc.Conn, backendBufSize),
		connID: cc.ConnectionID, status: cc.Status}, nil
}

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
	if b.LocalAddr != "" {
		cfg.DialFunc = b.dialer().DialContext
	}
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

// isMember runs rdsiam.MySQLMemberQuery. database/sql retries once on a broken pooled
// connection, so a backend restart costs no refused login.
func (a *mysqlAdmin) isMember(ctx context.Context, user string) (bool, error) {
	var member bool
	err := a.db.QueryRowContext(ctx, rdsiam.MySQLMemberQuery, user).Scan(&member)
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
