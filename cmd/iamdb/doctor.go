package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/pgwire"
)

const doctorUsage = `usage: iamdb doctor --hostname H --port P --username U [--engine auto|postgres|mysql]
                    [--endpoint URL] [--region R] [--profile NAME] [--ca-file F]
                    [--signing-host H] [--postgres URL [--pam-dir DIR]] [native mode flags]
       iamdb doctor --postgres URL [--ca-file F] [--pam-dir DIR] [native mode flags]
       iamdb doctor native mode flags
native mode flags: --native-socket PATH [--native-user U] [--native-source ADDR]
                   [--native-engine postgres|mariadb [--native-service S] [--native-module PATH]
                    [--native-timeout MS] [--native-addresses CIDR,...]
                    [--native-gateway-source ADDR] [--native-hba FILE] [--native-cnf FILE]]

iamdb doctor checks, one line each, what an IAM database login needs, and says how to fix
what fails:
  credentials  the AWS SDK's standard chain finds credentials (and where, and until when)
  region       the token's region (it embeds it): --region, else an RDS host name's, else
               the AWS configuration's
  identity     the authority (--endpoint, default $AWS_ENDPOINT_URL) knows the caller
  tls          the server at H:P speaks TLS with a certificate valid for H (--ca-file,
               default $IAMDB_CA_FILE, else the system's roots)
  token        a token for U, and the authority's verdict on it: accepted, or exactly why
               not (expired, wrong host, no policy allows rds-db:connect, an explicit deny…)
and, with --postgres URL (a PostgreSQL backend, as a superuser: pg_hba_file_rules is
theirs to read; TLS as in create-db-user), on the backend:
  pg_hba       no line of pg_hba.conf lets a member of rds_iam (or one yet to be
               created) log in without the gateway's client certificate: every line
               that a member reaches, in PostgreSQL's first-match order, before a
               reject for it, is named with the fix (the file on disk: reload after
               editing it). Native mode's hostssl pam lines count as IAM logins when
               their PAM service is native:
  pam_service  each PAM service pg_hba.conf's pam lines name (<pam-dir>/<service>,
               --pam-dir default /etc/pam.d: run doctor on the database server) is
               native mode if its first auth rule is pam_iamdb.so, required or
               requisite; one that names pam_iamdb.so otherwise is a warning
and, for native mode (docs/native-mode.md), with --native-socket PATH:
  native       the local verifier's socket exists, is a socket, is not writable by
               everyone, and the verifier answers a probe that is not a token with a
               refusal and its reason (run as root or as the database's OS user: the
               verifier answers only the uids it allows)
  native_login the verifier's verdict on a token: the one doctor signs for --username
               (with --hostname, --port, --username), or, with --native-user U, the one
               in $IAMDB_NATIVE_TOKEN (never printed); --native-source is the client
               address sent as PAM_RHOST (aws:SourceIp), default none
  native_setup with --native-engine: the files iamdb native-setup writes (PAM service
               file, pg_hba.conf block or MariaDB option file, the module) are what
               native-setup --apply with the same flags would write (--native-X is
               native-setup's --X; --pam-dir is shared)
It exits 1 if any check fails. Without an endpoint (real RDS) the identity and token
verdicts are skipped. Without --hostname, --port and --username only --postgres and the
native mode checks run.
`

// doctorFlags are iamdb doctor's flags.
type doctorFlags struct {
	tokenFlags
	engine, endpoint, caFile, signingHost, pgURL string
	pamDir                                       string
	native                                       nativeDoctorFlags
}

// nativeDoctorFlags are iamdb doctor's native mode flags: the socket to probe, and
// native-setup's flags for its --check.
type nativeDoctorFlags struct {
	socket, engine, service, module, addresses, gatewaySource, hba, cnf string
	timeout                                                             int
	user, source                                                        string // native_login
}

// nativeTokenEnv holds the token of doctor --native-user.
const nativeTokenEnv = "IAMDB_NATIVE_TOKEN"

