package nativesetup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/iamdb/iamdb/internal/native/pammodule"
	"github.com/iamdb/iamdb/internal/nativeconf"
)

// DefaultCnf is where MariaDB's option file goes unless Options.Cnf says otherwise:
// Debian's mariadb.conf.d, read last by the 99 prefix.
const DefaultCnf = "/etc/mysql/mariadb.conf.d/99-iamdb-native.cnf"

// ErrOptions is the category of errors in Options. Their messages name native-setup's
// flags ("nativesetup: --cnf is for --engine mariadb").
var ErrOptions = errors.New("nativesetup: invalid options")

type optionError string

func (e optionError) Error() string   { return "nativesetup: " + string(e) }
func (optionError) Is(err error) bool { return err == ErrOptions }

func optionErrorf(format string, args ...any) error {
	return optionError(fmt.Sprintf(format, args...))
}

// Options are native-setup's flags, named after them. Empty fields take native-setup's
// defaults.
type Options struct {
	Engine string // postgres (postgresql) or mariadb (mysql); required
	Socket string // the local verifier's Unix socket, absolute; required
	// MariaDBAuth is how MariaDB checks tokens: "plugin" (or empty), iamdb's
	// AWSAuthenticationPlugin (auth_iamdb.so) asking the verifier itself; or "pam", the
	// PAM plugin auth_pam_v1 with pam_iamdb.so. Only for mariadb.
	MariaDBAuth string
	// PluginDir is MariaDB's plugin directory, where auth_iamdb.so goes (mariadb with the
	// plugin only); if empty, SystemPluginDir's.
	PluginDir     string
	Service       string // PAM service name; if empty, nativeconf.DefaultService (PAM only)
	Module        string // path of pam_iamdb.so; if empty, in the system's PAM module directory (PAM only)
	TimeoutMS     int    // the module's or the plugin's timeout; if zero, its default
	Addresses     string // postgres: client addresses (CIDR, comma-separated)
	GatewaySource string // postgres: the address an iamdb gateway dials from
	HBA           string // postgres: pg_hba.conf; if empty, see Locate
	Cnf           string // mariadb: the option file; if empty, DefaultCnf
	// PAMDir is the directory of PAM service files; if empty, /etc/pam.d. Unused with
	// MariaDB's plugin.
	PAMDir string
	// HardenPAMOther adds the hardened fallback service <pam-dir>/other
	// (nativeconf.HardenedOther): every PAM service without its own file is denied (PAM
	// only).
	HardenPAMOther bool
	// Locate: with HBA empty, find the only /etc/postgresql/*/main/pg_hba.conf (for Check
	// and Apply); without it the plan names the file "pg_hba.conf (SHOW hba_file)".
	Locate bool
}

// Args returns o as native-setup's command-line arguments.
func (o Options) Args() []string {
	args := []string{"--engine", o.Engine}
	if o.MariaDBAuth != "" {
		args = append(args, "--mariadb-auth", o.MariaDBAuth)
	}
	args = append(args, "--socket", o.Socket)
	if !o.Plugin() {
		args = append(args, "--pam-dir", o.pamDir())
	}
	for _, f := range []struct{ name, v string }{
		{"service", o.Service}, {"module", o.Module}, {"addresses", o.Addresses},
		{"gateway-source", o.GatewaySource}, {"hba", o.HBA}, {"cnf", o.Cnf}, {"plugin-dir", o.PluginDir},
	} {
		if f.v != "" {
			args = append(args, "--"+f.name, f.v)
		}
	}
	if o.TimeoutMS != 0 {
		args = append(args, "--timeout", strconv.Itoa(o.TimeoutMS))
	}
	if o.HardenPAMOther {
		args = append(args, "--harden-pam-other")
	}
	return args
}

// Plugin reports whether o sets up MariaDB with iamdb's AWSAuthenticationPlugin (engine
// mariadb, MariaDBAuth plugin or empty) rather than through PAM.
func (o Options) Plugin() bool {
	return (o.Engine == "mariadb" || o.Engine == "mysql") && (o.MariaDBAuth == "" || o.MariaDBAuth == "plugin")
}

func (o Options) pamDir() string {
	if o.PAMDir == "" {
		return "/etc/pam.d"
	}
	return o.PAMDir
}

// File is one file native-setup manages.
type File struct {
	What string // "PAM service file", …
	Path string
	Mode fs.FileMode // for a new file
	// Want returns the file's wanted content given its current one (nil if missing).
	Want func(current []byte) ([]byte, error)
	// MustExist: the file is edited, never created (pg_hba.conf).
	MustExist bool
	After     string // what to do once it changed
	// Backup, if set, is where Apply keeps the file's content before it first replaces
	// it; an existing Backup is never overwritten.
	Backup string
	// Warning is said wherever the file is printed or written.
	Warning string
}

