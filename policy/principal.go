package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iamdb/iamdb/arn"
)

// Values of aws:PrincipalType.
const (
	PrincipalAccount       = "Account"
	PrincipalUser          = "User"
	PrincipalFederatedUser = "FederatedUser"
	PrincipalAssumedRole   = "AssumedRole"
	PrincipalAnonymous     = "Anonymous"
)

// Principal is who makes a request.
//
// For an IAM user ARN is the user's ARN. For a role session ARN is the role's ARN (with its
// path, as aws:PrincipalArn) and SessionARN the assumed-role ARN
// "arn:aws:sts::ACCT:assumed-role/NAME/SESSION". A service (assuming a role) sets Service, a
// web-identity or SAML caller sets Federated to the identity provider (its ARN, or a name
// such as "accounts.google.com"); those have no ARN.
type Principal struct {
	ARN        string
	SessionARN string
	Account    string // if empty, the account of ARN or SessionARN
	Type       string // aws:PrincipalType: PrincipalUser, PrincipalAssumedRole, …
	UserID     string // aws:userid: AIDA… for users, AROA…:session for role sessions
	Service    string // a service principal such as "ec2.amazonaws.com"
	Federated  string // an identity provider
}

// PrincipalFromARN derives a Principal from the ARN a caller is known by: a user
// (arn:aws:iam::A:user/path/name), a role session (arn:aws:sts::A:assumed-role/role/session;
// the role's ARN is then rebuilt without a path, which the caller should correct when the
// role has one), a role (arn:aws:iam::A:role/name), a federated user
// (arn:aws:sts::A:federated-user/name) or an account root (arn:aws:iam::A:root).
func PrincipalFromARN(s string) (Principal, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return Principal{}, err
	}
	if !arn.IsAccountID(a.AccountID) {
		return Principal{}, fmt.Errorf("policy: principal %q: account %q is not 12 digits", s, a.AccountID)
	}
	p := Principal{Account: a.AccountID}
	switch {
	case a.Service == "iam" && a.Resource == "root":
		p.ARN, p.Type = s, PrincipalAccount
	case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
		p.ARN, p.Type = s, PrincipalUser
	case a.Service == "iam" && strings.HasPrefix(a.Resource, "role/"):
		p.ARN, p.Type = s, PrincipalAssumedRole
	case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
		rest := a.Resource[len("assumed-role/"):]
		i := strings.IndexByte(rest, '/')
		if i <= 0 || i == len(rest)-1 {
			return Principal{}, fmt.Errorf("policy: principal %q: want assumed-role/ROLE/SESSION", s)
		}
		p.ARN = "arn:" + a.Partition + ":iam::" + a.AccountID + ":role/" + rest[:i]
		p.SessionARN, p.Type = s, PrincipalAssumedRole
	case a.Service == "sts" && strings.HasPrefix(a.Resource, "federated-user/"):
		p.ARN, p.Type = s, PrincipalFederatedUser
	default:
		return Principal{}, fmt.Errorf("policy: principal %q is not a user, role, role session, federated user or account", s)
	}
	return p, nil
}

// account is p.Account, or the account of its ARN.
func (p *Principal) account() string {
	if p.Account != "" {
		return p.Account
	}
	for _, s := range [2]string{p.ARN, p.SessionARN} {
		if parts, ok := arn.Split(s); ok && parts[0] == "arn" {
			return parts[4]
		}
	}
	return ""
}

// entityID is the unique ID of the user or role p is or is a session of: its UserID up to
// any ':' (AIDA… of a user, AROA… of a role); "" if it has none.
func (p *Principal) entityID() string {
	id, _, _ := strings.Cut(p.UserID, ":")
	return id
}

