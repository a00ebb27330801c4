package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// ops.pprof serves net/http/pprof on the ops listener; without it, /debug/pprof/ is not
// there and the rest of the ops server is unchanged.
func TestOpsPprof(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		cfg := testConfig(t)
		cfg.Ops.Pprof = on
		srv := serve(t, cfg)
		base := "http://" + srv.OpsAddr()
		if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
			t.Errorf("pprof=%v: /healthz = %d, want 200", on, code)
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline", "/debug/pprof/allocs?debug=1"} {
			code, body := get(t, base+path)
			switch {
			case on && code != http.StatusOK:
				t.Errorf("pprof=true: %s = %d %q, want 200", path, code, body)
			case !on && code != http.StatusNotFound:
				t.Errorf("pprof=false: %s = %d %q, want 404", path, code, body)
			}
		}
		if !on {
			continue
		}
		if _, body := get(t, base+"/debug/pprof/"); !strings.Contains(body, "goroutine") || !strings.Contains(body, "allocs") {
			t.Errorf("/debug/pprof/ does not list the profiles:\n%s", body)
		}
		// The CPU profile the bench scripts fetch: a gzip'ed protobuf after the seconds.
		resp, err := http.Get(base + "/debug/pprof/profile?seconds=1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("/debug/pprof/profile?seconds=1 = %d, %d bytes starting %q, %v; want 200 and a gzip'ed profile", resp.StatusCode, len(b), b[:min(len(b), 8)], err)
		}
	}
}

// ops.pprof is read from TOML, off by default, and accepted only on a loopback ops.listen:
// New refuses the rest before anything listens.
func TestOpsPprofConfig(t *testing.T) {
	t.Parallel()
	if DefaultConfig().Ops.Pprof {
		t.Error("DefaultConfig().Ops.Pprof = true, want false")
	}
	var cfg Config
	md, err := toml.Decode("[ops]\nlisten = \"127.0.0.1:9090\"\npprof = true\n", &cfg)
	if err != nil || len(md.Undecoded()) != 0 {
		t.Fatalf("Decode: %v, undecoded %v", err, md.Undecoded())
	}
	if want := (OpsConfig{Listen: "127.0.0.1:9090", Pprof: true}); cfg.Ops != want {
		t.Errorf("[ops] = %+v, want %+v", cfg.Ops, want)
	}
	tests := []struct {
		listen string
		pprof  bool
		want   string // "" accepted, else part of Validate's error
	}{
		{"127.0.0.1:0", true, ""},
		{"127.0.0.9:9090", true, ""},
		{"[::1]:0", true, ""},
		{"localhost:0", true, ""},
		{"", true, "ops.pprof needs ops.listen"},
		{"0.0.0.0:9090", true, "ops.pprof: ops.listen 0.0.0.0:9090 is not a loopback address"},
		{":9090", true, "ops.pprof: ops.listen :9090 is not a loopback address"},
		{"[::]:9090", true, "is not a loopback address"},
		{"10.0.0.1:9090", true, "is not a loopback address"},
		{"ops.example.com:9090", true, "is not a loopback address"},
		{"0.0.0.0:9090", false, ""}, // metrics alone may be served to a monitoring network
		{"", false, ""},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Ops.Listen, cfg.Ops.Pprof = tt.listen, tt.pprof
		err := cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(ops.listen %q, pprof %v) = %v, want nil", tt.listen, tt.pprof, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Validate(ops.listen %q, pprof %v) = %v, want %q", tt.listen, tt.pprof, err, tt.want)
		}
	}

	cfg = testConfig(t)
	cfg.Ops.Listen, cfg.Ops.Pprof = "0.0.0.0:0", true
	srv, err := New(context.Background(), cfg, Options{})
	if err == nil {
		srv.Shutdown(context.Background())
		t.Fatal("New with ops.pprof on 0.0.0.0 = nil error")
	}
	if want := "config: ops.pprof: ops.listen 0.0.0.0:0 is not a loopback address"; !strings.Contains(err.Error(), want) {
		t.Errorf("New = %v, want %q", err, want)
	}
}

// The ops server bounds what a connection may hold: a keep-alive connection that asked
// one request is closed after IdleTimeout (a minute; shortened here), and reading a
// request, writing a response and the headers are bounded too.
func TestOpsIdleConnectionTimesOut(t *testing.T) {
	t.Parallel()
	srv := newServer(t, testConfig(t))
	o := srv.ops.srv
	if o.IdleTimeout != opsIdleTimeout || o.ReadHeaderTimeout <= 0 || o.ReadTimeout <= 0 || o.WriteTimeout <= 0 || o.MaxHeaderBytes <= 0 || o.MaxHeaderBytes > 64<<10 {
		t.Errorf("ops server: IdleTimeout %v, ReadHeaderTimeout %v, ReadTimeout %v, WriteTimeout %v, MaxHeaderBytes %d; want IdleTimeout %v and every bound set",
			o.IdleTimeout, o.ReadHeaderTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxHeaderBytes, opsIdleTimeout)
	}
	o.IdleTimeout = 100 * time.Millisecond // before it serves
	done := runUntilReady(t, context.Background(), srv)
	t.Cleanup(func() { stop(t, srv, done) })

	c, err := net.Dial("tcp", srv.OpsAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("/healthz = %d (close %v), want 200 on a keep-alive connection", resp.StatusCode, resp.Close)
	}
	// Far beyond the shortened IdleTimeout: the server closes the connection.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("reading an idle keep-alive connection to the ops server = %v, want EOF (closed by IdleTimeout)", err)
	}
}

// WriteTimeout does not cut pprof's profiles that last longer: they extend their own
// write deadline by ?seconds=. (A delta profile: unlike the CPU profile, it may run
// while TestOpsPprof takes one.)
func TestOpsPprofOutlastsWriteTimeout(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Ops.Pprof = true
	srv := newServer(t, cfg)
	srv.ops.srv.WriteTimeout = 500 * time.Millisecond // before it serves
	done := runUntilReady(t, context.Background(), srv)
	t.Cleanup(func() { stop(t, srv, done) })

	resp, err := http.Get("http://" + srv.OpsAddr() + "/debug/pprof/allocs?seconds=2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("/debug/pprof/allocs?seconds=2 with WriteTimeout 500ms = %d, %d bytes, %v; want 200 and a gzip'ed profile", resp.StatusCode, len(b), err)
	}
}
