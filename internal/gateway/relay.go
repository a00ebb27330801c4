package gateway

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/iamdb/iamdb/internal/pgwire"
)

var (
	errTerminate  = errors.New("gateway: client terminated")
	errResetDone  = errors.New("gateway: reset done")
	errBackendOut = errors.New("gateway: backend write failed")
)

// maxInspect bounds the backend messages the relay reads whole to look into
// (ReadyForQuery, ParameterStatus, ErrorResponse); longer ones are passed through unread.
const maxInspect = 64 << 10

// discardAll is the Query message that resets a session before it returns to the pool.
var discardAll = []byte("Q\x00\x00\x00\x10DISCARD ALL\x00")

// pgRelay relays one authenticated client and its backend session, message by message,
// tracking what pooling needs: the transaction status of the last ReadyForQuery, the
// ReadyForQuery still owed (one per Query, Sync and FunctionCall), whether extended-
// protocol messages await a Sync, and whether the backend sent FATAL.
//
// Two goroutines: run reads the client and writes the backend (the caller's goroutine);
// backendToClient reads the backend and writes the client. When the client leaves with
// the session idle, run sends DISCARD ALL and backendToClient, no longer forwarding,
// stops at its ReadyForQuery, leaving the backend connection at a message boundary.
type pgRelay struct {
	client       net.Conn
	cr           *bufio.Reader
	be           *pgBackend
	resetTimeout time.Duration
	onReset      func() // called before DISCARD ALL is sent, if not nil

	mu          sync.Mutex
	tx          byte // of the last ReadyForQuery
	pending     int  // ReadyForQuery owed
	unsynced    bool // extended-protocol messages since the last Sync
	clientGone  bool // stop forwarding to the client
	resetting   bool // DISCARD ALL sent
	resetFailed bool
	beFatal     bool // the backend sent FATAL or PANIC
	beDead      bool // backendToClient ended on an error
}

// run relays until the client leaves or either side fails. poolable says whether the
// session may go back to the pool; run reports whether it was reset and is idle.
func (r *pgRelay) run(poolable bool) (reusable bool) {
	beDone := make(chan error, 1)
	go func() { beDone <- r.backendToClient() }()
	cerr := r.clientToBackend()

	r.mu.Lock()
	clean := poolable && (errors.Is(cerr, errTerminate) || isDisconnect(cerr)) &&
		!r.beDead && !r.beFatal && r.pending == 0 && !r.unsynced && r.tx == 'I'
	r.clientGone = true
	if clean {
		r.resetting = true
		r.pending++
	}
	r.mu.Unlock()
	if clean && r.onReset != nil {
		r.onReset()
	}
	if clean {
		r.be.nc.SetDeadline(time.Now().Add(r.resetTimeout))
		r.be.w.Write(discardAll)
		if r.be.w.Flush() != nil {
			clean = false
		}
	}
	if !clean {
		r.be.nc.Close()
	}
	r.client.Close() // unblocks a write to a client that stopped reading
	err := <-beDone
	r.mu.Lock()
	defer r.mu.Unlock()
	r.be.tx = r.tx
	if clean && err == errResetDone && !r.resetFailed && r.tx == 'I' {
		r.be.nc.SetDeadline(time.Time{})
		return true
	}
	return false
}

// clientToBackend forwards the client's messages until Terminate, EOF or an error.
func (r *pgRelay) clientToBackend() error {
	w := r.be.w
	for {
		typ, n, err := pgwire.ReadHeader(r.cr)
		if err != nil {
			return err
		}
		if typ == 'X' {
			return errTerminate
		}
		r.mu.Lock()
		switch typ {
		case 'Q', 'F':
			r.pending++
		case 'S':
			r.pending++
			r.unsynced = false
		case 'P', 'B', 'E', 'D', 'C', 'H':
			r.unsynced = true
		}
		r.mu.Unlock()
		writeHeader(w, typ, n)
		rerr, werr := relayBody(w, r.cr, n)
		if rerr != nil {
			return rerr
		}
		if werr == nil && r.cr.Buffered() == 0 {
			werr = w.Flush()
		}
		if werr != nil {
			return errBackendOut
		}
	}
}

