package doctor

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/queryclient"
)

// The common mistakes behind a refused first login, each a finding with its one-line fix:
// the client's settings (checkClient), the clock (checkClock), a token of the client's own
// (checkGivenToken), and what the authority's answers tell about a refusal (diagnosis).

// The clients Options.Client names.
const (
	ClientPsql         = "psql"          // and every libpq client
	ClientMySQL        = "mysql"         // Oracle's mysql and libmysqlclient
	ClientMariaDB      = "mariadb"       // MariaDB's mariadb (mysql) client, Connector/C
	ClientMysqlnd      = "mysqlnd"       // PHP
	ClientGoSQLDriver  = "go-sql-driver" // github.com/go-sql-driver/mysql
	ClientJDBC         = "jdbc"          // MySQL Connector/J, MariaDB Connector/J
	clientListForUsage = "psql, mysql, mariadb, mysqlnd, go-sql-driver or jdbc"
)

// Clients are the values of Options.Client, for a usage message.
const Clients = clientListForUsage

// ValidClient reports whether c is one of Clients or "".
func ValidClient(c string) bool {
	switch c {
	case "", ClientPsql, ClientMySQL, ClientMariaDB, ClientMysqlnd, ClientGoSQLDriver, ClientJDBC:
		return true
	}
	return false
}

// checkClient checks the client-side settings doctor can see for engine ("postgres" or
// "mysql"): libpq's PGSSLMODE, the cleartext plugin of Oracle's client, and the localhost
// socket trap of libmysqlclient and mysqlnd.
func checkClient(o Options, engine string) []Result {
	var rs []Result
	if engine == "postgres" {
		switch mode := os.Getenv("PGSSLMODE"); mode {
		case "disable":
			rs = append(rs, fail("client_tls", "PGSSLMODE=disable: libpq clients connect without TLS, and the gateway refuses IAM logins without it (no-ssl)",
				"export PGSSLMODE=verify-full PGSSLROOTCERT=<the gateway's CA> (or sslmode=verify-full in the connection string)"))
		case "allow":
			rs = append(rs, warn("client_tls", "PGSSLMODE=allow: libpq tries without TLS first, which the gateway refuses (no-ssl), then retries with TLS",
				"export PGSSLMODE=verify-full PGSSLROOTCERT=<the gateway's CA>"))
		case "":
			rs = append(rs, ok("client_tls", "PGSSLMODE is not set: libpq uses TLS if the server offers it (sslmode=verify-full also checks the certificate)"))
		case "prefer", "require":
			rs = append(rs, ok("client_tls", "PGSSLMODE="+mode+": libpq uses TLS (verify-full also checks the certificate)"))
		default:
			rs = append(rs, ok("client_tls", "PGSSLMODE="+mode))
		}
		return rs
	}
	if engine != "mysql" {
		return rs
	}
	switch o.Client {
	case ClientMySQL:
		if v := os.Getenv("LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN"); v == "" || !strings.ContainsAny(v[:1], "1yY") {
			rs = append(rs, warn("cleartext", "Oracle's mysql (libmysqlclient) refuses to send the token with mysql_clear_password unless told to; $LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN is not set",
				"mysql --enable-cleartext-plugin, or export LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1 (the token travels inside TLS)"))
		} else {
			rs = append(rs, ok("cleartext", "LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN="+v+": libmysqlclient sends the token with mysql_clear_password"))
		}
	case ClientGoSQLDriver:
		rs = append(rs, Result{Check: "cleartext", Status: OK, Detail: "go-sql-driver sends the token only with allowCleartextPasswords=true",
			Fix: "the DSN needs allowCleartextPasswords=true&tls=<config> (else: this user requires clear text authentication)"})
	case ClientMariaDB:
		rs = append(rs, ok("cleartext", "MariaDB's client always allows mysql_clear_password"))
	case "":
		rs = append(rs, Result{Check: "cleartext", Status: OK, Detail: "the gateway asks for the token with mysql_clear_password, inside TLS",
			Fix: "Oracle's mysql: --enable-cleartext-plugin (or LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1); go-sql-driver: allowCleartextPasswords=true; --client NAME checks yours"})
	}
	if !strings.EqualFold(o.Hostname, "localhost") {
		return rs
	}
	const trap = "host \"localhost\": libmysqlclient (Oracle's mysql) and PHP's mysqlnd connect to the local Unix socket and ignore the port, so the login never reaches the gateway"
	const trapFix = "dial 127.0.0.1 (and, if the database is registered as localhost, sign for it: --signing-host localhost), or pass --protocol=TCP"
	switch o.Client {
	case ClientMySQL, ClientMysqlnd:
		rs = append(rs, fail("socket", trap, trapFix))
	case "":
		rs = append(rs, Result{Check: "socket", Status: OK, Detail: "host \"localhost\": fine for MariaDB's client with --port and for drivers that always use TCP", Fix: "with Oracle's mysql or PHP's mysqlnd (--client mysql|mysqlnd): " + trapFix})
	}
	return rs
}