// parseDoctorFlags parses and checks iamdb doctor's flags; nil and no error for -h.
func parseDoctorFlags(args []string, stderr io.Writer) (*doctorFlags, error) {
	fs := newFlagSet("iamdb doctor", doctorUsage, stderr)
	var f doctorFlags
	f.register(fs)
	fs.StringVar(&f.engine, "engine", "auto", "auto, postgres or mysql")
	fs.StringVar(&f.endpoint, "endpoint", os.Getenv("AWS_ENDPOINT_URL"), "the iamdb authority (default $AWS_ENDPOINT_URL)")
	fs.StringVar(&f.caFile, "ca-file", os.Getenv("IAMDB_CA_FILE"), "CA certificate(s) verifying the server (default $IAMDB_CA_FILE)")
	fs.StringVar(&f.signingHost, "signing-host", "", "host name the token is signed for (default --hostname)")
	fs.StringVar(&f.pgURL, "postgres", "", "a PostgreSQL backend to check pg_hba.conf on, as a superuser (libpq URL or key=value)")
	fs.StringVar(&f.pamDir, "pam-dir", "/etc/pam.d", "directory of PAM service files")
	n := &f.native
	fs.StringVar(&n.socket, "native-socket", "", "native mode: the local verifier's Unix socket to probe")
	fs.StringVar(&n.engine, "native-engine", "", "native mode: compare native-setup's files for this engine (postgres or mariadb)")
	fs.StringVar(&n.service, "native-service", "", "native-setup's --service")
	fs.StringVar(&n.module, "native-module", "", "native-setup's --module")
	fs.IntVar(&n.timeout, "native-timeout", 0, "native-setup's --timeout")
	fs.StringVar(&n.addresses, "native-addresses", "", "native-setup's --addresses")
	fs.StringVar(&n.gatewaySource, "native-gateway-source", "", "native-setup's --gateway-source")
	fs.StringVar(&n.hba, "native-hba", "", "native-setup's --hba")
	fs.StringVar(&n.cnf, "native-cnf", "", "native-setup's --cnf")
	fs.StringVar(&n.user, "native-user", "", "native mode: ask the verifier for this user with the token in $"+nativeTokenEnv)
	fs.StringVar(&n.source, "native-source", "", "native mode: the client address the verifier is told (PAM_RHOST)")
	if done, err := parseArgs(fs, args); done {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("doctor: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if n.engine == "" {
		for _, name := range []string{"native-service", "native-module", "native-timeout", "native-addresses", "native-gateway-source", "native-hba", "native-cnf"} {
			if set[name] {
				return nil, usagef("doctor: --%s goes with --native-engine", name)
			}
		}
	} else if n.socket == "" {
		return nil, usagef("doctor: --native-engine needs --native-socket (native-setup's --socket)")
	}
	switch {
	case (n.user != "" || n.source != "") && n.socket == "":
		return nil, usagef("doctor: --native-user and --native-source need --native-socket")
	case n.user != "" && (f.hostname != "" || f.port != 0 || f.username != ""):
		return nil, usagef("doctor: --native-user takes the token from $%s; with --username doctor signs one itself", nativeTokenEnv)
	case n.user != "" && os.Getenv(nativeTokenEnv) == "":
		return nil, usagef("doctor: --native-user: $%s holds no token", nativeTokenEnv)
	}
	if !f.backendOnly() {
		if err := f.required("doctor"); err != nil {
			return nil, usagef("doctor: --hostname, --port and --username are required (or --postgres or --native-socket alone)")
		}
	}
	switch f.engine {
	case "auto", "postgres", "mysql":
	default:
		return nil, usagef("doctor: --engine must be auto, postgres or mysql")
	}
	if f.signingHost == "" {
		f.signingHost = f.hostname
	}
	return &f, nil
}

// backendOnly reports whether no login was named, only --postgres or native mode: only
// those are checked.
func (f *doctorFlags) backendOnly() bool {
	return (f.pgURL != "" || f.native.socket != "") && f.hostname == "" && f.port == 0 && f.username == ""
}

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDoctorFlags(args, stderr)
	if f == nil {
		return err
	}
	d := &doctor{w: stdout}
	var tok string // signed for the login checks, for native_login
	if !f.backendOnly() {
		tok = d.checkLogin(ctx, f)
	}
	if f.pgURL != "" {
		d.checkHBA(ctx, f.pgURL, f.caFile, f.pamDir)
	}
	if f.native.socket != "" {
		alive := d.checkNativeSocket(ctx, f.native.socket)
		user := f.username
		if f.native.user != "" {
			user, tok = f.native.user, os.Getenv(nativeTokenEnv)
		}
		switch {
		case user == "":
		case !alive:
			d.skip("native_login", "the verifier did not answer")
		case tok == "":
			d.skip("native_login", "no token was signed (see above)")
		default:
			d.checkNativeLogin(ctx, f.native.socket, user, f.native.source, tok)
		}
	}
	if f.native.engine != "" {
		if err := d.checkNativeSetup(ctx, f.native, f.pamDir); err != nil {
			return err
		}
	}
	if d.failed {
		return exitCode(1)
	}
	return nil
}

