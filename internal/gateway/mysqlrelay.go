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

// MySQL server status flags the relay reads.
const (
	serverMoreResultsExist = 0x0008
	serverCursorExists     = 0x0040
)

// mysqlRelay relays one authenticated MySQL client and its backend session frame by
// frame — every packet as it is, multi-frame packets (16 MiB and more) included — and
// follows the command/response exchange (myTracker) so that it knows, when the client
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
	client       net.Conn
	cr           *bufio.Reader
	be           *myBackend
	resetTimeout time.Duration
	onReset      func()
	log          *slog.Logger

	wmu sync.Mutex // the client's writer: backendToClient, and run for its own ERR
	cw  *bufio.Writer

	mu          sync.Mutex
	t           myTracker
	clientGone  bool
	resetting   bool
	resetFailed bool
	beDead      bool
}

func newMySQLRelay(client net.Conn, cr *bufio.Reader, be *myBackend, caps mysqlwire.Capability, resetTimeout time.Duration, log *slog.Logger) *mysqlRelay {
	return &mysqlRelay{
		client: client, cr: cr, be: be, resetTimeout: resetTimeout, log: log,
		cw: bufio.NewWriterSize(client, backendBufSize),
		t:  myTracker{deprecateEOF: caps&mysqlwire.CapDeprecateEOF != 0},
	}
}

// run relays until the client leaves or either side fails. poolable says whether the
// session may go back to the pool; run reports whether it was reset and is idle.
func (r *mysqlRelay) run(poolable bool) (reusable bool) {
	beDone := make(chan error, 1)
	go func() { beDone <- r.backendToClient() }()
	cerr := r.clientToBackend()

	r.mu.Lock()
	clean := poolable && (errors.Is(cerr, errTerminate) || isDisconnect(cerr)) && !r.beDead && r.t.idle()
	r.clientGone = true
	if clean {
		r.resetting = true
		r.t.command([]byte{comResetConnection})
	}
	r.mu.Unlock()
	if clean && r.onReset != nil {
		r.onReset()
	}
	if clean {
		r.be.nc.SetDeadline(time.Now().Add(r.resetTimeout))
		r.be.w.Write([]byte{1, 0, 0, 0, comResetConnection})
		if r.be.w.Flush() != nil {
			clean = false
		}
	}
	if !clean {
		r.be.nc.Close()
	}
	r.client.Close()
	err := <-beDone
	r.mu.Lock()
	defer r.mu.Unlock()
	if clean && err == errResetDone && !r.resetFailed {
		r.be.nc.SetDeadline(time.Time{})
		r.be.status = r.t.status
		return true
	}
	return false
}

