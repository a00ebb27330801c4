package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/nativesetup"
)

func TestDoctorPAMService(t *testing.T) {
	t.Parallel()
	written, err := nativeconf.PAMService(nativeconf.PAM{Module: "/lib/security/pam_iamdb.so", Socket: "/run/iamdb/pg.sock", TimeoutMS: 1500})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		text     string
		native   bool
		mentions bool
		socket   string
		why      string // a substring of st.why
	}{
		{"native-setup's", written, true, true, "/run/iamdb/pg.sock", ""},
		{"requisite", "auth requisite pam_iamdb.so socket=/s\n", true, true, "/s", ""},
		{"dash and tabs", "-auth\trequired\t/lib/x/security/pam_iamdb.so\tsocket=/s", true, true, "/s", ""},
		{"upper case", "AUTH Required pam_iamdb.so socket=/s", true, true, "/s", ""},
		{"continued", "auth \\\n  required pam_iamdb.so socket=/s # the verifier\n", true, true, "/s", ""},
		{"account first", "account required pam_iamdb.so socket=/s\nauth required pam_iamdb.so socket=/t\n", true, true, "/t", ""},
		{"comment", "# auth sufficient pam_permit.so\nauth required pam_iamdb.so socket=/s\nauth sufficient pam_permit.so\n", true, true, "/s", ""},
		{"sufficient before", "auth sufficient pam_unix.so\nauth required pam_iamdb.so socket=/s\n", false, true, "",
			"line 1: the first auth rule is pam_unix.so (sufficient), not pam_iamdb.so"},
		{"sufficient itself", "auth sufficient pam_iamdb.so socket=/s\nauth required pam_deny.so\n", false, true, "/s",
			"line 1: pam_iamdb.so is sufficient, not required or requisite"},
		{"optional", "auth optional pam_iamdb.so socket=/s\n", false, true, "/s", "pam_iamdb.so is optional"},
		{"bracket control", "auth [success=done default=ignore] pam_iamdb.so socket=/s\n", false, true, "/s",
			"pam_iamdb.so is [success=done default=ignore]"},
		{"include before", "@include common-auth\nauth required pam_iamdb.so socket=/s\n", false, true, "",
			"line 1: @include common-auth comes before pam_iamdb.so"},
		{"substack before", "auth substack system-auth\nauth required pam_iamdb.so socket=/s\n", false, true, "",
			"the first auth rule is system-auth (substack)"},
		{"another service", "auth required pam_unix.so\naccount required pam_unix.so\n", false, false, "", ""},
		{"account only", "account required pam_iamdb.so socket=/s\n", false, false, "", ""},
		{"empty", "", false, false, "", ""},
	}
	for _, tt := range tests {
		st, err := classifyPAMService(tt.text)
		if err != nil {
			t.Errorf("%s: classifyPAMService: %v", tt.name, err)
			continue
		}
		if st.native != tt.native || st.mentions != tt.mentions || st.socket != tt.socket || !strings.Contains(st.why, tt.why) || (tt.why == "") != (st.why == "") {
			t.Errorf("%s: classifyPAMService = %+v, want native %v, mentions %v, socket %q, why %q", tt.name, st, tt.native, tt.mentions, tt.socket, tt.why)
		}
	}
	for _, bad := range []string{
		"auth [success=ok pam_iamdb.so\n",
		"auth required\n",
		"auth\n",
		"@include\n",
	} {
		if st, err := classifyPAMService(bad); err == nil {
			t.Errorf("classifyPAMService(%q) = %+v, want an error", bad, st)
		}
	}
}

// FuzzDoctorPAMService feeds the PAM service parser arbitrary files: it must not panic, a
// service it calls native has pam_iamdb.so required or requisite as its first auth rule,
// and a sufficient module put first makes any file not native.
func FuzzDoctorPAMService(f *testing.F) {
	f.Add("auth required pam_iamdb.so socket=/s\naccount required pam_iamdb.so socket=/s\n")
	f.Add("auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n")
	f.Add("@include common-auth\n-auth required pam_iamdb.so \\\n socket=/s # c\n")
	f.Add("AUTH Requisite /lib/security/pam_iamdb.so")
	f.Fuzz(func(t *testing.T, text string) {
		st, err := classifyPAMService(text)
		if err != nil {
			return
		}
		if st.native {
			rules, err := parsePAMService(text)
			if err != nil {
				t.Fatalf("classifyPAMService accepted %q that parsePAMService refuses: %v", text, err)
			}
			for _, r := range rules {
				if r.typ == "auth" || r.typ == "@include" {
					if !strings.HasSuffix(r.module, "pam_iamdb.so") || r.control != "required" && r.control != "requisite" {
						t.Errorf("classifyPAMService(%q): native, but the first auth rule is %+v", text, r)
					}
					break
				}
			}
		}
		if st, err := classifyPAMService("auth sufficient pam_permit.so\n" + text); err == nil && st.native {
			t.Errorf("classifyPAMService(sufficient pam_permit.so, then %q) = native", text)
		}
	})
}

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
			r := checkPAMOther(nativesetup.Options{Engine: "mariadb", MariaDBAuth: "pam", Socket: "/run/s", PAMDir: dir})
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
