package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iamdb/iamdb/internal/native"
	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/nativesetup"
)

// The native mode checks: the local verifier's socket, and native-setup's
// files.

// Doctor's probe of the verifier: a request whose token is not a token, so that the
// answer is a refusal with its reason ("malformed") whatever the policies say. No real
// token is ever sent or shown. The verifier's log names NativeProbeUser.
const (
	NativeProbeUser  = "iamdb-doctor"
	nativeProbeToken = "iamdb-doctor-probe:not-a-token"
)

// checkNativeSocket reports whether the local verifier listens on socket, how the socket
// file is protected, and whether the verifier answers (alive).
func checkNativeSocket(ctx context.Context, socket string) (rs []Result, alive bool) {
	fi, err := os.Lstat(socket)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []Result{fail("native", socket+": no such socket", "start iamdb serve with a native endpoint on this socket (the path the PAM service file's socket= or MariaDB's awsauthenticationplugin_socket names)")}, false
	case err != nil:
		return []Result{fail("native", err.Error(), "run iamdb doctor as root or as the database's OS user")}, false
	case fi.Mode().Type() != fs.ModeSocket:
		return []Result{fail("native", fmt.Sprintf("%s is not a socket (%s)", socket, fi.Mode().Type()), "remove it and let iamdb serve's native endpoint create the socket there")}, false
	}
	perm := fi.Mode().Perm()
	owner := ""
	if uid, gid, ok := nativesetup.FileOwner(fi); ok {
		owner = fmt.Sprintf(", owner %s, group %s", userName(uid), groupName(gid))
	}
	if perm&0o002 != 0 {
		rs = append(rs, warn("native", fmt.Sprintf("%s: mode %#o%s: every local user can ask the verifier about tokens", socket, perm, owner),
			"give the native endpoint mode 0660 (its default) and the database's group, so that only the database's OS user and root reach it"))
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := native.Ask(actx, socket, native.Request{User: NativeProbeUser, Token: nativeProbeToken})
	switch {
	case err != nil:
		hint := "check iamdb serve's log"
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			hint = "nothing accepts on it (a verifier that is gone left it behind): start iamdb serve with its native endpoint"
		case errors.Is(err, fs.ErrPermission):
			hint = fmt.Sprintf("uid %d may not connect (the socket's mode and group): run iamdb doctor as root or as the database's OS user", os.Getuid())
		case errors.Is(err, context.DeadlineExceeded):
			hint = "the verifier did not answer within 5 s: is iamdb serve stuck or overloaded? check its log"
		default:
			hint = fmt.Sprintf("the verifier closed without answering: it answers only the uids it allows (SO_PEERCRED), and uid %d may not be one of them; its log says \"native peer refused\" then", os.Getuid())
		}
		return append(rs, fail("native", fmt.Sprintf("%s: no answer: %v", socket, err), hint)), false
	case resp.Allow:
		return append(rs, fail("native", socket+": the verifier allowed a probe that is not a token", "this is not iamdb's verifier, or it is badly broken: stop it and report it")), false
	case resp.Reason == "":
		return append(rs, fail("native", socket+": the verifier refused the probe without a reason", "upgrade iamdb: its verifier should say why it refuses")), false
	}
	return append(rs, ok("native", fmt.Sprintf("%s: mode %#o%s; the verifier answers (a probe that is not a token: refused, %s)", socket, perm, owner, resp.Reason))), true
}

// checkNativeLogin asks the verifier on socket whether user may log in with tok from
// source (PAM_RHOST, "" for none), as the PAM module would, and reports its verdict.
// The token is never printed.
func checkNativeLogin(ctx context.Context, socket, user, source, tok string) Result {
	req := native.Request{User: user, Host: source, Token: tok}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	from := "no client address (PAM_RHOST), so no aws:SourceIp"
	if source != "" {
		from = "from " + source
	}
	resp, err := native.Ask(actx, socket, req)
	switch {
	case err != nil:
		// Ask's errors hold no request bytes; WriteRequest's name the field and its length.
		return fail("native_login", fmt.Sprintf("%s: %v", user, err), "")
	case resp.Allow:
		return ok("native_login", fmt.Sprintf("%s: allowed by the verifier (%s)", user, from))
	}
	return fail("native_login", fmt.Sprintf("%s: refused by the verifier (%s; %s)", user, resp.Reason, from), nativeLoginHint(resp.Reason))
}

