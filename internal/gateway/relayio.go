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

// fill returns what r holds buffered, at least need bytes (need at most r.Size()), so
// that a relay takes in, at once, every message that arrived together. When r holds
// fewer, fill first calls flush — nothing waits in a writer while the relay waits for
// its peer, and what arrived together leaves together, in one write — and then reads.
// werr is flush's error: fill reads regardless, so that the caller can keep r at a
// message boundary.
func fill(r *bufio.Reader, need int, flush func() error) (buf []byte, rerr, werr error) {
	if r.Buffered() < need {
		werr = flush()
		if _, rerr = r.Peek(need); rerr != nil {
			return nil, rerr, werr
		}
	}
	buf, _ = r.Peek(r.Buffered())
	return buf, nil, werr
}

// flusher returns fill's flush for w: a Flush when w holds anything.
func flusher(w *bufio.Writer) func() error {
	return func() error {
		if w.Buffered() == 0 {
			return nil
		}
		return w.Flush()
	}
}

// relayBody copies n bytes from r to w without allocating, flushing w before it waits
// for r. When w fails it still reads (and drops) the rest, so that r stays at a message
// boundary. It returns the read error and the first write error.
func relayBody(w *bufio.Writer, r *bufio.Reader, n int) (rerr, werr error) {
	for n > 0 {
		if r.Buffered() == 0 {
			if werr == nil && w.Buffered() > 0 {
				werr = w.Flush()
			}
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