// The clock skews a login survives: a token dated more than 5 minutes ahead of the
// verifier's clock is not yet valid; one signed 15 minutes behind it arrives expired.
const (
	maxAhead  = 5 * time.Minute
	maxBehind = 15 * time.Minute
	// clockSlack is a skew worth a warning: tokens live that much less.
	clockSlack = 2 * time.Minute
)

// checkClock compares now, this machine's clock, with the authority's (the Date header
// of its answer to a request signed with creds, to the second).
func checkClock(ctx context.Context, creds client.CredentialsProvider, endpoint string, now time.Time) Result {
	theirs, ours, err := authorityClock(ctx, creds, endpoint, now)
	if err != nil {
		return skip("clock", "could not read the authority's clock: "+err.Error())
	}
	skew := ours.Sub(theirs).Truncate(time.Second)
	const fix = "synchronise this machine's clock (NTP: timedatectl set-ntp true; chronyc makestep)"
	abs := skew.Abs()
	switch {
	case skew > maxAhead:
		return fail("clock", fmt.Sprintf("this machine's clock is %s ahead of the authority's: its tokens are not yet valid there (5 minutes' allowance)", abs), fix)
	case -skew >= maxBehind:
		return fail("clock", fmt.Sprintf("this machine's clock is %s behind the authority's: its tokens arrive expired (they live 15 minutes)", abs), fix)
	case abs > clockSlack:
		return warn("clock", fmt.Sprintf("this machine's clock is %s off the authority's: tokens signed here live %s less", abs, abs), fix)
	}
	return ok("clock", fmt.Sprintf("within %s of the authority's", max(abs, time.Second)))
}

