package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/policy"
)

const policyUsage = `usage: iamdb policy <command> [arguments]

commands:
  validate  check policy documents the way IAM does (MalformedPolicyDocument, size quota)
  simulate  evaluate one request against policies and print the decision
`

const validateUsage = `usage: iamdb policy validate [--kind KIND] [--max-size N] FILE...

Checks each policy document strictly, as IAM does when a policy is created, and prints
"valid" or an AWS-style error (MalformedPolicyDocument: …, LimitExceeded: …) naming the
statement and the element. Exits 1 if any document is invalid.

  --kind KIND     identity (default), resource, trust, boundary or session
  --max-size N    size quota in characters without white space; 0 means the kind's
                  default (6144 identity/boundary, 2048 trust and session, 20480
                  resource), -1 none
`

const simulateUsage = `usage: iamdb policy simulate --action ACTION --resource ARN [options]

Evaluates one request with AWS's policy evaluation logic and prints allowed,
explicitDeny or implicitDeny, then the deciding policy and statement. Exits 0 when
the request is allowed and 1 otherwise.

  --policy FILE          identity-based policy (repeatable)
  --boundary FILE        permissions boundary
  --session-policy FILE  session policy (repeatable)
  --resource-policy FILE resource-based policy of the resource
  --trust                the resource policy is a role trust policy (sts:AssumeRole*)
  --action ACTION        for example rds-db:connect
  --resource ARN         for example arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/alice
  --resource-owner ACCT  the resource's account, when its ARN has none (S3)
  --principal ARN        caller: user, role, assumed-role session, federated user or root;
                         also sets aws:PrincipalArn, aws:PrincipalAccount,
                         aws:PrincipalType and (for users) aws:username. Without it
                         the caller is taken to be in the resource's account
  --context KEY=TYPE:VALUE
                         a request context key (repeatable; repeating a key adds values).
                         TYPE is one of:
                           string      text
                           stringList  comma-separated texts (a multivalued key)
                           numeric     a number
                           bool        true or false
                           date        ISO 8601 (2024-06-01T12:00:00Z) or epoch seconds
                           ip          an IPv4 or IPv6 address
                           binary      base64
                           arn         an ARN (compared as text by Arn operators)
                         for example --context aws:SourceIp=ip:10.1.2.3
                                     --context aws:PrincipalTag/team=string:eng
`

// runPolicy implements "iamdb policy validate|simulate".
func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(args, policyUsage, "policy: ", stdout, stderr, map[string]subcommand{
		"validate": func(args []string) error { return runPolicyValidate(args, stdout, stderr) },
		"simulate": func(args []string) error { return runPolicySimulate(args, stdout, stderr) },
	})
}

// parseFlags parses args, printing usage to stdout for -h and to stderr for mistakes.
func parseFlags(fs *flag.FlagSet, usage string, args []string, stdout, stderr io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return true, nil
		}
		fmt.Fprint(stderr, usage)
		return false, usagef("%v", err)
	}
	return false, nil
}

var kindNames = map[string]policy.Kind{
	"identity": policy.KindIdentity, "resource": policy.KindResource, "trust": policy.KindTrust,
	"boundary": policy.KindBoundary, "session": policy.KindSession,
}

func runPolicyValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy validate", flag.ContinueOnError)
	kindName := fs.String("kind", "identity", "")
	maxSize := fs.Int("max-size", 0, "")
	if help, err := parseFlags(fs, validateUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	kind, ok := kindNames[*kindName]
	if !ok {
		return usagef("policy validate: unknown --kind %q (want identity, resource, trust, boundary or session)", *kindName)
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, validateUsage)
		return usagef("policy validate: no policy file given")
	}
	failed := false
	for _, file := range fs.Args() {
		prefix := ""
		if fs.NArg() > 1 {
			prefix = file + ": "
		}
		doc, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "%s%v\n", prefix, err)
			failed = true
			continue
		}
		if _, err := policy.Parse(doc, policy.WithKind(kind), policy.WithMaxSize(*maxSize)); err != nil {
			fmt.Fprintf(stderr, "%s%s\n", prefix, awsError(err))
			failed = true
			continue
		}
		fmt.Fprintf(stdout, "%svalid\n", prefix)
	}
	if failed {
		return exitCode(1)
	}
	return nil
}

// awsError words a Parse error as IAM would report it.
func awsError(err error) string {
	var se *policy.SyntaxError
	var ze *policy.SizeError
	switch {
	case errors.As(err, &se):
		return "MalformedPolicyDocument: " + se.Detail()
	case errors.As(err, &ze):
		return fmt.Sprintf("LimitExceeded: Cannot exceed quota for PolicySize: %d (document has %d characters without white space)", ze.Limit, ze.Size)
	}
	return err.Error()
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

// simulateFlags are the flags of "iamdb policy simulate".
type simulateFlags struct {
	policies, sessions, contexts                                 repeated
	boundary, resourcePolicy, action, resource, owner, principal string
	trust                                                        bool
}

func runPolicySimulate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy simulate", flag.ContinueOnError)
	var f simulateFlags
	fs.Var(&f.policies, "policy", "")
	fs.Var(&f.sessions, "session-policy", "")
	fs.Var(&f.contexts, "context", "")
	fs.StringVar(&f.boundary, "boundary", "", "")
	fs.StringVar(&f.resourcePolicy, "resource-policy", "", "")
	fs.BoolVar(&f.trust, "trust", false, "")
	fs.StringVar(&f.action, "action", "", "")
	fs.StringVar(&f.resource, "resource", "", "")
	fs.StringVar(&f.owner, "resource-owner", "", "")
	fs.StringVar(&f.principal, "principal", "", "")
	if help, err := parseFlags(fs, simulateUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("policy simulate: unexpected argument %q", fs.Arg(0))
	case f.action == "":
		return usagef("policy simulate: --action is required")
	case f.resource == "":
		return usagef("policy simulate: --resource is required")
	case f.trust && f.resourcePolicy == "":
		return usagef("policy simulate: --trust needs --resource-policy")
	}
	in, err := f.input()
	if err != nil {
		return err
	}
	d := policy.Evaluate(in)
	fmt.Fprintln(stdout, d.Effect)
	if d.Policy != "" {
		fmt.Fprintf(stdout, "policy: %s\nstatement: %s\n", d.Policy, d.Statement)
	}
	fmt.Fprintf(stdout, "reason: %s\n", d.Reason)
	if !d.Allowed() {
		return exitCode(1)
	}
	return nil
}

