package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/nativesetup"
)

// runCLIErr is runCLI with the error message main prints in stderr too.
func runCLIErr(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	status = exitStatus(run(context.Background(), args, &out, &errb), &errb)
	return out.String(), errb.String(), status
}

func TestNativeSetupPrint(t *testing.T) {
	t.Parallel()
	out, errOut, status := runCLI(t, "native-setup", "--engine", "postgres", "--socket", "/run/iamdb/pg.sock",
		"--module", "/m/pam_iamdb.so", "--timeout", "1500", "--addresses", "10.0.0.0/8, 2001:db8::/32", "--gateway-source", "10.1.2.3")
	if status != 0 {
		t.Fatalf("native-setup postgres: status %d, stderr %q", status, errOut)
	}
	for _, want := range []string{
		"### PAM service file: /etc/pam.d/iamdb\n",
		"auth    required /m/pam_iamdb.so socket=/run/iamdb/pg.sock timeout=1500 keep_loaded\n",
		"account required /m/pam_iamdb.so socket=/run/iamdb/pg.sock\n",
		"SELECT pg_reload_conf()",
		"+rds_iam 10.1.2.3/32",
		"+rds_iam 10.0.0.0/8 ",
		"+rds_iam 2001:db8::/32 ",
		nativeconf.EndMarker,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("native-setup postgres output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0.0.0.0/0") {
		t.Errorf("native-setup --addresses still prints the default addresses:\n%s", out)
	}
	out, errOut, status = runCLI(t, "native-setup", "--engine", "mariadb", "--mariadb-auth", "pam", "--socket", "/run/iamdb/my.sock", "--service", "iamdb-my")
	if status != 0 {
		t.Fatalf("native-setup mariadb --mariadb-auth pam: status %d, stderr %q", status, errOut)
	}
	for _, want := range []string{
		"### PAM service file: /etc/pam.d/iamdb-my\n",
		"### MariaDB option file: " + nativesetup.DefaultCnf + "\n",
		"restart MariaDB",
		"create-db-user --native --pam-service iamdb-my",
		nativeconf.MariaDBConf(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("native-setup mariadb --mariadb-auth pam output lacks %q:\n%s", want, out)
		}
	}
	// The default for MariaDB: the plugin, no PAM service file.
	out, errOut, status = runCLI(t, "native-setup", "--engine", "mariadb", "--socket", "/run/iamdb/my.sock", "--timeout", "1500", "--plugin-dir", "/p")
	if status != 0 {
		t.Fatalf("native-setup mariadb: status %d, stderr %q", status, errOut)
	}
	cnf, err := nativeconf.MariaDBPluginConf(nativeconf.MariaDBPlugin{Socket: "/run/iamdb/my.sock", TimeoutMS: 1500})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### MariaDB option file: " + nativesetup.DefaultCnf + "\n",
		"restart MariaDB",
		"create-db-user --native\n",
		cnf,
		"### note: /p/auth_iamdb.so does not exist yet: --apply builds it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("native-setup mariadb output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PAM service file") {
		t.Errorf("native-setup mariadb (the plugin) prints a PAM service file:\n%s", out)
	}
}

func TestNativeSetupUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"--engine", "postgres"},
		{"--engine", "oracle", "--socket", "/s"},
		{"--engine", "postgres", "--socket", "relative.sock"},
		{"--engine", "postgres", "--socket", "/s", "--service", "a b"},
		{"--engine", "postgres", "--socket", "/s", "--addresses", "10.0.0.1"},
		{"--engine", "postgres", "--socket", "/s", "--gateway-source", "gw.example"},
		{"--engine", "postgres", "--socket", "/s", "--cnf", "/x.cnf"},
		{"--engine", "mariadb", "--socket", "/s", "--hba", "/x"},
		{"--engine", "mariadb", "--socket", "/s", "--apply", "--check"},
		{"--engine", "mariadb", "--socket", "/s", "--timeout", "-1"},
		{"--engine", "mariadb", "--socket", "/s", "--timeout", "40"},
		{"--engine", "mariadb", "--mariadb-auth", "pam", "--socket", "/s", "--timeout", "-1"},
		{"--engine", "mariadb", "--socket", "/s with space"},
		{"--engine", "mariadb", "--socket", "/s#x"},
		{"--engine", "mariadb", "--socket", "/" + strings.Repeat("s", 107)},
		{"--engine", "mariadb", "--mariadb-auth", "pam", "--socket", "/s with space"},
		{"--engine", "mariadb", "--socket", "/s", "--service", "iamdb"},
		{"--engine", "mariadb", "--socket", "/s", "--module", "/m.so"},
		{"--engine", "mariadb", "--socket", "/s", "--harden-pam-other"},
		{"--engine", "mariadb", "--socket", "/s", "--mariadb-auth", "ldap"},
		{"--engine", "mariadb", "--socket", "/s", "--mariadb-auth", "pam", "--plugin-dir", "/p"},
		{"--engine", "mariadb", "--socket", "/s", "--plugin-dir", "p"},
		{"--engine", "postgres", "--socket", "/s", "--mariadb-auth", "plugin"},
		{"--engine", "postgres", "--socket", "/s", "--plugin-dir", "/p"},
		{"--engine", "mariadb", "--socket", "/s", "extra"},
	} {
		if _, errOut, status := runCLIErr(t, append([]string{"native-setup"}, args...)...); status != 2 || !strings.Contains(errOut, "iamdb: native-setup: ") {
			t.Errorf("native-setup %q: status %d, stderr %q; want a usage error (2)", args, status, errOut)
		}
	}
}

// --check reports what is missing or different, --apply writes it (pg_hba.conf keeps its
// mode, the rest of the file follows the block), a second --apply changes nothing, and a
// file with broken markers is refused and left alone.
func TestNativeSetupApplyCheckPostgres(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pamDir := filepath.Join(dir, "pam.d")
	if err := os.Mkdir(pamDir, 0o755); err != nil {
		t.Fatal(err)
	}
	module := writeFile(t, dir, "pam_iamdb.so", "")
	const original = "local all all peer\nhostssl all all 0.0.0.0/0 scram-sha-256\n"
	hba := filepath.Join(dir, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte(original), 0o640); err != nil {
		t.Fatal(err)
	}
	args := []string{"native-setup", "--engine", "postgres", "--socket", "/run/iamdb/pg.sock", "--module", module,
		"--pam-dir", pamDir, "--hba", hba}
	pamFile := filepath.Join(pamDir, "iamdb")

	out, _, status := runCLI(t, append(args, "--check")...)
	if status != 1 || !strings.Contains(out, pamFile+": missing") || !strings.Contains(out, hba+": differs") || strings.Count(out, "\n") != 2 {
		t.Errorf("--check before --apply: status %d, output %q; want 1 and two lines", status, out)
	}
	out, errOut, status := runCLI(t, append(args, "--apply")...)
	if status != 0 || !strings.Contains(out, "wrote: "+pamFile) || !strings.Contains(out, "wrote: "+hba) || !strings.Contains(out, "pg_reload_conf()") {
		t.Fatalf("--apply: status %d, output %q, stderr %q", status, out, errOut)
	}
	got, _ := os.ReadFile(hba)
	block, _ := nativeconf.HBABlock(nativeconf.HBA{})
	if string(got) != block+original {
		t.Errorf("pg_hba.conf after --apply:\n%s\nwant the block, then the original lines", got)
	}
	if fi, err := os.Stat(hba); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("pg_hba.conf mode after --apply = %v, %v; want 0640 kept", fi.Mode(), err)
	}
	if fi, err := os.Stat(pamFile); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("PAM service file mode = %v, %v; want 0644", fi.Mode(), err)
	}
	pamText, _ := os.ReadFile(pamFile)
	if !strings.Contains(string(pamText), "auth    required "+module+" socket=/run/iamdb/pg.sock keep_loaded\n") {
		t.Errorf("PAM service file:\n%s", pamText)
	}

	out, _, status = runCLI(t, append(args, "--apply")...)
	if status != 0 || strings.Count(out, "unchanged: ") != 2 || strings.Contains(out, "wrote") {
		t.Errorf("second --apply: status %d, output %q; want everything unchanged", status, out)
	}
	if again, _ := os.ReadFile(hba); string(again) != string(got) {
		t.Errorf("second --apply changed pg_hba.conf")
	}
	if out, _, status = runCLI(t, append(args, "--check")...); status != 0 {
		t.Errorf("--check after --apply: status %d, output %q", status, out)
	}
	// Another service: the block is replaced where it stands.
	out, _, status = runCLI(t, append(args, "--service", "other", "--check")...)
	if status != 1 || !strings.Contains(out, hba+": differs") || !strings.Contains(out, filepath.Join(pamDir, "other")+": missing") {
		t.Errorf("--check with another service: status %d, output %q", status, out)
	}
	// A removed module is a difference too.
	os.Remove(module)
	if out, _, status = runCLI(t, append(args, "--check")...); status != 1 || out != module+": the PAM module is missing\n" {
		t.Errorf("--check without the module: status %d, output %q", status, out)
	}
	writeFile(t, dir, "pam_iamdb.so", "")

	broken := nativeconf.BeginMarker + "\nhost all all all trust\n"
	if err := os.WriteFile(hba, []byte(broken), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, errOut, status := runCLIErr(t, append(args, "--apply")...); status != 1 || !strings.Contains(errOut, "without an END") {
		t.Errorf("--apply on broken markers: status %d, stderr %q", status, errOut)
	}
	if after, _ := os.ReadFile(hba); string(after) != broken {
		t.Errorf("--apply changed a pg_hba.conf with broken markers:\n%s", after)
	}
	if out, _, status := runCLI(t, append(args, "--check")...); status != 1 || !strings.Contains(out, "broken iamdb native mode markers") {
		t.Errorf("--check on broken markers: status %d, output %q", status, out)
	}
	// pg_hba.conf is edited, never created.
	if _, errOut, status := runCLIErr(t, "native-setup", "--engine", "postgres", "--socket", "/s", "--module", module,
		"--pam-dir", pamDir, "--hba", filepath.Join(dir, "missing.conf"), "--apply"); status != 1 || !strings.Contains(errOut, "does not exist") {
		t.Errorf("--apply with a missing pg_hba.conf: status %d, stderr %q", status, errOut)
	}
}

func TestNativeSetupApplyCheckMariaDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	module := writeFile(t, dir, "pam_iamdb.so", "")
	cnf := filepath.Join(dir, "99-iamdb-native.cnf")
	args := []string{"native-setup", "--engine", "mariadb", "--mariadb-auth", "pam", "--socket", "/run/iamdb/my.sock", "--module", module,
		"--pam-dir", dir, "--cnf", cnf}
	if out, _, status := runCLI(t, append(args, "--check")...); status != 1 || !strings.Contains(out, cnf+": missing") {
		t.Errorf("--check before --apply: status %d, output %q", status, out)
	}
	out, errOut, status := runCLI(t, append(args, "--apply")...)
	if status != 0 || !strings.Contains(out, "wrote: "+cnf) || !strings.Contains(out, "restart MariaDB") {
		t.Fatalf("--apply: status %d, output %q, stderr %q", status, out, errOut)
	}
	if got, _ := os.ReadFile(cnf); string(got) != nativeconf.MariaDBConf() {
		t.Errorf("%s = %q", cnf, got)
	}
	if out, _, status := runCLI(t, append(args, "--check")...); status != 0 {
		t.Errorf("--check after --apply: status %d, output %q", status, out)
	}
	os.WriteFile(cnf, []byte("[mariadb]\nplugin_load_add = auth_pam\n"), 0o644)
	if out, _, status := runCLI(t, append(args, "--check")...); status != 1 || out != cnf+": differs from what iamdb native-setup --apply would write (the MariaDB option file)\n" {
		t.Errorf("--check after an edit: status %d, output %q", status, out)
	}
}

