package gateway

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
)

// What both engines' relays share: how they end, and how they copy bytes.

var (
	errTerminate  = errors.New("gateway: client terminated")
	errResetDone  = errors.New("gateway: reset done")
	errBackendOut = errors.New("gateway: backend write failed")
)

// maxInspect bounds the backend messages a relay reads whole to look into (PostgreSQL's
// ReadyForQuery, ParameterStatus, ErrorResponse; longer ones are passed through unread)
// and a MySQL backend's answer to a command the gateway sends itself.
const maxInspect = 64 << 10

// backendBufSize is the buffer size of the relays' readers and writers.
const backendBufSize = 8 << 10

// relayEnds is what both relays track of their two ends. Its mu also guards each
// relay's own protocol state.
type relayEnds struct {
	client net.Conn

	mu          sync.Mutex
	clientGone  bool // stop forwarding to the client
	resetting   bool // the session's reset was sent to the backend
	resetFailed bool // the backend refused the reset
	beDead      bool // backendToClient ended on an error
}

// clientFailed is for a failed write to the client: the client is gone, so the relay
// stops forwarding to it (backendToClient keeps reading, to the reset's answer) and
// closes its connection.
func (r *relayEnds) clientFailed() {
	r.mu.Lock()
	r.clientGone = true
	r.mu.Unlock()
	r.client.Close()
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

// forward copies a body of n bytes from r to w (relayBody) and flushes w once r has
// nothing more buffered: what arrived together leaves together.
func forward(w *bufio.Writer, r *bufio.Reader, n int) (rerr, werr error) {
	rerr, werr = relayBody(w, r, n)
	if rerr == nil && werr == nil && r.Buffered() == 0 {
		werr = w.Flush()
	}
	return rerr, werr
}

// forwardToBackend forwards a client message's n-byte body as forward does; a failure to
// write to the backend is errBackendOut, a failure to read the client is returned as is.
func forwardToBackend(w *bufio.Writer, r *bufio.Reader, n int) error {
	rerr, werr := forward(w, r, n)
	if rerr != nil {
		return rerr
	}
	if werr != nil {
		return errBackendOut
	}
	return nil
}

// sendReset ends the client's side of a relay. When clean it calls onReset (if not
// nil) and sends the backend the message that resets the session (DISCARD ALL,
// COM_RESET_CONNECTION) within timeout; when not clean, or when that fails, it closes
// the backend connection. It closes the client connection (unblocking a write to a
// client that stopped reading) and reports whether the reset was sent.
func sendReset(clean bool, client, backend net.Conn, bw *bufio.Writer, reset []byte, timeout time.Duration, onReset func()) bool {
	if clean && onReset != nil {
		onReset()
	}
	if clean {
		backend.SetDeadline(time.Now().Add(timeout))
		bw.Write(reset)
		if bw.Flush() != nil {
			clean = false
		}
	}
	if !clean {
		backend.Close()
	}
	client.Close()
	return clean
}
