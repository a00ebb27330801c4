// Command iamdb is AWS-compatible IAM database authentication for PostgreSQL and
// MySQL/MariaDB: it runs the authority, the database gateways and the workload credential
// endpoints (internal/server), signs and verifies RDS auth tokens and evaluates IAM
// policies.
//
// main only wires: every subcommand is a function run(ctx, args, stdout, stderr) error that
// the tests call in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/iamdb/iamdb/internal/localdb"
)

// exitCode is an error that carries a process exit status and no message of its own: the
// subcommand has already printed what the user needs (for example "refused: expired").
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageError marks a command line that could not be understood; main exits 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// exitStatus turns run's error into a process exit status, printing the message if there is
// one.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintf(stderr, "iamdb: %v\n", err)
	var usage *usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

const topUsage = `usage: iamdb <command> [arguments]

commands:
  token     build an RDS auth token (like aws rds generate-db-auth-token)
  token verify
            check a token offline and say why it would be refused
  policy    validate policy documents and simulate requests against them
  serve     run the authority (IAM, STS and RDS API for the AWS CLI and SDKs)
  dev       run everything locally with zero configuration: authority, gateways,
            a throwaway PostgreSQL and MariaDB, and an env file for the AWS CLI,
            psql and mariadb
  create-db-user
            create database users that log in with IAM auth tokens (GRANT rds_iam)
  native-setup
            print or apply a database's native-mode setup (PAM service, pg_hba.conf,
            MariaDB plugin) so that it checks IAM auth tokens itself
  connect   run psql or mariadb/mysql logged in with a fresh token over verified TLS
  doctor    check credentials, region, endpoint, TLS and why a token would be refused
  access unused
            list rds-db:connect grants, access keys and roles unused for N days
  rotate-master-key
            re-encrypt the store's secrets under a new master key (serve stopped)
  oidc      a small OIDC issuer (serve, token) for web identity, like EKS IRSA
  audit tail|verify
            the audit trail: print it (CloudTrail LookupEvents), --follow it; verify an export
  version   print the version
`

// hooks are the test seams of "serve", "dev" and "oidc serve"; the zero value is the
// program's.
type hooks struct {
	// ready, if set, is called with the authority's address (oidc serve: its issuer URL)
	// once everything listens (tests learn ports chosen by the kernel).
	ready func(addr string)
	// devPostgres and devMariaDB, if set, are called with dev's throwaway servers once
	// they are ready (dev_test.go restarts them under the gateway).
	devPostgres func(*localdb.Postgres)
	devMariaDB  func(*localdb.MariaDB)
	// startMariaDB starts dev's throwaway MariaDB; nil: localdb.StartMariaDB (a test runs
	// dev as on a machine without MariaDB).
	startMariaDB func(context.Context, localdb.MariaDBOptions) (*localdb.MariaDB, error)
	// stdin is what "token verify --token -" and "connect" read; nil: os.Stdin.
	stdin io.Reader
}

// run is the whole program: it dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return hooks{}.run(ctx, args, stdout, stderr)
}

// run is the program with the test seams of h.
func (h hooks) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stdin := h.stdin
	if stdin == nil {
		stdin = os.Stdin
	}
	return dispatch(args, topUsage, "", stdout, stderr, map[string]subcommand{
		"token":             func(args []string) error { return runToken(ctx, args, stdin, stdout, stderr) },
		"policy":            func(args []string) error { return runPolicy(ctx, args, stdout, stderr) },
		"serve":             func(args []string) error { return runServe(ctx, args, stdout, stderr, h) },
		"dev":               func(args []string) error { return runDev(ctx, args, stdout, stderr, h) },
		"create-db-user":    func(args []string) error { return runCreateDBUser(ctx, args, stdout, stderr) },
		"native-setup":      func(args []string) error { return runNativeSetup(ctx, args, stdout, stderr) },
		"connect":           func(args []string) error { return runConnect(ctx, args, stdin, stdout, stderr) },
		"doctor":            func(args []string) error { return runDoctor(ctx, args, stdout, stderr) },
		"access":            func(args []string) error { return runAccess(ctx, args, stdout, stderr) },
		"rotate-master-key": func(args []string) error { return runRotateMasterKey(ctx, args, stdout, stderr) },
		"oidc":              func(args []string) error { return runOIDC(ctx, args, stdout, stderr, h) },
		"audit":             func(args []string) error { return runAudit(ctx, args, stdout, stderr) },
		"version": func([]string) error {
			fmt.Fprintln(stdout, "iamdb", version)
			return nil
		},
	})
}

// subcommand runs one subcommand with the arguments after its name.
type subcommand func(args []string) error

// dispatch runs the subcommand of cmds named by args[0]. Help (-h, help, …) prints usage
// to stdout; no name or an unknown one prints it to stderr and is a usage error, its
// message prefixed with prefix.
func dispatch(args []string, usage, prefix string, stdout, stderr io.Writer, cmds map[string]subcommand) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	if cmd, ok := cmds[args[0]]; ok {
		return cmd(args[1:])
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usagef("%sunknown command %q", prefix, args[0])
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"
