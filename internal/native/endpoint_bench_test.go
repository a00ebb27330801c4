package native_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/native"
	"github.com/iamdb/iamdb/internal/native/nativetest"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/accessenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

// BenchmarkEndpointAsk is one native login's exchange with the verifier, as the PAM module
// and MariaDB's plugin make it: connect, request, the login decision (token, registration,
// rds-db:connect), the log line (text, discarded), answer, close.
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
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := native.Ask(ctx, socket, req)
		if err != nil || !resp.Allow {
			b.Fatalf("Ask = %+v, %v", resp, err)
		}
	}
}
