package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The gateways bound their connections (max_client_conns) so that a flood of idle
// connections cannot take the process's file descriptors from the authority, the other
// gateway and /healthz (docs/configuration.md#listener-limits); authority.max_conns does
// the same for the authority's own listener, which serves unauthenticated STS calls and
// the console. With RLIMIT_NOFILE at 300, its default is 64: a flood of 400 idle
// connections to the authority leaves /healthz answering.
//
// The flooder and the /healthz probe run in another process (this test binary again), so
// that only the server's side of each connection counts against this process's
// descriptors, whose soft limit the test lowers to 300 (and restores).
func TestAuthorityFloodKeepsOpsServing(t *testing.T) {
	if os.Getenv("IAMDB_FLOOD_CHILD") != "" {
		floodChild()
		return
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	const limit, flood = 300, 400
	if old.Max < 2*flood {
		t.Skipf("hard RLIMIT_NOFILE %d too low", old.Max)
	}
	lim := old
	lim.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })

	srv := serve(t, testConfig(t))
	sc, _ := testenv.Child(t, "TestAuthorityFloodKeepsOpsServing", "IAMDB_FLOOD_CHILD=1", "IAMDB_FLOOD_ADDR="+srv.Addr(),
		"IAMDB_FLOOD_N="+strconv.Itoa(flood), "IAMDB_PROBE_URL=http://"+srv.OpsAddr()+"/healthz")
	var before, held, during string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "before: "):
			before = strings.TrimPrefix(line, "before: ")
		case strings.HasPrefix(line, "held: "):
			held = strings.TrimPrefix(line, "held: ")
		case strings.HasPrefix(line, "during: "):
			during = strings.TrimPrefix(line, "during: ")
		}
		if during != "" {
			break
		}
	}
	t.Logf("/healthz before the flood: %s; idle connections to the authority held: %s", before, held)
	if before != "200" {
		t.Fatalf("/healthz before the flood = %s", before)
	}
	if during != "200" {
		t.Errorf("/healthz during a flood of %s idle connections to the authority = %s, want 200", held, during)
	}
}

// floodChild probes IAMDB_PROBE_URL, opens IAMDB_FLOOD_N idle connections to
// IAMDB_FLOOD_ADDR, probes again, and waits for stdin to close.
func floodChild() {
	probe := func() string {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(os.Getenv("IAMDB_PROBE_URL"))
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		return strconv.Itoa(resp.StatusCode)
	}
	fmt.Println("before: " + probe())
	n, _ := strconv.Atoi(os.Getenv("IAMDB_FLOOD_N"))
	var conns []net.Conn
	for range n {
		// Nothing is sent: the server holds each for ReadHeaderTimeout (10 s); one request
		// and it would hold it for IdleTimeout (2 min).
		c, err := net.DialTimeout("tcp", os.Getenv("IAMDB_FLOOD_ADDR"), 2*time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	fmt.Printf("held: %d\n", len(conns))
	time.Sleep(500 * time.Millisecond) // the server accepts what the kernel queued
	fmt.Println("during: " + probe())
	io.Copy(io.Discard, os.Stdin)
}

// A limitListener keeps at most max connections open: the next one is closed at once
// (counted as refused) and Accept waits for another; closing an accepted connection,
// once or twice, makes room for exactly one more.
func TestLimitListener(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newListenerMetrics(prometheus.NewRegistry())
	ln := m.limit(inner, "authority", 2, slog.New(slog.DiscardHandler))
	defer ln.Close()
	addr := ln.Addr().String()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	accept := func() net.Conn {
		t.Helper()
		c, ok := <-accepted
		if !ok {
			t.Fatal("Accept failed")
		}
		return c
	}
	dial()
	a1 := accept()
	dial()
	a2 := accept()
	defer a2.Close()

	// The third is closed by the listener: its client reads EOF (or a reset), not a
	// timeout, and Accept does not return it.
	c3 := dial()
	c3.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c3.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read from a connection beyond the limit = %v, want EOF or a reset", err)
	}
	if got := metricValue(t, m.refused.WithLabelValues("authority", addr)); got != 1 {
		t.Errorf("refused connections = %v, want 1", got)
	}
	if got := metricValue(t, m.open.WithLabelValues("authority", addr)); got != 2 {
		t.Errorf("open connections = %v, want 2", got)
	}

	a1.Close()
	a1.Close() // counted once
	dial()
	a4 := accept()
	defer a4.Close()
	if got := metricValue(t, m.open.WithLabelValues("authority", addr)); got != 2 {
		t.Errorf("open connections after one closed and one more accepted = %v, want 2", got)
	}
	c5 := dial()
	c5.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c5.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read from a connection beyond the limit = %v, want EOF or a reset", err)
	}
	if got := metricValue(t, m.refused.WithLabelValues("authority", addr)); got != 2 {
		t.Errorf("refused connections = %v, want 2", got)
	}
}

// With no limit (max <= 0, authority.max_conns = -1), limit returns the listener itself.
func TestLimitListenerUnlimited(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	m := newListenerMetrics(prometheus.NewRegistry())
	if ln := m.limit(inner, "authority", 0, slog.New(slog.DiscardHandler)); ln != inner {
		t.Errorf("limit(ln, 0) = %T, want ln itself", ln)
	}
}

// authority.max_conns: 0 is the gateways' default, -1 unlimited, below is an error.
func TestAuthorityMaxConnsConfig(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Authority.MaxConns = -2
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "authority.max_conns -2 must be") {
		t.Errorf("Validate with authority.max_conns = -2: %v, want an error naming it", err)
	}
	for _, tc := range []struct {
		maxConns int
		want     bool // a limitListener
	}{{0, true}, {10, true}, {-1, false}} {
		cfg := testConfig(t)
		cfg.Authority.MaxConns = tc.maxConns
		srv := newServer(t, cfg)
		ll, ok := srv.apiLn.(*limitListener)
		switch {
		case ok != tc.want:
			t.Errorf("authority.max_conns = %d: listener %T, want a limitListener: %v", tc.maxConns, srv.apiLn, tc.want)
		case ok && tc.maxConns == 0 && ll.max != int64(defaultMaxConns()):
			t.Errorf("authority.max_conns = 0: limit %d, want %d", ll.max, defaultMaxConns())
		case ok && tc.maxConns > 0 && ll.max != int64(tc.maxConns):
			t.Errorf("authority.max_conns = %d: limit %d", tc.maxConns, ll.max)
		}
		if _, ok := srv.ops.ln.(*limitListener); !ok {
			t.Errorf("the ops listener is a %T, want a limitListener", srv.ops.ln)
		}
		srv.Shutdown(context.Background())
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// metricValue returns the value of a gauge or counter.
func metricValue(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue() + m.GetCounter().GetValue()
}
