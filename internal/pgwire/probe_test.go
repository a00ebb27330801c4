package pgwire

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv"
)

// probeServer answers an SSLRequest on a loopback connection with answer and, for 'S',
// completes a TLS handshake with testenv's certificate for "localhost"; it returns the
// client's end and a TLS configuration trusting the certificate.
func probeServer(t *testing.T, answer byte) (net.Conn, *tls.Config) {
	t.Helper()
	client, server := testenv.Loopback(t)
	go func() {
		req := make([]byte, 8)
		if _, err := io.ReadFull(server, req); err != nil || !bytes.Equal(req, []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}) {
			t.Errorf("server read %x, %v; want an SSLRequest", req, err)
			return
		}
		if answer == 0 {
			return // silent
		}
		server.Write([]byte{answer})
		if answer == 'S' {
			tls.Server(server, testenv.ServerTLS()).Handshake()
		}
	}()
	return client, testenv.ClientTLS("localhost")
}

func TestProbeTLS(t *testing.T) {
	t.Parallel()
	c, conf := probeServer(t, 'S')
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tc, err := ProbeTLS(ctx, c, conf)
	if err != nil {
		t.Fatalf("ProbeTLS = %v", err)
	}
	if st := tc.ConnectionState(); len(st.PeerCertificates) == 0 || st.PeerCertificates[0].DNSNames[0] != "localhost" {
		t.Errorf("ProbeTLS: peer certificates %v", st.PeerCertificates)
	}

	c, conf = probeServer(t, 'S')
	conf.ServerName = "other.test"
	if _, err := ProbeTLS(ctx, c, conf); err == nil {
		t.Error("ProbeTLS for a name the certificate lacks succeeded")
	}
}

func TestProbeTLSRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer byte
		is     error
	}{
		{"no TLS", 'N', ErrProbeNoTLS},
		{"not PostgreSQL", 'E', nil},
		{"silent", 0, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, conf := probeServer(t, tt.answer)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := ProbeTLS(ctx, c, conf)
			var ne net.Error
			switch {
			case err == nil:
				t.Fatal("ProbeTLS succeeded")
			case tt.is == context.DeadlineExceeded:
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("ProbeTLS = %v, want a timeout", err)
				}
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("ProbeTLS = %v, want %v", err, tt.is)
			}
		})
	}
}
