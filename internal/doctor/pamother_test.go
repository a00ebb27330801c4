package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/nativesetup"
)

// pam_other: Debian's fallback (common-* with pam_unix, pam_systemd) is a note with the
// --harden-pam-other command, the hardened one and none at all are plain ok, an
// unreadable include is a skip; never a Warn or a Fail.
func TestCheckPAMOther(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		files  map[string]string
		status Status
		detail string
		fix    string
	}{
		{"debian", map[string]string{
			"other":          "@include common-auth\n@include common-session\n",
			"common-auth":    "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n",
			"common-session": "session required pam_permit.so\nsession optional pam_systemd.so\n",
		}, OK, "loads pam_unix.so, pam_systemd.so at every MariaDB PAM login", "--harden-pam-other --apply (it denies every PAM service without its own file"},
		{"hardened", map[string]string{"other": nativeconf.HardenedOther()}, OK, "loads only pam_warn.so, pam_deny.so", ""},
		{"none", map[string]string{}, OK, "none (no fallback service", ""},
		{"missing include", map[string]string{"other": "@include common-auth\n"}, Skip, "cannot read what it loads", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, s := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := checkPAMOther(nativesetup.Options{Engine: "mariadb", Socket: "/run/s", PAMDir: dir})
			if r.Check != "pam_other" || r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("checkPAMOther = %v %s %q, want %v containing %q", r.Status, r.Check, r.Detail, tt.status, tt.detail)
			}
			if tt.fix == "" && r.Fix != "" || !strings.Contains(r.Fix, tt.fix) {
				t.Errorf("checkPAMOther's note = %q, want %q", r.Fix, tt.fix)
			}
			if tt.fix != "" && !strings.Contains(r.Fix, "--pam-dir "+dir) {
				t.Errorf("checkPAMOther's note = %q, want the same --pam-dir", r.Fix)
			}
		})
	}
}
