package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// pgBackend is a PostgreSQL backend session taken over from pgconn after login.
type pgBackend struct {
	nc     net.Conn
	r      *relayReader // no buffer while idle, in the pool or in a relay
	w      *relayWriter
	pid    uint32
	key    []byte // never logged
	params map[string]string
	tx     byte
	// startupApp is the application_name the session logged in with: the one DISCARD
	// ALL brings back.
	startupApp string
}

// Close sends Terminate (best effort) and closes the connection.
func (b *pgBackend) Close() error {
	b.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	b.nc.Write(pgwire.AppendTerminate(nil))
	return b.nc.Close()
}

// quickCheckIdle is how long a pooled PostgreSQL session may have been idle and still be
// checked without a round trip (pgBackend.alive). PgBouncer's server_check_delay plays the
// same part, with the same default.
const quickCheckIdle = 30 * time.Second

// alive says whether an idle session's connection still looks usable without asking the
// backend anything: nothing left unread in the gateway's buffer and nothing waiting on the
// socket. A backend that was terminated, or stopped with its server, leaves a FATAL
// ErrorResponse and the end of the stream there. errCannotPeek if the connection does not
// allow looking.
func (b *pgBackend) alive() error {
	if b.r.buffered() > 0 {
		return errors.New("gateway: an idle backend session sent something")
	}
	return peekIdle(b.nc)
}

// newPGTemplate returns the pgconn configuration every backend login copies: the
// backend's address and nothing taken from the environment that matters.
func newPGTemplate(b Backend) (*pgconn.Config, error) {
	host, port, err := net.SplitHostPort(b.Addr)
	if err != nil {
		return nil, err
	}
	cfg, err := pgconn.ParseConfig("host=" + rdsiam.QuotePostgresConnValue(host) + " port=" + rdsiam.QuotePostgresConnValue(port) + " sslmode=disable")
	if err != nil {
		return nil, fmt.Errorf("gateway: backend address: %w", err)
	}
	cfg.Fallbacks = nil
	cfg.ValidateConnect = nil
	cfg.AfterConnect = nil
	cfg.OnNotice = nil
	cfg.OnNotification = nil
	cfg.OAuthTokenProvider = nil
	cfg.RuntimeParams = map[string]string{}
	cfg.ConnectTimeout = b.ConnectTimeout
	if b.LocalAddr != "" {
		cfg.DialFunc = b.dialer().DialContext
	}
	cfg.SSLNegotiation = "postgres"
	cfg.SSLCertMode = "allow"
	cfg.ChannelBinding = "prefer"
	cfg.RequireAuth = ""
	cfg.MinProtocolVersion, cfg.MaxProtocolVersion = "3.0", "3.0"
	cfg.User, cfg.Password, cfg.Database = "", "", ""
	cfg.TLSConfig = nil
	return cfg, nil
}

// dialPG logs in to the backend as user and takes the connection over. cert, if not
// nil, is presented as the client certificate; password, if not empty, answers the
// server's password or SCRAM challenge.
func (e *pgEngine) dialPG(ctx context.Context, user, database string, params map[string]string, password string, cert *tls.Certificate) (*pgBackend, error) {
	if err := e.dialLimit.wait(ctx); err != nil {
		return nil, err
	}
	cfg := e.template.Copy()
	cfg.User, cfg.Database, cfg.Password = user, database, password
	cfg.RuntimeParams = params
	tc := e.backendTLS.Clone()
	if cert != nil {
		tc.Certificates = nil
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	cfg.TLSConfig = tc
	var guard *readGuard
	cfg.AfterNetConnect = func(_ context.Context, _ *pgconn.Config, c net.Conn) (net.Conn, error) {
		guard = &readGuard{Conn: c}
		return guard, nil
	}
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		e.g.m.dials.WithLabelValues(EnginePostgres, outcomeError).Inc()
		return nil, err
	}
	e.g.m.dials.WithLabelValues(EnginePostgres, outcomeOK).Inc()
	// pgconn may have a background read in flight or bytes buffered: take the connection
	// over only once it has none (a read left in flight would steal the first response).
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(ctx)
		return nil, err
	}
	hc, err := pc.Hijack()
	if err != nil {
		pc.Close(ctx)
		return nil, err
	}
	guard.settle()
	return &pgBackend{
		nc: hc.Conn, r: newRelayReader(hc.Conn, backendBufSize, nil), w: newRelayWriter(hc.Conn, backendBufSize),
		pid: hc.PID, key: hc.SecretKey, params: hc.ParameterStatuses, tx: hc.TxStatus,
		startupApp: params["application_name"],
	}, nil
}

