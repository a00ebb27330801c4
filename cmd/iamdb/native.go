package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/iamdb/iamdb/internal/nativeconf"
	"github.com/iamdb/iamdb/internal/nativesetup"
)

const nativeSetupUsage = `usage: iamdb native-setup --engine postgres|mariadb --socket PATH [--timeout MS]
           [--service iamdb] [--module PATH] [--pam-dir /etc/pam.d]      (PAM)
           [--addresses CIDR,...] [--gateway-source ADDR] [--hba FILE]   (postgres)
           [--cnf FILE] [--mariadb-auth plugin|pam]                      (mariadb)
           [--plugin-dir DIR]                                            (mariadb, plugin)
           [--harden-pam-other]                                          (PAM)
           [--apply [--rebuild-module] | --check]

Prints (or, with --apply, writes) what a database server needs for iamdb's native mode,
in which the database itself checks IAM auth tokens and hands them to iamdb's local
verifier on --socket: MariaDB through iamdb's AWSAuthenticationPlugin (auth_iamdb.so, RDS
for MySQL's design; the default) or through PAM (--mariadb-auth pam), PostgreSQL through
PAM; the PAM module is pam_iamdb.so. See docs/native-mode.md.

  MariaDB (the default,    an option file (--cnf, default
  --mariadb-auth plugin)   /etc/mysql/mariadb.conf.d/99-iamdb-native.cnf) loading
                           auth_iamdb with awsauthenticationplugin_socket=<socket> (and
                           awsauthenticationplugin_timeout=<timeout>, 50..30000 ms, if
                           --timeout is set; loose_: a plugin that fails to load lets the
                           server start, its users refused), and the plugin
                           <plugin-dir>/auth_iamdb.so. No PAM: --service, --module and
                           --harden-pam-other are for --mariadb-auth pam. The plugin tells
                           the verifier the client's address (aws:SourceIp), as on RDS.
                           Then restart the server (it loads plugins and reads their
                           read-only variables at start), and create users with iamdb
                           create-db-user --native (IDENTIFIED WITH AWSAuthenticationPlugin
                           AS 'RDS' REQUIRE SSL).
  the PAM service file     <pam-dir>/<service>, mode 0644 (PostgreSQL, MariaDB with PAM)
  PostgreSQL               a block at the top of pg_hba.conf: members of rds_iam log in
                           over TLS through PAM (pam pamservice=<service>) from --addresses
                           (default 0.0.0.0/0 and ::/0), with certificates from
                           --gateway-source if an iamdb gateway dials from there, and are
                           rejected on every other way in; everyone else keeps their lines.
                           Then: SELECT pg_reload_conf()
  MariaDB with             an option file (--cnf, as above) loading the PAM plugin
  --mariadb-auth pam       auth_pam_v1 with pam_use_cleartext_plugin=ON. Then restart the
                           server (the variable is read-only), and create users with iamdb
                           create-db-user --native --pam-service <service>.

  with --harden-pam-other  (PAM only) <pam-dir>/other, PAM's fallback service, made four
                           pam_deny rules (with pam_warn): every PAM service WITHOUT A
                           FILE OF ITS OWN is denied from then on, instead of falling back
                           to the common-* stack. libpam parses "other" at every
                           pam_start, so Debian's makes each MariaDB PAM login load
                           pam_unix, pam_systemd and more; the hardened one makes native
                           MariaDB logins cheaper. Never written by default: it changes
                           every such service on the machine. --apply keeps the file it
                           replaces as <pam-dir>/other.before-iamdb (once).

--module defaults to pam_iamdb.so in the system's PAM module directory (the one holding
pam_permit.so; /lib/<multiarch>/security on Debian). --plugin-dir defaults to the plugin
directory the system's mariadbd is built with (mariadbd --no-defaults --help --verbose;
/usr/lib/mysql/plugin without one): pass the server's plugin_dir if its configuration
sets another. --hba defaults to the only /etc/postgresql/*/main/pg_hba.conf, if there is
exactly one.

--apply writes the files idempotently (pg_hba.conf keeps its mode and owner; the block
between its "# BEGIN iamdb native mode" and "# END iamdb native mode" lines is replaced)
and says what changed. It first builds pam_iamdb.so into --module (MariaDB with the
plugin: auth_iamdb.so into --plugin-dir) if it is missing there (with --rebuild-module,
even if it exists), with the system's C compiler and libpam's headers (Debian: apt-get
install gcc libpam0g-dev) or MariaDB's server plugin headers (apt-get install gcc
libmariadbd-dev). --check compares the files with what --apply would write and exits 1
with one line per difference.
`

func runNativeSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iamdb native-setup", flag.ContinueOnError)
	var o nativesetup.Options
	fs.StringVar(&o.Engine, "engine", "", "postgres or mariadb")
	fs.StringVar(&o.Socket, "socket", "", "the local verifier's Unix socket")
	fs.StringVar(&o.MariaDBAuth, "mariadb-auth", "", "mariadb: plugin (iamdb's AWSAuthenticationPlugin; the default) or pam")
	fs.StringVar(&o.PluginDir, "plugin-dir", "", "mariadb with the plugin: MariaDB's plugin directory (default the system's)")
	fs.StringVar(&o.Service, "service", "", "PAM service name (default "+nativeconf.DefaultService+")")
	fs.StringVar(&o.Module, "module", "", "path of pam_iamdb.so")
	fs.IntVar(&o.TimeoutMS, "timeout", 0, "the module's or the plugin's timeout in milliseconds (0: its default)")
	fs.StringVar(&o.Addresses, "addresses", "", "client addresses (CIDR, comma-separated) for pg_hba's pam lines")
	fs.StringVar(&o.GatewaySource, "gateway-source", "", "address an iamdb gateway dials the database from")
	fs.StringVar(&o.HBA, "hba", "", "pg_hba.conf to edit")
	fs.StringVar(&o.Cnf, "cnf", "", "MariaDB option file to write (default "+nativesetup.DefaultCnf+")")
	fs.StringVar(&o.PAMDir, "pam-dir", "/etc/pam.d", "directory of PAM service files")
	fs.BoolVar(&o.HardenPAMOther, "harden-pam-other", false, "also write the hardened PAM fallback service <pam-dir>/other (denies every service without its own file)")
	apply := fs.Bool("apply", false, "write the files")
	check := fs.Bool("check", false, "compare the files with what --apply would write")
	rebuild := fs.Bool("rebuild-module", false, "with --apply: build pam_iamdb.so (or auth_iamdb.so) even if it exists")
	if help, err := parseFlags(fs, nativeSetupUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("native-setup: unexpected argument %q", fs.Arg(0))
	case *apply && *check:
		return usagef("native-setup: --apply and --check exclude each other")
	case *rebuild && !*apply:
		return usagef("native-setup: --rebuild-module goes with --apply")
	}
	o.Locate = *apply || *check
	plan, err := nativesetup.New(o)
	if err != nil {
		return nativeSetupError(err)
	}
	switch {
	case *check:
		diffs := plan.Check()
		for _, d := range diffs {
			fmt.Fprintln(stdout, d)
		}
		if len(diffs) > 0 {
			return exitCode(1)
		}
		fmt.Fprintln(stdout, "native mode configuration is up to date")
	case *apply:
		if err := plan.Apply(ctx, *rebuild, stdout); err != nil {
			return fmt.Errorf("native-setup: %w", err)
		}
	default:
		plan.Print(stdout)
	}
	return nil
}

// nativeSetupError makes an error of nativesetup.New native-setup's usage error.
func nativeSetupError(err error) error {
	if errors.Is(err, nativesetup.ErrOptions) {
		return usagef("native-setup: %s", strings.TrimPrefix(err.Error(), "nativesetup: "))
	}
	return fmt.Errorf("native-setup: %w", err)
}
