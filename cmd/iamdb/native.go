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

// nativeSetupFlags holds native-setup's flags.
type nativeSetupFlags struct {
	engine, socket, service, module    string
	addresses, gatewaySource, hba, cnf string
	pamDir                             string
	timeout                            int
	apply, check, rebuild              bool
	set                                map[string]bool // the flags given
}

func runNativeSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, help, err := parseNativeSetup(args, stdout, stderr)
	if help || err != nil {
		return err
	}
	if o.module == "" {
		o.module = filepath.Join(pamModuleDir(runtime.GOARCH, fileExists), "pam_iamdb.so")
	}
	// Linux-PAM reads a relative module path in its module directory.
	modulePath := o.module
	if !filepath.IsAbs(modulePath) {
		modulePath = filepath.Join(pamModuleDir(runtime.GOARCH, fileExists), modulePath)
	}
	pamText, err := nativeconf.PAMService(nativeconf.PAM{Module: o.module, Socket: o.socket, TimeoutMS: o.timeout})
	if err != nil {
		return usagef("native-setup: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	files := []nativeFile{{
		what: "PAM service file", path: filepath.Join(o.pamDir, o.service), mode: 0o644,
		want:  func([]byte) ([]byte, error) { return []byte(pamText), nil },
		after: "PAM reads it at each login",
	}}
	ef, err := nativeEngineFile(o)
	if err != nil {
		return err
	}
	files = append(files, ef)
	switch {
	case o.check:
		return checkNative(files, modulePath, stdout)
	case o.apply:
		return applyNative(ctx, files, modulePath, o.rebuild, stdout)
	}
	printNative(files, modulePath, stdout)
	return nil
}

// parseNativeSetup parses and checks native-setup's flags.
func parseNativeSetup(args []string, stdout, stderr io.Writer) (o nativeSetupFlags, help bool, err error) {
	fs := flag.NewFlagSet("iamdb native-setup", flag.ContinueOnError)
	fs.StringVar(&o.engine, "engine", "", "postgres or mariadb")
	fs.StringVar(&o.socket, "socket", "", "the local verifier's Unix socket")
	fs.StringVar(&o.service, "service", nativeconf.DefaultService, "PAM service name")
	fs.StringVar(&o.module, "module", "", "path of pam_iamdb.so")
	fs.IntVar(&o.timeout, "timeout", 0, "the module's timeout in milliseconds (0: its default)")
	fs.StringVar(&o.addresses, "addresses", "", "client addresses (CIDR, comma-separated) for pg_hba's pam lines")
	fs.StringVar(&o.gatewaySource, "gateway-source", "", "address an iamdb gateway dials the database from")
	fs.StringVar(&o.hba, "hba", "", "pg_hba.conf to edit")
	fs.StringVar(&o.cnf, "cnf", defaultCnf, "MariaDB option file to write")
	fs.StringVar(&o.pamDir, "pam-dir", "/etc/pam.d", "directory of PAM service files")
	fs.BoolVar(&o.apply, "apply", false, "write the files")
	fs.BoolVar(&o.check, "check", false, "compare the files with what --apply would write")
	fs.BoolVar(&o.rebuild, "rebuild-module", false, "with --apply: build pam_iamdb.so even if --module exists")
	if help, err := parseFlags(fs, nativeSetupUsage, args, stdout, stderr); help || err != nil {
		return o, help, err
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return o, false, usagef("native-setup: unexpected argument %q", fs.Arg(0))
	case o.apply && o.check:
		return o, false, usagef("native-setup: --apply and --check exclude each other")
	case o.rebuild && !o.apply:
		return o, false, usagef("native-setup: --rebuild-module goes with --apply")
	case o.socket == "":
		return o, false, usagef("native-setup: --socket (the local verifier's Unix socket) is required")
	case !filepath.IsAbs(o.socket):
		return o, false, usagef("native-setup: --socket %q must be an absolute path", o.socket)
	}
	if err := nativeconf.CheckService(o.service); err != nil {
		return o, false, usagef("native-setup: --service: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	return o, false, nil
}

// nativeEngineFile returns the engine's own file: pg_hba.conf's block or MariaDB's
// option file.
func nativeEngineFile(o nativeSetupFlags) (nativeFile, error) {
	switch o.engine {
	case "postgres", "postgresql":
		if o.set["cnf"] {
			return nativeFile{}, usagef("native-setup: --cnf is for --engine mariadb")
		}
		return nativeHBAFile(o)
	case "mariadb", "mysql":
		for _, f := range []string{"addresses", "gateway-source", "hba"} {
			if o.set[f] {
				return nativeFile{}, usagef("native-setup: --%s is for --engine postgres", f)
			}
		}
		return nativeFile{
			what: "MariaDB option file", path: o.cnf, mode: 0o644,
			want:  func([]byte) ([]byte, error) { return []byte(nativeconf.MariaDBConf()), nil },
			after: "restart MariaDB (pam_use_cleartext_plugin is read-only), then create users with iamdb create-db-user --native --pam-service " + o.service,
		}, nil
	case "":
		return nativeFile{}, usagef("native-setup: --engine postgres|mariadb is required")
	default:
		return nativeFile{}, usagef("native-setup: --engine %q must be postgres or mariadb", o.engine)
	}
}

// nativeHBAFile returns pg_hba.conf's block for PostgreSQL.
func nativeHBAFile(o nativeSetupFlags) (nativeFile, error) {
	h := nativeconf.HBA{Service: o.service}
	if o.addresses != "" {
		for _, a := range strings.Split(o.addresses, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(a))
			if err != nil {
				return nativeFile{}, usagef("native-setup: --addresses: %v", err)
			}
			h.Addresses = append(h.Addresses, p)
		}
	}
	if o.gatewaySource != "" {
		a, err := netip.ParseAddr(o.gatewaySource)
		if err != nil {
			return nativeFile{}, usagef("native-setup: --gateway-source: %v", err)
		}
		h.GatewaySource = a
	}
	block, err := nativeconf.HBABlock(h)
	if err != nil {
		return nativeFile{}, usagef("native-setup: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	path := o.hba
	if path == "" && (o.apply || o.check) {
		m, _ := filepath.Glob("/etc/postgresql/*/main/pg_hba.conf")
		if len(m) != 1 {
			return nativeFile{}, usagef("native-setup: --hba: name the server's pg_hba.conf (SHOW hba_file); found %d under /etc/postgresql", len(m))
		}
		path = m[0]
	}
	if path == "" {
		path = "pg_hba.conf (SHOW hba_file)"
	}
	return nativeFile{
		what: "pg_hba.conf block (at the top)", path: path, mustExist: true,
		want: func(cur []byte) ([]byte, error) {
			if cur == nil {
				return []byte(block), nil
			}
			s, err := nativeconf.ApplyHBA(string(cur), block)
			return []byte(s), err
		},
		after: "reload PostgreSQL: SELECT pg_reload_conf()",
	}, nil
}

// printNative prints what --apply would write, and a note if the module is missing.
func printNative(files []nativeFile, modulePath string, stdout io.Writer) {
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
