package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/iamdb/iamdb/internal/native/pammodule"
	"github.com/iamdb/iamdb/internal/nativeconf"
)

const nativeSetupUsage = `usage: iamdb native-setup --engine postgres|mariadb --socket PATH [--service iamdb]
           [--module PATH] [--timeout MS] [--pam-dir /etc/pam.d]
           [--addresses CIDR,...] [--gateway-source ADDR] [--hba FILE]   (postgres)
           [--cnf FILE]                                                  (mariadb)
           [--apply [--rebuild-module] | --check]

Prints (or, with --apply, writes) what a database server needs for iamdb's native mode,
in which the database itself checks IAM auth tokens through PAM: the module pam_iamdb.so
hands the token to iamdb's local verifier on --socket. See docs/native-mode.md.

  the PAM service file     <pam-dir>/<service>, mode 0644 (both engines)
  PostgreSQL               a block at the top of pg_hba.conf: members of rds_iam log in
                           over TLS through PAM (pam pamservice=<service>) from --addresses
                           (default 0.0.0.0/0 and ::/0), with certificates from
                           --gateway-source if an iamdb gateway dials from there, and are
                           rejected on every other way in; everyone else keeps their lines.
                           Then: SELECT pg_reload_conf()
  MariaDB                  an option file (--cnf, default
                           /etc/mysql/mariadb.conf.d/99-iamdb-native.cnf) loading the PAM
                           plugin auth_pam_v1 with pam_use_cleartext_plugin=ON. Then restart
                           the server (the variable is read-only), and create users with
                           iamdb create-db-user --native.

--module defaults to pam_iamdb.so in the system's PAM module directory (the one holding
pam_permit.so; /lib/<multiarch>/security on Debian). --hba defaults to the only
/etc/postgresql/*/main/pg_hba.conf, if there is exactly one.

--apply writes the files idempotently (pg_hba.conf keeps its mode and owner; the block
between its "# BEGIN iamdb native mode" and "# END iamdb native mode" lines is replaced)
and says what changed. It first builds pam_iamdb.so into --module if it is missing there
(with --rebuild-module, even if it exists), with the system's C compiler and libpam's
headers (Debian: apt-get install gcc libpam0g-dev). --check compares the files with what --apply would write and exits
1 with one line per difference.
`

// defaultCnf is where native-setup writes MariaDB's option file: Debian's
// mariadb.conf.d, read last by the 99 prefix.
const defaultCnf = "/etc/mysql/mariadb.conf.d/99-iamdb-native.cnf"

// multiarch maps GOARCH to Debian's multiarch triplet.
var multiarch = map[string]string{
	"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu",
	"arm": "arm-linux-gnueabihf", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
	"riscv64": "riscv64-linux-gnu", "mips64le": "mips64el-linux-gnuabi64",
}

