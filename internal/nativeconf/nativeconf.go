package nativeconf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultService is the PAM service name native mode uses unless told otherwise.
const DefaultService = "iamdb"

// DefaultAddresses are the client addresses pg_hba's pam lines accept when none are
// given: any IPv4 and any IPv6 address.
var DefaultAddresses = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// Marker lines around the pg_hba.conf block. ApplyHBA finds the block by lines that
// start with them.
const (
	BeginMarker = "# BEGIN iamdb native mode"
	EndMarker   = "# END iamdb native mode"
)

// MaxTimeoutMS bounds the module's timeout option: the module waits for the verifier at
// most this long.
const MaxTimeoutMS = 60000

// PAM describes the PAM service file.
type PAM struct {
	// Module is the path of pam_iamdb.so (absolute, or relative to the PAM module
	// directory). Required.
	Module string
	// Socket is the path of the local verifier's Unix socket. Required.
	Socket string
	// TimeoutMS is the module's timeout option in milliseconds; if zero, the option is
	// left out (the module's default).
	TimeoutMS int
}

// checkArg refuses a value PAM's configuration syntax cannot carry as one argument:
// empty, or holding white space (Unicode's too: a reader of the file, or a tool, may split
// on it), brackets (PAM's quoting), '#', a control or other unprintable character, or bytes
// that are not UTF-8.
func checkArg(what, s string) error {
	if s == "" {
		return fmt.Errorf("nativeconf: empty %s", what)
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '[' || r == ']' || r == '#' ||
			r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}); i >= 0 {
		_, n := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("nativeconf: %s %q holds %q, which a PAM service file cannot carry", what, s, s[i:i+n])
	}
	return nil
}

// CheckService refuses a PAM service name that is not a plain file name in /etc/pam.d:
// empty, longer than 64 bytes, or holding anything but lower-case ASCII letters, digits,
// '-', '_' and '.' (not first). Linux-PAM looks service files up by the lower-cased name.
func CheckService(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("nativeconf: PAM service name %q must be 1 to 64 bytes", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0
		if !ok {
			return fmt.Errorf("nativeconf: PAM service name %q: only a-z, 0-9, '-', '_' and '.' (not first)", name)
		}
	}
	return nil
}

// PAMService returns the PAM service file: an auth line that hands the password to the
// module (which asks the verifier) and an account line for the account step both
// databases call after authentication.
//
//	auth    required <module> socket=<sock> [timeout=<ms>] keep_loaded
//	account required <module> socket=<sock>
//
// keep_loaded keeps the PAM stack loaded in a server that authenticates many logins in one
// process (MariaDB), instead of libpam's loading and unloading it per login
// (internal/native/pammodule).
func PAMService(p PAM) (string, error) {
	if err := checkArg("module path", p.Module); err != nil {
		return "", err
	}
	if err := checkArg("socket path", p.Socket); err != nil {
		return "", err
	}
	if err := checkSocketLen(p.Socket); err != nil { // pam_iamdb.so would refuse it at every login
		return "", err
	}
	if p.TimeoutMS < 0 || p.TimeoutMS > MaxTimeoutMS {
		return "", fmt.Errorf("nativeconf: timeout %d ms out of range 0..%d", p.TimeoutMS, MaxTimeoutMS)
	}
	auth := "auth    required " + p.Module + " socket=" + p.Socket
	if p.TimeoutMS > 0 {
		auth += " timeout=" + strconv.Itoa(p.TimeoutMS)
	}
	auth += " keep_loaded"
	return "# Written by iamdb (native mode): IAM database logins through pam_iamdb.so,\n" +
		"# which asks iamdb's local verifier. Regenerate with \"iamdb native-setup\".\n" +
		"# keep_loaded: PAM modules stay loaded between logins in a long-lived server process.\n" +
		auth + "\n" +
		"account required " + p.Module + " socket=" + p.Socket + "\n", nil
}

// HBA describes the pg_hba.conf block.
type HBA struct {
	// Service is the PAM service members of rds_iam authenticate with. If empty,
	// DefaultService.
	Service string
	// Addresses are the client addresses that may log in through PAM over TLS. If
	// empty, DefaultAddresses.
	Addresses []netip.Prefix
	// GatewaySource, if valid, is the address an iamdb gateway in front of the same
	// database dials from: members of rds_iam from it log in with the gateway's client
	// certificates (a cert line before the pam lines).
	GatewaySource netip.Addr
}

