package mysqlwire

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv"
)

// probeGreeting builds a HandshakeV10 greeting packet (sequence 0) with caps, and with
// the upper capability half only if full.
func probeGreeting(version string, caps uint32, full bool) []byte {
	p := []byte{10}
	p = append(p, version...)
	p = append(p, 0)
	p = append(p, 1, 0, 0, 0)    // connection id
	p = append(p, "abcdefgh"...) // scramble part 1
	p = append(p, 0)             // filler
	p = binary.LittleEndian.AppendUint16(p, uint16(caps))
	if full {
		p = append(p, probeCharsetUTF8MB4, 2, 0) // character set, status
		p = binary.LittleEndian.AppendUint16(p, uint16(caps>>16))
		p = append(p, 21)
		p = append(p, make([]byte, 10)...)
		p = append(p, "ijklmnopqrst\x00mysql_native_password\x00"...)
	}
	return probePacket(p)
}

func probePacket(payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), 0}, payload...)
}

func TestProbeGreeting(t *testing.T) {
	t.Parallel()
	const sslCaps = probeCapProtocol41 | probeCapSSL | probeCapSecureConn | probeCapPluginAuth
	tests := []struct {
		name    string
		in      []byte
		want    ProbeHandshake
		wantErr string
	}{
		{"MariaDB with TLS", probeGreeting("11.4.2-MariaDB", sslCaps, true), ProbeHandshake{"11.4.2-MariaDB", sslCaps}, ""},
		{"without TLS", probeGreeting("8.0.36", probeCapProtocol41, true), ProbeHandshake{"8.0.36", probeCapProtocol41}, ""},
		{"lower half only", probeGreeting("5.0", probeCapSSL, false), ProbeHandshake{"5.0", probeCapSSL}, ""},
		{"refused", probePacket(append([]byte{0xff, 0x6a, 0x04}, "Host '10.0.0.1' is not allowed to connect"...)), ProbeHandshake{}, `1130 "Host '10.0.0.1' is not allowed to connect"`},
		{"refused with SQL state", probePacket(append([]byte{0xff, 0x10, 0x04, '#', '0', '8', '0', '0', '4'}, "Too many connections"...)), ProbeHandshake{}, `1040 "Too many connections"`},
		{"protocol 9", probePacket([]byte{9, 'x', 0}), ProbeHandshake{}, "not a HandshakeV10"},
		{"truncated greeting", probePacket([]byte{10, 'x', 0, 1, 2}), ProbeHandshake{}, "without capability flags"},
		{"too long", []byte{0, 0, 1, 0}, ProbeHandshake{}, "65536 bytes"},
		{"empty packet", []byte{0, 0, 0, 0}, ProbeHandshake{}, "0 bytes"},
		{"short read", []byte{10, 0, 0, 0, 10}, ProbeHandshake{}, "unexpected EOF"},
		{"PostgreSQL's answer", []byte("N"), ProbeHandshake{}, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ProbeGreeting(bytes.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ProbeGreeting(%x) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ProbeGreeting(%x) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.OffersTLS() != (tt.want.Capabilities&probeCapSSL != 0) {
				t.Errorf("OffersTLS() = %v", got.OffersTLS())
			}
		})
	}
}

// FuzzProbeGreeting: any bytes give a greeting or an error, never a panic, and reading
// stops at the bound.
func FuzzProbeGreeting(f *testing.F) {
	f.Add(probeGreeting("11.4.2-MariaDB", probeCapSSL, true))
	f.Add(probeGreeting("5.0", 0, false))
	f.Add(probePacket([]byte{0xff, 0x6a, 0x04, '#', 'x'}))
	f.Add([]byte{0xff, 0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		h, err := ProbeGreeting(r)
		if read := len(in) - r.Len(); read > 4+ProbeMaxGreeting {
			t.Fatalf("ProbeGreeting read %d bytes", read)
		}
		if err != nil && h != (ProbeHandshake{}) {
			t.Errorf("ProbeGreeting = %+v with error %v", h, err)
		}
	})
}

// probeServer sends greeting on a loopback connection, reads an SSLRequest and completes a
// TLS handshake with testenv's certificate for "localhost"; it returns the client's end and
// a TLS configuration trusting the certificate.
func probeServer(t *testing.T, greeting []byte) (net.Conn, *tls.Config) {
	t.Helper()
	client, server := testenv.Loopback(t)
	server.Write(greeting)
	go func() {
		req := make([]byte, 4+probeSSLRequestLen)
		if _, err := io.ReadFull(server, req); err != nil {
			return
		}
		caps := binary.LittleEndian.Uint32(req[4:])
		if req[3] != 1 || caps&probeCapSSL == 0 || caps&probeCapProtocol41 == 0 {
			server.Close()
			return
		}
		tls.Server(server, testenv.ServerTLS()).Handshake()
	}()
	return client, testenv.ClientTLS("localhost")
}

func TestProbeTLS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, conf := probeServer(t, probeGreeting("11.4.2-MariaDB", probeCapProtocol41|probeCapSSL|probeCapSecureConn, true))
	h, err := ProbeGreeting(c)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := ProbeTLS(ctx, c, h, conf)
	if err != nil {
		t.Fatalf("ProbeTLS = %v", err)
	}
	if st := tc.ConnectionState(); len(st.PeerCertificates) == 0 || st.PeerCertificates[0].DNSNames[0] != "localhost" {
		t.Errorf("ProbeTLS: peer certificates %v", st.PeerCertificates)
	}

	c, conf = probeServer(t, probeGreeting("8.0.36", probeCapProtocol41, true))
	if h, err = ProbeGreeting(c); err != nil {
		t.Fatal(err)
	}
	if _, err := ProbeTLS(ctx, c, h, conf); !errors.Is(err, ErrProbeNoTLS) {
		t.Errorf("ProbeTLS without TLS offered = %v, want ErrProbeNoTLS", err)
	}

	// A certificate for another name.
	c, conf = probeServer(t, probeGreeting("11.4.2-MariaDB", probeCapProtocol41|probeCapSSL, true))
	if h, err = ProbeGreeting(c); err != nil {
		t.Fatal(err)
	}
	conf.ServerName = "other.test"
	if _, err := ProbeTLS(ctx, c, h, conf); err == nil {
		t.Error("ProbeTLS for a name the certificate lacks succeeded")
	}
}
