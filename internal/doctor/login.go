package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/iamdb/iamdb/internal/queryclient"
)

// checkLogin checks what a login as o's user needs: credentials, region, identity, TLS,
// the client's settings, the clock and a token the authority accepts (o.Token, or one it
// signs), then names the common mistake behind a refusal (diagnose.go). It returns the
// token it checked, if any.
func checkLogin(ctx context.Context, o Options) (rs []Result, tok string) {
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: o.Profile, Region: o.Region})
	var provider client.CredentialsProvider = creds
	if err != nil {
		provider = client.CredentialsProviderFunc(func(context.Context) (client.Credentials, error) { return client.Credentials{}, err })
	}
	r := checkCredentials(ctx, provider)
	credsOK := r.Status == OK
	rs = append(rs, r)
	src, err := client.NewTokenSource(client.Config{Credentials: provider, Region: o.Region})
	if err != nil {
		return append(rs, fail("region", err.Error(), "")), ""
	}
	target := client.Target{Host: o.SigningHost, Port: o.Port, User: o.Username}
	region, err := src.Region(target)
	if err != nil {
		rs = append(rs, fail("region", "none configured", "pass --region, set AWS_REGION, or region = … in the profile; it must be the database's region"))
	} else {
		rs = append(rs, ok("region", region))
	}
	var identity string
	if o.Endpoint == "" {
		rs = append(rs, skip("identity", "no --endpoint or $AWS_ENDPOINT_URL: not asking an iamdb authority (real RDS?)"))
	} else if credsOK {
		r := checkIdentity(ctx, creds, o.Endpoint)
		if r.Status == OK {
			identity = r.Detail
		}
		rs = append(rs, r)
	}
	r, engine := checkTLS(ctx, o)
	tlsOK := r.Status == OK
	rs = append(rs, r)
	rs = append(rs, checkClient(o, engine)...)
	if o.Endpoint != "" && credsOK {
		rs = append(rs, checkClock(ctx, creds, o.Endpoint, o.now()))
	}
	d := diagnosis{o: o, creds: creds, identity: identity, region: region}
	switch {
	case o.Token != "":
		tok = o.Token
		var trs []Result
		trs, d.verdict, d.err = checkGivenToken(ctx, o, creds, region)
		rs = append(rs, trs...)
	case credsOK && region != "":
		r, tok, d.verdict, d.err = checkToken(ctx, o, creds, src, target)
		rs = append(rs, r)
	}
	if o.Endpoint != "" && credsOK && tok != "" {
		rs = append(rs, d.run(ctx)...)
	}
	switch {
	case tok == "" || !tlsOK:
	case d.err != nil || d.verdict != nil && !d.verdict.Allowed():
		rs = append(rs, skip("database", "not asked: the token is refused (above), and the gateway would refuse it as a login"))
	case engine == "postgres":
		rs = append(rs, checkDatabase(ctx, o, tok)...)
	case engine == "mysql":
		rs = append(rs, checkMySQLDatabase(ctx, o, tok)...)
	}
	return rs, tok
}

// checkCredentials reports the credentials the chain finds, and until when they last.
func checkCredentials(ctx context.Context, p client.CredentialsProvider) Result {
	creds, err := p.Retrieve(ctx)
	if err != nil {
		return fail("credentials", err.Error(), "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance profile, container role or web identity token provides them")
	}
	detail := creds.AccessKeyID + " from " + creds.Source
	if creds.CanExpire {
		left := time.Until(creds.Expires).Round(time.Second)
		detail += fmt.Sprintf(", expire %s (in %s)", creds.Expires.UTC().Format(time.RFC3339), left)
		if left < 15*time.Minute {
			detail += ": tokens signed now expire with them, before 15 minutes"
		}
	}
	return ok("credentials", detail)
}

// checkIdentity reports who the authority at endpoint says creds belong to.
func checkIdentity(ctx context.Context, creds *client.AWSCredentials, endpoint string) Result {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	arn, err := queryclient.GetCallerIdentity(cctx, creds, endpoint)
	if err != nil {
		return fail("identity", err.Error(), "check --endpoint; a key the authority does not know was made elsewhere (another account or authority)")
	}
	return ok("identity", arn)
}

