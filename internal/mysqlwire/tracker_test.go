package mysqlwire

import "testing"

// Packets of a MySQL response, as the tracker sees them (payload starts).
var (
	pOK          = []byte{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}
	pOKMore      = []byte{0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00}       // SERVER_MORE_RESULTS_EXISTS
	pEOF         = []byte{0xfe, 0x00, 0x00, 0x02, 0x00}                   // EOF, autocommit
	pEOFMore     = []byte{0xfe, 0x00, 0x00, 0x0a, 0x00}                   // EOF, more results
	pEOFCursor   = []byte{0xfe, 0x00, 0x00, 0x42, 0x00}                   // EOF, cursor exists
	pOKEnd       = []byte{0xfe, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}       // OK as the end of rows
	pOKEndMore   = []byte{0xfe, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00}       // … with more results
	pErr         = []byte{0xff, 0x7a, 0x04, '#', '4', '2', 'S', '0', '2'} // ERR 1146
	pColDef      = []byte{0x03, 'd', 'e', 'f'}
	pRow         = []byte{0x01, '1'}
	pBinRow      = []byte{0x00, 0x00, 0x01}
	pInfile      = []byte{0xfb, 'f', 'i', 'l', 'e'}
	pCount2      = []byte{0x02}
	pCount1      = []byte{0x01}
	pPrepOK      = []byte{0x00, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0} // 1 column, 2 parameters
	pPrepOKEmpty = []byte{0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	pStats       = []byte("Uptime: 5  Threads: 1")
)

func TestTracker(t *testing.T) {
	t.Parallel()
	type step struct {
		cmd []byte // a command the client sends, or
		pkt []byte // a packet the backend sends
	}
	c := func(b ...byte) step { return step{cmd: b} }
	p := func(b []byte) step { return step{pkt: b} }
	query := c(ComQuery, 's')
	tests := []struct {
		name      string
		deprecate bool
		steps     []step
		idle      bool // at the end
		lost      bool
	}{
		{"ok", false, []step{query, p(pOK)}, true, false},
		{"error", false, []step{query, p(pErr)}, true, false},
		{"awaiting", false, []step{query}, false, false},
		{"result set with EOF", false, []step{query, p(pCount2), p(pColDef), p(pColDef), p(pEOF), p(pRow), p(pRow), p(pEOF)}, true, false},
		{"result set, rows pending", false, []step{query, p(pCount2), p(pColDef), p(pColDef), p(pEOF), p(pRow)}, false, false},
		{"result set with deprecated EOF", true, []step{query, p(pCount1), p(pColDef), p(pRow), p(pRow), p(pOKEnd)}, true, false},
		{"rows not ended by an EOF-sized 0xFE", false, []step{query, p(pCount1), p(pColDef), p(pEOF), p(append([]byte{0xfe}, make([]byte, 20)...))}, false, false},
		{"error mid result set", false, []step{query, p(pCount1), p(pColDef), p(pEOF), p(pRow), p(pErr)}, true, false},
		{"several results", false, []step{query, p(pOKMore), p(pCount1), p(pColDef), p(pEOF), p(pRow), p(pEOFMore), p(pOK)}, true, false},
		{"several results, deprecated EOF", true, []step{query, p(pCount1), p(pColDef), p(pRow), p(pOKEndMore), p(pCount1), p(pColDef), p(pOKEnd)}, true, false},
		{"pipelined", false, []step{query, query, p(pOK), p(pOK)}, true, false},
		{"pipelined, one pending", false, []step{query, query, p(pOK)}, false, false},
		{"prepare", false, []step{c(ComStmtPrepare, 's'), p(pPrepOK), p(pColDef), p(pColDef), p(pEOF), p(pColDef), p(pEOF)}, true, false},
		{"prepare, deprecated EOF", true, []step{c(ComStmtPrepare, 's'), p(pPrepOK), p(pColDef), p(pColDef), p(pColDef)}, true, false},
		{"prepare, nothing to describe", false, []step{c(ComStmtPrepare, 's'), p(pPrepOKEmpty)}, true, false},
		{"prepare fails", false, []step{c(ComStmtPrepare, 's'), p(pErr)}, true, false},
		{"execute, binary rows", false, []step{c(ComStmtExecute, 1, 0, 0, 0, 0, 1, 0, 0, 0), p(pCount1), p(pColDef), p(pEOF), p(pBinRow), p(pEOF)}, true, false},
		{"execute with a cursor", false, []step{c(ComStmtExecute, 1, 0, 0, 0, 1, 1, 0, 0, 0), p(pCount1), p(pColDef), p(pEOFCursor)}, true, true},
		{"close and long data need no answer", false, []step{c(ComStmtClose, 1, 0, 0, 0), c(ComStmtSendLong, 1, 0, 0, 0, 0, 0)}, true, false},
		{"field list", false, []step{c(ComFieldList, 't', 0), p(pColDef), p(pColDef), p(pEOF)}, true, false},
		{"statistics", false, []step{c(ComStatistics), p(pStats)}, true, false},
		{"set option answers EOF", false, []step{c(ComSetOption, 0, 0), p(pEOF)}, true, false},
		{"ping, init db, reset", false, []step{c(ComPing), p(pOK), c(ComInitDB, 'a'), p(pOK), c(ComResetConnection), p(pOK)}, true, false},
		{"local infile", false, []step{query, p(pInfile)}, false, true},
		{"binlog dump", false, []step{c(ComBinlogDump, 0, 0, 0, 0)}, false, true},
		{"unknown command", false, []step{c(0x60)}, false, true},
		{"unsolicited packet", false, []step{p(pErr)}, true, true},
		{"empty command", false, []step{c()}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := Tracker{deprecateEOF: tt.deprecate}
			for _, s := range tt.steps {
				if s.cmd != nil {
					tr.Command(s.cmd)
				} else {
					tr.Packet(s.pkt, len(s.pkt))
				}
			}
			if tr.lost != tt.lost {
				t.Errorf("lost = %v, want %v", tr.lost, tt.lost)
			}
			if got := len(tr.queue) == 0; got != tt.idle {
				t.Errorf("nothing awaited = %v (queue %v, state %d), want %v", got, tr.queue, tr.st, tt.idle)
			}
		})
	}
}