// native-setup on a real cluster's pg_hba.conf: after --apply and a reload, a member of
// rds_iam logs in over TLS through the PAM service native-setup wrote (with pam_permit.so
// standing in for pam_iamdb.so: it ignores the socket= argument), and is refused by
// PostgreSQL itself with pam_deny.so.
func TestNativeSetupPostgresServer(t *testing.T) {
	t.Parallel()
	svc := localdbtest.PAMService(t, localdbtest.PAMDeny...) // a unique name, removed at the end
	ca := testCA(t)
	p := localdbtest.Postgres(t, ca)
	ctx := context.Background()
	if err := p.Exec(ctx, `CREATE USER "u" WITH LOGIN`, `GRANT rds_iam TO "u"`); err != nil {
		t.Fatal(err)
	}
	setup := func(module string) {
		t.Helper()
		out, errOut, status := runCLI(t, "native-setup", "--engine", "postgres", "--socket", "/run/iamdb-test.sock",
			"--service", svc, "--module", module, "--pam-dir", localdbtest.PAMDir,
			"--hba", filepath.Join(p.DataDir(), "pg_hba.conf"), "--apply")
		if status != 0 {
			t.Fatalf("native-setup --apply: status %d, stdout %q, stderr %q", status, out, errOut)
		}
		if err := p.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
			t.Fatal(err)
		}
	}
	login := func() error {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user=u password=a-token sslmode=verify-full sslrootcert=%s connect_timeout=10",
			p.Port(), p.CAFile()))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(cctx, cfg)
		if err == nil {
			c.Close(cctx)
		}
		return err
	}
	setup("pam_permit.so")
	if err := login(); err != nil {
		t.Errorf("member over TLS through PAM (pam_permit): %v", err)
	}
	setup("pam_deny.so")
	var pe *pgconn.PgError
	if err := login(); !errors.As(err, &pe) || pe.Code != "28000" || pe.Message != `PAM authentication failed for user "u"` {
		t.Errorf("member over TLS through PAM (pam_deny): %v, want PAM authentication failed (28000)", err)
	}
}

// create-db-user --native makes a MariaDB user that logs in with a token through PAM,
// over TLS only.
func TestCreateDBUserNativeMariaDB(t *testing.T) {
	t.Parallel()
	svc := localdbtest.PAMService(t, localdbtest.PAMPermit...)
	ca := testCA(t)
	m := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{CA: ca, Native: &localdb.MariaDBNative{}})
	caFile := writeFile(t, t.TempDir(), "ca.pem", string(ca.CertPEM()))
	out, errOut, status := runCLI(t, "create-db-user", "--native", "--pam-service", svc, "--mysql", m.AdminDSN(""), "--ca-file", caFile, "n")
	if status != 0 {
		t.Fatalf("create-db-user --native: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	login := func(tlsConf *tls.Config) (string, error) {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "n", "a-token", "tcp", m.Addr()
		cfg.AllowCleartextPasswords, cfg.TLS, cfg.Timeout = true, tlsConf, 10*time.Second
		cfg.Logger = &mysql.NopLogger{}
		cn, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cn.Connect(context.Background())
		if err != nil {
			return "", err
		}
		c.Close()
		return "ok", nil
	}
	if _, err := login(m.TLSConfig()); err != nil {
		t.Errorf("native user over TLS: %v", err)
	}
	var me *mysql.MySQLError
	if _, err := login(nil); !errors.As(err, &me) || me.Number != 1045 {
		t.Errorf("native user without TLS: %v, want 1045", err)
	}
}

