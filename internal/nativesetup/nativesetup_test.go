package nativesetup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPAMModuleDir(t *testing.T) {
	t.Parallel()
	has := func(files ...string) func(string) bool {
		return func(name string) bool {
			for _, f := range files {
				if f == name {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		goarch string
		exists func(string) bool
		want   string
	}{
		{"amd64", has("/lib/x86_64-linux-gnu/security/pam_permit.so"), "/lib/x86_64-linux-gnu/security"},
		{"arm64", has("/usr/lib/aarch64-linux-gnu/security/pam_permit.so"), "/usr/lib/aarch64-linux-gnu/security"},
		{"amd64", has("/lib64/security/pam_permit.so"), "/lib64/security"},
		{"amd64", has(), "/lib/x86_64-linux-gnu/security"},
		{"wasm", has(), "/lib/security"},
	}
	for _, tt := range tests {
		if got := PAMModuleDir(tt.goarch, tt.exists); got != tt.want {
			t.Errorf("PAMModuleDir(%q) = %q, want %q", tt.goarch, got, tt.want)
		}
	}
}

func TestNewOptionErrors(t *testing.T) {
	t.Parallel()
	good := Options{Engine: "postgres", Socket: "/run/iamdb/pg.sock", HBA: "/x/pg_hba.conf"}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no socket", func(o *Options) { o.Socket = "" }, "--socket (the local verifier's Unix socket) is required"},
		{"relative socket", func(o *Options) { o.Socket = "pg.sock" }, `--socket "pg.sock" must be an absolute path`},
		{"bad service", func(o *Options) { o.Service = "a/b" }, "--service: "},
		{"no engine", func(o *Options) { o.Engine = "" }, "--engine postgres|mariadb is required"},
		{"other engine", func(o *Options) { o.Engine = "oracle" }, `--engine "oracle" must be postgres or mariadb`},
		{"cnf for postgres", func(o *Options) { o.Cnf = "/x.cnf" }, "--cnf is for --engine mariadb"},
		{"hba for mariadb", func(o *Options) { o.Engine = "mariadb" }, "--hba is for --engine postgres"},
		{"mariadb-auth for postgres", func(o *Options) { o.MariaDBAuth = "plugin" }, "--mariadb-auth is for --engine mariadb"},
		{"plugin-dir for postgres", func(o *Options) { o.PluginDir = "/p" }, "--plugin-dir is for --engine mariadb"},
		{"other mariadb-auth", func(o *Options) { o.Engine, o.HBA, o.MariaDBAuth = "mariadb", "", "gssapi" }, `--mariadb-auth "gssapi" must be plugin or pam`},
		{"service with the plugin", func(o *Options) { o.Engine, o.HBA, o.Service = "mariadb", "", "iamdb" }, "--service is for --mariadb-auth pam"},
		{"module with the plugin", func(o *Options) { o.Engine, o.HBA, o.MariaDBAuth, o.Module = "mysql", "", "plugin", "/m.so" }, "--module is for --mariadb-auth pam"},
		{"harden-pam-other with the plugin", func(o *Options) { o.Engine, o.HBA, o.HardenPAMOther = "mariadb", "", true }, "--harden-pam-other is for --mariadb-auth pam"},
		{"plugin-dir with pam", func(o *Options) { o.Engine, o.HBA, o.MariaDBAuth, o.PluginDir = "mariadb", "", "pam", "/p" }, "--plugin-dir is for --mariadb-auth plugin"},
		{"relative plugin-dir", func(o *Options) { o.Engine, o.HBA, o.PluginDir = "mariadb", "", "plugin" }, `--plugin-dir "plugin" must be an absolute path`},
		{"plugin timeout too short", func(o *Options) { o.Engine, o.HBA, o.TimeoutMS = "mariadb", "", 49 }, "--timeout 49 must be 0 (the plugin's default, 2000) or 50..30000 for --mariadb-auth plugin"},
		{"plugin timeout too long", func(o *Options) { o.Engine, o.HBA, o.TimeoutMS = "mariadb", "", 30001 }, "--timeout 30001 must be 0"},
		{"plugin socket with a space", func(o *Options) { o.Engine, o.HBA, o.Socket = "mariadb", "", "/run/a b" }, `--socket: socket path "/run/a b" holds " "`},
		{"plugin socket too long", func(o *Options) { o.Engine, o.HBA, o.Socket = "mariadb", "", "/"+strings.Repeat("s", 107) }, "--socket: socket path of 108 bytes"},
		{"bad addresses", func(o *Options) { o.Addresses = "10.0.0.0/8,nope" }, "--addresses: "},
		{"bad gateway source", func(o *Options) { o.GatewaySource = "10.0.0.0/8" }, "--gateway-source: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := good
			tt.edit(&o)
			_, err := New(o)
			if !errors.Is(err, ErrOptions) || !strings.HasPrefix(err.Error(), "nativesetup: "+tt.want) {
				t.Errorf("New(%+v) = %v, want ErrOptions %q", o, err, tt.want)
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Errorf("New(%+v) = %v", good, err)
	}
}

func TestArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Engine: "mariadb", Socket: "/s", Cnf: "/c.cnf", TimeoutMS: 1500}, "--engine mariadb --socket /s --cnf /c.cnf --timeout 1500"},
		{Options{Engine: "mariadb", MariaDBAuth: "plugin", Socket: "/s", PluginDir: "/p"}, "--engine mariadb --mariadb-auth plugin --socket /s --plugin-dir /p"},
		{Options{Engine: "mariadb", MariaDBAuth: "pam", Socket: "/s", Cnf: "/c.cnf", TimeoutMS: 1500}, "--engine mariadb --mariadb-auth pam --socket /s --pam-dir /etc/pam.d --cnf /c.cnf --timeout 1500"},
		{Options{Engine: "postgres", Socket: "/s", PAMDir: "/pam", Service: "x"}, "--engine postgres --socket /s --pam-dir /pam --service x"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.o.Args(), " "); got != tt.want {
			t.Errorf("%+v.Args() = %q, want %q", tt.o, got, tt.want)
		}
		// Each is options New takes.
		if _, err := New(tt.o); err != nil {
			t.Errorf("New(%+v) = %v", tt.o, err)
		}
	}
}

// A plan's Check lists what Apply fixes, Apply keeps pg_hba.conf's mode and the lines
// after its block, and a second Apply changes nothing.
func TestCheckApply(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	module := filepath.Join(dir, "pam_iamdb.so")
	hba := filepath.Join(dir, "pg_hba.conf")
	const theirs = "local all postgres peer\n"
	if err := os.WriteFile(module, []byte("not built here"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hba, []byte(theirs), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Engine: "postgres", Socket: "/run/s", Module: module, HBA: hba, PAMDir: dir, Locate: true})
	if err != nil {
		t.Fatal(err)
	}
	diffs := p.Check()
	if len(diffs) != 2 || !strings.Contains(diffs[0], "missing (the PAM service file)") || !strings.Contains(diffs[1], "differs from what") {
		t.Fatalf("Check() before Apply = %q, want the PAM file missing and pg_hba.conf differing", diffs)
	}
	var out bytes.Buffer
	if err := p.Apply(context.Background(), false, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "wrote: ") != 2 || strings.Contains(out.String(), "built: ") {
		t.Errorf("Apply printed %q, want two files written and nothing built", out.String())
	}
	if diffs := p.Check(); len(diffs) != 0 {
		t.Errorf("Check() after Apply = %q, want none", diffs)
	}
	b, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "# BEGIN iamdb native mode") || !strings.HasSuffix(string(b), theirs) {
		t.Errorf("pg_hba.conf after Apply:\n%s", b)
	}
	if fi, err := os.Stat(hba); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("pg_hba.conf's mode after Apply: %v, %v; want 0600", fi.Mode(), err)
	}
	out.Reset()
	if err := p.Apply(context.Background(), false, &out); err != nil || strings.Count(out.String(), "unchanged: ") != 2 {
		t.Errorf("second Apply = %v, printed %q; want two files unchanged", err, out.String())
	}
}

