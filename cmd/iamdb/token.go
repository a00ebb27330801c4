package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/token"
)

const tokenUsage = `usage: iamdb token --hostname H --port P --username U [--region R] [--profile NAME] [--format raw|env|json|pgpass]
       iamdb token verify --token T|- --region R --host H --port P --user U
                          [--secret-access-key S] [--session-token ST] [--now RFC3339] [--skew DURATION]
       iamdb token verify --endpoint URL --token T|- --user U [--host H] [--port P]
                          [--profile NAME] [--region R]

iamdb token builds an RDS auth token as "aws rds generate-db-auth-token" does (host:port/?…,
the host signed as typed, as the Go, Java and JavaScript SDKs sign it), signed with credentials from the AWS SDK's standard chain (environment, shared config and credentials
files, --profile, web identity, container and instance metadata endpoints) for the
region of --region, else the one in an RDS host name, else the AWS configuration's. --format env
prints PGPASSWORD and MYSQL_PWD exports, json the token with its expiry, pgpass a ~/.pgpass
line (the token expires: rewrite the file before each new connection, or use iamdb connect).

iamdb token verify checks a token offline with a known secret and prints "valid" (exit 0) or
"refused: <reason>" (exit 1). The secret defaults to $AWS_SECRET_ACCESS_KEY and the session
token to $AWS_SESSION_TOKEN. With --endpoint it asks the iamdb authority instead (signing the
question with your own AWS credentials), which also evaluates rds-db:connect and says which
policy statement decided; you need rds-db:VerifyAuthToken for that database user.
`

func runToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "verify" {
		return runTokenVerify(ctx, args[1:], stdin, stdout, stderr)
	}
	fs := newFlagSet("iamdb token", tokenUsage, stderr)
	var tf tokenFlags
	tf.register(fs)
	format := fs.String("format", "raw", "output: raw, env, json or pgpass")
	if done, err := parseArgs(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("token: unexpected argument %q", fs.Arg(0))
	}
	if err := tf.required("token"); err != nil {
		return err
	}
	switch *format {
	case "raw", "env", "json", "pgpass":
	default:
		return usagef("token: --format must be raw, env, json or pgpass")
	}
	tok, info, err := tf.mint(ctx, "token", tf.hostname)
	if err != nil {
		return err
	}
	return printToken(stdout, *format, tok, info)
}

// newFlagSet returns the flag set of the subcommand name, which prints its mistakes and
// usage to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	return fs
}

// parseArgs parses args into fs, which prints what is wrong: done with no error for -h,
// done with exit status 2 for a mistake.
func parseArgs(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, exitCode(2)
	}
	return false, nil
}

// tokenFlags are the flags of the commands that mint a token (token, connect): the
// database it is for, and the profile and region of the credentials that sign it.
type tokenFlags struct {
	hostname, username, region, profile string
	port                                int
}

func (f *tokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.hostname, "hostname", "", "database host name, as clients dial it")
	fs.IntVar(&f.port, "port", 0, "database port")
	fs.StringVar(&f.username, "username", "", "database user")
	fs.StringVar(&f.region, "region", "", "region (default: an RDS host name's, else the AWS config's or $AWS_REGION)")
	fs.StringVar(&f.profile, "profile", "", "shared config profile")
}

// required is the usage error of command cmd when a required flag is missing.
func (f *tokenFlags) required(cmd string) error {
	if f.hostname == "" || f.port == 0 || f.username == "" {
		return usagef("%s: --hostname, --port and --username are required", cmd)
	}
	return nil
}

// mint signs a token for host (the name the token is signed for), the port and the user,
// with the AWS SDK's standard chain loaded by the client library.
func (f *tokenFlags) mint(ctx context.Context, cmd, host string) (client.Token, tokenInfo, error) {
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: f.profile, Region: f.region})
	if err != nil {
		return client.Token{}, tokenInfo{}, fmt.Errorf("%s: %w", cmd, err)
	}
	src, err := client.NewTokenSource(client.Config{Credentials: creds, Region: f.region})
	if err != nil {
		return client.Token{}, tokenInfo{}, fmt.Errorf("%s: %w", cmd, err)
	}
	tok, info, err := mintToken(ctx, src, client.Target{Host: host, Port: f.port, User: f.username})
	if err != nil {
		return client.Token{}, tokenInfo{}, fmt.Errorf("%s: %w", cmd, err)
	}
	return tok, info, nil
}

// mintToken signs a token for t with src, whose rules give the region: the Config's (the
// --region flag), else the one in an RDS host name, else the AWS configuration's. The
// token expires 15 minutes after signing, or sooner when the credentials expire first.
func mintToken(ctx context.Context, src *client.TokenSource, t client.Target) (client.Token, tokenInfo, error) {
	host := t.Host
	t.Host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]") // Target brackets IPv6 itself
	region, err := src.Region(t)
	if errors.Is(err, client.ErrNoRegion) {
		return client.Token{}, tokenInfo{}, usagef("no region: pass --region or set AWS_REGION (or dial an RDS host name)")
	}
	if err != nil {
		return client.Token{}, tokenInfo{}, err
	}
	tok, err := src.Token(ctx, t)
	if err != nil {
		return client.Token{}, tokenInfo{}, err
	}
	return tok, tokenInfo{
		Hostname: host, Port: t.Port, Username: t.User, Region: region,
		Expiration: tok.Expires().UTC().Truncate(time.Second),
	}, nil
}