// backend_source_address is read from [[postgres]] and [[mysql]] tables.
func TestConfigBackendSourceAddress(t *testing.T) {
	t.Parallel()
	p := writeFile(t, t.TempDir(), "iamdb.toml", "[[postgres]]\ndatabase = \"pg\"\nbackend_source_address = \"127.0.0.2\"\n"+gatewayFilesTOML+
		"\n[[mysql]]\ndatabase = \"my\"\nbackend_source_address = \"10.9.8.7\"\n"+gatewayFilesTOML)
	got, err := loadConfig(p, noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := got.Postgres[0].BackendSourceAddress, got.MySQL[0].BackendSourceAddress; a != "127.0.0.2" || b != "10.9.8.7" {
		t.Errorf("backend_source_address = %q, %q; want 127.0.0.2, 10.9.8.7", a, b)
	}
}

// --apply builds pam_iamdb.so when --module does not exist (before the PAM service file
// that names it is written), leaves it alone once it does, and builds it again with
// --rebuild-module; --check reports a missing module.
func TestNativeSetupApplyBuildsModule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	module := filepath.Join(dir, "security", "pam_iamdb.so")
	if err := os.Mkdir(filepath.Dir(module), 0o755); err != nil {
		t.Fatal(err)
	}
	cnf := filepath.Join(dir, "native.cnf")
	args := []string{"native-setup", "--engine", "mariadb", "--mariadb-auth", "pam", "--socket", "/run/iamdb/my.sock", "--module", module,
		"--pam-dir", dir, "--cnf", cnf}
	if out, _, status := runCLI(t, append(args, "--check")...); status != 1 || !strings.Contains(out, module+": the PAM module is missing\n") {
		t.Errorf("--check without the module: status %d, output %q", status, out)
	}
	out, errOut, status := runCLIErr(t, append(args, "--apply")...)
	if status != 0 && strings.Contains(errOut, "C toolchain for PAM modules missing") {
		needTool(t, false, "a C compiler and libpam's headers ("+strings.TrimSpace(errOut)+")", "apt-get install gcc libpam0g-dev")
	}
	if status != 0 || !strings.HasPrefix(out, "built: "+module+" (pam_iamdb.so)\n") || !strings.Contains(out, "wrote: "+filepath.Join(dir, "iamdb")) {
		t.Fatalf("--apply without the module: status %d, output %q, stderr %q", status, out, errOut)
	}
	f, err := elf.Open(module)
	if err != nil {
		t.Fatalf("the built module is not an ELF file: %v", err)
	}
	syms, _ := f.DynamicSymbols()
	f.Close()
	found := false
	for _, s := range syms {
		found = found || s.Name == "pam_sm_authenticate"
	}
	if !found {
		t.Errorf("the built module does not export pam_sm_authenticate")
	}
	fi, err := os.Stat(module)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("module mode = %v, %v; want 0755", fi, err)
	}
	if out, _, status := runCLI(t, append(args, "--check")...); status != 0 {
		t.Errorf("--check after --apply: status %d, output %q", status, out)
	}
	// Present: not rebuilt.
	old := []byte("not a module, but present")
	if err := os.WriteFile(module, old, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, _, status := runCLI(t, append(args, "--apply")...); status != 0 || strings.Contains(out, "built:") {
		t.Errorf("--apply with the module present: status %d, output %q; want it left alone", status, out)
	}
	if got, _ := os.ReadFile(module); !bytes.Equal(got, old) {
		t.Error("--apply replaced a module that was present")
	}
	if out, _, status := runCLI(t, append(args, "--apply", "--rebuild-module")...); status != 0 || !strings.HasPrefix(out, "built: "+module) || !strings.Contains(out, "unchanged: ") {
		t.Errorf("--apply --rebuild-module: status %d, output %q", status, out)
	}
	if got, _ := os.ReadFile(module); bytes.Equal(got, old) {
		t.Error("--rebuild-module left the old module in place")
	}
	if _, errOut, status := runCLIErr(t, append(args, "--rebuild-module")...); status != 2 || !strings.Contains(errOut, "--rebuild-module goes with --apply") {
		t.Errorf("--rebuild-module without --apply: status %d, stderr %q", status, errOut)
	}
}