// checkGivenToken checks o.Token, the client's own token: what it was signed for against
// what is dialled, its age, then the authority's verdict for o's login.
func checkGivenToken(ctx context.Context, o Options, creds *client.AWSCredentials, region string) ([]Result, *queryclient.Verdict, error) {
	from := o.TokenFrom
	if from == "" {
		from = "the token"
	}
	ti, err := parseToken(o.Token)
	if err != nil {
		return []Result{fail("token", from+": "+err.Error(), "pass the token unchanged (quote it in the shell: \"$PGPASSWORD\"); nothing may truncate it")}, nil, nil
	}
	var rs []Result
	signFix := fmt.Sprintf("sign for the name and port you dial, as the database is registered: aws rds generate-db-auth-token --hostname %s --port %d --username %s (through a tunnel, load balancer or CNAME: sign for the registered endpoint and pass it as --signing-host)", o.SigningHost, o.Port, o.Username)
	if !strings.EqualFold(ti.Host, strings.Trim(o.SigningHost, "[]")) {
		rs = append(rs, fail("token_host", fmt.Sprintf("%s is signed for host %s; the login goes to %s", from, ti.Host, o.SigningHost), signFix))
	}
	if ti.Port != o.Port {
		rs = append(rs, fail("token_port", fmt.Sprintf("%s is signed for port %d; the login goes to port %d", from, ti.Port, o.Port), signFix))
	}
	switch {
	case ti.User == o.Username:
	case strings.EqualFold(ti.User, o.Username):
		rs = append(rs, fail("user_case", fmt.Sprintf("%s is signed for user %q, the login is as %q: user names are case-sensitive", from, ti.User, o.Username),
			"sign the token for the exact user name you log in as (aws rds generate-db-auth-token --username "+o.Username+")"))
	default:
		rs = append(rs, fail("token_user", fmt.Sprintf("%s is signed for user %q, the login is as %q", from, ti.User, o.Username),
			"sign the token for the user you log in as (--username "+o.Username+")"))
	}
	if region != "" && ti.Region != region {
		rs = append(rs, fail("token_region", fmt.Sprintf("%s is signed for region %s; the configured region is %s", from, ti.Region, region),
			"sign in the database's region: aws rds generate-db-auth-token --region REGION (or AWS_REGION)"))
	}
	now := o.now()
	age := now.Sub(ti.Date).Truncate(time.Second)
	switch {
	case age > ti.Expires:
		rs = append(rs, fail("token_age", fmt.Sprintf("%s was signed at %s, %s ago: it expired after %s", from, ti.Date.Format(time.RFC3339), age, ti.Expires),
			"sign a fresh token for each new connection (pools: one per connection, not one at start-up)"))
	case -age > maxAhead:
		rs = append(rs, fail("token_age", fmt.Sprintf("%s is dated %s, %s in the future: the signer's clock is off", from, ti.Date.Format(time.RFC3339), -age),
			"synchronise the clock of the machine that signed it (NTP)"))
	}
	if c, err := creds.Retrieve(ctx); err == nil && c.AccessKeyID != ti.AccessKeyID {
		rs = append(rs, ok("token_key", fmt.Sprintf("%s is signed with access key %s, not with the credentials doctor found (%s)", from, ti.AccessKeyID, c.AccessKeyID)))
	}
	if o.Endpoint == "" {
		if len(rs) == 0 {
			rs = append(rs, ok("token", fmt.Sprintf("%s: signed for %s:%d as %s in %s at %s (no authority to ask for a verdict)", from, ti.Host, ti.Port, ti.User, ti.Region, ti.Date.Format(time.RFC3339))))
		}
		return rs, nil, nil
	}
	v, err := queryclient.VerifyDBAuthToken(ctx, creds, o.Endpoint, o.Token, o.Username, o.SigningHost, o.Port)
	return append(rs, verdictResult(o, v, err)), v, err
}

// diagnosis names the cause of a refusal from what the authority tells the caller: the
// verdict (or the error asking for it), the databases it may describe, the policies of its
// principal it may read, and its other profiles' principals.
type diagnosis struct {
	o        Options
	creds    *client.AWSCredentials
	identity string // the caller's ARN, "" if unknown
	region   string // the token's region
	verdict  *queryclient.Verdict
	err      error
}

// run returns the findings for d's refusal, none if the login was allowed.
func (d diagnosis) run(ctx context.Context) []Result {
	v := d.verdict
	switch {
	case d.err != nil && (strings.HasPrefix(d.err.Error(), "DBInstanceNotFound") || strings.HasPrefix(d.err.Error(), "AccessDenied") && strings.Contains(d.err.Error(), "on resource: * ")):
		// A caller without rds-db:VerifyAuthToken is refused on "*" when no database
		// is registered at the endpoint (it must not learn which exist): describe them.
		if r, found := d.endpoint(ctx); found {
			return []Result{r}
		}
		return nil
	case d.err != nil || v == nil || v.Allowed():
		return nil
	case v.Reason == "wrong-scope-region":
		return []Result{d.wrongRegion(ctx)}
	case v.Valid && v.Decision == "implicitDeny" && v.Reason != "iam-auth-disabled":
		return d.implicitDeny(ctx)
	}
	return nil
}

// database returns the database registered at the signing host and port that the caller
// may describe.
func (d diagnosis) database(ctx context.Context, creds *client.AWSCredentials) (*database, []database, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	dbs, err := describeDatabases(cctx, creds, d.o.Endpoint)
	if err != nil {
		return nil, nil, err
	}
	host := strings.Trim(d.o.SigningHost, "[]")
	for i, db := range dbs {
		if db.Port == d.o.Port && slices.ContainsFunc(db.Endpoints, func(e string) bool { return strings.EqualFold(e, host) }) {
			return &dbs[i], dbs, nil
		}
	}
	return nil, dbs, nil
}

