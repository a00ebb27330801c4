package nativeconf

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// debianLike is a PAM directory shaped like Debian 12's (written for this test): "other"
// includes the common-* files, which load pam_unix and friends.
var debianLike = map[string]string{
	"other": "# fallback\n\n@include common-auth\n@include common-account\n@include common-password\n@include common-session\n",
	"common-auth": "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n" +
		"auth\trequisite\t\t\tpam_deny.so\nauth\trequired\t\t\tpam_permit.so\n" +
		"auth\toptional\t\t\tpam_cap.so \n",
	"common-account":  "account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so \naccount\trequisite pam_deny.so\naccount required pam_permit.so\n",
	"common-password": "password [success=1 default=ignore] pam_unix.so obscure yescrypt\npassword requisite pam_deny.so\npassword required pam_permit.so\n",
	"common-session":  "session [default=1] pam_permit.so\nsession requisite pam_deny.so\nsession required pam_permit.so\nsession required pam_unix.so \nsession optional pam_systemd.so\n",
}

func reader(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := files[name]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	}
}

func TestPAMModules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string
		extra []string
	}{
		{"debian", debianLike,
			[]string{"pam_unix.so", "pam_deny.so", "pam_permit.so", "pam_cap.so", "pam_systemd.so"},
			[]string{"pam_unix.so", "pam_cap.so", "pam_systemd.so"}},
		{"hardened", map[string]string{"other": HardenedOther()}, []string{"pam_warn.so", "pam_deny.so"}, nil},
		{"paths, dash, case, continuation, comments", map[string]string{"other": "-AUTH Required /lib/security/pam_deny.so # pam_unix.so\n" +
			"# session required pam_unix.so\naccount \\\n required \\\n pam_ldap.so x\nbogus required pam_x.so\n"},
			[]string{"/lib/security/pam_deny.so", "pam_ldap.so"}, []string{"pam_ldap.so"}},
		{"include and substack", map[string]string{"other": "auth include a\naccount substack /etc/b\n", "a": "auth required pam_a.so\n", "/etc/b": "account required pam_b.so\n"},
			[]string{"pam_a.so", "pam_b.so"}, []string{"pam_a.so", "pam_b.so"}},
		{"malformed lines load nothing", map[string]string{"other": "@include\nauth\nauth required\nauth [x=y pam_z.so\n"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := PAMModules(OtherService, reader(tt.files))
			if err != nil {
				t.Fatalf("PAMModules = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PAMModules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.extra, ExtraModules(got)); diff != "" {
				t.Errorf("ExtraModules (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPAMModulesErrors(t *testing.T) {
	t.Parallel()
	many := strings.Builder{}
	for i := 0; i <= MaxPAMModules; i++ {
		many.WriteString("auth required pam_" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".so\n")
	}
	tests := []struct {
		name  string
		files map[string]string
		want  error
	}{
		{"missing include", map[string]string{"other": "@include common-auth\n"}, fs.ErrNotExist},
		{"include loop", map[string]string{"other": "@include other\n"}, ErrPAMConfig},
		{"too large", map[string]string{"other": strings.Repeat("#", MaxPAMFileBytes+1)}, ErrPAMConfig},
		{"too many modules", map[string]string{"other": many.String()}, ErrPAMConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := PAMModules(OtherService, reader(tt.files)); !errors.Is(err, tt.want) {
				t.Errorf("PAMModules = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzPAMModules feeds PAMModules a file that every name reads as (so includes recurse):
// it must stay within its bounds and never panic.
func FuzzPAMModules(f *testing.F) {
	for _, s := range debianLike {
		f.Add(s)
	}
	f.Add(HardenedOther())
	f.Add("auth [a\\\n b] pam_x.so\n@include x\nauth substack x\n")
	f.Fuzz(func(t *testing.T, text string) {
		reads := 0
		mods, err := PAMModules(OtherService, func(string) ([]byte, error) {
			reads++
			return []byte(text), nil
		})
		if reads > MaxPAMModules {
			t.Fatalf("PAMModules read %d files, more than %d", reads, MaxPAMModules)
		}
		if err != nil {
			if !errors.Is(err, ErrPAMConfig) {
				t.Fatalf("PAMModules error %v is not ErrPAMConfig", err)
			}
			return
		}
		if len(mods) > MaxPAMModules {
			t.Fatalf("PAMModules returned %d modules", len(mods))
		}
		for _, m := range mods {
			if m == "" || strings.ContainsAny(m, " \t\n#") {
				t.Fatalf("PAMModules(%q) returned module %q", text, m)
			}
		}
	})
}