// peekLen is how much of a packet's start the relay looks at: enough for an OK
// packet's status flags and a command's flags.
const peekLen = 32

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
			head, err := r.cr.Peek(min(n, peekLen))
			if err != nil {
				return err
			}
			if n == 1 && head[0] == comQuit {
				r.cr.Discard(1)
				return errTerminate
			}
			if n > 0 && head[0] == comChangeUser {
				if err := r.refuseChangeUser(n, cont); err != nil {
					return err
				}
				cont = false
				continue
			}
			r.mu.Lock()
			r.t.command(head)
			r.mu.Unlock()
		}
		writeMyHeader(w, n, seq)
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
	p := append([]byte{0xff, byte(erNotSupportedY & 0xff), byte(erNotSupportedY >> 8), '#'}, "42000"...)
	p = append(p, msg...)
	pkt, _ := mysqlwire.AppendPacket(nil, 1, p)
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
			head, err := br.Peek(min(n, peekLen))
			if err != nil {
				r.mu.Unlock()
				return r.backendLost(err)
			}
			if r.resetting && len(head) > 0 && head[0] == 0xff {
				r.resetFailed = true
			}
			r.t.packet(head, n)
			done = r.resetting && r.t.idle()
		}
		gone := r.clientGone
		r.mu.Unlock()

		if gone {
			if _, err := br.Discard(n); err != nil {
				return r.backendLost(err)
			}
		} else {
			r.wmu.Lock()
			writeMyHeader(r.cw, n, seq)
			rerr, werr := relayBody(r.cw, br, n)
			if rerr != nil {
				r.wmu.Unlock()
				return r.backendLost(rerr)
			}
			if werr == nil && br.Buffered() == 0 {
				werr = r.cw.Flush()
			}
			r.wmu.Unlock()
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

func writeMyHeader(w *bufio.Writer, n int, seq byte) {
	w.Write([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq})
}

// myTracker follows the command/response exchange of a MySQL session from the first
// bytes of each packet, to tell when the session is between commands. It knows the
// responses of the commands clients use (text and binary result sets, several result
// sets, prepared statements, OK, ERR, EOF); after anything else (LOAD DATA LOCAL,
// replication, cursors, an unknown command) it is lost and the session is never
// pooled. Commands may be pipelined.
type myTracker struct {
	deprecateEOF bool
	queue        []myCmd // commands awaiting their response; the first is being answered
	st           myState
	n            int // column or parameter definitions still to come
	cols         int // a prepared statement's columns, after its parameters
	status       uint16
	lost         bool
}

// maxPipelined bounds the commands a tracker keeps awaiting their responses.
const maxPipelined = 4096

// myCmd is how a command is answered.
type myCmd byte

const (
	cmdGeneric   myCmd = iota // OK, ERR, or result sets
	cmdPrepare                // COM_STMT_PREPARE's answer
	cmdFieldList              // column definitions and EOF
	cmdOnePacket              // COM_STATISTICS: one string
	cmdFetch                  // rows and EOF
)

type myState byte

const (
	stFirst myState = iota
	stColumns
	stColumnsEOF
	stRows
	stParams
	stParamsEOF
	stPrepColumns
	stPrepColumnsEOF
	stFieldList
	stOnePacket
)

// idle reports whether no response is awaited and the tracker is not lost.
func (t *myTracker) idle() bool { return !t.lost && len(t.queue) == 0 }

// command records a command the client sent (head: the start of its payload).
func (t *myTracker) command(head []byte) {
	if len(head) == 0 {
		t.lost = true
		return
	}
	var c myCmd
	switch head[0] {
	case comStmtSendLong, comStmtClose: // no response
		return
	case comQuery, comInitDB, comPing, comResetConnection, comSetOption, comProcessKill,
		comDebug, comStmtReset, comStmtBulkExecute:
		c = cmdGeneric
	case comStmtExecute:
		if len(head) < 6 || head[5] != 0 { // a cursor: rows come through COM_STMT_FETCH
			t.lost = true
		}
		c = cmdGeneric
	case comStmtPrepare:
		c = cmdPrepare
	case comFieldList:
		c = cmdFieldList
	case comStatistics:
		c = cmdOnePacket
	case comStmtFetch:
		c = cmdFetch
	default: // COM_BINLOG_DUMP, COM_REGISTER_SLAVE, …
		t.lost = true
		c = cmdGeneric
	}
	if len(t.queue) == maxPipelined {
		t.lost = true // and stop counting: the session is not pooled anyway
		return
	}
	t.queue = append(t.queue, c)
	if len(t.queue) == 1 {
		t.begin()
	}
}

func (t *myTracker) begin() {
	switch t.queue[0] {
	case cmdFieldList:
		t.st = stFieldList
	case cmdOnePacket:
		t.st = stOnePacket
	case cmdFetch:
		t.st = stRows
	default: // cmdGeneric, cmdPrepare
		t.st = stFirst
	}
}

// finish ends the current response.
func (t *myTracker) finish() {
	t.queue = t.queue[1:]
	if len(t.queue) > 0 {
		t.begin()
	} else {
		t.queue = t.queue[:0:0]
	}
}

// isEOF reports whether a packet starting with head, of n bytes, ends a list of
// column definitions or rows: an EOF packet, or with CLIENT_DEPRECATE_EOF an OK packet
// with the 0xFE header (a row can start with 0xFE only with a 2²⁴-byte length, so in
// a full frame).
func (t *myTracker) isEOF(head []byte, n int) bool {
	if len(head) == 0 || head[0] != 0xfe {
		return false
	}
	if t.deprecateEOF {
		return n < mysqlwire.MaxPayloadLen
	}
	return n < 9
}

// endStatus reads the status of the packet that ends a result set.
func (t *myTracker) endStatus(head []byte) {
	if st, ok := okStatus(head, t.deprecateEOF || head[0] == 0x00); ok {
		t.status = st
	}
}

// packet records the first frame of a packet the backend sent: head is its start, n
// the frame's length.
func (t *myTracker) packet(head []byte, n int) {
	if len(t.queue) == 0 {
		t.lost = true // unsolicited: the server is closing the session
		return
	}
	if len(head) == 0 {
		if t.st != stRows && t.st != stOnePacket {
			t.lost = true
		}
		if t.st == stOnePacket {
			t.finish()
		}
		return
	}
	h := head[0]
	if h == 0xff && t.st != stOnePacket { // ERR ends any response
		t.finish()
		return
	}
	switch t.st {
	case stFirst:
		switch {
		case h == 0x00 && t.queue[0] == cmdPrepare:
			if len(head) < 9 {
				t.lost = true
				return
			}
			t.cols = int(head[5]) | int(head[6])<<8
			t.n = int(head[7]) | int(head[8])<<8
			t.afterPrepareOK()
		case h == 0x00:
			if st, ok := okStatus(head, true); ok {
				t.status = st
			}
			if t.status&serverMoreResultsExist == 0 {
				t.finish()
			}
		case t.isEOF(head, n): // COM_SET_OPTION, COM_DEBUG
			t.endStatus(head)
			t.finish()
		case h == 0xfb: // LOCAL INFILE request
			t.lost = true
		default: // a result set: the column count
			cnt, _, ok := mysqlwire.LenEncInt(head)
			if !ok || cnt == 0 {
				t.lost = true
				return
			}
			t.n = int(min(cnt, 1<<16))
			t.st = stColumns
		}
	case stColumns:
		if t.n--; t.n == 0 {
			t.st = stRows
			if !t.deprecateEOF {
				t.st = stColumnsEOF
			}
		}
	case stColumnsEOF:
		if !t.isEOF(head, n) {
			t.lost = true
			return
		}
		t.endStatus(head)
		if t.status&serverCursorExists != 0 {
			t.finish()
			return
		}
		t.st = stRows
	case stRows, stFieldList:
		if t.isEOF(head, n) {
			t.endStatus(head)
			if t.st == stRows && t.status&serverMoreResultsExist != 0 {
				t.st = stFirst
				return
			}
			t.finish()
		}
	case stParams:
		if t.n--; t.n == 0 {
			t.st = stPrepColumns
			if !t.deprecateEOF {
				t.st = stParamsEOF
			}
			if t.cols == 0 && t.deprecateEOF {
				t.finish()
			}
			t.n = t.cols
		}
	case stParamsEOF:
		t.st = stPrepColumns
		if t.cols == 0 {
			t.finish()
		}
	case stPrepColumns:
		if t.n--; t.n == 0 {
			if t.deprecateEOF {
				t.finish()
			} else {
				t.st = stPrepColumnsEOF
			}
		}
	case stPrepColumnsEOF:
		t.finish()
	case stOnePacket:
		t.finish()
	}
}

// afterPrepareOK moves past COM_STMT_PREPARE's OK: t.n parameters, then t.cols columns.
func (t *myTracker) afterPrepareOK() {
	switch {
	case t.n > 0:
		t.st = stParams
	case t.cols > 0:
		t.st, t.n = stPrepColumns, t.cols
	default:
		t.finish()
	}
}