// endpoint explains a token signed for a host and port no database is registered at.
func (d diagnosis) endpoint(ctx context.Context) (Result, bool) {
	at := fmt.Sprintf("%s:%d", d.o.SigningHost, d.o.Port)
	detail := "no database is registered at " + at
	if d.o.SigningHost != d.o.Hostname {
		detail += " (--signing-host)"
	}
	db, dbs, err := d.database(ctx, d.creds)
	switch {
	case err != nil:
		return fail("endpoint", "is a database registered at "+at+"? describing the databases was refused ("+err.Error()+")",
			"sign for the database's registered endpoint and port (aws rds describe-db-clusters/-instances: Endpoint, Port); dialling another name or address (tunnel, load balancer, CNAME, IP), pass the registered name as --signing-host"), true
	case db != nil:
		return Result{}, false // registered: the refusal is the permission's
	}
	for _, db := range dbs {
		if db.Port == d.o.Port {
			return fail("endpoint", fmt.Sprintf("%s: the %s %s on port %d is registered as %s", detail, db.Kind, db.Identifier, db.Port, strings.Join(db.Endpoints, ", ")),
				fmt.Sprintf("sign the token for %s, the name the database is registered with: --signing-host %s (aws rds generate-db-auth-token --hostname %s)", db.Endpoints[0], db.Endpoints[0], db.Endpoints[0])), true
		}
	}
	host := strings.Trim(d.o.SigningHost, "[]")
	for _, db := range dbs {
		if slices.ContainsFunc(db.Endpoints, func(e string) bool { return strings.EqualFold(e, host) }) {
			return fail("endpoint", fmt.Sprintf("%s: the %s %s there listens on port %d", detail, db.Kind, db.Identifier, db.Port),
				fmt.Sprintf("dial and sign for port %d", db.Port)), true
		}
	}
	return fail("endpoint", detail+" among the databases you may describe", "check --hostname and --port: they must be a registered database's endpoint (aws rds describe-db-clusters/-instances), or pass that endpoint as --signing-host"), true
}

// wrongRegion names the database's region for a token signed for another.
func (d diagnosis) wrongRegion(ctx context.Context) Result {
	detail := "the token is signed for region " + d.region + ", not the database's"
	// Describing is regional: ask in the configuration's region, not --region's.
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: d.o.Profile})
	var db *database
	if err == nil {
		db, _, err = d.database(ctx, creds)
	}
	if err == nil && db != nil && db.Region() != "" && db.Region() != d.region {
		return fail("region", fmt.Sprintf("the token is signed for region %s; the %s %s is in %s", d.region, db.Kind, db.Identifier, db.Region()),
			"use the database's region: --region "+db.Region()+" (or export AWS_REGION="+db.Region()+")")
	}
	return fail("region", detail, "use the database's region (--region, AWS_REGION; aws rds describe-db-clusters/-instances shows it in the ARN)")
}

// implicitDeny looks for why no policy allows the login: a policy's resource ARN that
// names the database by its identifier rather than its resource id, or the user in
// another case, or else another profile's principal that is allowed.
func (d diagnosis) implicitDeny(ctx context.Context) []Result {
	v := d.verdict
	db, _, dbErr := d.database(ctx, d.creds)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	docs, polErr := principalPolicies(cctx, d.creds, d.o.Endpoint, v.PrincipalARN)
	var rs []Result
	for _, doc := range docs {
		grants, err := connectGrants(doc)
		if err != nil {
			continue
		}
		for _, g := range grants {
			if r, found := d.grantMistake(g, db); found {
				rs = append(rs, r)
			}
		}
	}
	if len(rs) == 0 {
		if r, found := d.otherCase(ctx); found {
			return []Result{r}
		}
	}
	if polErr != nil && len(rs) == 0 {
		fix := "let the principal read its own policies (iam:ListAttached*Policies, iam:GetPolicy, iam:GetPolicyVersion, iam:List*Policies, iam:Get*Policy, iam:ListGroupsForUser) for doctor to name the mistake, or ask an admin to run: iamdb policy simulate"
		rs = append(rs, skip("policies", fmt.Sprintf("could not read the policies of %s: %v (%s)", v.PrincipalARN, polErr, fix)))
	}
	if dbErr != nil && len(rs) == 0 {
		rs = append(rs, skip("databases", "could not describe the databases: "+dbErr.Error()))
	}
	return append(rs, d.otherProfiles(ctx)...)
}

