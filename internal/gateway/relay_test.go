package gateway

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/iamdb/iamdb/internal/testenv"
)

// The relays' framing against scripted peers on loopback TCP, with the relay's readers
// cut down to 16 bytes (MySQL: 32) and fed in odd-sized pieces: message boundaries (headers
// included) fall across reads, messages are longer than the buffers, and several
// arrive in one read. What either side sends must reach the other unchanged, and what
// the relay tracks for pooling must come out as the real relays' tests expect.

// tcpPair returns the two ends of a loopback TCP connection (testenv.Loopback) with a
// deadline, so that a relay that loses a message fails the test instead of hanging it.
func tcpPair(t *testing.T) (a, b net.Conn) {
	a, b = testenv.Loopback(t)
	for _, c := range []net.Conn{a, b} {
		c.SetDeadline(time.Now().Add(20 * time.Second))
	}
	return a, b
}

// choppy reads at most sizes[i] bytes in its i-th Read (cycling through sizes).
type choppy struct {
	r     io.Reader
	sizes []int
	i     int
}

func (c *choppy) Read(p []byte) (int, error) {
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	return c.r.Read(p[:min(len(p), n)])
}

// chops are the read sizes of the relays' readers in the framing tests.
var chops = []int{3, 1, 7, 2, 16, 5, 4, 11}

// readExactly reads len(want) bytes from c and reports whether they are want.
func readExactly(t *testing.T, c net.Conn, what string, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

// writeChopped writes b to c in pieces of the sizes in chops, so that the peer's reads
// see them apart.
func writeChopped(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	for i := 0; len(b) > 0; i++ {
		k := min(len(b), chops[i%len(chops)]*3)
		if _, err := c.Write(b[:k]); err != nil {
			t.Error(err)
			return
		}
		b = b[k:]
		if i%3 == 0 {
			time.Sleep(time.Millisecond) // let some pieces arrive alone
		}
	}
}

func pgMsg(typ byte, body string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{typ}, uint32(4+len(body))), body...)
}

func TestPGRelayFraming(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("0123456789abcdef", 40) // 640 bytes: longer than the buffers
	client := slices.Concat(
		pgMsg(pgwire.TypeParse, "\x00select $1\x00\x00\x00"), pgMsg(pgwire.TypeBind, "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x011\x00\x00"),
		pgMsg(pgwire.TypeDescribe, "P\x00"), pgMsg(pgwire.TypeExecute, "\x00\x00\x00\x00\x00"), pgMsg(pgwire.TypeSync, ""),
		pgwire.AppendQuery(nil, "select '"+long+"'"),
	)
	reply := func(tx byte) []byte {
		return slices.Concat(
			pgMsg('1', ""), pgMsg('2', ""), pgMsg('T', "\x00\x01?column?\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19\xff\xff\xff\xff\xff\xff\x00\x00"),
			pgMsg('D', "\x00\x01\x00\x00\x00\x011"), pgMsg('C', "SELECT 1\x00"), pgMsg(pgwire.TypeReadyForQuery, "I"),
			pgMsg(pgwire.TypeParameterStatus, "application_name\x00relayed\x00"),
			pgMsg('D', "\x00\x01\x00\x00\x02\x80"+long), pgMsg('C', "SELECT 1\x00"), pgMsg(pgwire.TypeReadyForQuery, string(tx)),
		)
	}
	fatal := pgMsg(pgwire.TypeErrorResponse, "SFATAL\x00VFATAL\x00C57P01\x00M"+long+"\x00\x00")
	tests := []struct {
		name     string
		reply    []byte
		reusable bool
		tx       byte
	}{
		{"idle: reset and reused", reply(pgwire.TxIdle), true, pgwire.TxIdle},
		{"in a transaction: closed", reply(pgwire.TxInTx), false, pgwire.TxInTx},
		{"long FATAL: closed", append(reply(pgwire.TxIdle), fatal...), false, pgwire.TxIdle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, gwc := tcpPair(t)
			gwb, db := tcpPair(t)
			be := &pgBackend{nc: gwb, r: newRelayReader(&choppy{r: gwb, sizes: chops}, 16, nil), w: newRelayWriter(gwb, 16),
				params: map[string]string{"application_name": "before"}, tx: pgwire.TxIdle}
			r := &pgRelay{relayEnds: relayEnds{client: gwc}, cr: newRelayReader(&choppy{r: gwc, sizes: chops}, 16, nil), cw: newRelayWriter(gwc, 16),
				be: be, tx: be.tx, resetTimeout: 5 * time.Second}
			done := make(chan bool, 1)
			go func() { done <- r.run(true) }()

			go writeChopped(t, app, client)
			readExactly(t, db, "backend got", client)
			go writeChopped(t, db, tt.reply)
			readExactly(t, app, "client got", tt.reply)
			app.Write(pgwire.AppendTerminate(nil))
			app.Close()
			if tt.reusable {
				readExactly(t, db, "reset", discardAll)
				db.Write(slices.Concat(pgMsg('C', "DISCARD ALL\x00"), pgMsg(pgwire.TypeReadyForQuery, "I")))
			}
			if got := <-done; got != tt.reusable {
				t.Errorf("run = %v, want %v", got, tt.reusable)
			}
			if !tt.reusable { // the relay closed the backend connection
				db.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.Copy(io.Discard, db); err != nil {
					t.Errorf("backend connection: %v, want EOF", err)
				}
			}
			if be.tx != tt.tx || be.params["application_name"] != "relayed" {
				t.Errorf("backend tx %q, application_name %q; want %q, relayed", be.tx, be.params["application_name"], tt.tx)
			}
		})
	}
}