// HBABlock returns the pg_hba.conf block of native mode, marker lines included:
//
//	# BEGIN iamdb native mode …
//	hostssl all +rds_iam <gateway source>/32 cert              (if GatewaySource)
//	hostssl all +rds_iam <address> pam pamservice=<service>    (per address)
//	host    all +rds_iam all reject
//	local   all +rds_iam reject
//	# END iamdb native mode
//
// The rejects close every other way in for members of rds_iam (plain TCP, other
// addresses, the unix socket): any role may set itself a password, which must not let an
// IAM user in. Lines for everyone else go after the block and keep working.
func HBABlock(h HBA) (string, error) {
	svc := h.Service
	if svc == "" {
		svc = DefaultService
	}
	if err := CheckService(svc); err != nil {
		return "", err
	}
	addrs := h.Addresses
	if len(addrs) == 0 {
		addrs = DefaultAddresses
	}
	var b strings.Builder
	b.WriteString(BeginMarker + " (written by iamdb native-setup; keep this block first)\n")
	b.WriteString("# Members of rds_iam log in with IAM auth tokens through PAM over TLS, and no other way.\n")
	b.WriteString("# TYPE  DATABASE USER     ADDRESS                   METHOD\n")
	line := func(typ, addr, method string) {
		fmt.Fprintf(&b, "%-7s %-8s %-8s %-25s %s\n", typ, "all", "+rds_iam", addr, method)
	}
	if h.GatewaySource.IsValid() {
		a := h.GatewaySource.Unmap()
		if a.Zone() != "" {
			return "", fmt.Errorf("nativeconf: gateway source %s: no zones", a)
		}
		line("hostssl", netip.PrefixFrom(a, a.BitLen()).String(), "cert")
	}
	for _, p := range addrs {
		if !p.IsValid() {
			return "", errors.New("nativeconf: invalid address prefix")
		}
		p = p.Masked()
		if p.Addr().Zone() != "" {
			return "", fmt.Errorf("nativeconf: address %s: no zones", p)
		}
		line("hostssl", p.String(), "pam pamservice="+svc)
	}
	line("host", "all", "reject")
	fmt.Fprintf(&b, "%-7s %-8s %-8s %-25s %s\n", "local", "all", "+rds_iam", "", "reject")
	b.WriteString(EndMarker + "\n")
	return b.String(), nil
}

// ErrBrokenMarkers means pg_hba.conf holds the markers of the native-mode block in an
// order ApplyHBA cannot trust: a BEGIN without its END, an END without a BEGIN, or more
// than one block.
var ErrBrokenMarkers = errors.New("nativeconf: broken iamdb native mode markers in pg_hba.conf")

// ApplyHBA returns existing with block (from HBABlock) at the top: an earlier block
// between the markers is replaced where it stands, else block goes before the first line.
// Applying the same block twice changes nothing. Broken markers are ErrBrokenMarkers
// (with the line numbers), never a guess.
func ApplyHBA(existing, block string) (string, error) {
	if !strings.HasPrefix(block, BeginMarker) || !strings.HasSuffix(block, EndMarker+"\n") {
		return "", errors.New("nativeconf: block does not start and end with the markers")
	}
	lines := strings.SplitAfter(existing, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, BeginMarker):
			if begin >= 0 {
				return "", fmt.Errorf("%w: a second BEGIN at line %d", ErrBrokenMarkers, i+1)
			}
			begin = i
		case strings.HasPrefix(t, EndMarker):
			if begin < 0 || end >= 0 {
				return "", fmt.Errorf("%w: END at line %d without a BEGIN before it", ErrBrokenMarkers, i+1)
			}
			end = i
		}
	}
	if begin >= 0 && end < 0 {
		return "", fmt.Errorf("%w: BEGIN at line %d without an END", ErrBrokenMarkers, begin+1)
	}
	if begin < 0 {
		return block + existing, nil
	}
	rest := strings.Join(lines[end+1:], "")
	if end == len(lines)-1 && !strings.HasSuffix(lines[end], "\n") {
		rest = "" // the END marker was the file's last line, without a newline
	}
	return strings.Join(lines[:begin], "") + block + rest, nil
}

// MariaDBConf returns the MariaDB option file snippet of native mode: the v1 PAM plugin
// with mysql_clear_password, so that clients send the token as RDS's
// AWSAuthenticationPlugin has them do. It sets no require_secure_transport: that would
// force TLS on every account; native users are created REQUIRE SSL instead.
func MariaDBConf() string {
	return `# Written by iamdb native-setup: IAM database logins through PAM (pam_iamdb.so).
#
# auth_pam_v1, not auth_pam (v2): v2 runs PAM in the setuid helper auth_pam_tool, which
# Debian's package lists but does not always install (the server then dies on the first
# PAM login); v1 runs PAM inside the server. v1 sets no PAM_RHOST, so native MariaDB
# decisions have no aws:SourceIp.
# pam_use_cleartext_plugin: clients send the token with mysql_clear_password, as with
# RDS (mysql --enable-cleartext-plugin; go-sql-driver allowCleartextPasswords=true).
# It is read-only: restart the server after changing it.
# No require_secure_transport: native users are created REQUIRE SSL instead
# (iamdb create-db-user --native), so other accounts keep their ways in.
[mariadb]
plugin_load_add = auth_pam_v1
pam_use_cleartext_plugin = ON
`
}
