package pammodule

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed c/pam_iamdb.c
var source []byte

// ErrToolchainMissing is wrapped by Build's error when the machine lacks what building the
// module needs: a C compiler, or libpam's headers and library (Debian: libpam0g-dev).
var ErrToolchainMissing = errors.New("pammodule: C toolchain for PAM modules missing")

// cflags are the compiler flags of every build: position-independent shared object, only the
// three pam_sm_* functions exported, fortified and with stack protection, bound immediately.
var cflags = []string{
	"-std=c11", "-O2", "-Wall", "-Wextra",
	"-fPIC", "-shared", "-fvisibility=hidden",
	"-D_FORTIFY_SOURCE=2", "-fstack-protector-strong",
	"-Wl,-z,relro", "-Wl,-z,now",
}

// Source returns the module's C source.
func Source() []byte { return bytes.Clone(source) }

// Build compiles the module to out (mode 0755) with the system's C compiler ($CC or cc)
// and libpam's headers; a clear error says what is missing (e.g. "install libpam0g-dev").
//
// The module is compiled to a temporary file beside out and renamed over it, so a process
// that loads out never sees a half-written file. Errors about a missing compiler or libpam
// wrap ErrToolchainMissing.
func Build(ctx context.Context, out string) error {
	return build(ctx, out, nil)
}

// build is Build with extra compiler flags (the tests add -Werror).
func build(ctx context.Context, out string, extra []string) (err error) {
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	ccPath, err := exec.LookPath(cc[0])
	if err != nil {
		return fmt.Errorf("%w: no C compiler %q (install gcc, or set CC): %v", ErrToolchainMissing, cc[0], err)
	}

	src, err := os.MkdirTemp("", "pam_iamdb-src-")
	if err != nil {
		return fmt.Errorf("pammodule: %w", err)
	}
	defer os.RemoveAll(src)
	srcFile := filepath.Join(src, "pam_iamdb.c")
	if err := os.WriteFile(srcFile, source, 0o600); err != nil {
		return fmt.Errorf("pammodule: %w", err)
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

	args := append(append(append([]string{}, cc[1:]...), cflags...), extra...)
	args = append(args, "-o", tmpName, srcFile, "-lpam")
	cmd := exec.CommandContext(ctx, ccPath, args...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(output.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		if strings.Contains(msg, "security/pam_") || strings.Contains(msg, "-lpam") {
			return fmt.Errorf("%w: libpam's headers or library not found (install libpam0g-dev): %s", ErrToolchainMissing, msg)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("pammodule: compile pam_iamdb.c: %w", ctx.Err())
		}
		return fmt.Errorf("pammodule: compile pam_iamdb.c with %s: %w: %s", cc[0], err, msg)
	}
	if err := os.Chmod(tmpName, 0o755); err != nil {
		return fmt.Errorf("pammodule: %w", err)
	}
	if err := os.Rename(tmpName, out); err != nil {
		return fmt.Errorf("pammodule: install the module as %s: %w", out, err)
	}
	return nil
}