func TestTrackerStatus(t *testing.T) {
	t.Parallel()
	tr := Tracker{}
	tr.Command([]byte{ComQuery})
	tr.Packet([]byte{0x00, 0xfc, 0x01, 0x02, 0xfd, 1, 2, 3, 0x01, 0x00, 0x00, 0x00}, 12)
	if tr.status != 0x0001 || !tr.Idle() {
		t.Errorf("status %#x idle %v; want 0x1 (in transaction), idle", tr.status, tr.Idle())
	}
	for range maxPipelined + 1 {
		tr.Command([]byte{ComPing})
	}
	if !tr.lost || len(tr.queue) != maxPipelined {
		t.Errorf("after %d pipelined commands: lost %v, queue %d", maxPipelined+1, tr.lost, len(tr.queue))
	}
}

// FuzzTracker feeds a tracker arbitrary commands and packets: it must never panic and
// never keep more than maxPipelined commands.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, ComQuery, 1, 2, 1, 3, 'd', 'e', 'f', 1, 0xfe, 0, 0, 2, 0}, false)
	f.Add([]byte{0, ComStmtPrepare, 1, 0x00, 1, 0, 0, 0, 1, 0, 2, 0}, true)
	f.Add([]byte{0, ComStmtExecute, 1, 0, 0, 0, 0, 1, 0xfb}, false)
	f.Fuzz(func(t *testing.T, script []byte, deprecate bool) {
		tr := Tracker{deprecateEOF: deprecate}
		for len(script) >= 2 {
			kind, n := script[0], int(script[1])
			script = script[2:]
			n = min(n, len(script))
			b := script[:n]
			script = script[n:]
			if kind&1 == 0 {
				tr.Command(b)
			} else {
				size := len(b)
				if kind&2 != 0 {
					size = MaxPayloadLen
				}
				tr.Packet(b, size)
			}
			if len(tr.queue) > maxPipelined {
				t.Fatalf("queue of %d commands", len(tr.queue))
			}
		}
	})
}

func TestResponsePackets(t *testing.T) {
	t.Parallel()
	if st, ok := OKStatus(pOK); !ok || st != 0x0002 {
		t.Errorf("OKStatus(%x) = %#x, %v, want 0x2, true", pOK, st, ok)
	}
	if st, ok := OKStatus(pOKEndMore); !ok || st != 0x000a {
		t.Errorf("OKStatus(%x) = %#x, %v, want 0xa, true", pOKEndMore, st, ok)
	}
	if _, ok := OKStatus([]byte{0x00, 0x01}); ok {
		t.Errorf("OKStatus of a truncated packet: ok")
	}
	if st, ok := EOFStatus(pEOFCursor); !ok || st != 0x0042 {
		t.Errorf("EOFStatus(%x) = %#x, %v, want 0x42, true", pEOFCursor, st, ok)
	}
	if _, ok := EOFStatus([]byte{0xfe, 0, 0}); ok {
		t.Errorf("EOFStatus of a truncated packet: ok")
	}
	e, err := DecodeError(append(pErr, "Table 't' doesn't exist"...))
	if err != nil || e.Code != 1146 || e.SQLState != "42S02" || e.Message != "Table 't' doesn't exist" {
		t.Errorf("DecodeError = %+v, %v", e, err)
	}
	if _, err := DecodeError(pOK); err == nil {
		t.Errorf("DecodeError(OK) succeeded")
	}
}

// FuzzResponsePacket feeds the response decoders arbitrary packets: they must never
// panic, and a decoded ERR packet's SQLSTATE has five bytes or none.
func FuzzResponsePacket(f *testing.F) {
	for _, p := range [][]byte{pOK, pOKMore, pEOF, pOKEnd, pErr, pPrepOK, {0xff, 1}, {0x00, 0xfe}} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		OKStatus(p)
		EOFStatus(p)
		if e, err := DecodeError(p); err == nil && e.SQLState != "" && len(e.SQLState) != 5 {
			t.Fatalf("SQLSTATE %q", e.SQLState)
		}
	})
}
