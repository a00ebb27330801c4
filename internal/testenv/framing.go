package testenv

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// HeaderAllocs checks that a wire package's framing does not allocate per frame: read
// reads a header of in through a small bufio.Reader that gets one byte per read (the
// header split across reads), and write writes a header to a bufio.Writer.
func HeaderAllocs(t testing.TB, in []byte, read func(*bufio.Reader) error, write func(*bufio.Writer)) {
	t.Helper()
	src := bytes.NewReader(nil)
	one := iotest.OneByteReader(src)
	r := bufio.NewReaderSize(one, 16)
	w := bufio.NewWriterSize(io.Discard, 64)
	if n := testing.AllocsPerRun(100, func() {
		src.Reset(in)
		r.Reset(one)
		if err := read(r); err != nil {
			t.Fatal(err)
		}
		write(w)
		w.Flush()
	}); n != 0 {
		t.Errorf("ReadHeader and WriteHeader allocate %v times", n)
	}
}
