package gateway

import (
	"bufio"
	"errors"
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