func myPacket(seq byte, payload string) []byte {
	p, _ := mysqlwire.AppendPacket(nil, seq, []byte(payload))
	return p
}

func TestMySQLRelayFraming(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("0123456789abcdef", 40)
	ok := myPacket(1, "\x00\x00\x00\x02\x00\x00\x00")
	ping := myPacket(0, string(rune(mysqlwire.ComPing)))
	query := myPacket(0, "\x03select '"+long+"'")
	changeUser := myPacket(0, "\x11mallory\x00")
	// A text result set of one column and one long row, ended by EOF packets (no
	// CapDeprecateEOF).
	resultSet := slices.Concat(myPacket(1, "\x01"), myPacket(2, "\x03def\x00\x00\x00\x01c\x00\x0c\x21\x00\x00\x01\x00\x00\xfd\x00\x00\x00\x00\x00"),
		myPacket(3, "\xfe\x00\x00\x02\x00"), myPacket(4, "\xfc\x80\x02"+long), myPacket(5, "\xfe\x00\x00\x02\x00"))
	tests := []struct {
		name     string
		client   []byte // without COM_QUIT
		backend  []byte // what the backend must receive
		reply    []byte
		toClient []byte // what the client must receive: the reply, then the relay's own ERR (if any)
		reusable bool
	}{
		{"idle: reset and reused", slices.Concat(ping, query), slices.Concat(ping, query), slices.Concat(ok, resultSet), slices.Concat(ok, resultSet), true},
		{"a command unanswered: closed", slices.Concat(ping, query), slices.Concat(ping, query), ok, ok, false},
		{"COM_CHANGE_USER refused between two", slices.Concat(ping, changeUser, ping), slices.Concat(ping, ping), nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, gwc := tcpPair(t)
			gwb, db := tcpPair(t)
			// The readers hold TrackerHeadLen bytes (the relay peeks that far), far less
			// than a packet.
			be := &mysqlBackend{nc: gwb, r: newRelayReader(&choppy{r: gwb, sizes: chops}, mysqlwire.TrackerHeadLen, nil), w: newRelayWriter(gwb, 16)}
			r := newMySQLRelay(gwc, newRelayReader(&choppy{r: gwc, sizes: chops}, mysqlwire.TrackerHeadLen, nil), be, mysqlwire.CapProtocol41, 5*time.Second, slog.New(slog.DiscardHandler))
			done := make(chan bool, 1)
			go func() { done <- r.run(true) }()

			go writeChopped(t, app, tt.client)
			readExactly(t, db, "backend got", tt.backend)
			if tt.reply != nil {
				go writeChopped(t, db, tt.reply)
				readExactly(t, app, "client got", tt.toClient)
			} else { // COM_CHANGE_USER: the relay's ERR, then the backend's two OKs
				p, seq, err := mysqlwire.ReadPacket(app, 1<<10)
				if e, derr := mysqlwire.DecodeError(p); err != nil || derr != nil || seq != 1 || e.Code != mysqlwire.ErNotSupportedYet {
					t.Fatalf("client got %q, seq %d, %v; want ERR %d", p, seq, err, mysqlwire.ErNotSupportedYet)
				}
				db.Write(slices.Concat(ok, ok))
				readExactly(t, app, "client got", slices.Concat(ok, ok))
			}
			app.Write(myPacket(0, string(rune(mysqlwire.ComQuit))))
			app.Close()
			if tt.reusable {
				readExactly(t, db, "reset", resetConnection)
				db.Write(ok)
			}
			if got := <-done; got != tt.reusable {
				t.Errorf("run = %v, want %v", got, tt.reusable)
			}
			if !tt.reusable {
				db.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.Copy(io.Discard, db); err != nil {
					t.Errorf("backend connection: %v, want EOF", err)
				}
			}
		})
	}
}