// checkTLS reports whether the server at o's address speaks TLS with a certificate we
// trust for its name.
func checkTLS(ctx context.Context, o Options) (Result, string) {
	addr := net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(o.Hostname, "["), "]"), strconv.Itoa(o.Port))
	st, kind, err := probeTLS(ctx, addr, o.Hostname, o.Engine, o.CAFile)
	if err != nil {
		hint := "is the gateway listening there? is it the right port?"
		var uerr x509.UnknownAuthorityError
		var herr x509.HostnameError
		switch {
		case errors.As(err, &uerr):
			hint = "the certificate is not signed by a CA you trust: pass --ca-file with the gateway's CA (iamdb dev: $IAMDB_CA_FILE)"
		case errors.As(err, &herr):
			hint = "the certificate is not valid for " + o.Hostname + ": dial a name it lists, or use --signing-host with a tunnel"
		case errors.Is(err, pgwire.ErrProbeNoTLS), errors.Is(err, mysqlwire.ErrProbeNoTLS):
			hint = "IAM database authentication needs TLS and this server does not offer it: dial the gateway (or the RDS endpoint), not the database's own port or a proxy that terminates TLS"
		}
		return fail("tls", fmt.Sprintf("%s (%s): %v", addr, kind, err), hint), kind
	}
	leaf := st.PeerCertificates[0]
	return ok("tls", fmt.Sprintf("%s (%s): %s, %s, certificate for %s valid until %s", addr, kind, tls.VersionName(st.Version),
		tls.CipherSuiteName(st.CipherSuite), strings.Join(leaf.DNSNames, ","), leaf.NotAfter.UTC().Format(time.RFC3339))), kind
}

// checkToken signs a token for target and reports the authority's verdict on it. It
// returns the token, "" if none could be signed, and the verdict or the error asking for
// it.
func checkToken(ctx context.Context, o Options, creds *client.AWSCredentials, src *client.TokenSource, target client.Target) (Result, string, *queryclient.Verdict, error) {
	target.Host = strings.TrimSuffix(strings.TrimPrefix(target.Host, "["), "]") // Target brackets IPv6 itself
	tok, err := src.Token(ctx, target)
	switch {
	case err != nil:
		return fail("token", err.Error(), ""), "", nil, nil
	case o.Endpoint == "":
		expires := tok.Expires().UTC().Truncate(time.Second)
		return ok("token", fmt.Sprintf("built for %s:%d as %s, expires %s (no authority to ask for a verdict)", o.SigningHost, o.Port, o.Username, expires.Format(time.RFC3339))), tok.Value(), nil, nil
	}
	r, err := queryclient.VerifyDBAuthToken(ctx, creds, o.Endpoint, tok.Value(), o.Username, o.SigningHost, o.Port)
	return verdictResult(o, r, err), tok.Value(), r, err
}

// verdictResult is the token check's result for the authority's answer: its verdict r,
// or err.
func verdictResult(o Options, r *queryclient.Verdict, err error) Result {
	switch {
	case err != nil:
		return fail("token", err.Error(), "the authority could not judge the token; VerifyDBAuthToken needs rds-db:VerifyAuthToken on the database user (or rds-db:connect)")
	case r.Allowed():
		return ok("token", fmt.Sprintf("accepted for %s as %s, allowed by policy %s statement %s", o.Username, r.PrincipalARN, r.DecidingPolicy, r.DecidingStatement))
	}
	detail := r.String()
	if r.PrincipalARN != "" {
		detail += " (principal " + r.PrincipalARN + ")"
	}
	if r.Valid && strings.ContainsRune(r.Reason, ' ') {
		detail += ": " + r.Reason
	}
	if r.DecidingPolicy != "" {
		detail += ", policy " + r.DecidingPolicy + " statement " + r.DecidingStatement
	}
	return fail("token", detail, tokenHint(r))
}

// tokenHint says how to fix a refused token.
func tokenHint(r *queryclient.Verdict) string {
	switch {
	case r.Reason == "iam-auth-disabled":
		return "enable IAM authentication on the database: aws rds modify-db-cluster --db-cluster-identifier ID (or modify-db-instance --db-instance-identifier ID) --enable-iam-database-authentication --apply-immediately"
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
	case "expired":
		return "sign a fresh token for each connection (tokens live 15 minutes); if it is fresh, check this machine's clock (NTP)"
	case "not-yet-valid":
		return "check this machine's clock (NTP)"
	case "user-mismatch":
		return "sign the token for the user you log in as, with the same case"
	case "unknown-key", "invalid-session-token":
		return "the authority does not know these credentials: use keys it issued"
	case "inactive-key":
		return "the access key is inactive: aws iam update-access-key --status Active, or use another"
	case "session-expired":
		return "the temporary credentials expired: get new ones"
	}
	return "see docs/troubleshooting.md for every reason"
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