// input reads the policy files and builds the request the flags describe.
func (f *simulateFlags) input() (*policy.Input, error) {
	in := &policy.Input{Action: f.action, Resource: f.resource, ResourceAccount: f.owner, TrustPolicy: f.trust}
	for _, file := range f.policies {
		p, err := loadPolicyFile(file, policy.KindIdentity)
		if err != nil {
			return nil, err
		}
		in.Identity = append(in.Identity, p)
	}
	for _, file := range f.sessions {
		p, err := loadPolicyFile(file, policy.KindSession)
		if err != nil {
			return nil, err
		}
		in.Session = append(in.Session, p)
	}
	var err error
	if f.boundary != "" {
		if in.Boundary, err = loadPolicyFile(f.boundary, policy.KindBoundary); err != nil {
			return nil, err
		}
	}
	if f.resourcePolicy != "" {
		kind := policy.KindResource
		if f.trust {
			kind = policy.KindTrust
		}
		if in.ResourcePolicy, err = loadPolicyFile(f.resourcePolicy, kind); err != nil {
			return nil, err
		}
	}
	reqCtx := &policy.Context{}
	if f.principal != "" {
		p, err := policy.PrincipalFromARN(f.principal)
		if err != nil {
			return nil, usagef("policy simulate: --principal: %v", err)
		}
		in.Principal = p
		reqCtx.SetPrincipal(p)
	}
	for _, kv := range f.contexts {
		key, vals, err := parseContextFlag(kv)
		if err != nil {
			return nil, usagef("policy simulate: --context %q: %v", kv, err)
		}
		for _, v := range vals {
			reqCtx.Add(key, v)
		}
	}
	in.Context = reqCtx
	// Without --principal, the caller is in the resource's account, so that identity
	// policies decide, as in AWS's simulate-custom-policy.
	in.Principal, in.ResourceAccount = policy.CallerOrResourceAccount(in.Principal, in.Resource, in.ResourceAccount)
	return in, nil
}

// loadPolicyFile reads and parses a policy of kind, without a size quota.
func loadPolicyFile(file string, kind policy.Kind) (*policy.Policy, error) {
	doc, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(doc, policy.WithKind(kind), policy.WithName(file), policy.WithMaxSize(-1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s", file, awsError(err))
	}
	return p, nil
}

// parseContextFlag reads KEY=TYPE:VALUE.
func parseContextFlag(s string) (string, []policy.Value, error) {
	key, rest, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return "", nil, errors.New("want KEY=TYPE:VALUE")
	}
	typ, val, ok := strings.Cut(rest, ":")
	if !ok {
		return "", nil, errors.New("want KEY=TYPE:VALUE with TYPE string, stringList, numeric, bool, date, ip, binary or arn")
	}
	switch typ {
	case "string", "arn":
		return key, []policy.Value{policy.String(val)}, nil
	case "stringList":
		var out []policy.Value
		for _, s := range strings.Split(val, ",") {
			out = append(out, policy.String(s))
		}
		return key, out, nil
	case "numeric":
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return "", nil, fmt.Errorf("%q is not a number", val)
		}
		return key, []policy.Value{policy.Number(f)}, nil
	case "bool":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return "", nil, fmt.Errorf("%q is not true or false", val)
		}
		return key, []policy.Value{policy.Bool(b)}, nil
	case "date":
		if secs, err := strconv.ParseInt(val, 10, 64); err == nil {
			return key, []policy.Value{policy.Date(time.Unix(secs, 0))}, nil
		}
		t, err := time.Parse(time.RFC3339, val)
		if err != nil {
			return "", nil, fmt.Errorf("%q is not an RFC 3339 date or epoch seconds", val)
		}
		return key, []policy.Value{policy.Date(t)}, nil
	case "ip":
		a, err := netip.ParseAddr(val)
		if err != nil {
			return "", nil, fmt.Errorf("%q is not an IP address", val)
		}
		return key, []policy.Value{policy.IP(a)}, nil
	case "binary":
		b, err := base64.StdEncoding.DecodeString(val)
		if err != nil {
			return "", nil, fmt.Errorf("%q is not base64", val)
		}
		return key, []policy.Value{policy.Binary(b)}, nil
	}
	return "", nil, fmt.Errorf("unknown type %q (want string, stringList, numeric, bool, date, ip, binary or arn)", typ)
}
