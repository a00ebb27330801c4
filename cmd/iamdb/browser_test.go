package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is Debian's Chromium, headless, driven over the DevTools protocol (chromedp),
// as a person's browser: each page the test visits can be written to a PNG.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string // the screenshots' directory
	n     int
}

// newBrowser starts Chromium for t (it stops with t). Without Chromium the test skips,
// or fails under IAMDB_REQUIRE_TOOLS=1. Screenshots go to $IAMDB_SCREENSHOTS, or to a
// directory under the system's temporary directory that the test names in its log.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	needTool(t, err == nil, "Debian's Chromium", "apt-get install -y chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	dir := os.Getenv("IAMDB_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "iamdb-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the console: %s", dir)
	return &browser{t: t, ctx: ctx, shots: dir}
}

// css selects elements with a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// run runs actions with a deadline, failing the test with what was being done.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		qctx, qcancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer qcancel()
		loc, _ := chromedp.Run(qctx, chromedp.Location())
		body, _ := chromedp.Run(qctx, chromedp.Text(css("main")))
		b.t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, body)
	}
}

// get runs one action that returns a value, with a deadline.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot writes the whole page to NN-name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	b.n++
	file := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// text returns the text of the page's main element.
func (b *browser) text() string {
	b.t.Helper()
	return get(b, "reading the page", chromedp.Text(css("main")))
}

// wantText fails the test unless the page's main element shows every one of want.
func (b *browser) wantText(what string, want ...string) {
	b.t.Helper()
	got := b.text()
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Fatalf("%s: the page does not show %q:\n%s", what, w, got)
		}
	}
}

// totp is RFC 6238's code (SHA-1, 30 s, 6 digits) of a Base32 seed at t, as an
// authenticator app computes it.
func totp(t *testing.T, seed string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(seed), "="))
	if err != nil {
		t.Fatalf("MFA seed %q: %v", seed, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0xf
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}
