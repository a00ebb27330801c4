package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/iamdb/iamdb/internal/rdsiam"
)

const connectUsage = `usage: iamdb connect psql|mysql --hostname H --port P --username U [--dbname D]
                     [--region R] [--profile NAME] [--ca-file F] [--signing-host H]
                     [--client PATH] [-- CLIENT ARGUMENTS…]

iamdb connect runs the real client — psql, or mariadb/mysql — logged in as U with a fresh
IAM auth token (from the AWS SDK's standard credential chain, as iamdb token) and TLS that
verifies the server's certificate against --ca-file (default $IAMDB_CA_FILE) and its name:
psql with sslmode=verify-full, mariadb with --ssl-verify-server-cert, Oracle's mysql with
--ssl-mode=VERIFY_IDENTITY and the cleartext plugin enabled. The token is handed over in the
environment (PGPASSWORD, MYSQL_PWD), never on a command line or in a file. Arguments after
-- go to the client as they are. The exit status is the client's.

--signing-host signs the token for another name than the one dialled (a tunnel, a custom
DNS name in front of the database's endpoint). --hostname is one TCP host: psql is refused a
Unix socket directory (libpq does no TLS there) and a list of hosts (libpq would send each
the token signed for one).

When the client's login is refused, connect adds one line after its error: the iamdb
doctor command for the same login, which names the cause and its fix.
`

// clientCommand is the program connect runs, with its arguments and extra environment.
type clientCommand struct {
	path string
	args []string
	env  []string
}

func runConnect(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "psql" && args[0] != "mysql" {
		fmt.Fprint(stderr, connectUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return nil
		}
		return exitCode(2)
	}
	kind := args[0]
	fs := newFlagSet("iamdb connect "+kind, connectUsage, stderr)
	var tf tokenFlags
	tf.register(fs)
	dbname := fs.String("dbname", "", "database (default: the client's)")
	caFile := fs.String("ca-file", os.Getenv("IAMDB_CA_FILE"), "CA certificate(s) verifying the server (default $IAMDB_CA_FILE)")
	signingHost := fs.String("signing-host", "", "host name the token is signed for (default --hostname)")
	clientPath := fs.String("client", "", "the client program (default psql; mariadb, else mysql)")
	if done, err := parseArgs(fs, args[1:]); done {
		return err
	}
	if err := tf.required("connect"); err != nil {
		return err
	}
	if *caFile == "" {
		return usagef("connect: no CA to verify the server with: pass --ca-file (or set IAMDB_CA_FILE)")
	}
	if _, err := os.Stat(*caFile); err != nil {
		return usagef("connect: --ca-file: %v", err)
	}
	if kind == "psql" && (strings.HasPrefix(tf.hostname, "/") || strings.HasPrefix(tf.hostname, "@") || strings.Contains(tf.hostname, ",")) {
		// libpq ignores sslmode on a Unix socket, and sends every host of a list the same
		// password: the token would go without TLS, or to hosts it is not signed for.
		return usagef("connect: --hostname %q: a Unix socket (no TLS) or several hosts; give one host name or address", tf.hostname)
	}
	if *signingHost == "" {
		*signingHost = tf.hostname
	}
	tok, _, err := tf.mint(ctx, "connect", *signingHost)
	if err != nil {
		return err
	}
	var cc clientCommand
	if kind == "psql" {
		cc, err = psqlCommand(*clientPath, tf.hostname, tf.port, tf.username, *dbname, *caFile, tok.Value())
	} else {
		cc, err = mysqlCommand(*clientPath, tf.hostname, tf.port, tf.username, *dbname, *caFile, tok.Value())
	}
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	cmd := exec.Command(cc.path, append(cc.args, fs.Args()...)...)
	cmd.Env = append(os.Environ(), cc.env...)
	watch := &failureWatch{w: stderr}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, watch
	// Not CommandContext: Ctrl-C belongs to the client (psql cancels the running query);
	// main's signal handler keeps this process alive meanwhile.
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			if watch.seen {
				io.WriteString(stderr, doctorHint(kind, tf, *signingHost, *dbname, *caFile)) // connecthint.go
			}
			return exitCode(exit.ExitCode())
		}
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// psqlCommand runs psql with a verify-full connection string and the token in
// PGPASSWORD.
func psqlCommand(path, host string, port int, user, dbname, caFile, tok string) (clientCommand, error) {
	if path == "" {
		path = "psql"
	}
	bin, err := exec.LookPath(path)
	if err != nil {
		return clientCommand{}, fmt.Errorf("%s not found (apt-get install -y postgresql-client)", path)
	}
	kv := func(k, v string) string { return k + "=" + rdsiam.QuotePostgresConnValue(v) }
	conninfo := []string{kv("host", host), kv("port", strconv.Itoa(port)), kv("user", user),
		kv("sslmode", "verify-full"), kv("sslrootcert", caFile)}
	if dbname != "" {
		conninfo = append(conninfo, kv("dbname", dbname))
	}
	return clientCommand{path: bin, args: []string{strings.Join(conninfo, " ")},
		env: []string{"PGPASSWORD=" + tok}}, nil
}

// mysqlCommand runs MariaDB's client (or Oracle's mysql) with server verification and the
// token in MYSQL_PWD.
func mysqlCommand(path, host string, port int, user, dbname, caFile, tok string) (clientCommand, error) {
	var bin string
	var err error
	if path != "" {
		bin, err = exec.LookPath(path)
	} else if bin, err = exec.LookPath("mariadb"); err != nil {
		bin, err = exec.LookPath("mysql")
	}
	if err != nil {
		return clientCommand{}, errors.New("neither mariadb nor mysql found (apt-get install -y mariadb-client)")
	}
	args := []string{"--host=" + host, "--port=" + strconv.Itoa(port), "--protocol=tcp", "--user=" + user, "--ssl-ca=" + caFile}
	env := []string{"MYSQL_PWD=" + tok}
	if isMariaDBClient(bin) {
		// MariaDB's client always allows mysql_clear_password (and warns that
		// --enable-cleartext-plugin is obsolete).
		args = append(args, "--ssl-verify-server-cert")
	} else {
		args = append(args, "--ssl-mode=VERIFY_IDENTITY", "--enable-cleartext-plugin")
		env = append(env, "LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1")
	}
	if dbname != "" {
		args = append(args, "--database="+dbname)
	}
	return clientCommand{path: bin, args: args, env: env}, nil
}

// isMariaDBClient tells MariaDB's client from Oracle's mysql by its version line.
func isMariaDBClient(bin string) bool {
	if filepath.Base(bin) == "mariadb" {
		return true
	}
	out, err := exec.Command(bin, "--version").Output()
	return err == nil && strings.Contains(string(out), "MariaDB")
}
