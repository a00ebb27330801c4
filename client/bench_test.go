package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/client"
)

// BenchmarkTokenCached is the cost of Token when the cached token is fresh: what every new
// pooled connection pays.
func BenchmarkTokenCached(b *testing.B) {
	s, err := client.NewTokenSource(client.Config{Credentials: client.StaticCredentials(testAKID, testSecret, "")})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Token(ctx, target); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Token(ctx, target); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMint is the cost of signing a fresh token, cache bookkeeping included: the clock
// moves 15 minutes per call so that the cached token is always stale.
func BenchmarkMint(b *testing.B) {
	for _, bc := range []struct {
		name  string
		creds client.CredentialsProvider
	}{
		{"long-term", client.StaticCredentials(testAKID, testSecret, "")},
		{"session", client.StaticCredentials("ASIAIOSFODNN7EXAMPLE", testSecret, strings.Repeat("FwoGZXIvYXdzE", 64))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newClock()
			s, err := client.NewTokenSource(client.Config{Credentials: bc.creds, Now: c.Now})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c.Advance(15 * 60e9)
				if _, err := s.Token(ctx, target); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mints/s")
		})
	}
}
