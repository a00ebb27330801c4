package doctor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/nativesetup"
)

func TestPrint(t *testing.T) {
	t.Parallel()
	rs := []Result{
		ok("region", "us-east-1"),
		skip("identity", "no --endpoint"),
		warn("pg_hba", "line 3: trust", "reject members\nreload"),
		fail("token", "refused: expired", "check the clock"),
		fail("native_login", "u: closed", ""),
	}
	want := "ok    region       us-east-1\n" +
		"skip  identity     no --endpoint\n" +
		"WARN  pg_hba       line 3: trust\n" +
		"                   fix: reject members\n" +
		"                   fix: reload\n" +
		"FAIL  token        refused: expired\n" +
		"                   fix: check the clock\n" +
		"FAIL  native_login u: closed\n"
	var b bytes.Buffer
	if err := Print(&b, rs); err != nil || b.String() != want {
		t.Errorf("Print = %v:\n%s\nwant:\n%s", err, b.String(), want)
	}
}

func TestFailed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rs   []Result
		want bool
	}{
		{nil, false},
		{[]Result{ok("a", ""), skip("b", "")}, false},
		{[]Result{ok("a", ""), warn("b", "", "")}, true},
		{[]Result{fail("a", "", "")}, true},
	} {
		if got := Failed(tt.rs); got != tt.want {
			t.Errorf("Failed(%v) = %v, want %v", tt.rs, got, tt.want)
		}
	}
}

// pam_service: one result per service that is or means to be native mode, and the
// native ones returned.
func TestCheckPAMServices(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	native, err := nativeconf.PAMService(nativeconf.PAM{Module: "pam_iamdb.so", Socket: "/run/s"})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"iamdb":  native,
		"weak":   "auth sufficient pam_iamdb.so socket=/run/s\n",
		"login":  "auth required pam_unix.so\n",
		"broken": "auth [success=ok pam_iamdb.so\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, nat := checkPAMServices(dir, []string{"iamdb", "weak", "login", "broken", "absent", "../x"})
	if len(nat) != 1 || nat[0] != "iamdb" {
		t.Errorf("native services = %q, want [iamdb]", nat)
	}
	want := []struct {
		status Status
		detail string
	}{
		{OK, "iamdb: native mode"},
		{Warn, "weak: not native mode"},
		{Warn, "broken: "},
		{Warn, "absent: "},
		{Warn, `"../x" is not a PAM service file's name`},
	}
	if len(rs) != len(want) {
		t.Fatalf("checkPAMServices = %+v, want %d results", rs, len(want))
	}
	for i, w := range want {
		if rs[i].Status != w.status || !strings.HasPrefix(rs[i].Detail, w.detail) || rs[i].Check != "pam_service" {
			t.Errorf("result %d = %+v, want %v %q…", i, rs[i], w.status, w.detail)
		}
	}
}

// native_setup: the differences as warnings with native-setup's command as the fix, or
// one ok; bad options are Run's error.
func TestRunNativeSetup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cnf := filepath.Join(dir, "99-iamdb.cnf")
	module := filepath.Join(dir, "pam_iamdb.so")
	if err := os.WriteFile(module, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Native: Native{Setup: &nativesetup.Options{Engine: "mariadb", MariaDBAuth: "pam", Socket: "/run/s", Module: module, Cnf: cnf, PAMDir: dir}}}
	rs, err := Run(context.Background(), o)
	if err != nil || len(rs) != 3 || rs[0].Status != Warn || rs[1].Fix == "" ||
		!strings.HasPrefix(rs[1].Fix, "iamdb native-setup --engine mariadb --mariadb-auth pam --socket /run/s --pam-dir "+dir) ||
		rs[2].Check != "pam_other" || rs[2].Status != OK {
		t.Errorf("Run before native-setup = %+v, %v; want two warnings and the fix, then pam_other", rs, err)
	}
	p, err := nativesetup.New(*o.Native.Setup)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(context.Background(), false, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if rs, err := Run(context.Background(), o); err != nil || len(rs) != 2 || rs[0].Status != OK || rs[1].Check != "pam_other" {
		t.Errorf("Run after native-setup = %+v, %v; want one ok, then pam_other", rs, err)
	}
	o.Native.Setup.HBA = "/x"
	if _, err := Run(context.Background(), o); !errors.Is(err, nativesetup.ErrOptions) {
		t.Errorf("Run with --hba for mariadb = %v, want ErrOptions", err)
	}
}

// native_setup with MariaDB's plugin (the default): the option file and the plugin are
// compared, and pam_other is not checked (no PAM is started per login), whatever the
// PAM fallback service loads.
func TestRunNativeSetupPlugin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pamDir := filepath.Join(dir, "pam.d")
	if err := os.Mkdir(pamDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pamDir, "other"), []byte("auth required pam_unix.so\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cnf := filepath.Join(dir, "99-iamdb.cnf")
	plugin := filepath.Join(dir, "auth_iamdb.so")
	o := Options{Native: Native{Setup: &nativesetup.Options{Engine: "mariadb", Socket: "/run/s", Cnf: cnf, PluginDir: dir, PAMDir: pamDir}}}
	rs, err := Run(context.Background(), o)
	fix := "iamdb native-setup --engine mariadb --socket /run/s --cnf " + cnf + " --plugin-dir " + dir + " --apply (then reload PostgreSQL, or restart MariaDB)"
	if err != nil || len(rs) != 2 || rs[0].Status != Warn || rs[0].Detail != plugin+": the MariaDB plugin (AWSAuthenticationPlugin) is missing" ||
		rs[1].Status != Warn || rs[1].Detail != cnf+": missing (the MariaDB option file)" || rs[1].Fix != fix {
		t.Errorf("Run before native-setup = %+v, %v; want the plugin and the option file missing, and the fix %q", rs, err, fix)
	}
	if err := os.WriteFile(plugin, []byte("built elsewhere"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := nativesetup.New(*o.Native.Setup)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(context.Background(), false, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if rs, err := Run(context.Background(), o); err != nil || len(rs) != 1 || rs[0].Check != "native_setup" || rs[0].Status != OK {
		t.Errorf("Run after native-setup = %+v, %v; want one ok and no pam_other", rs, err)
	}
	o.Native.Setup.Module = "/m.so"
	if _, err := Run(context.Background(), o); !errors.Is(err, nativesetup.ErrOptions) || !strings.Contains(err.Error(), "--module is for --mariadb-auth pam") {
		t.Errorf("Run with --module for the plugin = %v, want ErrOptions", err)
	}
}
