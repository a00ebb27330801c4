package mysqlwire

// TrackerHeadLen is how much of a packet's start a Tracker looks at: enough for an OK
// packet's status flags and COM_STMT_EXECUTE's flags.
const TrackerHeadLen = 32

// maxPipelined bounds the commands a Tracker keeps awaiting their responses.
const maxPipelined = 4096

// Tracker follows the command/response exchange of a MySQL session after
// authentication from the first bytes of each packet, to tell when the session is
// between commands (a relay may then reset and reuse it). It knows the responses of the
// commands clients use (text and binary result sets, several result sets, prepared
// statements, OK, ERR, EOF); after anything else (LOAD DATA LOCAL, replication, cursors,
// an unknown command) it is lost for good. Commands may be pipelined; at most 4096 are
// kept awaiting their responses, beyond that the Tracker is lost.
//
// A Tracker is not safe for concurrent use. It reads only the head it is given and
// keeps none of it.
type Tracker struct {
	deprecateEOF bool
	queue        []cmdKind // commands awaiting their response; the first is being answered
	st           trackState
	n            int // column or parameter definitions still to come
	cols         int // a prepared statement's columns, after its parameters
	status       uint16
	lost         bool
}

// NewTracker returns a Tracker for a session with capabilities caps (CapDeprecateEOF
// changes how result sets end).
func NewTracker(caps Capability) Tracker {
	return Tracker{deprecateEOF: caps&CapDeprecateEOF != 0}
}

// cmdKind is how a command is answered.
type cmdKind byte

const (
	cmdGeneric   cmdKind = iota // OK, ERR, or result sets
	cmdPrepare                  // COM_STMT_PREPARE's answer
	cmdFieldList                // column definitions and EOF
	cmdOnePacket                // COM_STATISTICS: one string
	cmdFetch                    // rows and EOF
)

type trackState byte

const (
	stFirst trackState = iota
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

// Idle reports whether no response is awaited and the Tracker is not lost.
func (t *Tracker) Idle() bool { return !t.lost && len(t.queue) == 0 }

// Status returns the server status flags of the last OK or EOF packet that ended a
// response.
func (t *Tracker) Status() uint16 { return t.status }

// Command records a command the client sent; head is the start of its payload (up to
// TrackerHeadLen bytes).
func (t *Tracker) Command(head []byte) {
	if len(head) == 0 {
		t.lost = true
		return
	}
	var c cmdKind
	switch head[0] {
	case ComStmtSendLong, ComStmtClose: // no response
		return
	case ComQuery, ComInitDB, ComPing, ComResetConnection, ComSetOption, ComProcessKill,
		ComDebug, ComStmtReset, ComStmtBulkExecute:
		c = cmdGeneric
	case ComStmtExecute:
		if len(head) < 6 || head[5] != 0 { // a cursor: rows come through COM_STMT_FETCH
			t.lost = true
		}
		c = cmdGeneric
	case ComStmtPrepare:
		c = cmdPrepare
	case ComFieldList:
		c = cmdFieldList
	case ComStatistics:
		c = cmdOnePacket
	case ComStmtFetch:
		c = cmdFetch
	default: // COM_BINLOG_DUMP, COM_REGISTER_SLAVE, …
		t.lost = true
		c = cmdGeneric
	}
	if len(t.queue) == maxPipelined {
		t.lost = true // and stop counting: the session is not reusable anyway
		return
	}
	t.queue = append(t.queue, c)
	if len(t.queue) == 1 {
		t.begin()
	}
}

func (t *Tracker) begin() {
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
func (t *Tracker) finish() {
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
func (t *Tracker) isEOF(head []byte, n int) bool {
	if len(head) == 0 || head[0] != HeaderEOF {
		return false
	}
	if t.deprecateEOF {
		return n < MaxPayloadLen
	}
	return n < 9
}

// endStatus reads the status of the packet that ends a result set.
func (t *Tracker) endStatus(head []byte) {
	status, ok := EOFStatus(head)
	if t.deprecateEOF || head[0] == HeaderOK {
		status, ok = OKStatus(head)
	}
	if ok {
		t.status = status
	}
}

// Packet records the first frame of a packet the server sent: head is its start (up
// to TrackerHeadLen bytes), n the frame's length. Continuation frames of a packet are
// not recorded.
func (t *Tracker) Packet(head []byte, n int) {
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
	if head[0] == HeaderERR && t.st != stOnePacket { // ERR ends any response
		t.finish()
		return
	}
	switch t.st {
	case stFirst:
		t.first(head, n)
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
		if t.status&StatusCursorExists != 0 {
			t.finish()
			return
		}
		t.st = stRows
	case stRows, stFieldList:
		if t.isEOF(head, n) {
			t.endStatus(head)
			if t.st == stRows && t.status&StatusMoreResultsExist != 0 {
				t.st = stFirst
				return
			}
			t.finish()
		}
	default:
		t.prepared()
	}
}

// first records the first packet of a response.
func (t *Tracker) first(head []byte, n int) {
	h := head[0]
	switch {
	case h == HeaderOK && t.queue[0] == cmdPrepare:
		if len(head) < 9 {
			t.lost = true
			return
		}
		t.cols = int(head[5]) | int(head[6])<<8
		t.n = int(head[7]) | int(head[8])<<8
		t.afterPrepareOK()
	case h == HeaderOK:
		if st, ok := OKStatus(head); ok {
			t.status = st
		}
		if t.status&StatusMoreResultsExist == 0 {
			t.finish()
		}
	case t.isEOF(head, n): // COM_SET_OPTION, COM_DEBUG
		t.endStatus(head)
		t.finish()
	case h == HeaderLocalInfile: // LOCAL INFILE request
		t.lost = true
	default: // a result set: the column count
		cnt, _, ok := LenEncInt(head)
		if !ok || cnt == 0 {
			t.lost = true
			return
		}
		t.n = int(min(cnt, 1<<16))
		t.st = stColumns
	}
}

// prepared records a packet of COM_STMT_PREPARE's answer after its OK, or
// COM_STATISTICS's one packet.
func (t *Tracker) prepared() {
	switch t.st {
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
	case stPrepColumnsEOF, stOnePacket:
		t.finish()
	}
}

// afterPrepareOK moves past COM_STMT_PREPARE's OK: t.n parameters, then t.cols columns.
func (t *Tracker) afterPrepareOK() {
	switch {
	case t.n > 0:
		t.st = stParams
	case t.cols > 0:
		t.st, t.n = stPrepColumns, t.cols
	default:
		t.finish()
	}
}
