package gateway

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/iamdb/iamdb/internal/mysqlwire"
)

// mysqlRelay relays one authenticated MySQL client and its backend session frame by
// frame — every packet as it is, multi-frame packets (16 MiB and more) included — and
// follows the command/response exchange (mysqlwire.Tracker) so that it knows, when the client
// quits, whether the session is between commands and may be reset (COM_RESET_CONNECTION)
// and pooled.
//
// It answers COM_CHANGE_USER itself, with ERR 1235: the backend session was logged in
// for the authorized user, and switching to another user would bypass the token and
// the policy (see the package documentation).
//
// Two goroutines, as pgRelay: run reads the client and writes the backend;
// backendToClient reads the backend and writes the client.
type mysqlRelay struct {
	relayEnds    // resetting: COM_RESET_CONNECTION sent
	cr           *bufio.Reader
	be           *mysqlBackend
	resetTimeout time.Duration
	onReset      func()
	log          *slog.Logger

	wmu sync.Mutex // the client's writer: backendToClient, and run for its own ERR
	cw  *bufio.Writer

	t mysqlwire.Tracker // guarded by mu
}

func newMySQLRelay(client net.Conn, cr *bufio.Reader, be *mysqlBackend, caps mysqlwire.Capability, resetTimeout time.Duration, log *slog.Logger) *mysqlRelay {
	return &mysqlRelay{
		relayEnds: relayEnds{client: client}, cr: cr, be: be, resetTimeout: resetTimeout, log: log,
		cw: bufio.NewWriterSize(client, backendBufSize),
		t:  mysqlwire.NewTracker(caps),
	}
}

// run relays until the client leaves or either side fails. poolable says whether the
// session may go back to the pool; run reports whether it was reset and is idle.
func (r *mysqlRelay) run(poolable bool) (reusable bool) {
	beDone := make(chan error, 1)
	go func() { beDone <- r.backendToClient() }()
	cerr := r.clientToBackend()

	r.mu.Lock()
	clean := poolable && (errors.Is(cerr, errTerminate) || isDisconnect(cerr)) && !r.beDead && r.t.Idle()
	r.clientGone = true
	if clean {
		r.resetting = true
		r.t.Command([]byte{mysqlwire.ComResetConnection})
	}
	r.mu.Unlock()
	clean = sendReset(clean, r.client, r.be.nc, r.be.w, resetConnection, r.resetTimeout, r.onReset)
	err := <-beDone
	r.mu.Lock()
	defer r.mu.Unlock()
	if clean && err == errResetDone && !r.resetFailed {
		r.be.nc.SetDeadline(time.Time{})
		r.be.status = r.t.Status()
		return true
	}
	return false
}

// resetConnection is the COM_RESET_CONNECTION packet that resets a session before it
// returns to the pool.
var resetConnection = mysqlwire.CommandPacket(mysqlwire.ComResetConnection, nil)

// clientToBackend forwards the client's packets until COM_QUIT, EOF or an error.
func (r *mysqlRelay) clientToBackend() error {
	w := r.be.w
	cont := false // the previous frame was full: this one continues its packet
	for {
		n, seq, err := mysqlwire.ReadHeader(r.cr)
		if err != nil {
			return err
		}
		first := !cont
		cont = n == mysqlwire.MaxPayloadLen
		if first && seq == 0 {
			head, err := r.cr.Peek(min(n, mysqlwire.TrackerHeadLen))
			if err != nil {
				return err
			}
			if n == 1 && head[0] == mysqlwire.ComQuit {
				r.cr.Discard(1)
				return errTerminate
			}
			if n > 0 && head[0] == mysqlwire.ComChangeUser {
				if err := r.refuseChangeUser(n, cont); err != nil {
					return err
				}
				cont = false
				continue
			}
			r.mu.Lock()
			r.t.Command(head)
			r.mu.Unlock()
		}
		mysqlwire.WriteHeader(w, n, seq)
		if err := forwardToBackend(w, r.cr, n); err != nil {
			return err
		}
	}
}

// refuseChangeUser drops a COM_CHANGE_USER packet of n bytes (and its continuation
// frames, if more) and answers it with ERR.
func (r *mysqlRelay) refuseChangeUser(n int, more bool) error {
	for {
		if _, err := r.cr.Discard(n); err != nil {
			return err
		}
		if !more {
			break
		}
		var err error
		if n, _, err = mysqlwire.ReadHeader(r.cr); err != nil {
			return err
		}
		more = n == mysqlwire.MaxPayloadLen
	}
	r.log.Warn("COM_CHANGE_USER refused")
	msg := "COM_CHANGE_USER is not supported through the iamdb gateway: open a new connection as the other user"
	pkt := (&mysqlwire.Error{Code: mysqlwire.ErNotSupportedYet, SQLState: mysqlwire.StateSyntaxAccess, Message: msg}).AppendPacket(nil, 1)
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.cw.Write(pkt)
	return r.cw.Flush()
}

// backendToClient forwards the backend's packets to the client until an error, or,
// once the client is gone, discards them until the reset's answer.
func (r *mysqlRelay) backendToClient() error {
	br := r.be.r
	cont := false
	for {
		n, seq, err := mysqlwire.ReadHeader(br)
		if err != nil {
			return r.backendLost(err)
		}
		first := !cont
		cont = n == mysqlwire.MaxPayloadLen
		done := false
		r.mu.Lock()
		if first {
			head, err := br.Peek(min(n, mysqlwire.TrackerHeadLen))
			if err != nil {
				r.mu.Unlock()
				return r.backendLost(err)
			}
			if r.resetting && len(head) > 0 && head[0] == mysqlwire.HeaderERR {
				r.resetFailed = true
			}
			r.t.Packet(head, n)
			done = r.resetting && r.t.Idle()
		}
		gone := r.clientGone
		r.mu.Unlock()

		if gone {
			if _, err := br.Discard(n); err != nil {
				return r.backendLost(err)
			}
		} else {
			r.wmu.Lock()
			mysqlwire.WriteHeader(r.cw, n, seq)
			rerr, werr := forward(r.cw, br, n)
			r.wmu.Unlock()
			if rerr != nil {
				return r.backendLost(rerr)
			}
			if werr != nil {
				r.clientFailed()
			}
		}
		if done {
			return errResetDone
		}
	}
}

// backendLost ends backendToClient. The client's connection is closed so that run
// stops; MySQL clients report the lost connection themselves (2013).
func (r *mysqlRelay) backendLost(err error) error {
	r.mu.Lock()
	r.beDead = true
	r.clientGone = true
	r.mu.Unlock()
	r.client.Close()
	return err
}
