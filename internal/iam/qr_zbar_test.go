package iam

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQRDecodesWithZbar reads the PNG QR codes back with an independent decoder (zbarimg,
// Debian's zbar-tools), for otpauth URIs from the shortest to the longest AWS allows
// (a 226-character device name, a 64-character user name). It skips without zbarimg,
// unless IAMDB_REQUIRE_TOOLS=1.
func TestQRDecodesWithZbar(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatal("no zbarimg (IAMDB_REQUIRE_TOOLS=1)")
		}
		t.Skip("no zbarimg (zbar-tools)")
	}
	seed := seedEncoding.EncodeToString([]byte(strings.Repeat("0123456789", 4)))
	for _, uri := range []string{
		otpauthURI("m", "a", seed),
		otpauthURI("alice-mfa", "alice", seed),
		otpauthURI(strings.Repeat("d", 100), "123456789012", seed),
		otpauthURI(strings.Repeat("n.m-", 56)+"xy", strings.Repeat("u", 64), seed),
	} {
		b, err := qrCodePNG(uri)
		if err != nil {
			t.Fatalf("%d bytes: %v", len(uri), err)
		}
		f := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f).Output()
		if err != nil {
			t.Fatalf("zbarimg on a %d-byte URI: %v", len(uri), err)
		}
		if got := strings.TrimRight(string(out), "\n"); got != uri {
			t.Fatalf("zbarimg read %q, want %q", got, uri)
		}
	}
}
