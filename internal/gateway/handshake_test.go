package gateway

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/loglimit"
	"github.com/iamdb/iamdb/internal/mysqlwire"
)

// MariaDB Connector/J 2.x sends its HandshakeResponse after TLS without CLIENT_SSL (it
// set the flag on the SSLRequest only). Through the gateway to a real MariaDB, such a
// client's IAM login succeeds.
func TestConnectorJHandshakeMySQL(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	nc := gw.dial(t, 20*time.Second)
	if nc == nil {
		t.FailNow()
	}
	defer nc.Close()
	if _, _, err := mysqlwire.ReadPacket(nc, 1<<10); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	caps := mysqlwire.CapProtocol41 | mysqlwire.CapSecureConnection | mysqlwire.CapPluginAuth |
		mysqlwire.CapLongPassword | mysqlwire.CapConnectWithDB | mysqlwire.CapTransactions
	fixed := func(caps mysqlwire.Capability) []byte {
		p := binary.LittleEndian.AppendUint32(nil, uint32(caps))
		p = binary.LittleEndian.AppendUint32(p, 1<<24)
		return append(append(p, 45), make([]byte, 23)...)
	}
	pkt, _ := mysqlwire.AppendPacket(nil, 1, fixed(caps|mysqlwire.CapSSL))
	if _, err := nc.Write(pkt); err != nil {
		t.Fatal(err)
	}
	tc := tlsClient(nc, gw)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS: %v", err)
	}
	// The response after TLS, without CLIENT_SSL, as Connector/J 2.x sends it.
	p := fixed(caps)
	p = append(append(p, "alice"...), 0)
	p = append(p, 0) // no auth response: the gateway switches to mysql_clear_password
	p = append(append(p, "app"...), 0)
	p = append(append(p, "mysql_native_password"...), 0)
	pkt, _ = mysqlwire.AppendPacket(nil, 2, p)
	if _, err := tc.Write(pkt); err != nil {
		t.Fatal(err)
	}
	sw, seq, err := mysqlwire.ReadPacket(tc, 1<<10)
	if err != nil || len(sw) == 0 || sw[0] != 0xfe {
		t.Fatalf("after the response: %q, %v; want the switch to mysql_clear_password\n%s", sw, err, gw.logs.String())
	}
	pkt, _ = mysqlwire.AppendPacket(nil, seq+1, append([]byte(gw.token(t, "alice", "alice", time.Time{})), 0))
	if _, err := tc.Write(pkt); err != nil {
		t.Fatal(err)
	}
	ok, _, err := mysqlwire.ReadPacket(tc, 1<<10)
	if err != nil || len(ok) == 0 || ok[0] != 0x00 {
		t.Fatalf("login: %q, %v; want OK\n%s", ok, err, gw.logs.String())
	}
	for i := 0; findLog(gw, `"msg":"connection authorized"`, `"user":"alice"`, `"ssl":true`) == ""; i++ {
		if i == 500 {
			t.Fatalf("no connection authorized line:\n%s", gw.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Protocol refusals are logged at warn level (the Connector/J refusal was a debug line
// only), through the token bucket: a burst, then lines that say how many were held back.
// A client that goes away is no warning.
func TestProtocolRefusalLogged(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{EnginePostgres, EngineMySQL} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			var gw *testGW
			if engine == EngineMySQL {
				gw = newMySQLGateway(t, nil)
			} else {
				gw = newGateway(t, nil)
			}
			bad := func() {
				nc := gw.dial(t, 5*time.Second)
				if nc == nil {
					t.FailNow()
				}
				defer nc.Close()
				if engine == EngineMySQL {
					mysqlwire.ReadPacket(nc, 1<<10)
					nc.Write([]byte{2, 0, 0, 1, 0x85, 0x24}) // pre-4.1
				} else {
					nc.Write([]byte{0, 0, 0, 3}) // invalid length
				}
				buf := make([]byte, 256)
				for {
					if _, err := nc.Read(buf); err != nil {
						return
					}
				}
			}
			for range 3 * loglimit.Burst {
				bad()
			}
			waitClients(t, gw, 0)
			if n := strings.Count(gw.logs.String(), `"msg":"handshake failed","source"`); n != 3*loglimit.Burst {
				t.Fatalf("%d handshake failed lines, want %d (warn or debug)", n, 3*loglimit.Burst)
			}
			warns := func() int { return strings.Count(gw.logs.String(), `"level":"WARN","msg":"handshake failed"`) }
			if n := warns(); n < loglimit.Burst || n > loglimit.Burst+1 {
				t.Errorf("%d warnings for %d refusals in a burst, want %d", n, 3*loglimit.Burst, loglimit.Burst)
			}
			time.Sleep(loglimit.Interval + 100*time.Millisecond)
			bad()
			waitClients(t, gw, 0)
			if findLog(gw, `"level":"WARN"`, `"reason":"protocol"`, `"suppressed":`) == "" {
				t.Errorf("no warning saying how many were held back:\n%s", gw.logs.String())
			}
		})
	}
}

// tlsClient starts TLS toward the gateway over nc, verifying it for "localhost".
func tlsClient(nc net.Conn, gw *testGW) *tls.Conn {
	return tls.Client(nc, gw.env.ClientTLS())
}
