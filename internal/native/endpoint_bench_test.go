package native_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/native"
	"github.com/iamdb/iamdb/internal/native/nativetest"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/accessenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

// BenchmarkEndpointAsk is one native login's exchange with the verifier: the request, the
// login decision (token, registration, rds-db:connect), the log line (text, discarded) and
// the answer, on a connection of its own (the PAM module: connect and close too) or on a
// kept one (MariaDB's plugin).
//
//	go test -run XXX -bench EndpointAsk -benchmem ./internal/native/
func BenchmarkEndpointAsk(b *testing.B) {
	e := accessenv.New(b, authority.Options{})
	socket := filepath.Join(testenv.SocketDir(b, "nb"), "bench.sock")
	nativetest.Serve(b, native.Config{
		Socket: socket, Authorizer: e.Authorizer, Engine: "mysql", SecureTransport: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	req := native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(b, nativePort, "alice", "alice", time.Time{})}
	ctx := context.Background()
	b.Run("connection-each", func(b *testing.B) { // the PAM module
		b.ReportAllocs()
		for b.Loop() {
			resp, err := native.Ask(ctx, socket, req)
			if err != nil || !resp.Allow {
				b.Fatalf("Ask = %+v, %v", resp, err)
			}
		}
	})
	b.Run("kept-connection", func(b *testing.B) { // MariaDB's plugin
		c, err := net.Dial("unix", socket)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			if err := native.WriteRequest(c, req); err != nil {
				b.Fatal(err)
			}
			if resp, err := native.ReadResponse(c); err != nil || !resp.Allow {
				b.Fatalf("ReadResponse = %+v, %v", resp, err)
			}
		}
	})
}
