package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/doctor"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/native"
	"github.com/iamdb/iamdb/internal/native/nativetest"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
	"github.com/iamdb/iamdb/token"
)

// startVerifier serves a real native endpoint (a real authority, a registered database)
// on a new socket with cfg's Mode and AllowedUIDs (nil: this process's uid), and
// returns the socket, the endpoint's log and the authority; it is shut down when t ends.
// Tokens must name localhost:5544.
func startVerifier(t *testing.T, cfg native.Config) (string, *testenv.LogBuffer, *authority.Authority) {
	t.Helper()
	a := authority.New(t, authority.Options{})
	db, err := a.IAM.RegisterDatabase(context.Background(), iam.DatabaseSpec{
		Identifier: "app", Engine: "postgres", Endpoints: []string{"localhost"}, Port: 6432, IAMAuth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Authorizer, err = access.NewAuthorizer(access.Config{Authority: a.IAM, Database: db, Port: 5544, Now: a.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.LogBuffer{}
	cfg.Socket, cfg.Engine, cfg.Logger, cfg.SecureTransport = filepath.Join(testenv.SocketDir(t, "dn"), "v.sock"), "postgres", logs.Logger(), true
	nativetest.Serve(t, cfg)
	return cfg.Socket, logs, a
}

func TestDoctorNativeSocket(t *testing.T) {
	t.Parallel()
	// The verifier answers the probe: a refusal with its reason, which its log records.
	socket, logs, _ := startVerifier(t, native.Config{})
	out, _, status := runCLI(t, "doctor", "--native-socket", socket)
	if status != 0 || !strings.HasPrefix(out, "ok    native       "+socket+": mode 0660, owner ") ||
		!strings.Contains(out, "the verifier answers (a probe that is not a token: refused, malformed)") {
		t.Errorf("doctor --native-socket on a running verifier: status %d\n%s", status, out)
	}
	logs.WaitLine(t, `"msg":"authentication failed"`, `"reason":"malformed"`, `"user":"`+doctor.NativeProbeUser+`"`)

	// Everyone may write to the socket.
	open, _, _ := startVerifier(t, native.Config{Mode: 0o666})
	out, _, status = runCLI(t, "doctor", "--native-socket", open)
	if status != 1 || !strings.Contains(out, "WARN  native       "+open+": mode 0666") || !strings.Contains(out, "every local user can ask") ||
		!strings.Contains(out, "fix: give the native endpoint mode 0660") || !strings.Contains(out, "ok    native") {
		t.Errorf("doctor --native-socket on a socket of mode 0666: status %d\n%s", status, out)
	}

	// A verifier that does not answer this uid (SO_PEERCRED) closes unanswered.
	closed, closedLogs, _ := startVerifier(t, native.Config{AllowedUIDs: []uint32{uint32(os.Getuid()) + 4242}})
	out, _, status = runCLI(t, "doctor", "--native-socket", closed)
	if status != 1 || !strings.Contains(out, "FAIL  native       "+closed+": no answer: ") || !strings.Contains(out, "it answers only the uids it allows") {
		t.Errorf("doctor --native-socket as a uid the verifier does not answer: status %d\n%s", status, out)
	}
	closedLogs.WaitLine(t, `"msg":"native peer refused"`)

	dir := testenv.SocketDir(t, "dn")
	// No socket.
	missing := filepath.Join(dir, "missing.sock")
	if out, _, status := runCLI(t, "doctor", "--native-socket", missing); status != 1 || !strings.Contains(out, "FAIL  native       "+missing+": no such socket") {
		t.Errorf("doctor --native-socket on a missing socket: status %d\n%s", status, out)
	}
	// A file that is not a socket.
	file := writeFile(t, dir, "file.sock", "")
	if out, _, status := runCLI(t, "doctor", "--native-socket", file); status != 1 || !strings.Contains(out, "is not a socket") {
		t.Errorf("doctor --native-socket on a regular file: status %d\n%s", status, out)
	}
	// A socket a verifier that is gone left behind.
	stale := filepath.Join(dir, "stale.sock")
	nativetest.StaleSocket(t, stale)
	if out, _, status := runCLI(t, "doctor", "--native-socket", stale); status != 1 || !strings.Contains(out, "nothing accepts on it") {
		t.Errorf("doctor --native-socket on a stale socket: status %d\n%s", status, out)
	}
}

// doctor --native-engine runs native-setup --check with the same flags: the differences,
// then the native-setup command that fixes them; after that command, all is well.
func TestDoctorNativeSetup(t *testing.T) {
	t.Parallel()
	socket, _, _ := startVerifier(t, native.Config{})
	dir := t.TempDir()
	module := writeFile(t, dir, "pam_iamdb.so", "")
	cnf := filepath.Join(dir, "native.cnf")
	args := []string{"doctor", "--native-socket", socket, "--native-engine", "mariadb", "--native-mariadb-auth", "pam", "--native-module", module,
		"--native-cnf", cnf, "--native-service", "iamdb-my", "--pam-dir", dir}
	out, _, status := runCLI(t, args...)
	fix := "iamdb native-setup --engine mariadb --mariadb-auth pam --socket " + socket + " --pam-dir " + dir + " --service iamdb-my --module " + module + " --cnf " + cnf + " --apply"
	for _, want := range []string{
		"ok    native       ",
		"WARN  native_setup " + filepath.Join(dir, "iamdb-my") + ": missing (the PAM service file)\n",
		"WARN  native_setup " + cnf + ": missing (the MariaDB option file)\n",
		"fix: " + fix,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor --native-engine before native-setup lacks %q:\n%s", want, out)
		}
	}
	if status != 1 {
		t.Errorf("doctor --native-engine before native-setup: status %d, want 1", status)
	}
	setup := strings.Fields(strings.TrimPrefix(fix, "iamdb "))
	if out, errOut, status := runCLI(t, setup...); status != 0 {
		t.Fatalf("%s: status %d\n%s%s", fix, status, out, errOut)
	}
	out, _, status = runCLI(t, args...)
	if status != 0 || !strings.Contains(out, "ok    native_setup mariadb: the files are what iamdb native-setup --apply writes") {
		t.Errorf("doctor --native-engine after native-setup: status %d\n%s", status, out)
	}
	// pam_other: a fallback service loading pam_unix is a note (never a failure) whose
	// command hardens it; afterwards doctor --native-harden-pam-other is all ok.
	writeFile(t, dir, "other", "@include common-auth\n")
	writeFile(t, dir, "common-auth", "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n")
	out, _, status = runCLI(t, args...)
	harden := fix[:len(fix)-len(" --apply")] + " --harden-pam-other --apply"
	if status != 0 || !strings.Contains(out, "ok    pam_other    "+filepath.Join(dir, "other")+" (PAM's fallback service, parsed at every pam_start) loads pam_unix.so") ||
		!strings.Contains(out, harden+" (it denies every PAM service without its own file") {
		t.Errorf("doctor --native-engine mariadb with a pam_unix fallback: status %d, want 0 and a note with %q\n%s", status, harden, out)
	}
	if out, errOut, status := runCLI(t, strings.Fields(strings.TrimPrefix(harden, "iamdb "))...); status != 0 || !strings.Contains(out, "kept: "+filepath.Join(dir, "other.before-iamdb")) {
		t.Fatalf("%s: status %d\n%s%s", harden, status, out, errOut)
	}
	out, _, status = runCLI(t, append(args[:len(args):len(args)], "--native-harden-pam-other")...)
	if status != 0 || !strings.Contains(out, "ok    pam_other    "+filepath.Join(dir, "other")+" loads only pam_warn.so, pam_deny.so") {
		t.Errorf("doctor --native-harden-pam-other after hardening: status %d\n%s", status, out)
	}
	// A difference in the PAM service file: another socket.
	if out, _, status := runCLI(t, append(args[:len(args):len(args)], "--native-timeout", "1500")...); status != 1 ||
		!strings.Contains(out, "WARN  native_setup "+filepath.Join(dir, "iamdb-my")+": differs") {
		t.Errorf("doctor --native-engine with another timeout: status %d\n%s", status, out)
	}
}

// doctor --native-engine mariadb checks MariaDB's default, the plugin: the option file
// and auth_iamdb.so, with a fix that is a native-setup command line, and no pam_other.
func TestDoctorNativeSetupPlugin(t *testing.T) {
	t.Parallel()
	socket, _, _ := startVerifier(t, native.Config{})
	dir := t.TempDir()
	cnf := filepath.Join(dir, "native.cnf")
	plugin := writeFile(t, dir, "auth_iamdb.so", "built elsewhere")
	writeFile(t, dir, "other", "auth required pam_unix.so\n") // what pam_other would note
	args := []string{"doctor", "--native-socket", socket, "--native-engine", "mariadb", "--native-cnf", cnf, "--native-plugin-dir", dir,
		"--native-timeout", "1500", "--pam-dir", dir}
	out, _, status := runCLI(t, args...)
	fix := "iamdb native-setup --engine mariadb --socket " + socket + " --cnf " + cnf + " --plugin-dir " + dir + " --timeout 1500 --apply"
	if status != 1 || !strings.Contains(out, "WARN  native_setup "+cnf+": missing (the MariaDB option file)\n") || !strings.Contains(out, "fix: "+fix) ||
		strings.Contains(out, "pam_other") {
		t.Errorf("doctor --native-engine mariadb before native-setup: status %d, want 1, the option file missing and the fix %q\n%s", status, fix, out)
	}
	if out, errOut, status := runCLI(t, strings.Fields(strings.TrimPrefix(fix, "iamdb "))...); status != 0 || !strings.Contains(out, "wrote: "+cnf) {
		t.Fatalf("%s: status %d\n%s%s", fix, status, out, errOut)
	}
	out, _, status = runCLI(t, args...)
	if status != 0 || !strings.Contains(out, "ok    native_setup mariadb: the files are what iamdb native-setup --apply writes") || strings.Contains(out, "pam_other") {
		t.Errorf("doctor --native-engine mariadb after native-setup: status %d\n%s", status, out)
	}
	os.Remove(plugin)
	if out, _, status = runCLI(t, args...); status != 1 || !strings.Contains(out, "WARN  native_setup "+plugin+": the MariaDB plugin (AWSAuthenticationPlugin) is missing") {
		t.Errorf("doctor --native-engine mariadb without the plugin: status %d\n%s", status, out)
	}
}

// native_login: the verifier's verdict on a token doctor signs itself (--username) or
// finds in $IAMDB_NATIVE_TOKEN (--native-user); the token is never printed.
func TestDoctorNativeLogin(t *testing.T) {
	socket, logs, a := startVerifier(t, native.Config{})
	key := a.User(t, "alice", a.ConnectPolicy("alice"))
	creds := token.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	sign := func(port int) string {
		tok, err := token.Build(fmt.Sprintf("localhost:%d", port), a.Region, "alice", creds, a.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good, gatewayPort := sign(5544), sign(6432)

	t.Setenv(nativeTokenEnv, good)
	out, errOut, status := runCLI(t, "doctor", "--native-socket", socket, "--native-user", "alice", "--native-source", "192.0.2.7")
	if status != 0 || !strings.Contains(out, "ok    native_login alice: allowed by the verifier (from 192.0.2.7)\n") {
		t.Errorf("doctor --native-user with a good token: status %d\n%s%s", status, out, errOut)
	}
	logs.WaitLine(t, `"msg":"connection authorized"`, `"user":"alice"`, `"source":"192.0.2.7"`)

	t.Setenv(nativeTokenEnv, gatewayPort)
	out, errOut, status = runCLI(t, "doctor", "--native-socket", socket, "--native-user", "alice")
	if status != 1 || !strings.Contains(out, "FAIL  native_login alice: refused by the verifier (port-not-allowed; no client address (PAM_RHOST), so no aws:SourceIp)\n") ||
		!strings.Contains(out, "fix: in native mode the token names the database's own port") {
		t.Errorf("doctor --native-user with a token for the gateway's port: status %d\n%s%s", status, out, errOut)
	}

	// doctor signs the token for --username itself (no authority: the TLS check fails,
	// nothing listens on the port; the verifier still judges the token).
	isolateAWS(t, key.AccessKeyID, key.SecretAccessKey, "")
	out, errOut, status = runCLI(t, "doctor", "--hostname", "localhost", "--port", "5544", "--username", "alice",
		"--region", a.Region, "--engine", "postgres", "--native-socket", socket)
	if !strings.Contains(out, "ok    token        built for localhost:5544 as alice") || !strings.Contains(out, "ok    native_login alice: allowed by the verifier") {
		t.Errorf("doctor --username --native-socket: status %d\n%s%s", status, out, errOut)
	}
	for _, tok := range []string{good, gatewayPort} {
		if strings.Contains(out+errOut+logs.String(), tok[strings.Index(tok, "X-Amz-Signature="):]) {
			t.Error("a token's signature appears in doctor's output or the verifier's log")
		}
	}

	t.Setenv(nativeTokenEnv, "")
	if _, errOut, status := runCLIErr(t, "doctor", "--native-socket", socket, "--native-user", "alice"); status != 2 || !strings.Contains(errOut, "$"+nativeTokenEnv+" holds no token") {
		t.Errorf("doctor --native-user without a token: status %d, stderr %q", status, errOut)
	}
}

func TestDoctorNativeUsage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--native-service", "x", "--native-socket", "/s"}, "--native-service goes with --native-engine"},
		{[]string{"--native-engine", "postgres"}, "--native-engine needs --native-socket"},
		{[]string{"--native-engine", "oracle", "--native-socket", "/s"}, `--native-engine "oracle" must be postgres or mariadb`},
		{[]string{"--native-engine", "mariadb", "--native-socket", "relative"}, `--native-socket "relative" must be an absolute path`},
		{[]string{"--native-engine", "mariadb", "--native-socket", "/s", "--native-hba", "/x"}, "--native-hba is for --native-engine postgres"},
		{[]string{"--native-plugin-dir", "/p", "--native-socket", "/s"}, "--native-plugin-dir goes with --native-engine"},
		{[]string{"--native-mariadb-auth", "pam", "--native-socket", "/s"}, "--native-mariadb-auth goes with --native-engine"},
		{[]string{"--native-engine", "mariadb", "--native-socket", "/s", "--native-module", "/m.so"}, "--native-module is for --native-mariadb-auth pam"},
		{[]string{"--native-engine", "mariadb", "--native-socket", "/s", "--native-harden-pam-other"}, "--native-harden-pam-other is for --native-mariadb-auth pam"},
		{[]string{"--native-engine", "mariadb", "--native-socket", "/s", "--native-mariadb-auth", "pam", "--native-plugin-dir", "/p"}, "--native-plugin-dir is for --native-mariadb-auth plugin"},
		{[]string{"--native-engine", "mariadb", "--native-socket", "/s", "--native-mariadb-auth", "x"}, `--native-mariadb-auth "x" must be plugin or pam`},
		{[]string{"--native-engine", "postgres", "--native-socket", "/s", "--native-plugin-dir", "/p"}, "--native-plugin-dir is for --native-engine mariadb"},
		{[]string{"--native-engine", "mariadb", "--native-socket", "/s", "--native-timeout", "20"}, "--native-timeout 20 must be 0 (the plugin's default, 2000) or 50..30000 for --native-mariadb-auth plugin"},
		{[]string{"--native-user", "u"}, "--native-user and --native-source need --native-socket"},
		{[]string{"--native-user", "u", "--native-socket", "/s", "--username", "u"}, "--native-user takes the token from $IAMDB_NATIVE_TOKEN"},
	} {
		_, errOut, status := runCLIErr(t, append([]string{"doctor"}, tt.args...)...)
		if status != 2 || !strings.Contains(errOut, "iamdb: doctor: "+tt.want) {
			t.Errorf("doctor %q: status %d, stderr %q; want 2 and %q", tt.args, status, errOut, tt.want)
		}
	}
}

// doctor --postgres on a real cluster whose pg_hba.conf native-setup wrote: the PAM
// service decides whether the pam lines are IAM logins.
func TestDoctorNativeHBA(t *testing.T) {
	t.Parallel()
	p := localdbtest.Postgres(t, testCA(t))
	ctx := context.Background()
	if err := p.Exec(ctx, `CREATE USER "u" WITH LOGIN`, `GRANT rds_iam TO "u"`); err != nil {
		t.Fatal(err)
	}
	pamDir := t.TempDir()
	module := writeFile(t, t.TempDir(), "pam_iamdb.so", "")
	hba := filepath.Join(p.DataDir(), "pg_hba.conf")
	if out, errOut, status := runCLI(t, "native-setup", "--engine", "postgres", "--socket", "/run/iamdb/pg.sock",
		"--module", module, "--pam-dir", pamDir, "--hba", hba, "--apply"); status != 0 {
		t.Fatalf("native-setup --apply: status %d\n%s%s", status, out, errOut)
	}
	pamFile := filepath.Join(pamDir, "iamdb")
	nativeText, err := os.ReadFile(pamFile)
	if err != nil {
		t.Fatal(err)
	}
	doctor := func(what string, wantStatus int, wants ...string) {
		t.Helper()
		out, errOut, status := runCLI(t, "doctor", "--postgres", p.AdminURL("postgres"), "--pam-dir", pamDir)
		if status != wantStatus {
			t.Errorf("%s: doctor --postgres: status %d, want %d\n%s%s", what, status, wantStatus, out, errOut)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("%s: doctor --postgres lacks %q:\n%s", what, want, out)
			}
		}
	}
	doctor("native-setup's files", 0,
		"ok    pam_service  iamdb: native mode ("+pamFile+": pam_iamdb.so is the first auth rule, required), verifier socket /run/iamdb/pg.sock\n",
		"ok    pg_hba       ",
		"members of rds_iam (1) log in only with a client certificate or an IAM token through PAM (iamdb) over TLS\n")

	// A module that may succeed alone comes first: the pam lines are a way around IAM.
	if err := os.WriteFile(pamFile, append([]byte("auth sufficient pam_unix.so\n"), nativeText...), 0o644); err != nil {
		t.Fatal(err)
	}
	doctor("pam_unix.so sufficient first", 1,
		"WARN  pam_service  iamdb: not native mode: "+pamFile+" line 1: the first auth rule is pam_unix.so (sufficient), not pam_iamdb.so",
		`fix: make "auth required pam_iamdb.so socket=…" the service's first auth rule`,
		`WARN  pg_hba       line 4: "hostssl all +rds_iam 0.0.0.0/0 pam pamservice=iamdb" lets members of rds_iam (u) log in with pam over TLS, without the gateway's certificate or iamdb's native mode: PAM service "iamdb" is not one of iamdb's native services`,
		`WARN  pg_hba       line 5: "hostssl all +rds_iam ::/0 pam pamservice=iamdb"`,
		"fix: reject members of rds_iam right after the gateway's cert line")

	// No service file here.
	if err := os.Remove(pamFile); err != nil {
		t.Fatal(err)
	}
	doctor("no PAM service file", 1,
		"WARN  pam_service  iamdb: "+pamFile+` does not exist here, so PAM uses its "other" service`,
		"fix: run iamdb doctor on the database server (or pass --pam-dir)",
		`WARN  pg_hba       line 4: "hostssl all +rds_iam 0.0.0.0/0 pam pamservice=iamdb" lets`)

	// A native pam line without TLS.
	if err := os.WriteFile(pamFile, nativeText, 0o644); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(conf), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "hostssl") && strings.Contains(l, "0.0.0.0/0") && strings.Contains(l, "pam") {
			lines[i] = "host   " + strings.TrimPrefix(l, "hostssl")
		}
	}
	if err := os.WriteFile(hba, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	doctor("a native pam line on host", 1,
		"ok    pam_service  iamdb: native mode",
		`WARN  pg_hba       line 4: "host all +rds_iam 0.0.0.0/0 pam pamservice=iamdb" has members of rds_iam (u) send IAM tokens to iamdb's PAM service "iamdb" over GSS encryption, unencrypted over TCP: without TLS the token travels in clear`,
		"fix: native mode's pam lines for members of rds_iam must be hostssl")
	out, _, _ := runCLI(t, "doctor", "--postgres", p.AdminURL("postgres"), "--pam-dir", pamDir)
	if strings.Contains(out, "fix: reject members") {
		t.Errorf("doctor --postgres with only a native finding gives the gateway's fix too:\n%s", out)
	}
}
