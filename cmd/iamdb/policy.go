package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iamdb/iamdb/internal/policysim"
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
			fmt.Fprintf(stderr, "%s%s\n", prefix, policysim.Message(err))
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

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

func runPolicySimulate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy simulate", flag.ContinueOnError)
	var r policysim.Request
	var policies, sessions, contexts repeated
	fs.Var(&policies, "policy", "")
	fs.Var(&sessions, "session-policy", "")
	fs.Var(&contexts, "context", "")
	fs.StringVar(&r.Boundary, "boundary", "", "")
	fs.StringVar(&r.ResourcePolicy, "resource-policy", "", "")
	fs.BoolVar(&r.Trust, "trust", false, "")
	fs.StringVar(&r.Action, "action", "", "")
	fs.StringVar(&r.Resource, "resource", "", "")
	fs.StringVar(&r.ResourceOwner, "resource-owner", "", "")
	fs.StringVar(&r.Principal, "principal", "", "")
	if help, err := parseFlags(fs, simulateUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("policy simulate: unexpected argument %q", fs.Arg(0))
	case r.Action == "":
		return usagef("policy simulate: --action is required")
	case r.Resource == "":
		return usagef("policy simulate: --resource is required")
	case r.Trust && r.ResourcePolicy == "":
		return usagef("policy simulate: --trust needs --resource-policy")
	}
	r.Policies, r.SessionPolicies, r.Context = policies, sessions, contexts
	in, err := r.Input()
	if errors.Is(err, policysim.ErrRequest) {
		return usagef("policy simulate: %s", strings.TrimPrefix(err.Error(), "policysim: "))
	}
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
