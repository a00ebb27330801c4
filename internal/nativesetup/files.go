package nativesetup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