// TestRelayFill checks fill: it flushes the writer only before it has to wait for the
// reader, and hands out everything buffered; with nothing buffered it waits without a
// buffer, and starts the next one with what that wait read.
func TestRelayFill(t *testing.T) {
	t.Parallel()
	src := bytes.NewReader([]byte("abcdefgh"))
	l := newRelayReader(&choppy{r: src, sizes: []int{3, 5}}, 16, nil)
	flushes := 0
	flush := func() error { flushes++; return nil }
	for _, want := range []string{"abc", "abc"} { // the second call finds 3 bytes buffered
		buf, rerr, werr := fill(l, 2, flush)
		if string(buf) != want || rerr != nil || werr != nil {
			t.Fatalf("fill = %q, %v, %v; want %q", buf, rerr, werr, want)
		}
	}
	if flushes != 1 {
		t.Errorf("%d flushes, want 1 (before the first read)", flushes)
	}
	l.br.Discard(2)
	buf, _, _ := fill(l, 4, flush) // one byte buffered: flush, then read on
	if string(buf) != "cdefgh" || flushes != 2 {
		t.Errorf("fill = %q after %d flushes; want \"cdefgh\" after 2", buf, flushes)
	}
	l.br.Discard(len(buf))
	if _, rerr, _ := fill(l, 1, flush); rerr != io.EOF {
		t.Errorf("fill at the end: %v, want EOF", rerr)
	}
	if l.br != nil {
		t.Error("the reader kept its buffer while waiting")
	}

	// Bytes read before (a login's reader) come first; the buffer goes back to the pool
	// when the reader waits with nothing buffered.
	l = newRelayReader(&choppy{r: bytes.NewReader([]byte("world")), sizes: []int{2}}, backendBufSize, []byte("hello "))
	var got []byte
	for {
		buf, rerr, _ := fill(l, 1, func() error { return nil })
		if rerr != nil {
			if rerr != io.EOF {
				t.Fatal(rerr)
			}
			break
		}
		got = append(got, buf...)
		l.br.Discard(len(buf))
	}
	if string(got) != "hello world" || l.br != nil {
		t.Errorf("read %q, buffer held %v; want \"hello world\", none", got, l.br != nil)
	}
}

// TestRelayWriter checks that a relayWriter holds a buffer only until it is flushed,
// and that a failed flush keeps the error.
func TestRelayWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := newRelayWriter(&out, backendBufSize)
	w.writer().WriteString("abc")
	if out.Len() != 0 || w.bw == nil {
		t.Fatal("written through before the flush")
	}
	if err := w.flush(); err != nil || out.String() != "abc" || w.bw != nil {
		t.Errorf("flush = %v: wrote %q, buffer held %v", err, out.String(), w.bw != nil)
	}
	f := newRelayWriter(failWriter{}, backendBufSize)
	f.writer().WriteString("abc")
	if f.flush() == nil || f.flush() == nil {
		t.Error("flush to a failing writer succeeded")
	}
	f.discard() // the peer is gone: later writes go nowhere
	if f.writer().WriteString("more"); f.flush() != nil || f.bw != nil {
		t.Error("writes after discard failed or kept the buffer")
	}
}
