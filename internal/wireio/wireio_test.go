package wireio

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// ReadAppend's buffer grows as the bytes arrive: at no Read is more than Chunk (or, beyond,
// as much as arrived) allocated ahead of the bytes received, so a peer that announces 64
// KiB and sends nothing holds 4 KiB, not 64. Up to Chunk bytes are read into one buffer
// of their exact size. What b held already counts as arrived (a MySQL packet's earlier
// frames).
func TestReadAppendGrowsAsBytesArrive(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		held      int // in b already
		n, sent   int // announced, sent
		step      int // bytes per Read
		wantAhead int // the first Read's room
	}{
		{"small, whole", 0, 300, 300, 1 << 20, 300},
		{"chunk, whole", 0, Chunk, Chunk, 1 << 20, Chunk},
		{"announced 64 KiB, nothing sent", 0, 65535, 0, 1 << 20, Chunk},
		{"announced 64 KiB, half sent", 0, 65535, 30000, 1000, Chunk},
		{"64 KiB, trickled", 0, 65535, 65535, 1000, Chunk},
		{"64 KiB, whole", 0, 65535, 65535, 1 << 20, Chunk},
		{"16 MiB less a byte, whole", 0, 1<<24 - 1, 1<<24 - 1, 1 << 20, Chunk},
		{"a second frame after 16 KiB", 16 << 10, 65535, 65535, 1 << 20, 16 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			held := bytes.Repeat([]byte{'h'}, tt.held)
			sent := bytes.Repeat([]byte{'p'}, tt.sent)
			r := &arrivalReader{in: sent, step: tt.step, held: tt.held}
			got, err := ReadAppend(r, held, tt.n)
			if tt.sent < tt.n {
				if err != io.ErrUnexpectedEOF && err != io.EOF {
					t.Errorf("ReadAppend = %v, want %v", err, io.ErrUnexpectedEOF)
				}
			} else if err != nil || !bytes.Equal(got, append(bytes.Repeat([]byte{'h'}, tt.held), sent...)) {
				t.Errorf("ReadAppend = %d bytes, %v; want %d bytes", len(got), err, tt.held+len(sent))
			}
			if len(r.reads) == 0 || r.reads[0].ahead != tt.wantAhead {
				t.Fatalf("first Read: %+v, want room for %d bytes", r.reads, tt.wantAhead)
			}
			for _, rd := range r.reads {
				if rd.ahead > max(Chunk, rd.arrived) {
					t.Errorf("a Read after %d bytes had room for %d more, want at most %d", rd.arrived, rd.ahead, max(Chunk, rd.arrived))
				}
			}
		})
	}
}

// A message longer than Chunk that the connection's read buffer holds already has arrived:
// ReadAppend reads it into one allocation of its size (a token with a session token).
func TestReadAppendBuffered(t *testing.T) { // not parallel: AllocsPerRun
	msg := bytes.Repeat([]byte{'t'}, 6000)
	rd, br := bytes.NewReader(msg), bufio.NewReaderSize(nil, 16<<10)
	allocs := testing.AllocsPerRun(20, func() {
		rd.Reset(msg)
		br.Reset(rd)
		br.Peek(len(msg))
		if got, err := ReadAppend(br, nil, len(msg)); err != nil || len(got) != len(msg) {
			t.Fatalf("ReadAppend = %d bytes, %v", len(got), err)
		}
	})
	if allocs != 1 {
		t.Errorf("ReadAppend of a 6000-byte message buffered: %v allocations, want 1", allocs)
	}
}

// The arrays ReadAppend leaves behind are cleared: they may hold a password.
func TestReadAppendClears(t *testing.T) {
	t.Parallel()
	old := []byte("secret")
	got, err := ReadAppend(bytes.NewReader([]byte("-more")), old, 5)
	if err != nil || string(got) != "secret-more" {
		t.Fatalf("ReadAppend = %q, %v", got, err)
	}
	if !bytes.Equal(old, make([]byte, len(old))) {
		t.Errorf("the old array still holds %q", old)
	}
}

// arrivalReader hands out in, at most step bytes a Read, and records for each Read how
// many bytes had arrived (held counts as arrived) and how much room the Read offered.
type arrivalReader struct {
	in    []byte
	off   int
	step  int
	held  int
	reads []struct{ arrived, ahead int }
}

func (r *arrivalReader) Read(p []byte) (int, error) {
	r.reads = append(r.reads, struct{ arrived, ahead int }{r.held + r.off, len(p)})
	if r.off == len(r.in) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.in[r.off:])
	r.off += n
	return n, nil
}