// simpleQuery runs one statement with the simple protocol on an idle backend session,
// outside any relay, and reads up to ReadyForQuery, recording ParameterStatus. An
// ErrorResponse or a status other than idle is an error.
func (b *pgBackend) simpleQuery(q string, timeout time.Duration) error {
	b.nc.SetDeadline(time.Now().Add(timeout))
	defer b.nc.SetDeadline(time.Time{})
	w := b.w.writer()
	w.Write(pgwire.AppendQuery(w.AvailableBuffer(), q))
	if err := b.w.flush(); err != nil {
		return err
	}
	br := b.r.reader()
	defer b.r.release()
	var failed error
	var buf []byte
	for {
		typ, n, err := pgwire.ReadHeader(br)
		if err != nil {
			return err
		}
		if n > 1<<20 {
			return errors.New("gateway: oversized backend message")
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		body := buf[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return err
		}
		switch typ {
		case pgwire.TypeErrorResponse:
			failed = fmt.Errorf("gateway: backend: %s", pgwire.ErrorSummary(body))
		case pgwire.TypeParameterStatus:
			if name, value, ok := pgwire.ParseParameterStatus(body); ok {
				b.params[name] = value
			}
		case pgwire.TypeReadyForQuery:
			if tx, ok := pgwire.ParseReadyForQuery(body); ok {
				b.tx = tx
			}
			if failed != nil {
				return failed
			}
			if b.tx != pgwire.TxIdle {
				return errors.New("gateway: backend session not idle")
			}
			return nil
		}
	}
}

// cancelMap maps the process IDs and keys the gateway gives clients to the backend
// session each one is using, for CancelRequest.
type cancelMap struct {
	mu sync.Mutex
	m  map[uint32]*cancelEntry
}

type cancelEntry struct {
	key [4]byte
	be  *pgBackend
}

// add registers be and returns the pid and key to give the client.
func (m *cancelMap) add(be *pgBackend) (uint32, [4]byte) {
	var b [8]byte
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[uint32]*cancelEntry)
	}
	for {
		rand.Read(b[:])
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff
		if pid == 0 || m.m[pid] != nil {
			continue
		}
		e := &cancelEntry{be: be}
		copy(e.key[:], b[4:])
		m.m[pid] = e
		return pid, e.key
	}
}

func (m *cancelMap) remove(pid uint32) {
	m.mu.Lock()
	delete(m.m, pid)
	m.mu.Unlock()
}

// lookup returns the backend pid and key for a client's pid and key.
func (m *cancelMap) lookup(pid uint32, key []byte) (uint32, []byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.m[pid]
	if e == nil || subtle.ConstantTimeCompare(e.key[:], key) != 1 {
		return 0, nil, false
	}
	return e.be.pid, e.be.key, true
}

// sendCancel sends a CancelRequest for (pid, key) to the backend, over TLS, and waits
// for the backend to close the connection, as libpq does.
func (e *pgEngine) sendCancel(pid uint32, key []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.g.cfg.Backend.ConnectTimeout)
	defer cancel()
	nc, err := e.g.cfg.Backend.dialer().DialContext(ctx, "tcp", e.g.cfg.Backend.Addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	if _, err := nc.Write(pgwire.AppendSSLRequest(nil)); err != nil {
		return err
	}
	var resp [1]byte
	if _, err := io.ReadFull(nc, resp[:]); err != nil {
		return err
	}
	if resp[0] != pgwire.SSLAccepted {
		return errors.New("gateway: backend refused TLS for a cancel request")
	}
	tc := tls.Client(nc, e.backendTLS)
	msg := pgwire.AppendCancelRequest(nil, pid, key)
	_, err = tc.Write(msg)
	clear(msg)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, tc) // until the backend closes
	return nil
}

// readGuard counts the reads in flight on a backend connection. pgconn starts a
// background reader when a write takes longer than 15 ms (its slow-write timer; under CPU
// load, the TLS handshake inside the startup write often does), and that reader can still
// be blocked in Read after Hijack: it would then swallow the backend's first reply to the
// relay. settle kicks such a reader out before the connection is used.
type readGuard struct {
	net.Conn
	inflight atomic.Int32
}

// NetConn is the guarded connection (for peekIdle).
func (g *readGuard) NetConn() net.Conn { return g.Conn }

func (g *readGuard) Read(b []byte) (int, error) {
	g.inflight.Add(1)
	defer g.inflight.Add(-1)
	return g.Conn.Read(b)
}

// settle waits until no read is in flight, interrupting them with a past read deadline
// (crypto/tls keeps the connection usable after a read timeout).
func (g *readGuard) settle() {
	if g == nil || g.inflight.Load() == 0 {
		return
	}
	g.Conn.SetReadDeadline(time.Unix(1, 0))
	for g.inflight.Load() != 0 {
		time.Sleep(time.Millisecond)
	}
	g.Conn.SetReadDeadline(time.Time{})
}