// Without a C compiler --apply fails before writing anything, naming what to install.
func TestNativeSetupApplyWithoutCompiler(t *testing.T) {
	t.Setenv("CC", "/nonexistent/cc")
	dir := t.TempDir()
	module := filepath.Join(dir, "pam_iamdb.so")
	_, errOut, status := runCLIErr(t, "native-setup", "--engine", "mariadb", "--mariadb-auth", "pam", "--socket", "/run/iamdb/my.sock",
		"--module", module, "--pam-dir", dir, "--cnf", filepath.Join(dir, "native.cnf"), "--apply")
	if status != 1 || !strings.Contains(errOut, "cannot build "+module) || !strings.Contains(errOut, "apt-get install gcc libpam0g-dev") {
		t.Errorf("--apply without a compiler: status %d, stderr %q", status, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--apply without a compiler wrote %d files, want none", len(entries))
	}
}

// native-setup for MariaDB's default, the plugin, against the system's mariadbd: --apply
// builds auth_iamdb.so into --plugin-dir and writes the option file, and mariadbd reads
// that file, loads the plugin and takes its settings (--help --verbose prints the values
// it would run with). Without the plugin the file still lets the server start (loose_).
func TestNativeSetupPluginMariaDBD(t *testing.T) {
	t.Parallel()
	mariadbd, _, err := localdb.FindMariaDB()
	needTool(t, err == nil, "MariaDB's server", "apt-get install mariadb-server")
	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "plugin")
	if err := os.Mkdir(pluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(pluginDir, "auth_iamdb.so")
	cnf := filepath.Join(dir, "99-iamdb-native.cnf")
	const socket = "/run/iamdb-test/my-1+a@b:c.sock"
	args := []string{"native-setup", "--engine", "mariadb", "--socket", socket, "--timeout", "1500", "--cnf", cnf, "--plugin-dir", pluginDir}

	if out, _, status := runCLI(t, append(args, "--check")...); status != 1 || out != plugin+": the MariaDB plugin (AWSAuthenticationPlugin) is missing\n"+cnf+": missing (the MariaDB option file)\n" {
		t.Errorf("--check before --apply: status %d, output %q", status, out)
	}
	out, errOut, status := runCLIErr(t, append(args, "--apply")...)
	if status != 0 && strings.Contains(errOut, "C toolchain for PAM modules missing") {
		needTool(t, false, "a C compiler and MariaDB's plugin headers ("+strings.TrimSpace(errOut)+")", "apt-get install gcc libmariadbd-dev")
	}
	if status != 0 || !strings.HasPrefix(out, "built: "+plugin+" (auth_iamdb.so)\n") || !strings.Contains(out, "wrote: "+cnf+" (MariaDB option file); now restart MariaDB") {
		t.Fatalf("--apply: status %d, output %q, stderr %q", status, out, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("--apply wrote %d entries in %s, want the option file and the plugin directory", len(entries), dir)
	}
	if out, _, status := runCLI(t, append(args, "--check")...); status != 0 {
		t.Errorf("--check after --apply: status %d, output %q", status, out)
	}
	if out, _, status := runCLI(t, append(args, "--apply")...); status != 0 || out != "unchanged: "+cnf+" (MariaDB option file)\n" {
		t.Errorf("second --apply: status %d, output %q; want the option file unchanged, nothing built", status, out)
	}

	// What mariadbd makes of the file: option name, then value.
	server := func(pluginDir string) (map[string]string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(mariadbd, "--defaults-file="+cnf, "--plugin-dir="+pluginDir, "--help", "--verbose")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
		}
		vars := map[string]string{}
		for _, l := range strings.Split(stdout.String(), "\n") {
			if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[0], "awsauthenticationplugin") {
				vars[f[0]] = f[1]
			}
		}
		return vars, stderr.String()
	}
	vars, stderr := server(pluginDir)
	want := map[string]string{"awsauthenticationplugin": "ON", "awsauthenticationplugin-socket": socket, "awsauthenticationplugin-timeout": "1500"}
	if fmt.Sprint(vars) != fmt.Sprint(want) || strings.Contains(stderr, "[ERROR]") || strings.Contains(stderr, "unknown variable") {
		t.Errorf("mariadbd with the option file: %v, want %v; stderr:\n%s", vars, want, stderr)
	}
	vars, stderr = server(t.TempDir())
	if len(vars) != 0 || !strings.Contains(stderr, "Couldn't load plugins from 'auth_iamdb.so'") {
		t.Errorf("mariadbd with the option file and no plugin: %v, stderr:\n%s\nwant it to start without the plugin", vars, stderr)
	}
}
