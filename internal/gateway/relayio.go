package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"io"
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

// backendBufSize is the buffer size of the relays' readers and writers, taken from a
// pool only while data flows (relayReader, relayWriter).
const backendBufSize = 8 << 10

// loginBufSize is the read buffer of a client connection during login (the password is
// all it reads) and of a backend login: small, as hundreds of clients may wait there.
const loginBufSize = 512

// wakeLen is the read an idle relayReader waits in: enough for the messages of a small
// transaction (a pgbench -S exchange either way), so that they arrive in one piece.
const wakeLen = 512

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, backendBufSize) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, backendBufSize) }}
)

// relayReader is a relay's buffered reader of one connection that holds no buffer while
// the connection is idle (issue 19: memory per idle connection). It reads through a
// *bufio.Reader of size bytes, taken from a pool while data flows; at a message boundary,
// with nothing buffered, wait gives the buffer back and blocks in a read of at most
// wakeLen bytes into the relayReader's own small array (crypto/tls keeps the rest of the
// record it decrypted); the next buffer then starts with those bytes.
type relayReader struct {
	pre  prefixReader // what br reads: the woken bytes, then the connection
	size int
	br   *bufio.Reader // nil while idle
	wake [wakeLen]byte
}

// newRelayReader returns a relayReader of rd with buffers of size bytes, of which
// buffered (copied) are the first bytes, already read from rd by someone else.
func newRelayReader(rd io.Reader, size int, buffered []byte) *relayReader {
	l := &relayReader{pre: prefixReader{r: rd}, size: size}
	if len(buffered) > 0 {
		l.pre.b = bytes.Clone(buffered)
	}
	return l
}

// buffered returns what r holds buffered (a slice of r's buffer).
func buffered(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return b
}

// reader returns the buffered reader, taking a buffer when idle.
func (l *relayReader) reader() *bufio.Reader {
	if l.br == nil {
		if l.size == backendBufSize {
			l.br = readerPool.Get().(*bufio.Reader)
			l.br.Reset(&l.pre)
		} else {
			l.br = bufio.NewReaderSize(&l.pre, l.size)
		}
	}
	return l.br
}

// buffered returns how many bytes l holds that were read from the connection and not
// yet consumed.
func (l *relayReader) buffered() int {
	n := len(l.pre.b)
	if l.br != nil {
		n += l.br.Buffered()
	}
	return n
}

// release gives the buffer back if it holds nothing.
func (l *relayReader) release() {
	if l.br == nil || l.br.Buffered() > 0 || len(l.pre.b) > 0 {
		return
	}
	if l.size == backendBufSize {
		l.br.Reset(nil)
		readerPool.Put(l.br)
	}
	l.br = nil
}

// wait waits for the connection to have data: unless something is buffered, it gives the
// buffer back and blocks in a read into the wake array. It returns the read's error
// when nothing came.
func (l *relayReader) wait() error {
	l.release()
	if l.br != nil || len(l.pre.b) > 0 || l.pre.err != nil {
		return nil
	}
	for {
		n, err := l.pre.r.Read(l.wake[:])
		if n > 0 {
			l.pre.b, l.pre.err = l.wake[:n], err
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// prefixReader reads b, then err if not nil, then r.
type prefixReader struct {
	r   io.Reader
	b   []byte
	err error
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.b) > 0 {
		n := copy(b, p.b)
		p.b = p.b[n:]
		return n, nil
	}
	if p.err != nil {
		err := p.err
		p.err = nil
		return 0, err
	}
	return p.r.Read(b)
}

// relayWriter is a relay's buffered writer to one connection that holds a buffer only
// between a write and the flush that follows it (the relays flush before they wait).
type relayWriter struct {
	w    io.Writer
	size int
	bw   *bufio.Writer // nil while nothing is buffered
}

func newRelayWriter(w io.Writer, size int) *relayWriter { return &relayWriter{w: w, size: size} }

// writer returns the buffered writer, taking a buffer if none.
func (l *relayWriter) writer() *bufio.Writer {
	if l.bw == nil {
		if l.size == backendBufSize {
			l.bw = writerPool.Get().(*bufio.Writer)
			l.bw.Reset(l.w)
		} else {
			l.bw = bufio.NewWriterSize(l.w, l.size)
		}
	}
	return l.bw
}

// flush writes what is buffered and gives the buffer back. After an error the writer
// keeps it (bufio.Writer's errors stick).
func (l *relayWriter) flush() error {
	if l.bw == nil {
		return nil
	}
	if l.bw.Buffered() > 0 {
		if err := l.bw.Flush(); err != nil {
			return err
		}
	}
	if l.size == backendBufSize {
		l.bw.Reset(nil)
		writerPool.Put(l.bw)
	}
	l.bw = nil
	return nil
}

// discard makes later writes go nowhere and drops what is buffered: the peer is gone.
func (l *relayWriter) discard() {
	l.w = io.Discard
	if l.bw != nil {
		l.bw.Reset(io.Discard)
	}
}

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

// fill returns what l holds buffered, at least need bytes (need at most its buffer's
// size), so that a relay takes in, at once, every message that arrived together. When l
// holds fewer, fill first calls flush — nothing waits in a writer while the relay waits
// for its peer, and what arrived together leaves together, in one write — and then
// reads; holding nothing, l waits without a buffer (relayReader.wait). werr is flush's
// error: fill reads regardless, so that the caller can keep l at a message boundary. On
// success l.br is set.
func fill(l *relayReader, need int, flush func() error) (buf []byte, rerr, werr error) {
	if l.br == nil || l.br.Buffered() < need {
		werr = flush()
		if l.br == nil || l.br.Buffered() == 0 {
			if rerr = l.wait(); rerr != nil {
				return nil, rerr, werr
			}
		}
		if _, rerr = l.reader().Peek(need); rerr != nil {
			return nil, rerr, werr
		}
	}
	return buffered(l.br), nil, werr
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
func sendReset(clean bool, client, backend net.Conn, bw *relayWriter, reset []byte, timeout time.Duration, onReset func()) bool {
	if clean && onReset != nil {
		onReset()
	}
	if clean {
		backend.SetDeadline(time.Now().Add(timeout))
		bw.writer().Write(reset)
		if bw.flush() != nil {
			clean = false
		}
	}
	if !clean {
		backend.Close()
	}
	client.Close()
	return clean
}
