package policysim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/policy"
)

// ErrRequest is the category of errors in a Request's principal or context values.
// Their messages name the flag ("policysim: --context \"k\": want KEY=TYPE:VALUE").
var ErrRequest = errors.New("policysim: invalid request")

type requestError string

func (e requestError) Error() string   { return "policysim: " + string(e) }
func (requestError) Is(err error) bool { return err == ErrRequest }

// maxContextValue bounds a KEY=TYPE:VALUE value, as IAM bounds a context entry's.
const maxContextValue = 64 << 10

// Request is one simulation: policy files, the request and its context.
type Request struct {
	Policies        []string // identity-based policy files
	SessionPolicies []string // session policy files
	Boundary        string   // the permissions boundary's file, "" for none
	ResourcePolicy  string   // the resource's policy file, "" for none
	Trust           bool     // ResourcePolicy is a role trust policy
	Action          string   // rds-db:connect, …
	Resource        string   // the resource's ARN
	ResourceOwner   string   // the resource's account, when its ARN has none (S3)
	// Principal is the caller's ARN; if empty, the caller is taken to be in the
	// resource's account, so that identity policies decide (as simulate-custom-policy).
	Principal string
	Context   []string // KEY=TYPE:VALUE, see ParseContext
}

// Input reads r's policy files and builds the request it describes.
func (r *Request) Input() (*policy.Input, error) {
	in := &policy.Input{Action: r.Action, Resource: r.Resource, ResourceAccount: r.ResourceOwner, TrustPolicy: r.Trust}
	var err error
	if in.Identity, err = loadAll(r.Policies, policy.KindIdentity); err != nil {
		return nil, err
	}
	if in.Session, err = loadAll(r.SessionPolicies, policy.KindSession); err != nil {
		return nil, err
	}
	if r.Boundary != "" {
		if in.Boundary, err = Load(r.Boundary, policy.KindBoundary); err != nil {
			return nil, err
		}
	}
	if r.ResourcePolicy != "" {
		kind := policy.KindResource
		if r.Trust {
			kind = policy.KindTrust
		}
		if in.ResourcePolicy, err = Load(r.ResourcePolicy, kind); err != nil {
			return nil, err
		}
	}
	reqCtx := &policy.Context{}
	if r.Principal != "" {
		p, err := policy.PrincipalFromARN(r.Principal)
		if err != nil {
			return nil, requestError(fmt.Sprintf("--principal: %v", err))
		}
		in.Principal = p
		reqCtx.SetPrincipal(p)
	}
	for _, kv := range r.Context {
		key, vals, err := ParseContext(kv)
		if err != nil {
			return nil, requestError(fmt.Sprintf("--context %q: %v", kv, err))
		}
		for _, v := range vals {
			reqCtx.Add(key, v)
		}
	}
	in.Context = reqCtx
	in.Principal, in.ResourceAccount = policy.CallerOrResourceAccount(in.Principal, in.Resource, in.ResourceAccount)
	return in, nil
}

func loadAll(files []string, kind policy.Kind) ([]*policy.Policy, error) {
	var ps []*policy.Policy
	for _, file := range files {
		p, err := Load(file, kind)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// Load reads and parses a policy file of kind, named after the file, without a size
// quota. A parse error is worded by Message.
func Load(file string, kind policy.Kind) (*policy.Policy, error) {
	doc, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(doc, policy.WithKind(kind), policy.WithName(file), policy.WithMaxSize(-1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s", file, Message(err))
	}
	return p, nil
}

// Message words an error of policy.Parse as IAM reports it.
func Message(err error) string {
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

// ParseContext reads a context value, KEY=TYPE:VALUE, TYPE being string, stringList
// (comma-separated), numeric, bool, date (RFC 3339 or epoch seconds), ip, binary
// (base64) or arn (compared as text).
func ParseContext(s string) (string, []policy.Value, error) {
	key, rest, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return "", nil, errors.New("want KEY=TYPE:VALUE")
	}
	typ, val, ok := strings.Cut(rest, ":")
	if !ok {
		return "", nil, errors.New("want KEY=TYPE:VALUE with TYPE string, stringList, numeric, bool, date, ip, binary or arn")
	}
	if len(val) > maxContextValue {
		return "", nil, fmt.Errorf("the value is longer than %d bytes", maxContextValue)
	}
	if typ == "stringList" {
		var out []policy.Value
		for _, s := range strings.Split(val, ",") {
			out = append(out, policy.String(s))
		}
		return key, out, nil
	}
	v, err := parseValue(typ, val)
	if err != nil {
		return "", nil, err
	}
	return key, []policy.Value{v}, nil
}

// parseValue reads one value of typ.
func parseValue(typ, val string) (policy.Value, error) {
	switch typ {
	case "string", "arn":
		return policy.String(val), nil
	case "numeric":
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return policy.Value{}, fmt.Errorf("%q is not a number", val)
		}
		return policy.Number(f), nil
	case "bool":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return policy.Value{}, fmt.Errorf("%q is not true or false", val)
		}
		return policy.Bool(b), nil
	case "date":
		if secs, err := strconv.ParseInt(val, 10, 64); err == nil {
			return policy.Date(time.Unix(secs, 0)), nil
		}
		t, err := time.Parse(time.RFC3339, val)
		if err != nil {
			return policy.Value{}, fmt.Errorf("%q is not an RFC 3339 date or epoch seconds", val)
		}
		return policy.Date(t), nil
	case "ip":
		a, err := netip.ParseAddr(val)
		if err != nil {
			return policy.Value{}, fmt.Errorf("%q is not an IP address", val)
		}
		return policy.IP(a), nil
	case "binary":
		b, err := base64.StdEncoding.DecodeString(val)
		if err != nil {
			return policy.Value{}, fmt.Errorf("%q is not base64", val)
		}
		return policy.Binary(b), nil
	}
	return policy.Value{}, fmt.Errorf("unknown type %q (want string, stringList, numeric, bool, date, ip, binary or arn)", typ)
}