// backendToClient forwards the backend's messages to the client until an error, or,
// once the client is gone, discards them until the reset's ReadyForQuery.
func (r *pgRelay) backendToClient() error {
	br := r.be.r
	cw := bufio.NewWriterSize(r.client, backendBufSize)
	var scratch []byte
	for {
		typ, n, err := pgwire.ReadHeader(br)
		if err != nil {
			return r.backendLost(cw, err)
		}
		var body []byte
		if (typ == 'Z' || typ == 'S' || typ == 'E') && n <= maxInspect {
			if cap(scratch) < n {
				scratch = make([]byte, n, max(n, 256))
			}
			body = scratch[:n]
			if _, err := io.ReadFull(br, body); err != nil {
				return r.backendLost(cw, err)
			}
		}
		r.mu.Lock()
		done := false
		switch typ {
		case 'Z':
			if n == 1 && body != nil {
				r.tx = body[0]
			}
			if r.pending > 0 {
				r.pending--
			}
			done = r.resetting && r.pending == 0
		case 'E':
			if body != nil && isFatal(body) {
				r.beFatal = true
			}
			if r.resetting {
				r.resetFailed = true
			}
		case 'S':
			if name, value, ok := parameterStatus(body); ok {
				r.be.params[name] = value
			}
		}
		gone := r.clientGone
		r.mu.Unlock()

		if gone {
			if body == nil {
				if _, err := br.Discard(n); err != nil {
					return r.backendLost(cw, err)
				}
			}
		} else {
			writeHeader(cw, typ, n)
			var werr error
			if body != nil {
				_, werr = cw.Write(body)
			} else {
				var rerr error
				if rerr, werr = relayBody(cw, br, n); rerr != nil {
					return r.backendLost(cw, rerr)
				}
			}
			if werr == nil && br.Buffered() == 0 {
				werr = cw.Flush()
			}
			if werr != nil { // the client is gone: keep reading, stop forwarding
				r.mu.Lock()
				r.clientGone = true
				r.mu.Unlock()
				r.client.Close()
			}
		}
		if done {
			return errResetDone
		}
	}
}

// backendLost ends backendToClient: unless the backend said FATAL itself or the client
// is gone, the client gets a FATAL, and its connection is closed so that run stops.
func (r *pgRelay) backendLost(cw *bufio.Writer, err error) error {
	r.mu.Lock()
	r.beDead = true
	tell := !r.clientGone && !r.beFatal
	r.clientGone = true
	r.mu.Unlock()
	if tell {
		e := pgwire.Fatal(pgwire.CodeConnectionFailure, "terminating connection because the connection to the database server was lost")
		writeErrorResponse(cw, e)
		cw.Flush()
	}
	r.client.Close()
	return err
}

func writeHeader(w *bufio.Writer, typ byte, n int) {
	var h [5]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[1:], uint32(n+4))
	w.Write(h[:])
}

// writeErrorResponse writes an ErrorResponse.
func writeErrorResponse(w *bufio.Writer, e *pgwire.Error) {
	sev := e.Severity
	if sev == "" {
		sev = pgwire.SeverityFatal
	}
	n := 1 + (1+len(sev)+1)*2 + (1 + len(e.Code) + 1) + (1 + len(e.Message) + 1)
	writeHeader(w, 'E', n)
	for _, f := range []struct {
		c byte
		v string
	}{{'S', sev}, {'V', sev}, {'C', e.Code}, {'M', e.Message}} {
		w.WriteByte(f.c)
		w.WriteString(f.v)
		w.WriteByte(0)
	}
	w.WriteByte(0)
}

// relayBody copies n bytes from r to w without allocating. When w fails it still reads
// (and drops) the rest, so that r stays at a message boundary. It returns the read
// error and the first write error.
func relayBody(w *bufio.Writer, r *bufio.Reader, n int) (rerr, werr error) {
	for n > 0 {
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil {
				return err, werr
			}
		}
		k := min(n, r.Buffered())
		b, _ := r.Peek(k)
		if werr == nil {
			_, werr = w.Write(b)
		}
		r.Discard(k)
		n -= k
	}
	return nil, werr
}