// pg_hba.conf is edited, never created.
func TestApplyMissingHBA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	module := filepath.Join(dir, "pam_iamdb.so")
	if err := os.WriteFile(module, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Engine: "postgres", Socket: "/run/s", Module: module, HBA: filepath.Join(dir, "none"), PAMDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(context.Background(), false, io.Discard); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Apply with a missing pg_hba.conf = %v, want an error", err)
	}
}

// --harden-pam-other: Print warns, Check reports the fallback service, Apply keeps the
// original once (a second Apply, after the file changed again, keeps the first backup)
// and is idempotent. Without the option the fallback service is never touched.
func TestHardenPAMOther(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	module := filepath.Join(dir, "pam_iamdb.so")
	other := filepath.Join(dir, "other")
	const debian = "@include common-auth\n@include common-account\n"
	for name, s := range map[string]string{module: "", other: debian} {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Engine: "mariadb", MariaDBAuth: "pam", Socket: "/run/s", Module: module, Cnf: filepath.Join(dir, "my.cnf"), PAMDir: dir}
	plain, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Apply(context.Background(), false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(other); string(b) != debian {
		t.Fatalf("Apply without HardenPAMOther wrote %s:\n%s", other, b)
	}

	o.HardenPAMOther = true
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p.Print(&out)
	if !strings.Contains(out.String(), "### warning: this replaces the fallback of EVERY PAM service") || !strings.Contains(out.String(), "auth     required pam_deny.so") {
		t.Errorf("Print with HardenPAMOther:\n%s", out.String())
	}
	if diffs := p.Check(); len(diffs) != 1 || !strings.HasPrefix(diffs[0], other+": differs") {
		t.Errorf("Check() = %q, want %s differing", diffs, other)
	}
	out.Reset()
	if err := p.Apply(context.Background(), false, &out); err != nil {
		t.Fatal(err)
	}
	backup := other + OtherBackupSuffix
	if !strings.Contains(out.String(), "kept: "+backup) || !strings.Contains(out.String(), "warning: ") {
		t.Errorf("Apply printed %q, want the backup kept and the warning", out.String())
	}
	if diffs := p.Check(); len(diffs) != 0 {
		t.Errorf("Check() after Apply = %q, want none", diffs)
	}
	if err := os.WriteFile(other, []byte("auth required pam_unix.so\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := p.Apply(context.Background(), false, &out); err != nil || strings.Contains(out.String(), "kept: ") {
		t.Errorf("second Apply = %v, printed %q; want the first backup left alone", err, out.String())
	}
	if b, _ := os.ReadFile(backup); string(b) != debian {
		t.Errorf("%s = %q, want the original %q", backup, b, debian)
	}
	out.Reset()
	if err := p.Apply(context.Background(), false, &out); err != nil || strings.Count(out.String(), "unchanged: ") != 3 {
		t.Errorf("third Apply = %v, printed %q; want three files unchanged", err, out.String())
	}
	if got := strings.Join(o.Args(), " "); !strings.HasSuffix(got, " --harden-pam-other") {
		t.Errorf("Args() = %q, want --harden-pam-other", got)
	}
}
