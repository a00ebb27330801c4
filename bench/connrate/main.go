package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func main() {
	clients := flag.Int("c", 8, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: connrate [-c N] [-d D] CONNSTRING")
		os.Exit(2)
	}
	cfg, err := pgconn.ParseConfig(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connrate:", err)
		os.Exit(2)
	}
	for _, c := range append([]*tls.Config{cfg.TLSConfig}, fallbackTLS(cfg)...) {
		if c != nil {
			c.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var n, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range *clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := once(cfg); err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("connrate: %d connections in %.2fs with %d clients: %.0f/s, %d failed\n", n.Load(), el, *clients, float64(n.Load())/el, failed.Load())
	if err := firstErr.Load(); err != nil {
		fmt.Printf("connrate: first error: %v\n", err)
	}
}

func fallbackTLS(cfg *pgconn.Config) []*tls.Config {
	var out []*tls.Config
	for _, f := range cfg.Fallbacks {
		out = append(out, f.TLSConfig)
	}
	return out
}

func once(cfg *pgconn.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pc.Close(ctx)
	_, err = pc.Exec(ctx, "select 1").ReadAll()
	return err
}