// pamModuleDir returns the system's PAM module directory: the first candidate holding
// pam_permit.so (exists says), else Debian's multiarch directory for goarch.
func pamModuleDir(goarch string, exists func(string) bool) string {
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

// nativeFile is one file native-setup manages.
type nativeFile struct {
	what string // "PAM service file", …
	path string
	mode fs.FileMode // for a new file
	// want returns the file's wanted content given its current one (nil if missing).
	want func(current []byte) ([]byte, error)
	// mustExist: the file is edited, never created (pg_hba.conf).
	mustExist bool
	after     string // what to do once it changed
}

func runNativeSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iamdb native-setup", flag.ContinueOnError)
	engine := fs.String("engine", "", "postgres or mariadb")
	socket := fs.String("socket", "", "the local verifier's Unix socket")
	service := fs.String("service", nativeconf.DefaultService, "PAM service name")
	module := fs.String("module", "", "path of pam_iamdb.so")
	timeout := fs.Int("timeout", 0, "the module's timeout in milliseconds (0: its default)")
	addresses := fs.String("addresses", "", "client addresses (CIDR, comma-separated) for pg_hba's pam lines")
	gatewaySource := fs.String("gateway-source", "", "address an iamdb gateway dials the database from")
	hba := fs.String("hba", "", "pg_hba.conf to edit")
	cnf := fs.String("cnf", defaultCnf, "MariaDB option file to write")
	pamDir := fs.String("pam-dir", "/etc/pam.d", "directory of PAM service files")
	apply := fs.Bool("apply", false, "write the files")
	check := fs.Bool("check", false, "compare the files with what --apply would write")
	rebuild := fs.Bool("rebuild-module", false, "with --apply: build pam_iamdb.so even if --module exists")
	if help, err := parseFlags(fs, nativeSetupUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return usagef("native-setup: unexpected argument %q", fs.Arg(0))
	case *apply && *check:
		return usagef("native-setup: --apply and --check exclude each other")
	case *rebuild && !*apply:
		return usagef("native-setup: --rebuild-module goes with --apply")
	case *socket == "":
		return usagef("native-setup: --socket (the local verifier's Unix socket) is required")
	case !filepath.IsAbs(*socket):
		return usagef("native-setup: --socket %q must be an absolute path", *socket)
	}
	if err := nativeconf.CheckService(*service); err != nil {
		return usagef("native-setup: --service: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	if *module == "" {
		*module = filepath.Join(pamModuleDir(runtime.GOARCH, fileExists), "pam_iamdb.so")
	}
	// Linux-PAM reads a relative module path in its module directory.
	modulePath := *module
	if !filepath.IsAbs(modulePath) {
		modulePath = filepath.Join(pamModuleDir(runtime.GOARCH, fileExists), modulePath)
	}
	pamText, err := nativeconf.PAMService(nativeconf.PAM{Module: *module, Socket: *socket, TimeoutMS: *timeout})
	if err != nil {
		return usagef("native-setup: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	files := []nativeFile{{
		what: "PAM service file", path: filepath.Join(*pamDir, *service), mode: 0o644,
		want:  func([]byte) ([]byte, error) { return []byte(pamText), nil },
		after: "PAM reads it at each login",
	}}

	switch *engine {
	case "postgres", "postgresql":
		if set["cnf"] {
			return usagef("native-setup: --cnf is for --engine mariadb")
		}
		h := nativeconf.HBA{Service: *service}
		if *addresses != "" {
			for _, a := range strings.Split(*addresses, ",") {
				p, err := netip.ParsePrefix(strings.TrimSpace(a))
				if err != nil {
					return usagef("native-setup: --addresses: %v", err)
				}
				h.Addresses = append(h.Addresses, p)
			}
		}
		if *gatewaySource != "" {
			a, err := netip.ParseAddr(*gatewaySource)
			if err != nil {
				return usagef("native-setup: --gateway-source: %v", err)
			}
			h.GatewaySource = a
		}
		block, err := nativeconf.HBABlock(h)
		if err != nil {
			return usagef("native-setup: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
		}
		path := *hba
		if path == "" && (*apply || *check) {
			m, _ := filepath.Glob("/etc/postgresql/*/main/pg_hba.conf")
			if len(m) != 1 {
				return usagef("native-setup: --hba: name the server's pg_hba.conf (SHOW hba_file); found %d under /etc/postgresql", len(m))
			}
			path = m[0]
		}
		if path == "" {
			path = "pg_hba.conf (SHOW hba_file)"
		}
		files = append(files, nativeFile{
			what: "pg_hba.conf block (at the top)", path: path, mustExist: true,
			want: func(cur []byte) ([]byte, error) {
				if cur == nil {
					return []byte(block), nil
				}
				s, err := nativeconf.ApplyHBA(string(cur), block)
				return []byte(s), err
			},
			after: "reload PostgreSQL: SELECT pg_reload_conf()",
		})
	case "mariadb", "mysql":
		for _, f := range []string{"addresses", "gateway-source", "hba"} {
			if set[f] {
				return usagef("native-setup: --%s is for --engine postgres", f)
			}
		}
		files = append(files, nativeFile{
			what: "MariaDB option file", path: *cnf, mode: 0o644,
			want:  func([]byte) ([]byte, error) { return []byte(nativeconf.MariaDBConf()), nil },
			after: "restart MariaDB (pam_use_cleartext_plugin is read-only), then create users with iamdb create-db-user --native --pam-service " + *service,
		})
	case "":
		return usagef("native-setup: --engine postgres|mariadb is required")
	default:
		return usagef("native-setup: --engine %q must be postgres or mariadb", *engine)
	}

	switch {
	case *check:
		return checkNative(files, modulePath, stdout)
	case *apply:
		return applyNative(ctx, files, modulePath, *rebuild, stdout)
	}
	for i, f := range files {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		text, _ := f.want(nil)
		fmt.Fprintf(stdout, "### %s: %s\n### then: %s\n%s", f.what, f.path, f.after, text)
	}
	if !fileExists(modulePath) {
		fmt.Fprintf(stdout, "\n### note: %s does not exist yet: --apply builds it (gcc and libpam0g-dev needed)\n", modulePath)
	}
	return nil
}

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

// checkNative prints one line per file that differs from what applyNative would write,
// and per missing module, and returns exitCode(1) if any.
func checkNative(files []nativeFile, module string, stdout io.Writer) error {
	var diffs []string
	if !fileExists(module) {
		diffs = append(diffs, fmt.Sprintf("%s: the PAM module is missing", module))
	}
	for _, f := range files {
		cur, err := readCurrent(f.path)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", f.path, err))
			continue
		}
		if cur == nil {
			diffs = append(diffs, fmt.Sprintf("%s: missing (the %s)", f.path, f.what))
			continue
		}
		want, err := f.want(cur)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", f.path, err))
			continue
		}
		if !bytes.Equal(cur, want) {
			diffs = append(diffs, fmt.Sprintf("%s: differs from what iamdb native-setup --apply would write (the %s)", f.path, f.what))
		}
	}
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	if len(diffs) > 0 {
		return exitCode(1)
	}
	fmt.Fprintln(stdout, "native mode configuration is up to date")
	return nil
}