// checkLogin checks what a login as f's user needs: credentials, region, identity, TLS and
// a token the authority accepts. It returns the token it signed, if any.
func (d *doctor) checkLogin(ctx context.Context, f *doctorFlags) (tok string) {
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: f.profile, Region: f.region})
	var provider client.CredentialsProvider = creds
	if err != nil {
		provider = client.CredentialsProviderFunc(func(context.Context) (client.Credentials, error) { return client.Credentials{}, err })
	}
	credsOK := d.checkCredentials(ctx, provider)
	src, err := client.NewTokenSource(client.Config{Credentials: provider, Region: f.region})
	if err != nil {
		d.fail("region", err.Error(), "")
		return
	}
	target := client.Target{Host: f.signingHost, Port: f.port, User: f.username}
	region, err := src.Region(target)
	if err != nil {
		d.fail("region", "none configured", "pass --region, set AWS_REGION, or region = … in the profile; it must be the database's region")
	} else {
		d.ok("region", region)
	}
	if f.endpoint == "" {
		d.skip("identity", "no --endpoint or $AWS_ENDPOINT_URL: not asking an iamdb authority (real RDS?)")
	} else if credsOK {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		arn, err := askIdentity(cctx, creds, f.endpoint)
		cancel()
		if err != nil {
			d.fail("identity", err.Error(), "check --endpoint; a key the authority does not know was made elsewhere (another account or authority)")
		} else {
			d.ok("identity", arn)
		}
	}
	d.checkTLS(ctx, f)
	if credsOK && region != "" {
		tok = d.checkToken(ctx, f, creds, src, target)
	}
	return tok
}

// checkCredentials reports the credentials the chain finds, and until when they last.
func (d *doctor) checkCredentials(ctx context.Context, p client.CredentialsProvider) bool {
	creds, err := p.Retrieve(ctx)
	if err != nil {
		d.fail("credentials", err.Error(), "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance profile, container role or web identity token provides them")
		return false
	}
	detail := creds.AccessKeyID + " from " + creds.Source
	if creds.CanExpire {
		left := time.Until(creds.Expires).Round(time.Second)
		detail += fmt.Sprintf(", expire %s (in %s)", creds.Expires.UTC().Format(time.RFC3339), left)
		if left < 15*time.Minute {
			detail += ": tokens signed now expire with them, before 15 minutes"
		}
	}
	d.ok("credentials", detail)
	return true
}

// checkTLS reports whether the server at f's address speaks TLS with a certificate we
// trust for its name.
func (d *doctor) checkTLS(ctx context.Context, f *doctorFlags) {
	addr := joinHostPort(f.hostname, f.port)
	st, kind, err := probeTLS(ctx, addr, f.hostname, f.engine, f.caFile)
	if err != nil {
		hint := "is the gateway listening there? is it the right port?"
		var uerr x509.UnknownAuthorityError
		var herr x509.HostnameError
		switch {
		case errors.As(err, &uerr):
			hint = "the certificate is not signed by a CA you trust: pass --ca-file with the gateway's CA (iamdb dev: $IAMDB_CA_FILE)"
		case errors.As(err, &herr):
			hint = "the certificate is not valid for " + f.hostname + ": dial a name it lists, or use --signing-host with a tunnel"
		case errors.Is(err, pgwire.ErrProbeNoTLS), errors.Is(err, mysqlwire.ErrProbeNoTLS):
			hint = "IAM database authentication needs TLS: the server refused it"
		}
		d.fail("tls", fmt.Sprintf("%s (%s): %v", addr, kind, err), hint)
		return
	}
	leaf := st.PeerCertificates[0]
	d.ok("tls", fmt.Sprintf("%s (%s): %s, %s, certificate for %s valid until %s", addr, kind, tls.VersionName(st.Version),
		tls.CipherSuiteName(st.CipherSuite), strings.Join(leaf.DNSNames, ","), leaf.NotAfter.UTC().Format(time.RFC3339)))
}

