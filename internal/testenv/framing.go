package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"testing/iotest"
	"time"
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

// CheckScan checks a wire package's Scan against its ReadHeader on in (a fuzz input): the
// frames scan visits are those that a reader framing in with readHeader finds whole, in
// order, each with the same tag (MySQL's sequence number, PostgreSQL's message type) and
// body; scan stops where that reader would block, or, when it returns an error, where
// readHeader fails with badHeader too. headerLen is the length of a frame's header.
func CheckScan(t testing.TB, in []byte, headerLen int, badHeader error,
	scan func(in []byte, visit func(tag byte, body []byte) bool) (int, error),
	readHeader func(*bufio.Reader) (tag byte, n int, err error)) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(in))
	pos := 0
	walked, err := scan(in, func(tag byte, body []byte) bool {
		rtag, n, rerr := readHeader(r)
		if rerr != nil || rtag != tag || n != len(body) {
			t.Fatalf("Scan visits %#x (%d bytes) at %d; ReadHeader = %#x, %d, %v", tag, len(body), pos, rtag, n, rerr)
		}
		got := make([]byte, n)
		if _, rerr := io.ReadFull(r, got); rerr != nil || !bytes.Equal(got, body) {
			t.Fatalf("body at %d differs", pos)
		}
		pos += headerLen + n
		return true
	})
	if walked != pos || walked > len(in) {
		t.Fatalf("walked %d, visited up to %d of %d", walked, pos, len(in))
	}
	// What is left: ReadHeader fails on the same bad header, or finds a frame that is not
	// whole.
	tag, n, rerr := readHeader(r)
	switch {
	case err != nil:
		if rerr == nil || !errors.Is(rerr, badHeader) {
			t.Fatalf("Scan: %v; ReadHeader = %#x, %d, %v", err, tag, n, rerr)
		}
	case rerr == nil:
		if walked+headerLen+n <= len(in) {
			t.Fatalf("Scan stopped at %d before a whole frame of %d bytes", walked, n)
		}
	case len(in)-walked >= headerLen:
		t.Fatalf("Scan stopped at %d; ReadHeader = %v", walked, rerr)
	}
}

// HeapPerConn measures what a peer that announces a long message and sends nothing more
// makes a server hold: it opens n loopback connections to a listener that runs serve on
// each, brings each to the point of the attack with prepare (as the client), then sends
// attack on every one and returns the growth of the heap per connection, after garbage
// collection. The connections are closed, and serve's goroutines waited for, when it
// returns.
func HeapPerConn(t testing.TB, n int, serve func(net.Conn), prepare func(net.Conn) error, attack []byte) int64 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(30 * time.Second))
				serve(nc)
			}()
		}
	}()
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		wg.Wait()
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		if err := prepare(c); err != nil {
			t.Fatal(err)
		}
	}
	heap := func() int64 {
		time.Sleep(200 * time.Millisecond) // the servers reach their reads
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	before := heap()
	for _, c := range clients {
		if _, err := c.Write(attack); err != nil {
			t.Fatal(err)
		}
	}
	return (heap() - before) / int64(n)
}