type tokenInfo struct {
	Hostname   string    `json:"hostname"`
	Port       int       `json:"port"`
	Username   string    `json:"username"`
	Region     string    `json:"region"`
	Expiration time.Time `json:"expiration"`
}

func printToken(w io.Writer, format string, t client.Token, info tokenInfo) error {
	tok := t.Value()
	switch format {
	case "env":
		q := shellQuote(tok)
		_, err := fmt.Fprintf(w, "export PGPASSWORD=%s\nexport MYSQL_PWD=%s\n", q, q)
		return err
	case "json":
		out := struct {
			Token string `json:"token"`
			tokenInfo
		}{tok, info}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	case "pgpass":
		// A ~/.pgpass line (hostname:port:database:username:password) for any database;
		// ':' and '\' in a field are escaped with '\'.
		esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
		_, err := fmt.Fprintf(w, "%s:%d:*:%s:%s\n", esc.Replace(info.Hostname), info.Port, esc.Replace(info.Username), esc.Replace(tok))
		return err
	}
	_, err := fmt.Fprintln(w, tok)
	return err
}

// joinHostPort writes host:port, bracketing an IPv6 address that is not bracketed yet.
func joinHostPort(host string, port int) string {
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func runTokenVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("iamdb token verify", tokenUsage, stderr)
	tok := fs.String("token", "", "the token, or - to read it from standard input")
	secret := fs.String("secret-access-key", "", "secret access key of the signer (default $AWS_SECRET_ACCESS_KEY)")
	sessionToken := fs.String("session-token", "", "session token of temporary credentials (default $AWS_SESSION_TOKEN)")
	region := fs.String("region", "", "the database's region")
	host := fs.String("host", "", "the database's host name (comma-separated for several)")
	port := fs.Int("port", 0, "the database's port")
	user := fs.String("user", "", "the login user")
	nowFlag := fs.String("now", "", "verify as of this time (RFC 3339; default: now)")
	skew := fs.Duration("skew", token.DefaultSkew, "allowed clock skew")
	endpoint := fs.String("endpoint", "", "ask the iamdb authority at this URL instead of checking offline")
	profile := fs.String("profile", "", "shared config profile (with --endpoint)")
	if done, err := parseArgs(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("token verify: unexpected argument %q", fs.Arg(0))
	}
	if *tok == "-" {
		line, err := bufio.NewReaderSize(io.LimitReader(stdin, token.DefaultMaxLen*4), 4096).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("token verify: reading the token: %w", err)
		}
		*tok = strings.TrimSpace(line)
	}
	if *endpoint != "" {
		if *tok == "" || *user == "" {
			return usagef("token verify: --token and --user are required")
		}
		return verifyRemote(ctx, *endpoint, *profile, *region, *tok, *user, *host, *port, stdout, stderr)
	}
	if *tok == "" || *region == "" || *host == "" || *port == 0 || *user == "" {
		return usagef("token verify: --token, --region, --host, --port and --user are required")
	}
	if *secret == "" {
		*secret = os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	if *sessionToken == "" {
		*sessionToken = os.Getenv("AWS_SESSION_TOKEN")
	}
	if *secret == "" {
		return usagef("token verify: --secret-access-key (or $AWS_SECRET_ACCESS_KEY) is required")
	}
	now := time.Now
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return usagef("token verify: --now: %v", err)
		}
		now = func() time.Time { return t }
	}
	if *skew == 0 {
		*skew = -1 // the flag's zero means none; Config's zero means the default
	}
	wantSession := *sessionToken
	v, err := token.NewVerifier(token.Config[any]{
		Region:    *region,
		Endpoints: strings.Split(*host, ","),
		Port:      *port,
		Skew:      *skew,
		Now:       now,
		Keys: token.KeyLookupFunc[any](func(_ context.Context, _, got string) (token.Key[any], error) {
			if got != wantSession {
				return token.Key[any]{}, fmt.Errorf("%w: it differs from the one given", token.ErrInvalidSessionToken)
			}
			return token.Key[any]{SecretAccessKey: *secret}, nil
		}),
	})
	if err != nil {
		return usagef("token verify: %v", err)
	}
	if _, err := v.Verify(ctx, *tok, *user); err != nil {
		fmt.Fprintf(stdout, "refused: %s\n", token.Reason(err))
		fmt.Fprintf(stderr, "iamdb: %v\n", err)
		return exitCode(1)
	}
	fmt.Fprintln(stdout, "valid")
	return nil
}