// grantMistake reports the mistake in g, an ARN granting rds-db:connect, that keeps it
// from matching the login on db (nil if unknown).
func (d diagnosis) grantMistake(g connectGrant, db *database) (Result, bool) {
	// arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER
	parts := strings.SplitN(g.Resource, ":", 7)
	if len(parts) != 7 || parts[2] != "rds-db" || parts[5] != "dbuser" {
		return Result{}, false
	}
	rid, user, found := strings.Cut(parts[6], "/")
	if !found {
		return Result{}, false
	}
	where := fmt.Sprintf("policy %s statement %s allows rds-db:connect on %s", g.Policy, g.Statement, g.Resource)
	if db != nil {
		want := "arn:aws:rds-db:" + db.Region() + ":" + db.Account() + ":dbuser:" + db.ResourceID + "/" + d.o.Username
		switch {
		case strings.EqualFold(rid, db.Identifier) || !strings.ContainsAny(rid, "*?") && !strings.HasPrefix(rid, "db-") && !strings.HasPrefix(rid, "cluster-"):
			return fail("policy_arn", fmt.Sprintf("%s: %q is the %s's identifier, not its resource id %s", where, rid, db.Kind, db.ResourceID),
				"write the resource id in the ARN: "+want), true
		case arn.Glob(rid, db.ResourceID) && !arn.Glob(user, d.o.Username) && strings.EqualFold(user, d.o.Username):
			return fail("user_case", fmt.Sprintf("%s: the user %q differs from the login's %q only in case, and user names are case-sensitive", where, user, d.o.Username),
				"log in as "+user+" if that is the database user, or write "+want), true
		case arn.Glob(rid, db.ResourceID) && arn.Glob(user, d.o.Username) && !arn.Glob(parts[3], db.Region()):
			return fail("policy_arn", fmt.Sprintf("%s: region %q, but the database is in %s", where, parts[3], db.Region()), "write the database's region in the ARN: "+want), true
		}
		return Result{}, false
	}
	if !strings.ContainsAny(rid, "*?") && !strings.HasPrefix(rid, "db-") && !strings.HasPrefix(rid, "cluster-") {
		return fail("policy_arn", fmt.Sprintf("%s: %q is not a resource id (db-… or cluster-…): an identifier?", where, rid),
			"write the resource id (DbiResourceId or DbClusterResourceId of aws rds describe-db-instances/-clusters) in the ARN"), true
	}
	if strings.EqualFold(user, d.o.Username) && user != d.o.Username {
		return fail("user_case", fmt.Sprintf("%s: the user %q differs from the login's %q only in case, and user names are case-sensitive", where, user, d.o.Username),
			"log in as "+user+", or write "+d.o.Username+" in the ARN"), true
	}
	return Result{}, false
}

