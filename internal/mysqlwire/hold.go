package mysqlwire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// HoldLogin logs in on nc with cfg (cfg.Relay is replaced) as a client that sends nothing
// with its handshake response and pw in cleartext once the server switches to
// mysql_clear_password — an IAM login through iamdb's gateway. With pw empty it leaves that
// switch unanswered, so the connection stays where a server waits for the password. It
// returns what closes the connection (nc on error is closed). For tools and tests that hold
// many idle connections (bench/idleconns, the gateway's memory tests).
func HoldLogin(nc net.Conn, cfg ClientConfig, pw string) (closeFn func() error, err error) {
	relay := &clearRelay{pw: pw, asked: make(chan struct{}), release: make(chan struct{})}
	cfg.Relay = relay
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		cc  *ClientConn
		err error
	}
	done := make(chan result, 1)
	go func() {
		cc, err := ClientHandshake(ctx, nc, cfg)
		done <- result{cc, err}
	}()
	select {
	case <-relay.asked:
		if pw == "" {
			return func() error { close(relay.release); return nc.Close() }, nil
		}
	case r := <-done:
		nc.Close()
		if r.err == nil {
			r.err = errors.New("mysqlwire: logged in without being asked for the password")
		}
		return nil, r.err
	}
	r := <-done
	if r.err != nil {
		nc.Close()
		return nil, r.err
	}
	return r.cc.Conn.Close, nil
}

// clearRelay answers a server's authentication for HoldLogin: nothing in the handshake
// response, then pw in cleartext when switched to mysql_clear_password (with no pw,
// never: it waits for release).
type clearRelay struct {
	pw      string
	asked   chan struct{}
	release chan struct{}
}

func (r *clearRelay) Start(string, []byte) ([]byte, error) { return nil, nil }

func (r *clearRelay) Continue(p []byte) ([]byte, bool, error) {
	if !strings.HasPrefix(string(p), "\xfemysql_clear_password\x00") {
		return nil, false, fmt.Errorf("mysqlwire: unexpected authentication request %q", p)
	}
	close(r.asked)
	if r.pw == "" {
		<-r.release
		return nil, false, errors.New("mysqlwire: closed")
	}
	return append([]byte(r.pw), 0), true, nil
}
