package nativesetup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// multiarch maps GOARCH to Debian's multiarch triplet.
var multiarch = map[string]string{
	"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu",
	"arm": "arm-linux-gnueabihf", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
	"riscv64": "riscv64-linux-gnu", "mips64le": "mips64el-linux-gnuabi64",
}

// PAMModuleDir returns the system's PAM module directory: the first candidate holding
// pam_permit.so (exists says), else Debian's multiarch directory for goarch.
func PAMModuleDir(goarch string, exists func(string) bool) string {
	deb := "/lib/security"
	if t, ok := multiarch[goarch]; ok {
		deb = "/lib/" + t + "/security"
	}
	for _, d := range []string{deb, "/usr" + deb, "/lib64/security", "/usr/lib64/security", "/lib/security", "/usr/lib/security"} {
		if exists(filepath.Join(d, "pam_permit.so")) {
			return d
		}
	}
	return deb
}

func fileExists(name string) bool { _, err := os.Stat(name); return err == nil }

// readCurrent returns name's content, nil if it does not exist.
func readCurrent(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// writeReplacing replaces name with data atomically (a temporary file in the same
// directory, renamed over it). An existing file's mode and owner are kept; a new one
// gets mode.
func writeReplacing(name string, data []byte, mode fs.FileMode) error {
	uid, gid := -1, -1
	if fi, err := os.Stat(name); err == nil {
		mode = fi.Mode().Perm()
		if u, g, ok := FileOwner(fi); ok {
			uid, gid = u, g
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".iamdb-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil && uid >= 0 {
		err = tmp.Chown(uid, gid)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// DefaultPluginDir is MariaDB's plugin directory when no server binary says otherwise
// (Debian's and Ubuntu's).
const DefaultPluginDir = "/usr/lib/mysql/plugin"

// mariadbdNames are the MariaDB server's binaries, in the directories it is installed in,
// most likely first.
var mariadbdNames = []string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/libexec/mariadbd", "/usr/libexec/mysqld", "/usr/local/sbin/mariadbd", "/usr/local/bin/mariadbd"}

// SystemPluginDir returns the plugin directory of the system's MariaDB server: the
// plugin-dir that "mariadbd --no-defaults --help --verbose" prints (compiled in, not
// what an option file may set), of the first mariadbd on $PATH or in the usual
// directories; DefaultPluginDir if there is none or it names none.
func SystemPluginDir(ctx context.Context) string {
	candidates := mariadbdNames
	if p, err := exec.LookPath("mariadbd"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, name := range candidates {
		if !fileExists(name) {
			continue
		}
		if dir, err := PluginDirOf(ctx, name); err == nil {
			return dir
		}
		break
	}
	return DefaultPluginDir
}

// maxHelpOutput bounds what PluginDirOf reads of the server's help.
const maxHelpOutput = 4 << 20

// PluginDirOf asks the server binary mariadbd for its compiled-in plugin directory
// (--no-defaults --help --verbose; the output read is bounded).
func PluginDirOf(ctx context.Context, mariadbd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mariadbd, "--no-defaults", "--help", "--verbose")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	b, rerr := io.ReadAll(io.LimitReader(out, maxHelpOutput))
	io.Copy(io.Discard, out) // let the server finish writing
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("%s --help --verbose: %w", mariadbd, err)
	}
	if rerr != nil {
		return "", rerr
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "plugin-dir" && filepath.IsAbs(f[1]) {
			return filepath.Clean(f[1]), nil
		}
	}
	return "", fmt.Errorf("%s --help --verbose names no plugin-dir", mariadbd)
}