// applyNative builds the module if it is missing (or rebuild says so), then writes each
// file that differs from what it should hold, and says what it did and what to do next.
func applyNative(ctx context.Context, files []nativeFile, module string, rebuild bool, stdout io.Writer) error {
	// The module first: the PAM service file that names it must not point at nothing.
	if rebuild || !fileExists(module) {
		if err := pammodule.Build(ctx, module); err != nil {
			if errors.Is(err, pammodule.ErrToolchainMissing) {
				return fmt.Errorf("native-setup: cannot build %s: %w (Debian: apt-get install gcc libpam0g-dev; or build it elsewhere and pass --module)", module, err)
			}
			return fmt.Errorf("native-setup: build %s: %w", module, err)
		}
		fmt.Fprintf(stdout, "built: %s (pam_iamdb.so)\n", module)
	}
	for _, f := range files {
		cur, err := readCurrent(f.path)
		if err != nil {
			return fmt.Errorf("native-setup: %w", err)
		}
		if cur == nil && f.mustExist {
			return fmt.Errorf("native-setup: %s does not exist (the server's pg_hba.conf: SHOW hba_file)", f.path)
		}
		want, err := f.want(cur)
		if err != nil {
			return fmt.Errorf("native-setup: %s: %w", f.path, err)
		}
		if cur != nil && bytes.Equal(cur, want) {
			fmt.Fprintf(stdout, "unchanged: %s (%s)\n", f.path, f.what)
			continue
		}
		if err := writeReplacing(f.path, want, f.mode); err != nil {
			return fmt.Errorf("native-setup: %w", err)
		}
		fmt.Fprintf(stdout, "wrote: %s (%s); now %s\n", f.path, f.what, f.after)
	}
	return nil
}

// writeReplacing replaces name with data atomically (a temporary file in the same
// directory, renamed over it). An existing file's mode and owner are kept; a new one
// gets mode.
func writeReplacing(name string, data []byte, mode fs.FileMode) error {
	uid, gid := -1, -1
	if fi, err := os.Stat(name); err == nil {
		mode = fi.Mode().Perm()
		if u, g, ok := fileOwner(fi); ok {
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