// otherCase asks whether the login would be allowed as the user name in lower case: a
// token of the caller's own for it, which the authority judges without more permission.
func (d diagnosis) otherCase(ctx context.Context) (Result, bool) {
	lower := strings.ToLower(d.o.Username)
	if lower == d.o.Username {
		return Result{}, false
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	src, err := client.NewTokenSource(client.Config{Credentials: d.creds, Region: d.region})
	if err != nil {
		return Result{}, false
	}
	tok, err := src.Token(cctx, client.Target{Host: strings.Trim(d.o.SigningHost, "[]"), Port: d.o.Port, User: lower})
	if err != nil {
		return Result{}, false
	}
	v, err := queryclient.VerifyDBAuthToken(cctx, d.creds, d.o.Endpoint, tok.Value(), lower, d.o.SigningHost, d.o.Port)
	if err != nil || !v.Allowed() {
		return Result{}, false
	}
	return fail("user_case", fmt.Sprintf("%s may log in as %q (policy %s), not as %q: user names are case-sensitive", v.PrincipalARN, lower, v.DecidingPolicy, d.o.Username),
		"log in as "+lower+" (PostgreSQL folds unquoted names to lower case: CREATE USER App makes app)"), true
}

// maxProfiles bounds the other profiles doctor tries.
const maxProfiles = 10

// otherProfiles looks for a profile of the shared files whose principal the login is
// allowed for, when the credentials doctor found are not.
func (d diagnosis) otherProfiles(ctx context.Context) []Result {
	current := d.o.Profile
	if current == "" {
		current = os.Getenv("AWS_PROFILE")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // for them all
	defer cancel()
	var tried int
	for _, name := range sharedProfiles() {
		if name == current || current == "" && name == "default" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			continue
		}
		if tried++; tried > maxProfiles {
			break
		}
		if r, found := d.tryProfile(ctx, name); found {
			return []Result{r}
		}
	}
	return nil
}

// tryProfile asks whether profile's principal would be let in.
func (d diagnosis) tryProfile(ctx context.Context, profile string) (Result, bool) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	creds, err := client.AWSDefaultCredentials(cctx, client.AWSOptions{Profile: profile, Region: d.o.Region})
	if err != nil {
		return Result{}, false
	}
	src, err := client.NewTokenSource(client.Config{Credentials: creds, Region: d.region})
	if err != nil {
		return Result{}, false
	}
	tok, err := src.Token(cctx, client.Target{Host: strings.Trim(d.o.SigningHost, "[]"), Port: d.o.Port, User: d.o.Username})
	if err != nil {
		return Result{}, false
	}
	v, err := queryclient.VerifyDBAuthToken(cctx, creds, d.o.Endpoint, tok.Value(), d.o.Username, d.o.SigningHost, d.o.Port)
	if err != nil || !v.Allowed() || v.PrincipalARN == d.verdict.PrincipalARN {
		return Result{}, false
	}
	fix := fmt.Sprintf("use that profile: --profile %s, or export AWS_PROFILE=%s", profile, profile)
	if os.Getenv("AWS_ACCESS_KEY_ID") != "" {
		fix += " (and unset AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the environment's keys win over the default profile)"
	}
	return fail("profile", fmt.Sprintf("the credentials doctor found are %s's, whom no policy allows; profile %q is %s, allowed by policy %s", d.verdict.PrincipalARN, profile, v.PrincipalARN, v.DecidingPolicy), fix), true
}

// maxSharedFile bounds the shared config and credentials files doctor reads.
const maxSharedFile = 1 << 20

// sharedProfiles lists the profiles of the AWS shared config and credentials files.
func sharedProfiles() []string {
	home, _ := os.UserHomeDir()
	file := func(env, name string) string {
		if p := os.Getenv(env); p != "" {
			return p
		}
		return filepath.Join(home, ".aws", name)
	}
	read := func(path string) string {
		f, err := os.Open(path)
		if err != nil {
			return ""
		}
		defer f.Close()
		b, _ := io.ReadAll(io.LimitReader(f, maxSharedFile))
		return string(b)
	}
	names := profileNames(read(file("AWS_CONFIG_FILE", "config")), true)
	for _, n := range profileNames(read(file("AWS_SHARED_CREDENTIALS_FILE", "credentials")), false) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// maxProfileNames bounds the profiles profileNames returns.
const maxProfileNames = 100

// profileNames returns the profiles' names of a shared config file (config: "[default]",
// "[profile NAME]") or credentials file ("[NAME]"), in order, each once.
func profileNames(text string, config bool) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if len(line) < 2 || line[0] != '[' || line[len(line)-1] != ']' {
			continue
		}
		name := strings.TrimSpace(line[1 : len(line)-1])
		if config && name != "default" {
			p, found := strings.CutPrefix(name, "profile")
			if !found || p == "" || (p[0] != ' ' && p[0] != '\t') {
				continue // [sso-session x], [services x], …
			}
			name = strings.TrimSpace(p)
		}
		if name == "" || strings.ContainsAny(name, " \t[]") || slices.Contains(names, name) {
			continue
		}
		if names = append(names, name); len(names) == maxProfileNames {
			break
		}
	}
	return names
}
