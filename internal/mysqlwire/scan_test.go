package mysqlwire

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/iamdb/iamdb/internal/testenv"
)

func TestScan(t *testing.T) {
	t.Parallel()
	ping := frame(0, []byte{ComPing})
	ok := frame(1, []byte{HeaderOK, 0, 0, 2, 0, 0, 0})
	batch := slices.Concat(ping, ok, frame(2, nil))
	tests := []struct {
		name   string
		in     []byte
		stopAt int // visit returns false for this frame (0: never)
		walked int
		seqs   string
	}{
		{"empty", nil, 0, 0, ""},
		{"partial header", ping[:3], 0, 0, ""},
		{"partial payload", ok[:6], 0, 0, ""},
		{"one", ping, 0, len(ping), "\x00"},
		{"batch with an empty frame", batch, 0, len(batch), "\x00\x01\x02"},
		{"batch and a partial one", append(slices.Clip(batch), ok[:5]...), 0, len(batch), "\x00\x01\x02"},
		{"stop after the second", batch, 2, len(ping) + len(ok), "\x00\x01"},
		{"a frame announcing more than is there", []byte{0xff, 0xff, 0xff, 0, 1, 2}, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seqs []byte
			walked := Scan(tt.in, func(n int, seq byte, payload []byte) bool {
				if n != len(payload) {
					t.Errorf("frame %d: n %d, payload %d bytes", seq, n, len(payload))
				}
				seqs = append(seqs, seq)
				return len(seqs) != tt.stopAt
			})
			if walked != tt.walked || string(seqs) != tt.seqs {
				t.Errorf("Scan(%x) = %d, seqs %x; want %d, %x", tt.in, walked, seqs, tt.walked, tt.seqs)
			}
		})
	}
}

// TestFramingAllocs checks that the relay's framing does not allocate per frame.
func TestFramingAllocs(t *testing.T) {
	batch := slices.Concat(frame(0, []byte{ComPing}), frame(1, []byte{HeaderOK, 0, 0, 2, 0, 0, 0}))
	if n := testing.AllocsPerRun(100, func() { Scan(batch, func(int, byte, []byte) bool { return true }) }); n != 0 {
		t.Errorf("Scan allocates %v times", n)
	}
	testenv.HeaderAllocs(t, batch,
		func(r *bufio.Reader) error { _, _, err := ReadHeader(r); return err },
		func(w *bufio.Writer) { WriteHeader(w, 1, 0) })
}

func TestReadHeaderBuffered(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{nil, {1, 0}, {1, 0, 0, 7, 'x'}} {
		for _, r := range []io.Reader{bytes.NewReader(in), bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(in)), 16)} {
			n, seq, err := ReadHeader(r)
			want := io.EOF
			if len(in) > 0 {
				want = io.ErrUnexpectedEOF
			}
			if len(in) >= 4 {
				want = nil
			}
			if err != want || (err == nil && (n != 1 || seq != 7)) {
				t.Errorf("ReadHeader(%T of %x) = %d, %d, %v; want 1, 7, %v", r, in, n, seq, err, want)
			}
		}
	}
}

// FuzzScan checks Scan against ReadHeader: the frames Scan visits are those that a
// reader framing in with ReadHeader finds whole, in order, and Scan stops where the
// reader would block.
func FuzzScan(f *testing.F) {
	f.Add(slices.Concat(frame(0, []byte{ComPing}), frame(1, nil), []byte{5, 0, 0}))
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		testenv.CheckScan(t, in, 4, nil, func(in []byte, visit func(byte, []byte) bool) (int, error) {
			return Scan(in, func(n int, seq byte, payload []byte) bool {
				if n != len(payload) {
					t.Fatalf("Scan visits %d bytes with a payload of %d", n, len(payload))
				}
				return visit(seq, payload)
			}), nil
		}, func(r *bufio.Reader) (byte, int, error) {
			n, seq, err := ReadHeader(r)
			return seq, n, err
		})
	})
}