// nativeLoginHint says how to fix a refusal of the verifier.
func nativeLoginHint(reason string) string {
	switch reason {
	case "port-not-allowed":
		return "in native mode the token names the database's own port, not the gateway's: sign for the port clients dial"
	case "host-not-allowed":
		return "sign for a name the database is registered with (aws rds describe-db-instances/-clusters)"
	case "implicit-deny":
		return "attach a policy allowing rds-db:connect on the user's dbuser ARN; an IpAddress condition on aws:SourceIp needs --native-source (MariaDB through PAM sends none; its AWSAuthenticationPlugin sends the client's)"
	case "explicit-deny":
		return "a Deny statement matched: iamdb serve's log names it"
	}
	return "docs/troubleshooting.md has the reason " + strconv.Quote(reason) + "; iamdb serve's log has the detail"
}

// userName returns the name of uid, or the number.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// groupName returns the name of gid, or the number.
func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

// checkNativeSetup compares the files of native-setup with o (as native-setup --check)
// with the disk and reports each difference. Its error is o's (nativesetup.ErrOptions).
func checkNativeSetup(o nativesetup.Options) ([]Result, error) {
	o.Locate = true
	plan, err := nativesetup.New(o)
	if err != nil {
		return nil, err
	}
	diffs := plan.Check()
	if len(diffs) == 0 {
		return []Result{ok("native_setup", fmt.Sprintf("%s: the files are what iamdb native-setup --apply writes", o.Engine))}, nil
	}
	var rs []Result
	for _, d := range diffs {
		rs = append(rs, warn("native_setup", d, ""))
	}
	rs[len(rs)-1].Fix = "iamdb native-setup " + strings.Join(o.Args(), " ") + " --apply (then reload PostgreSQL, or restart MariaDB)"
	return rs, nil
}

// checkPAMOther reports, for MariaDB through PAM (o.Engine), what PAM's fallback service
// <pam-dir>/other loads: libpam parses it and loads its modules at every pam_start, and
// MariaDB's PAM plugin starts PAM for every login inside the server. Modules beyond
// pam_deny, pam_warn and pam_permit (Debian's common-* stack) are an informational
// finding, never a failure: hardening "other" changes every service without its own file,
// which is the administrator's call.
func checkPAMOther(o nativesetup.Options) Result {
	dir := o.PAMDir
	if dir == "" {
		dir = "/etc/pam.d"
	}
	read := func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		s, err := readPAMFile(name)
		return []byte(s), err
	}
	other := filepath.Join(dir, nativeconf.OtherService)
	mods, err := nativeconf.PAMModules(nativeconf.OtherService, read)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !fileExists(other):
		return ok("pam_other", other+": none (no fallback service: nothing more is loaded per login)")
	case err != nil:
		return skip("pam_other", fmt.Sprintf("%s: cannot read what it loads: %v", other, err))
	}
	extra := nativeconf.ExtraModules(mods)
	if len(extra) == 0 {
		return ok("pam_other", fmt.Sprintf("%s loads only %s: cheap at every MariaDB PAM login", other, strings.Join(mods, ", ")))
	}
	h := o
	h.HardenPAMOther = true
	r := ok("pam_other", fmt.Sprintf("%s (PAM's fallback service, parsed at every pam_start) loads %s at every MariaDB PAM login", other, strings.Join(extra, ", ")))
	r.Fix = "a deny-only fallback saves mariadbd about 0.1 ms of CPU per login (about 4 ms without the service's keep_loaded; docs/benchmarks.md): iamdb native-setup " + strings.Join(h.Args(), " ") +
		" --apply (it denies every PAM service without its own file in " + dir + ": give those their own file first; docs/native-mode.md)"
	return r
}

func fileExists(name string) bool { _, err := os.Lstat(name); return err == nil }
