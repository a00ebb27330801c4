package nativesetup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/nativeconf"
)

// MariaDB's default, the plugin: Print shows the option file and that the plugin is to
// be built, Check lists the plugin and the option file, Apply writes the option file only
// (no PAM service file), a second Apply changes nothing, and an edit is a difference.
func TestPluginPlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "plugin")
	if err := os.Mkdir(pluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cnf := filepath.Join(dir, "99-iamdb-native.cnf")
	o := Options{Engine: "mariadb", Socket: "/run/iamdb/my.sock", TimeoutMS: 1500, Cnf: cnf, PluginDir: pluginDir, PAMDir: dir}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(pluginDir, "auth_iamdb.so")
	if p.Module != plugin || len(p.Files) != 1 || p.Files[0].Path != cnf {
		t.Fatalf("New(%+v) = module %q, files %+v; want %s and only %s", o, p.Module, p.Files, plugin, cnf)
	}
	want, err := nativeconf.MariaDBPluginConf(nativeconf.MariaDBPlugin{Socket: o.Socket, TimeoutMS: 1500})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p.Print(&out)
	for _, s := range []string{
		"### MariaDB option file: " + cnf + "\n### then: restart MariaDB",
		"iamdb create-db-user --native\n",
		want,
		"### note: " + plugin + " does not exist yet: --apply builds it (gcc and libmariadbd-dev needed)",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("Print lacks %q:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "PAM") || strings.Contains(out.String(), "pam") {
		t.Errorf("Print with the plugin mentions PAM:\n%s", out.String())
	}
	diffs := p.Check()
	if len(diffs) != 2 || diffs[0] != plugin+": the MariaDB plugin (AWSAuthenticationPlugin) is missing" || diffs[1] != cnf+": missing (the MariaDB option file)" {
		t.Errorf("Check() before Apply = %q, want the plugin and the option file missing", diffs)
	}

	// A plugin in place is not rebuilt.
	if err := os.WriteFile(plugin, []byte("present"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := p.Apply(context.Background(), false, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "wrote: "+cnf+" (MariaDB option file); now "+p.Files[0].After+"\n" {
		t.Errorf("Apply printed %q, want the option file written and nothing built", out.String())
	}
	if got, _ := os.ReadFile(cnf); string(got) != want {
		t.Errorf("%s after Apply = %q, want %q", cnf, got, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("Apply left %d entries in %s, want the option file and the plugin directory only", len(entries), dir)
	}
	if diffs := p.Check(); len(diffs) != 0 {
		t.Errorf("Check() after Apply = %q, want none", diffs)
	}
	out.Reset()
	if err := p.Apply(context.Background(), false, &out); err != nil || out.String() != "unchanged: "+cnf+" (MariaDB option file)\n" {
		t.Errorf("second Apply = %v, printed %q; want the option file unchanged", err, out.String())
	}
	// Another socket: the option file differs.
	o.Socket = "/run/iamdb/other.sock"
	p2, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := p2.Check(); len(diffs) != 1 || diffs[0] != cnf+": differs from what iamdb native-setup --apply would write (the MariaDB option file)" {
		t.Errorf("Check() with another socket = %q, want the option file differing", diffs)
	}
}

// Without a C compiler Apply fails before writing the option file, naming what to install
// for the plugin.
func TestPluginApplyWithoutCompiler(t *testing.T) {
	t.Setenv("CC", "/nonexistent/cc")
	dir := t.TempDir()
	p, err := New(Options{Engine: "mariadb", Socket: "/run/s", Cnf: filepath.Join(dir, "native.cnf"), PluginDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Apply(context.Background(), false, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "cannot build "+filepath.Join(dir, "auth_iamdb.so")) || !strings.Contains(err.Error(), "apt-get install gcc libmariadbd-dev") {
		t.Errorf("Apply without a compiler = %v, want the plugin's packages named", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Apply without a compiler wrote %d files, want none", len(entries))
	}
}

// PluginDirOf reads plugin-dir from the server's help, and fails on a server that names
// none or fails.
func TestPluginDirOf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := script("good", `[ "$*" = "--no-defaults --help --verbose" ] || exit 3
printf 'plugin-maturity                                              gamma\nplugin-dir                                                   /opt/maria/lib/plugin/\nport 3306\n'
`)
	if got, err := PluginDirOf(context.Background(), good); err != nil || got != "/opt/maria/lib/plugin" {
		t.Errorf("PluginDirOf(good) = %q, %v; want /opt/maria/lib/plugin", got, err)
	}
	for name, body := range map[string]string{
		"none":     "echo port 3306\n",
		"relative": "echo plugin-dir lib/plugin\n",
		"fails":    "echo plugin-dir /x; exit 1\n",
	} {
		if got, err := PluginDirOf(context.Background(), script(name, body)); err == nil {
			t.Errorf("PluginDirOf(%s) = %q, want an error", name, got)
		}
	}
}

// The system's plugin directory is one that holds MariaDB's own plugins, when a server is
// installed.
func TestSystemPluginDir(t *testing.T) {
	t.Parallel()
	dir := SystemPluginDir(context.Background())
	if !filepath.IsAbs(dir) {
		t.Fatalf("SystemPluginDir() = %q, not absolute", dir)
	}
	if !fileExists("/usr/sbin/mariadbd") {
		t.Skipf("no /usr/sbin/mariadbd: SystemPluginDir() = %q (the fallback)", dir)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "auth_*.so")); len(m) == 0 {
		t.Errorf("SystemPluginDir() = %q holds no auth_*.so", dir)
	}
}
