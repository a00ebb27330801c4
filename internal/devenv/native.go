package devenv

// iamdb dev's native mode: its throwaway PostgreSQL and MariaDB also take IAM logins on
// their own ports, through PAM (pam_iamdb.so) and the local verifier, as an RDS database
// does; MariaDB also loads AWSAuthenticationPlugin (auth_iamdb.so), RDS for MySQL's own
// way, which asks the verifier with no PAM in between, when it can be built (MariaDB's
// server plugin headers). Each server's directory (owned by its OS user, removed when it
// stops) holds its copy of the module (and plugin) and its verifier socket; the PAM service files, which Linux-PAM only
// reads from /etc/pam.d, are named iamdb-dev-<random>-pg and -mysql and removed when dev
// stops. A run killed with SIGKILL leaves its service files behind, with the module they
// name gone with the servers' directories: the next run removes such files.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/native/pammodule"
	"github.com/iamdb/iamdb/internal/nativeconf"
)

// PAMDir is where dev writes its PAM service files: Linux-PAM's /etc/pam.d.
const PAMDir = "/etc/pam.d"

// pamPrefix begins the names of dev's PAM service files.
const pamPrefix = "iamdb-dev-"

// nativeMode is dev's native mode: on, or off and why.
type nativeMode struct {
	off       string // why native mode is off; "" when it is on
	module    string // the module built for this run, copied into each server's directory
	plugin    string // MariaDB's AWSAuthenticationPlugin built for this run; "" if it cannot be
	pluginOff string // why plugin is ""
	buildDir  string // module's temporary directory
	pgService string // the PAM services of PostgreSQL and MariaDB
	myService string
	pgSocket  string // the verifier sockets, once the servers run
	mySocket  string
	files     []string // PAM service files written
}

// planNative decides whether dev runs in native mode and, if so, builds the PAM
// module and names the PAM services. Native mode needs root (for /etc/pam.d), Linux
// and a C compiler with libpam's headers; without them it is off, saying why.
func planNative(ctx context.Context, enabled bool, log *slog.Logger) *nativeMode {
	n := &nativeMode{}
	switch {
	case !enabled:
		n.off = "turned off with --native=false"
	case runtime.GOOS != "linux":
		n.off = "native mode runs on Linux only"
	case os.Geteuid() != 0:
		n.off = "PAM reads service files only from " + PAMDir + ", which only root may write: run iamdb dev as root for native ports"
	}
	if n.off != "" {
		return n
	}
	removeStalePAMServices(log)
	dir, err := os.MkdirTemp("", "iamdb-pam-build-")
	if err == nil {
		n.buildDir, n.module = dir, filepath.Join(dir, "pam_iamdb.so")
		err = pammodule.Build(ctx, n.module)
	}
	if err != nil {
		n.off = "cannot build pam_iamdb.so: " + err.Error()
		if errors.Is(err, pammodule.ErrToolchainMissing) {
			n.off += " (apt-get install -y gcc libpam0g-dev)"
		}
		n.remove(log)
		return n
	}
	n.plugin = filepath.Join(dir, nativeconf.PluginName+".so")
	if err := pammodule.BuildMariaDBPlugin(ctx, n.plugin); err != nil {
		n.plugin, n.pluginOff = "", "cannot build MariaDB's AWSAuthenticationPlugin: "+err.Error()
		if errors.Is(err, pammodule.ErrToolchainMissing) {
			n.pluginOff += " (apt-get install -y libmariadbd-dev)"
		}
		log.Warn("MariaDB's native users log in through PAM only", "why", n.pluginOff)
	}
	b := make([]byte, 5)
	rand.Read(b)
	id := pamPrefix + hex.EncodeToString(b)
	n.pgService, n.myService = id+"-pg", id+"-mysql"
	return n
}

// on reports whether native mode is on.
func (n *nativeMode) on() bool { return n.off == "" }

// install copies the module into a server's directory and writes the PAM service that
// hands the server's IAM logins to the verifier socket there, which it returns.
func (n *nativeMode) install(serverDir, service string) (socket string, err error) {
	module := filepath.Join(serverDir, "pam_iamdb.so")
	socket = localdb.NativeSocket(serverDir)
	so, err := os.ReadFile(n.module)
	if err == nil {
		err = os.WriteFile(module, so, 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("dev: native mode: %w", err)
	}
	text, err := nativeconf.PAMService(nativeconf.PAM{Module: module, Socket: socket})
	if err != nil {
		return "", fmt.Errorf("dev: native mode: %w", err)
	}
	file := filepath.Join(PAMDir, service)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("dev: native mode: %w", err)
	}
	n.files = append(n.files, file)
	return socket, nil
}

// remove removes the PAM service files and the build directory.
func (n *nativeMode) remove(log *slog.Logger) {
	for _, f := range n.files {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("removing a PAM service file", "file", f, "err", err)
		}
	}
	n.files = nil
	if n.buildDir != "" {
		os.RemoveAll(n.buildDir)
		n.buildDir = ""
	}
}

// removeStalePAMServices removes the PAM service files of dev runs that did not stop:
// those whose module (in a server directory, removed with it) no longer exists.
func removeStalePAMServices(log *slog.Logger) {
	files, _ := filepath.Glob(filepath.Join(PAMDir, pamPrefix+"*"))
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		module := pamModule(text)
		if module == "" {
			continue
		}
		if _, err := os.Stat(module); errors.Is(err, fs.ErrNotExist) {
			if err := os.Remove(f); err == nil {
				log.Info("removed the PAM service file of a run that did not stop", "file", f)
			}
		}
	}
}

// pamModule returns the module path of a service file's auth line, "" if none.
func pamModule(text []byte) string {
	for line := range bytes.Lines(text) {
		f := strings.Fields(string(line))
		if len(f) >= 3 && f[0] == "auth" && strings.HasSuffix(f[2], "/pam_iamdb.so") {
			return f[2]
		}
	}
	return ""
}
