package nativeconf

import (
	"fmt"
	"strconv"
	"strings"
)

// PluginName is the library of iamdb's MariaDB authentication plugin, AWSAuthenticationPlugin
// (internal/native/pammodule), without its ".so": the name plugin_load_add takes.
const PluginName = "auth_iamdb"

// Bounds of the plugin's settings: the socket path a sockaddr_un holds (108 bytes with the
// NUL; the plugin refuses a longer one at each login), and awsauthenticationplugin_timeout's
// range, which the server enforces.
const (
	MaxSocketPathBytes = 107
	MinPluginTimeoutMS = 50
	MaxPluginTimeoutMS = 30000
)

// MariaDBPlugin describes MariaDB's option file for AWSAuthenticationPlugin.
type MariaDBPlugin struct {
	// Socket is the local verifier's Unix socket (awsauthenticationplugin_socket): an
	// absolute path of at most MaxSocketPathBytes bytes of ASCII letters, digits and
	// "/._-+@:,=~%" (see CheckSocketPath). Required.
	Socket string
	// TimeoutMS is awsauthenticationplugin_timeout in milliseconds, MinPluginTimeoutMS to
	// MaxPluginTimeoutMS; if zero, the setting is left out (the plugin's default, 2000).
	TimeoutMS int
}

// CheckSocketPath refuses a socket path that an option file cannot carry verbatim or that
// cannot be a Unix socket's: empty, relative, longer than MaxSocketPathBytes, or holding
// anything but ASCII letters, digits and "/._-+@:,=~%". MariaDB's option files strip
// quotes, read '#' as a comment, turn backslash sequences into other characters and trim
// white space, so those never reach the server as written; the rest (control characters,
// non-ASCII) has no place in a path the plugin and doctor name in their messages.
func CheckSocketPath(s string) error {
	if s == "" {
		return fmt.Errorf("nativeconf: empty socket path")
	}
	if err := checkSocketLen(s); err != nil {
		return err
	}
	if s[0] != '/' {
		return fmt.Errorf("nativeconf: socket path %q is not absolute", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/._-+@:,=~%", c) >= 0 {
			continue
		}
		what := strconv.QuoteToASCII(string(c))
		if c >= 0x80 {
			what = "a non-ASCII byte"
		}
		return fmt.Errorf("nativeconf: socket path %q holds %s: a MariaDB option file carries only ASCII letters, digits and /._-+@:,=~%% in it", s, what)
	}
	return nil
}

// checkSocketLen refuses a socket path longer than a sockaddr_un holds.
func checkSocketLen(s string) error {
	if len(s) > MaxSocketPathBytes {
		return fmt.Errorf("nativeconf: socket path of %d bytes: a Unix socket's path has at most %d", len(s), MaxSocketPathBytes)
	}
	return nil
}

// MariaDBPluginConf returns the MariaDB option file of native mode with iamdb's
// AWSAuthenticationPlugin: the plugin loaded at start, with the verifier's socket and, if
// set, its timeout.
//
//	[mariadb]
//	plugin_load_add = auth_iamdb
//	loose_awsauthenticationplugin_socket = <socket>
//	loose_awsauthenticationplugin_timeout = <ms>     (if TimeoutMS)
//
// The loose_ prefix makes the settings a warning, not a fatal "unknown variable", when the
// plugin does not load (its file missing, or built for another server version): MariaDB
// then starts without it, password accounts keep working, and the plugin's users are
// refused (fail closed) until it loads. It sets no require_secure_transport, as
// MariaDBConf.
func MariaDBPluginConf(p MariaDBPlugin) (string, error) {
	if err := CheckSocketPath(p.Socket); err != nil {
		return "", err
	}
	if p.TimeoutMS != 0 && (p.TimeoutMS < MinPluginTimeoutMS || p.TimeoutMS > MaxPluginTimeoutMS) {
		return "", fmt.Errorf("nativeconf: timeout %d ms out of the plugin's range %d..%d", p.TimeoutMS, MinPluginTimeoutMS, MaxPluginTimeoutMS)
	}
	var b strings.Builder
	b.WriteString(`# Written by iamdb native-setup: IAM database logins through AWSAuthenticationPlugin
# (` + PluginName + `.so), RDS for MySQL's design: the plugin hands the token to iamdb's local
# verifier on awsauthenticationplugin_socket, with the client's address (aws:SourceIp).
# Regenerate with "iamdb native-setup".
#
# Users: CREATE USER 'u'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL
# (iamdb create-db-user --native). Clients send the token with mysql_clear_password, as
# with RDS (mariadb --enable-cleartext-plugin; go-sql-driver allowCleartextPasswords=true).
# The variables are read-only: restart the server after changing them.
# loose_: if the plugin does not load, the server still starts (with a warning in its
# error log) and the plugin's users are refused until it loads.
# No require_secure_transport: native users are created REQUIRE SSL instead, so other
# accounts keep their ways in.
[mariadb]
plugin_load_add = ` + PluginName + `
loose_awsauthenticationplugin_socket = ` + p.Socket + "\n")
	if p.TimeoutMS != 0 {
		b.WriteString("loose_awsauthenticationplugin_timeout = " + strconv.Itoa(p.TimeoutMS) + "\n")
	}
	return b.String(), nil
}