// checkToken signs a token for target and reports the authority's verdict on it. It
// returns the token, "" if none could be signed.
func (d *doctor) checkToken(ctx context.Context, f *doctorFlags, creds *client.AWSCredentials, src *client.TokenSource, target client.Target) string {
	tok, info, err := mintToken(ctx, src, target)
	switch {
	case err != nil:
		d.fail("token", err.Error(), "")
		return ""
	case f.endpoint == "":
		d.ok("token", fmt.Sprintf("built for %s:%d as %s, expires %s (no authority to ask for a verdict)", f.signingHost, f.port, f.username, info.Expiration.Format(time.RFC3339)))
		return tok.Value()
	}
	r, err := askAuthority(ctx, creds, f.endpoint, tok.Value(), f.username, f.signingHost, f.port)
	switch {
	case err != nil:
		d.fail("token", err.Error(), "the authority could not judge the token; VerifyDBAuthToken needs rds-db:VerifyAuthToken on the database user (or rds-db:connect)")
	case r.allowed():
		d.ok("token", fmt.Sprintf("accepted for %s as %s, allowed by policy %s statement %s", f.username, r.PrincipalARN, r.DecidingPolicy, r.DecidingStatement))
	default:
		detail := r.verdict()
		if r.PrincipalARN != "" {
			detail += " (principal " + r.PrincipalARN + ")"
		}
		if r.Valid && strings.ContainsRune(r.Reason, ' ') {
			detail += ": " + r.Reason
		}
		if r.DecidingPolicy != "" {
			detail += ", policy " + r.DecidingPolicy + " statement " + r.DecidingStatement
		}
		d.fail("token", detail, tokenHint(r))
	}
	return tok.Value()
}

// tokenHint says how to fix a refused token.
func tokenHint(r *verifyResult) string {
	switch {
	case r.Decision == "explicitDeny":
		return "a Deny statement matched (named above): remove or narrow it"
	case r.Valid:
		return "attach a policy allowing rds-db:connect on arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER (the resource id is DbiResourceId or DbClusterResourceId from describe-db-instances/-clusters)"
	}
	switch r.Reason {
	case "host-not-allowed", "port-not-allowed":
		return "sign for one of the database's endpoint names and its port, as registered (aws rds describe-db-instances/-clusters); with a tunnel, use --signing-host"
	case "wrong-scope-region":
		return "use the database's region (--region)"
	case "expired", "not-yet-valid":
		return "check this machine's clock (NTP)"
	case "unknown-key", "invalid-session-token":
		return "the authority does not know these credentials: use keys it issued"
	case "inactive-key":
		return "the access key is inactive: aws iam update-access-key --status Active, or use another"
	case "session-expired":
		return "the temporary credentials expired: get new ones"
	}
	return "see docs/troubleshooting.md for every reason"
}

// doctor prints the checks' results.
type doctor struct {
	w      io.Writer
	failed bool
}

func (d *doctor) ok(what, detail string)   { fmt.Fprintf(d.w, "ok    %-12s %s\n", what, detail) }
func (d *doctor) skip(what, detail string) { fmt.Fprintf(d.w, "skip  %-12s %s\n", what, detail) }

// warn reports a weakness rather than a broken check; it fails the run like fail.
func (d *doctor) warn(what, detail string) {
	d.failed = true
	fmt.Fprintf(d.w, "WARN  %-12s %s\n", what, detail)
}

// hint prints the fix of the finding before it.
func (d *doctor) hint(fix string) { fmt.Fprintf(d.w, "      %-12s fix: %s\n", "", fix) }

func (d *doctor) fail(what, detail, hint string) {
	d.failed = true
	fmt.Fprintf(d.w, "FAIL  %-12s %s\n", what, detail)
	if hint != "" {
		fmt.Fprintf(d.w, "      %-12s fix: %s\n", "", hint)
	}
}

// probeTLS connects to addr, negotiates TLS as the engine does (PostgreSQL's SSLRequest,
// MySQL's SSLRequest after the greeting; auto: MySQL if the server speaks first) and
// verifies the certificate for host against caFile (or the system's roots).
func probeTLS(ctx context.Context, addr, host, engine, caFile string) (*tls.ConnectionState, string, error) {
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, engine, err
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, engine, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var dialer net.Dialer
	nc, err := dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, engine, err
	}
	defer nc.Close()
	var tc *tls.Conn
	if engine != "postgres" {
		if engine == "auto" {
			nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		}
		h, gerr := mysqlwire.ProbeGreeting(nc)
		nc.SetReadDeadline(time.Time{})
		var ne net.Error
		switch {
		case gerr == nil:
			engine = "mysql"
			tc, err = mysqlwire.ProbeTLS(dctx, nc, h, conf)
		case engine == "auto" && errors.As(gerr, &ne) && ne.Timeout():
			engine = "postgres" // PostgreSQL waits for the client
		default:
			return nil, engine, gerr
		}
	}
	if engine == "postgres" {
		tc, err = pgwire.ProbeTLS(dctx, nc, conf)
	}
	if err != nil {
		return nil, engine, err
	}
	st := tc.ConnectionState()
	return &st, engine, nil
}