// Plan is what native mode needs on one server: its files and the shared object they
// name, the PAM module or MariaDB's plugin.
type Plan struct {
	Files []File
	// Module is the path, absolute, of pam_iamdb.so or, with MariaDB's plugin,
	// auth_iamdb.so in the plugin directory.
	Module string
	lib    library
}

// library is how a Plan's Module is named, built and fixed.
type library struct {
	file      string // its usual file name: pam_iamdb.so
	what      string // "PAM module"
	packages  string // Debian's packages its build needs
	elsewhere string // how to give it when it cannot be built here
	build     func(ctx context.Context, out string) error
}

var (
	pamLibrary = library{
		file: "pam_iamdb.so", what: "PAM module", packages: "gcc libpam0g-dev",
		elsewhere: "build it elsewhere and pass --module", build: pammodule.Build,
	}
	pluginLibrary = library{
		file: nativeconf.PluginName + ".so", what: "MariaDB plugin (AWSAuthenticationPlugin)", packages: "gcc libmariadbd-dev",
		elsewhere: "build it elsewhere (make mariadb in internal/native/pammodule/c) and copy it there", build: pammodule.BuildMariaDBPlugin,
	}
)

// New makes the plan of o. Its errors are ErrOptions.
func New(o Options) (*Plan, error) {
	switch {
	case o.Socket == "":
		return nil, optionErrorf("--socket (the local verifier's Unix socket) is required")
	case !filepath.IsAbs(o.Socket):
		return nil, optionErrorf("--socket %q must be an absolute path", o.Socket)
	}
	if err := checkEngine(o); err != nil {
		return nil, err
	}
	if o.Plugin() {
		return pluginPlan(o)
	}
	if o.Service == "" {
		o.Service = nativeconf.DefaultService
	}
	if err := nativeconf.CheckService(o.Service); err != nil {
		return nil, optionErrorf("--service: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	if o.Module == "" {
		o.Module = filepath.Join(PAMModuleDir(runtime.GOARCH, fileExists), "pam_iamdb.so")
	}
	p := &Plan{Module: o.Module, lib: pamLibrary}
	// Linux-PAM reads a relative module path in its module directory.
	if !filepath.IsAbs(p.Module) {
		p.Module = filepath.Join(PAMModuleDir(runtime.GOARCH, fileExists), p.Module)
	}
	pamText, err := nativeconf.PAMService(nativeconf.PAM{Module: o.Module, Socket: o.Socket, TimeoutMS: o.TimeoutMS})
	if err != nil {
		return nil, optionErrorf("%s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	p.Files = []File{{
		What: "PAM service file", Path: filepath.Join(o.pamDir(), o.Service), Mode: 0o644,
		Want:  func([]byte) ([]byte, error) { return []byte(pamText), nil },
		After: "PAM reads it at each login",
	}}
	f, err := engineFile(o)
	if err != nil {
		return nil, err
	}
	p.Files = append(p.Files, f)
	if o.HardenPAMOther {
		p.Files = append(p.Files, otherFile(o.pamDir()))
	}
	return p, nil
}

// OtherBackupSuffix names the copy of <pam-dir>/other that Apply keeps before it first
// replaces the file with the hardened one.
const OtherBackupSuffix = ".before-iamdb"

// otherFile is the hardened fallback service <dir>/other.
func otherFile(dir string) File {
	name := filepath.Join(dir, nativeconf.OtherService)
	return File{
		What: "hardened PAM fallback service", Path: name, Mode: 0o644,
		Want:   func([]byte) ([]byte, error) { return []byte(nativeconf.HardenedOther()), nil },
		After:  "every PAM service without its own file in " + dir + " is denied; libpam reads it at each login",
		Backup: name + OtherBackupSuffix,
		Warning: "this replaces the fallback of EVERY PAM service on this machine that has no file of its own in " + dir +
			" (they are denied from now on, not sent to the common-* stack): give each service that needs PAM its own file first",
	}
}

// checkEngine refuses an unknown engine, and options of another engine or of MariaDB's
// other way in.
func checkEngine(o Options) error {
	switch o.Engine {
	case "postgres", "postgresql":
		for _, f := range []struct{ name, v string }{{"cnf", o.Cnf}, {"mariadb-auth", o.MariaDBAuth}, {"plugin-dir", o.PluginDir}} {
			if f.v != "" {
				return optionErrorf("--%s is for --engine mariadb", f.name)
			}
		}
	case "mariadb", "mysql":
		for _, f := range []struct{ name, v string }{{"addresses", o.Addresses}, {"gateway-source", o.GatewaySource}, {"hba", o.HBA}} {
			if f.v != "" {
				return optionErrorf("--%s is for --engine postgres", f.name)
			}
		}
		switch o.MariaDBAuth {
		case "", "plugin":
			for _, f := range []struct {
				name string
				set  bool
			}{{"service", o.Service != ""}, {"module", o.Module != ""}, {"harden-pam-other", o.HardenPAMOther}} {
				if f.set {
					return optionErrorf("--%s is for --mariadb-auth pam (the default, plugin, uses no PAM)", f.name)
				}
			}
		case "pam":
			if o.PluginDir != "" {
				return optionErrorf("--plugin-dir is for --mariadb-auth plugin")
			}
		default:
			return optionErrorf("--mariadb-auth %q must be plugin or pam", o.MariaDBAuth)
		}
	case "":
		return optionErrorf("--engine postgres|mariadb is required")
	default:
		return optionErrorf("--engine %q must be postgres or mariadb", o.Engine)
	}
	return nil
}

// pluginPlan is the plan of MariaDB with AWSAuthenticationPlugin: the option file, and
// the plugin in the server's plugin directory.
func pluginPlan(o Options) (*Plan, error) {
	if o.TimeoutMS != 0 && (o.TimeoutMS < nativeconf.MinPluginTimeoutMS || o.TimeoutMS > nativeconf.MaxPluginTimeoutMS) {
		return nil, optionErrorf("--timeout %d must be 0 (the plugin's default, 2000) or %d..%d for --mariadb-auth plugin",
			o.TimeoutMS, nativeconf.MinPluginTimeoutMS, nativeconf.MaxPluginTimeoutMS)
	}
	text, err := nativeconf.MariaDBPluginConf(nativeconf.MariaDBPlugin{Socket: o.Socket, TimeoutMS: o.TimeoutMS})
	if err != nil {
		return nil, optionErrorf("--socket: %s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	dir := o.PluginDir
	if dir == "" {
		dir = SystemPluginDir(context.Background())
	}
	if !filepath.IsAbs(dir) {
		return nil, optionErrorf("--plugin-dir %q must be an absolute path", dir)
	}
	path := o.Cnf
	if path == "" {
		path = DefaultCnf
	}
	return &Plan{
		Files: []File{{
			What: "MariaDB option file", Path: path, Mode: 0o644,
			Want:  func([]byte) ([]byte, error) { return []byte(text), nil },
			After: "restart MariaDB (it loads plugins and reads the plugin's read-only variables at start), then create users with iamdb create-db-user --native",
		}},
		Module: filepath.Join(dir, pluginLibrary.file),
		lib:    pluginLibrary,
	}, nil
}

// engineFile returns the engine's own file with PAM: pg_hba.conf's block or MariaDB's
// option file.
func engineFile(o Options) (File, error) {
	switch o.Engine {
	case "postgres", "postgresql":
		return hbaFile(o)
	default:
		path := o.Cnf
		if path == "" {
			path = DefaultCnf
		}
		return File{
			What: "MariaDB option file", Path: path, Mode: 0o644,
			Want:  func([]byte) ([]byte, error) { return []byte(nativeconf.MariaDBConf()), nil },
			After: "restart MariaDB (pam_use_cleartext_plugin is read-only), then create users with iamdb create-db-user --native --pam-service " + o.Service,
		}, nil
	}
}

// hbaFile returns pg_hba.conf's block for PostgreSQL.
func hbaFile(o Options) (File, error) {
	h := nativeconf.HBA{Service: o.Service}
	if o.Addresses != "" {
		for _, a := range strings.Split(o.Addresses, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(a))
			if err != nil {
				return File{}, optionErrorf("--addresses: %v", err)
			}
			h.Addresses = append(h.Addresses, p)
		}
	}
	if o.GatewaySource != "" {
		a, err := netip.ParseAddr(o.GatewaySource)
		if err != nil {
			return File{}, optionErrorf("--gateway-source: %v", err)
		}
		h.GatewaySource = a
	}
	block, err := nativeconf.HBABlock(h)
	if err != nil {
		return File{}, optionErrorf("%s", strings.TrimPrefix(err.Error(), "nativeconf: "))
	}
	path := o.HBA
	if path == "" && o.Locate {
		m, _ := filepath.Glob("/etc/postgresql/*/main/pg_hba.conf")
		if len(m) != 1 {
			return File{}, optionErrorf("--hba: name the server's pg_hba.conf (SHOW hba_file); found %d under /etc/postgresql", len(m))
		}
		path = m[0]
	}
	if path == "" {
		path = "pg_hba.conf (SHOW hba_file)"
	}
	return File{
		What: "pg_hba.conf block (at the top)", Path: path, MustExist: true,
		Want: func(cur []byte) ([]byte, error) {
			if cur == nil {
				return []byte(block), nil
			}
			s, err := nativeconf.ApplyHBA(string(cur), block)
			return []byte(s), err
		},
		After: "reload PostgreSQL: SELECT pg_reload_conf()",
	}, nil
}

// Print writes what Apply would write, and a note if the module (or plugin) is missing.
func (p *Plan) Print(w io.Writer) {
	for i, f := range p.Files {
		if i > 0 {
			fmt.Fprintln(w)
		}
		text, _ := f.Want(nil)
		fmt.Fprintf(w, "### %s: %s\n### then: %s\n", f.What, f.Path, f.After)
		if f.Warning != "" {
			fmt.Fprintf(w, "### warning: %s\n", f.Warning)
		}
		if f.Backup != "" {
			fmt.Fprintf(w, "### --apply first keeps the current file as %s (once)\n", f.Backup)
		}
		fmt.Fprintf(w, "%s", text)
	}
	if !fileExists(p.Module) {
		fmt.Fprintf(w, "\n### note: %s does not exist yet: --apply builds it (%s needed)\n", p.Module, strings.ReplaceAll(p.lib.packages, " ", " and "))
	}
}

// Check returns one line per file that differs from what Apply would write, and one if
// the module (or plugin) is missing; none if all is in place.
func (p *Plan) Check() []string {
	var diffs []string
	if !fileExists(p.Module) {
		diffs = append(diffs, fmt.Sprintf("%s: the %s is missing", p.Module, p.lib.what))
	}
	for _, f := range p.Files {
		cur, err := readCurrent(f.Path)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", f.Path, err))
			continue
		}
		if cur == nil {
			diffs = append(diffs, fmt.Sprintf("%s: missing (the %s)", f.Path, f.What))
			continue
		}
		want, err := f.Want(cur)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", f.Path, err))
			continue
		}
		if !bytes.Equal(cur, want) {
			diffs = append(diffs, fmt.Sprintf("%s: differs from what iamdb native-setup --apply would write (the %s)", f.Path, f.What))
		}
	}
	return diffs
}