// PrincipalARNs returns the IAM user and role ARNs that the policy's Principal and
// NotPrincipal elements name, each once, in the order they first appear. Role session
// ARNs, accounts, services and identity providers are not among them.
func (p *Policy) PrincipalARNs() []string {
	var out []string
	for i := range p.stmts {
		if ps := p.stmts[i].principals; ps != nil {
			for _, a := range ps.arns {
				if isEntityARN(a) && !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// isEntityARN reports whether a (a principal ARN, already validated) names an IAM user or
// role.
func isEntityARN(a string) bool {
	parts, ok := arn.Split(a)
	return ok && parts[2] == "iam" && (strings.HasPrefix(parts[5], "user/") || strings.HasPrefix(parts[5], "role/"))
}

// BindPrincipalIDs returns the policy with each Principal and NotPrincipal entry that
// names a user or role ARN in ids bound to that unique ID (AIDA… or AROA…): the entry then
// names the principal whose UserID is, or starts with, that ID followed by ':', and no one
// else. AWS turns a trust policy's user and role ARNs into unique IDs when it stores the
// policy, so that a user or role deleted and created again under the same name is not the
// one the policy named. The result shares everything but the bound principal sets with p;
// if ids binds no entry of p, it is p.
func (p *Policy) BindPrincipalIDs(ids map[string]string) *Policy {
	var stmts []statement
	for i := range p.stmts {
		ps := p.stmts[i].principals
		if ps == nil {
			continue
		}
		var bound []string
		for j, a := range ps.arns {
			if id := ids[a]; id != "" && isEntityARN(a) {
				if bound == nil {
					bound = make([]string, len(ps.arns))
				}
				bound[j] = id
			}
		}
		if bound == nil {
			continue
		}
		if stmts == nil {
			stmts = slices.Clone(p.stmts)
		}
		nps := *ps
		nps.ids = bound
		stmts[i].principals = &nps
	}
	if stmts == nil {
		return p
	}
	b := *p.body
	b.stmts = stmts
	return &Policy{name: p.name, body: &b}
}

// grant says how a resource-based policy's Allow named the principal; it decides whether
// the grant stands on its own in the same account. Larger is stronger.
type grant uint8

const (
	grantNone     grant = iota
	grantAccount        // the principal's account: delegates to the account's identity policies
	grantWildcard       // "*" or {"AWS":"*"}
	grantRole           // the role's ARN, for a session of that role
	grantDirect         // the user, the role session, the service or the provider itself
)

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	any       bool // "*"
	awsAny    bool // {"AWS":"*"}
	accounts  []string
	arns      []string
	ids       []string // if not nil, beside arns: the unique ID an entry is bound to, or ""
	services  []string
	federated []string
	canonical int // CanonicalUser entries: accepted, never match
}

// match reports how the set names p.
func (ps *principalSet) match(p *Principal) grant {
	g := grantNone
	if ps.any {
		g = grantWildcard
	}
	isAWS := p.ARN != "" || p.SessionARN != "" || p.Account != ""
	if ps.awsAny && isAWS {
		g = max(g, grantWildcard)
	}
	for i, a := range ps.arns {
		if i < len(ps.ids) && ps.ids[i] != "" {
			// Bound: the entry names whoever has the ID, under any ARN, and no one else.
			if id := p.entityID(); id == ps.ids[i] {
				if p.SessionARN == "" {
					return grantDirect
				}
				g = max(g, grantRole)
			}
			continue
		}
		switch {
		case p.SessionARN != "" && a == p.SessionARN:
			return grantDirect
		case a == p.ARN && p.ARN != "":
			if p.SessionARN != "" {
				g = max(g, grantRole)
			} else {
				return grantDirect
			}
		}
	}
	if p.Service != "" {
		for _, s := range ps.services {
			if strings.EqualFold(s, p.Service) {
				return grantDirect
			}
		}
	}
	if p.Federated != "" {
		for _, f := range ps.federated {
			if f == p.Federated {
				return grantDirect
			}
		}
	}
	if g < grantAccount && isAWS {
		acct := p.account()
		for _, a := range ps.accounts {
			if a == acct {
				g = grantAccount
				break
			}
		}
	}
	return g
}

// unknownCallerAccount is the account of a caller whose account nothing names: a
// placeholder that only ever meets itself.
const unknownCallerAccount = "000000000000"

// CallerOrResourceAccount returns p and the resource account to evaluate a request with,
// for simulators that may not be told who calls: when p names no one (no ARN, account,
// service or identity provider), the caller is taken to be in the resource's account,
// owner or else the account in resource, as AWS's simulate-custom-policy does, so that
// identity policies decide. Otherwise it returns p and owner unchanged.
func CallerOrResourceAccount(p Principal, resource, owner string) (Principal, string) {
	if p.ARN != "" || p.SessionARN != "" || p.Account != "" || p.Service != "" || p.Federated != "" {
		return p, owner
	}
	acct := owner
	if acct == "" {
		if parts, ok := arn.Split(resource); ok && arn.IsAccountID(parts[4]) {
			acct = parts[4]
		}
	}
	if acct == "" {
		acct = unknownCallerAccount
	}
	p.Account = acct
	return p, acct
}
