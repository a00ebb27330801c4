package pammodule

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed c/pam_iamdb.c c/auth_iamdb.c c/iamdb_verifier.h
var sources embed.FS

// source is the PAM module's own file (Source).
var source, _ = sources.ReadFile("c/pam_iamdb.c")

// ErrToolchainMissing is wrapped by Build's error when the machine lacks what building the
// module needs: a C compiler, or libpam's headers and library (Debian: libpam0g-dev); and
// by BuildMariaDBPlugin's when it lacks MariaDB's server plugin headers (libmariadbd-dev).
var ErrToolchainMissing = errors.New("pammodule: C toolchain for PAM modules missing")

// cflags are the compiler flags of every build: position-independent shared object, only the
// entry points exported, fortified and with stack protection, bound immediately.
var cflags = []string{
	"-std=c11", "-O2", "-Wall", "-Wextra",
	"-fPIC", "-shared", "-fvisibility=hidden",
	"-D_FORTIFY_SOURCE=2", "-fstack-protector-strong",
	"-Wl,-z,relro", "-Wl,-z,now",
}

// target is one shared object this package builds.
type target struct {
	file  string   // the C file under c/
	flags []string // more compiler flags, before the source
	libs  []string // after the source
	// missing recognises compiler output that means a missing header or library, and
	// names the package to install.
	missing func(output string) string
}

var pamTarget = target{
	file: "pam_iamdb.c",
	libs: []string{"-lpam"},
	missing: func(out string) string {
		if strings.Contains(out, "security/pam_") || strings.Contains(out, "-lpam") {
			return "libpam's headers or library not found (install libpam0g-dev)"
		}
		return ""
	},
}

// MariaDBHeaderDirs are where BuildMariaDBPlugin looks for MariaDB's server plugin headers
// (mysql/plugin_auth.h): Debian's libmariadbd-dev, then other distributions' layouts.
var MariaDBHeaderDirs = []string{"/usr/include/mariadb/server", "/usr/include/mysql/server", "/usr/local/include/mariadb/server"}

// Source returns the module's C source.
func Source() []byte { return bytes.Clone(source) }

// Build compiles the module to out (mode 0755) with the system's C compiler ($CC or cc)
// and libpam's headers; a clear error says what is missing (e.g. "install libpam0g-dev").
//
// The module is compiled to a temporary file beside out and renamed over it, so a process
// that loads out never sees a half-written file. Errors about a missing compiler or libpam
// wrap ErrToolchainMissing.
func Build(ctx context.Context, out string) error {
	return build(ctx, pamTarget, out, nil)
}

// BuildMariaDBPlugin compiles auth_iamdb.so, MariaDB's AWSAuthenticationPlugin (c/auth_iamdb.c:
// RDS for MySQL's plugin, asking iamdb's local verifier), to out as Build does, against
// MariaDB's server plugin headers (MariaDBHeaderDirs; Debian: libmariadbd-dev). Without the
// headers or a compiler, the error wraps ErrToolchainMissing.
func BuildMariaDBPlugin(ctx context.Context, out string) error {
	return build(ctx, mariaDBTarget(), out, nil)
}

// mariaDBTarget is the plugin's target, with the first header directory that holds
// mysql/plugin_auth.h.
func mariaDBTarget() target {
	t := target{
		file:  "auth_iamdb.c",
		flags: []string{"-DMYSQL_DYNAMIC_PLUGIN"},
		missing: func(out string) string {
			if strings.Contains(out, "mysql/plugin") {
				return "MariaDB's server plugin headers not found (install libmariadbd-dev)"
			}
			return ""
		},
	}
	for _, d := range MariaDBHeaderDirs {
		if _, err := os.Stat(filepath.Join(d, "mysql", "plugin_auth.h")); err == nil {
			t.flags = append(t.flags, "-I"+d)
			break
		}
	}
	return t
}

// build compiles t to out, with extra compiler flags (the tests add -Werror).
func build(ctx context.Context, t target, out string, extra []string) (err error) {
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	ccPath, err := exec.LookPath(cc[0])
	if err != nil {
		return fmt.Errorf("%w: no C compiler %q (install gcc, or set CC): %v", ErrToolchainMissing, cc[0], err)
	}

	src, err := os.MkdirTemp("", "iamdb-c-src-")
	if err != nil {
		return fmt.Errorf("pammodule: %w", err)
	}
	defer os.RemoveAll(src)
	for _, f := range []string{t.file, "iamdb_verifier.h"} {
		b, _ := sources.ReadFile("c/" + f)
		if err := os.WriteFile(filepath.Join(src, f), b, 0o600); err != nil {
			return fmt.Errorf("pammodule: %w", err)
		}
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("pammodule: create the module beside %s: %w", out, err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()

	args := append(append(append(append([]string{}, cc[1:]...), cflags...), t.flags...), extra...)
	args = append(append(args, "-o", tmpName, filepath.Join(src, t.file)), t.libs...)
	cmd := exec.CommandContext(ctx, ccPath, args...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(output.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		if what := t.missing(msg); what != "" {
			return fmt.Errorf("%w: %s: %s", ErrToolchainMissing, what, msg)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("pammodule: compile %s: %w", t.file, ctx.Err())
		}
		return fmt.Errorf("pammodule: compile %s with %s: %w: %s", t.file, cc[0], err, msg)
	}
	if err := os.Chmod(tmpName, 0o755); err != nil {
		return fmt.Errorf("pammodule: %w", err)
	}
	if err := os.Rename(tmpName, out); err != nil {
		return fmt.Errorf("pammodule: install the module as %s: %w", out, err)
	}
	return nil
}