// Apply builds the module (or plugin) if it is missing (or rebuild says so), then writes
// each file that differs from what it should hold, and says on w what it did and what to
// do next.
func (p *Plan) Apply(ctx context.Context, rebuild bool, w io.Writer) error {
	// The module first: the file that names it must not point at nothing.
	if rebuild || !fileExists(p.Module) {
		if err := p.lib.build(ctx, p.Module); err != nil {
			if errors.Is(err, pammodule.ErrToolchainMissing) {
				return fmt.Errorf("cannot build %s: %w (Debian: apt-get install %s; or %s)", p.Module, err, p.lib.packages, p.lib.elsewhere)
			}
			return fmt.Errorf("build %s: %w", p.Module, err)
		}
		fmt.Fprintf(w, "built: %s (%s)\n", p.Module, p.lib.file)
	}
	for _, f := range p.Files {
		cur, err := readCurrent(f.Path)
		if err != nil {
			return err
		}
		if cur == nil && f.MustExist {
			return fmt.Errorf("%s does not exist (the server's pg_hba.conf: SHOW hba_file)", f.Path)
		}
		want, err := f.Want(cur)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		if cur != nil && bytes.Equal(cur, want) {
			fmt.Fprintf(w, "unchanged: %s (%s)\n", f.Path, f.What)
			continue
		}
		if f.Backup != "" && cur != nil && !fileExists(f.Backup) {
			if err := writeReplacing(f.Backup, cur, f.Mode); err != nil {
				return err
			}
			fmt.Fprintf(w, "kept: %s (the %s before iamdb)\n", f.Backup, f.Path)
		}
		if err := writeReplacing(f.Path, want, f.Mode); err != nil {
			return err
		}
		fmt.Fprintf(w, "wrote: %s (%s); now %s\n", f.Path, f.What, f.After)
		if f.Warning != "" {
			fmt.Fprintf(w, "warning: %s\n", f.Warning)
		}
	}
	return nil
}
