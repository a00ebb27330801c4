package gateway

import (
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
	relayEnds                 // resetting: COM_RESET_CONNECTION sent
	cr           *relayReader // the client's
	be           *mysqlBackend
	resetTimeout time.Duration
	onReset      func()
	log          *slog.Logger

	wmu sync.Mutex // the client's writer: backendToClient, and run for its own ERR
	cw  *relayWriter

	t mysqlwire.Tracker // guarded by mu
}

func newMySQLRelay(client net.Conn, cr *relayReader, be *mysqlBackend, caps mysqlwire.Capability, resetTimeout time.Duration, log *slog.Logger) *mysqlRelay {
	return &mysqlRelay{
		relayEnds: relayEnds{client: client}, cr: cr, be: be, resetTimeout: resetTimeout, log: log,
		cw: newRelayWriter(client, backendBufSize),
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

// clientToBackend forwards the client's packets until COM_QUIT, EOF or an error. The
// frames the client's buffer holds whole go on together, followed under one lock, in
// one copy; a longer frame, COM_QUIT and COM_CHANGE_USER are taken one by one.
func (r *mysqlRelay) clientToBackend() error {
	bw := r.be.w
	flush := bw.flush
	cont := false // the previous frame was full: this one continues its packet
	for {
		buf, rerr, werr := fill(r.cr, 4, flush)
		if werr != nil {
			return errBackendOut
		}
		if rerr != nil {
			return rerr
		}
		cr := r.cr.br
		fwd := 0 // the frames before COM_QUIT or COM_CHANGE_USER
		r.mu.Lock()
		mysqlwire.Scan(buf, func(n int, seq byte, payload []byte) bool {
			command := !cont && seq == 0
			if command && n > 0 && (payload[0] == mysqlwire.ComQuit || payload[0] == mysqlwire.ComChangeUser) {
				return false
			}
			if command {
				r.t.Command(payload[:min(n, mysqlwire.TrackerHeadLen)])
			}
			cont = n == mysqlwire.MaxPayloadLen
			fwd += 4 + n
			return true
		})
		r.mu.Unlock()
		if fwd > 0 {
			bw.writer().Write(buf[:fwd])
			cr.Discard(fwd)
			continue
		}

		// One frame: longer than what is buffered, or COM_QUIT or COM_CHANGE_USER.
		if err := flush(); err != nil {
			return errBackendOut
		}
		n, seq, err := mysqlwire.ReadHeader(cr)
		if err != nil {
			return err
		}
		first := !cont
		cont = n == mysqlwire.MaxPayloadLen
		if first && seq == 0 {
			head, err := cr.Peek(min(n, mysqlwire.TrackerHeadLen))
			if err != nil {
				return err
			}
			if n == 1 && head[0] == mysqlwire.ComQuit {
				cr.Discard(1)
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
		w := bw.writer()
		mysqlwire.WriteHeader(w, n, seq)
		rerr, werr = relayBody(w, cr, n)
		if rerr != nil {
			return rerr
		}
		if werr != nil {
			return errBackendOut
		}
	}
}

// refuseChangeUser drops a COM_CHANGE_USER packet of n bytes (and its continuation
// frames, if more) and answers it with ERR.
func (r *mysqlRelay) refuseChangeUser(n int, more bool) error {
	cr := r.cr.reader()
	for {
		if _, err := cr.Discard(n); err != nil {
			return err
		}
		if !more {
			break
		}
		var err error
		if n, _, err = mysqlwire.ReadHeader(cr); err != nil {
			return err
		}
		more = n == mysqlwire.MaxPayloadLen
	}
	r.log.Warn("COM_CHANGE_USER refused")
	msg := "COM_CHANGE_USER is not supported through the iamdb gateway: open a new connection as the other user"
	pkt := (&mysqlwire.Error{Code: mysqlwire.ErNotSupportedYet, SQLState: mysqlwire.StateSyntaxAccess, Message: msg}).AppendPacket(nil, 1)
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.cw.writer().Write(pkt)
	return r.cw.flush()
}

// backendToClient forwards the backend's packets to the client until an error, or,
// once the client is gone, discards them until the reset's answer. As clientToBackend,
// it takes in whole what the backend's buffer holds: one lock, one copy and, once the
// backend has nothing more buffered, one write to the client.
func (r *mysqlRelay) backendToClient() error {
	cont := false
	for {
		buf, rerr, werr := fill(r.be.r, 4, r.flushClient)
		if werr != nil {
			r.dropClient()
		}
		if rerr != nil {
			return r.backendLost(rerr)
		}
		done := false
		r.mu.Lock()
		walked := mysqlwire.Scan(buf, func(n int, _ byte, payload []byte) bool {
			if !cont {
				done = r.packet(payload[:min(n, mysqlwire.TrackerHeadLen)], n)
			}
			cont = n == mysqlwire.MaxPayloadLen
			return !done
		})
		gone := r.clientGone
		r.mu.Unlock()
		br := r.be.r.br
		if walked > 0 {
			if !gone {
				r.wmu.Lock()
				_, werr := r.cw.writer().Write(buf[:walked])
				r.wmu.Unlock()
				if werr != nil {
					r.dropClient()
				}
			}
			br.Discard(walked)
			if done {
				return errResetDone
			}
			continue
		}

		// A frame longer than what is buffered.
		if err := r.flushClient(); err != nil {
			r.dropClient()
		}
		n, seq, err := mysqlwire.ReadHeader(br)
		if err != nil {
			return r.backendLost(err)
		}
		first := !cont
		cont = n == mysqlwire.MaxPayloadLen
		if first {
			head, err := br.Peek(min(n, mysqlwire.TrackerHeadLen))
			if err != nil {
				return r.backendLost(err)
			}
			r.mu.Lock()
			done = r.packet(head, n)
			r.mu.Unlock()
		}
		r.mu.Lock()
		gone = r.clientGone
		r.mu.Unlock()

		if gone {
			if _, err := br.Discard(n); err != nil {
				return r.backendLost(err)
			}
		} else {
			r.wmu.Lock()
			w := r.cw.writer()
			mysqlwire.WriteHeader(w, n, seq)
			rerr, werr := relayBody(w, br, n)
			r.wmu.Unlock()
			if rerr != nil {
				return r.backendLost(rerr)
			}
			if werr != nil {
				r.dropClient()
			}
		}
		if done {
			return errResetDone
		}
	}
}

// packet follows the first frame of a backend packet of n bytes, of which head is the
// start: done says that it answered the reset. Called with mu held.
func (r *mysqlRelay) packet(head []byte, n int) (done bool) {
	if r.resetting && len(head) > 0 && head[0] == mysqlwire.HeaderERR {
		r.resetFailed = true
	}
	r.t.Packet(head, n)
	return r.resetting && r.t.Idle()
}

// flushClient is fill's flush for the client's writer.
func (r *mysqlRelay) flushClient() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.cw.flush()
}

// dropClient is for a failed write to the client (clientFailed): what is left in its
// writer is dropped, and later writes go nowhere.
func (r *mysqlRelay) dropClient() {
	r.clientFailed()
	r.wmu.Lock()
	r.cw.discard()
	r.wmu.Unlock()
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
