package policy

import (
	"github.com/iamdb/iamdb/arn"
)

// Effect is the outcome of an evaluation, in AWS's words.
type Effect uint8

// Effects.
const (
	ImplicitDeny Effect = iota // nothing allowed the request (the default)
	Allowed                    // allowed
	ExplicitDeny               // a Deny statement matched; final
)

// String returns AWS's word for the effect: "implicitDeny", "allowed" or "explicitDeny",
// as IAM's policy simulator reports EvalDecision.
func (e Effect) String() string {
	switch e {
	case Allowed:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// Decision is the result of Evaluate and says why, for audit logs and simulation.
type Decision struct {
	Effect Effect
	// Policy and Statement name the deciding statement: the Deny that matched, or the
	// Allow that granted access (the identity policy's when one was required, otherwise the
	// resource-based policy's). Statement is the Sid, or "Statement[i]" (0-based) when the
	// statement has none. Both are empty for an implicit deny.
	Policy    string
	Statement string
	// Reason is a short constant explanation ("explicit deny in session policy", …).
	Reason string
}

// Allowed reports whether the request is allowed.
func (d Decision) Allowed() bool { return d.Effect == Allowed }

// Input is everything one evaluation needs: the request and the policies that apply to it.
// Evaluate does not modify it or keep it.
type Input struct {
	// Action is "service:Action", for example "rds-db:connect" (case-insensitive).
	Action string
	// Resource is the ARN the action is on, for example
	// "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/alice". For a role
	// trust policy it is the role's ARN.
	Resource string
	// ResourceAccount owns the resource; if empty, the account in Resource; if that is
	// empty too, the request is taken to be within the principal's account.
	ResourceAccount string
	// Principal makes the request.
	Principal Principal
	// Context holds the request's condition keys; nil means none. Evaluate reads only the
	// Context: it does not add the principal's keys itself (see Context.SetPrincipal).
	Context *Context

	// Identity are the principal's identity-based policies (user, groups, role).
	Identity []*Policy
	// Boundary is the principal's permissions boundary, if any.
	Boundary *Policy
	// Session are the session policies passed when the session was created, if any.
	Session []*Policy
	// ResourcePolicy is the resource's resource-based policy, if any.
	ResourcePolicy *Policy
	// TrustPolicy says that ResourcePolicy is a role trust policy (the request is
	// sts:AssumeRole* on the role), which must always allow the principal explicitly.
	TrustPolicy bool
}

// Reasons, constant so that Evaluate does not allocate.
const (
	reasonDenyIdentity      = "explicit deny in an identity-based policy"
	reasonDenyBoundary      = "explicit deny in the permissions boundary"
	reasonDenySession       = "explicit deny in a session policy"
	reasonDenyResource      = "explicit deny in the resource-based policy"
	reasonAllowIdentity     = "allowed by an identity-based policy"
	reasonAllowResource     = "allowed by the resource-based policy"
	reasonAllowCross        = "allowed by an identity-based policy and the resource-based policy of the resource's account"
	reasonAllowTrustAccount = "allowed by an identity-based policy; the role trust policy trusts the account"
	reasonNoAllow           = "no identity-based or resource-based policy allows the request"
	reasonNoIdentity        = "no identity-based policy allows the request"
	reasonNoBoundary        = "the permissions boundary does not allow the request"
	reasonNoSession         = "no session policy allows the request"
	reasonNoTrust           = "the role trust policy does not allow the principal"
	reasonNoResourceCross   = "cross-account request: the resource-based policy does not allow the principal"
	reasonNoResourceGrant   = "the resource-based policy does not allow the principal"
)

// request is the Input prepared once per evaluation.
type request struct {
	in       *Input
	svc      string // action service, as given
	name     string // action name, as given
	actionOK bool
	parts    [6]string // resource ARN parts
	partsOK  bool
	lowerOK  bool // lower holds the lower-cased action
	lowerLen int
	lower    [96]byte // the action, lower-cased, for the policies' action index
}

// cursor walks the statements of a policy that may match the request: with the action
// index, the statements listed under the request's action merged in order with those that
// need a full action match; without it, every statement.
type cursor struct {
	p         *Policy
	lit, wild []int32
	i, j      int
	full      bool
}

func (p *Policy) cursor(r *request) cursor {
	if !r.lowerOK || p.index == nil {
		return cursor{p: p, full: true}
	}
	return cursor{p: p, lit: p.byAction[string(r.lower[:r.lowerLen])], wild: p.wild}
}

// next returns the index of the next candidate statement (-1 at the end), and whether
// its action is known to match.
func (c *cursor) next() (idx int, actionKnown bool) {
	if c.full {
		if c.i >= len(c.p.stmts) {
			return -1, false
		}
		c.i++
		return c.i - 1, false
	}
	switch {
	case c.i < len(c.lit) && (c.j >= len(c.wild) || c.lit[c.i] < c.wild[c.j]):
		c.i++
		return int(c.lit[c.i-1]), true
	case c.j < len(c.wild):
		c.j++
		return int(c.wild[c.j-1]), false
	}
	return -1, false
}

// Evaluate decides a request following AWS's policy evaluation logic
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
//
//  1. A matching Deny in any policy is an explicit deny, final.
//  2. Same account: an Allow in an identity-based policy, or in the resource-based policy
//     naming the principal, allows; a permissions boundary and session policies, when
//     present, must allow too — except for a resource-based Allow naming the user or the
//     role session itself, which an implicit deny there does not limit. A resource-based
//     Allow naming the principal's account delegates to the identity-based policies.
//  3. A role trust policy must allow the principal in every case; naming only the
//     account needs an identity-based Allow as well.
//  4. Cross-account: the resource-based policy and the identity-based policies (within
//     the boundary and session policies) must both allow.
//  5. Otherwise: implicit deny.
//
// Evaluate does not allocate, with one exception: a string operator or policy variable
// that reads a Number, Date, IP or Bool value formats its text on demand.
func Evaluate(in *Input) Decision {
	var r request
	r.prepare(in)
	var f findings
	if f.scan(&r) {
		return Decision{Effect: ExplicitDeny, Policy: f.deny.Name(), Statement: f.denied.label(), Reason: f.denyReason}
	}
	return f.decide(&r)
}

// prepare splits in's action and resource once for every statement to match against.
func (r *request) prepare(in *Input) {
	r.in = in
	for i := 0; i < len(in.Action); i++ {
		if in.Action[i] == ':' {
			r.svc, r.name, r.actionOK = in.Action[:i], in.Action[i+1:], true
			break
		}
	}
	r.parts, r.partsOK = splitValue(in.Resource)
	if len(in.Action) <= len(r.lower) {
		r.lowerOK, r.lowerLen = true, len(in.Action)
		for i := 0; i < len(in.Action); i++ {
			c := in.Action[i]
			if c >= 0x80 {
				r.lowerOK = false
				break
			}
			r.lower[i] = lower(c)
		}
	}
}

// findings are what each kind of policy says about a request, before they are combined.
type findings struct {
	in         *Input
	idAllow    *statement // the first identity-based Allow, if any
	idPolicy   *Policy    // the policy holding idAllow
	boundaryOK bool       // no permissions boundary, or it allows
	sessionOK  bool       // no session policies, or one of them allows
	resAllow   *statement // the resource-based policy's Allow, if any
	resGrant   grant      // whom resAllow names

	// A matching Deny: the statement, its policy and the reason.
	denied     *statement
	deny       *Policy
	denyReason string
}

// scan runs the identity-based policies, the permissions boundary, the session policies
// and the resource-based policy, in this order, and records what they say in f. A matching
// Deny stops it and reports true: the explicit deny is the decision.
func (f *findings) scan(r *request) bool {
	in := r.in
	f.in = in
	for _, p := range in.Identity {
		if p == nil {
			continue
		}
		a, d := p.scan(r, f.idAllow == nil)
		if d != nil {
			return f.setDeny(d, p, reasonDenyIdentity)
		}
		if f.idAllow == nil && a != nil {
			f.idAllow, f.idPolicy = a, p
		}
	}
	f.boundaryOK = true
	if p := in.Boundary; p != nil {
		a, d := p.scan(r, true)
		if d != nil {
			return f.setDeny(d, p, reasonDenyBoundary)
		}
		f.boundaryOK = a != nil
	}
	// Session policies: together they are the session's limit.
	f.sessionOK = true
	if len(in.Session) > 0 {
		found := false
		for _, p := range in.Session {
			if p == nil {
				continue
			}
			a, d := p.scan(r, !found)
			if d != nil {
				return f.setDeny(d, p, reasonDenySession)
			}
			found = found || a != nil
		}
		f.sessionOK = found
	}
	if rp := in.ResourcePolicy; rp != nil {
		var d *statement
		f.resAllow, f.resGrant, d = rp.scanResource(r)
		if d != nil {
			return f.setDeny(d, rp, reasonDenyResource)
		}
	}
	return false
}

// setDeny records the matching Deny st of policy p and reports true.
func (f *findings) setDeny(st *statement, p *Policy, reason string) bool {
	f.denied, f.deny, f.denyReason = st, p, reason
	return true
}

// allowResource is an Allow by the resource-based policy.
func (f *findings) allowResource(reason string) Decision {
	return Decision{Effect: Allowed, Policy: f.in.ResourcePolicy.Name(), Statement: f.resAllow.label(), Reason: reason}
}

// identityPath is the decision when the identity side must allow on its own, within the
// permissions boundary and the session policies.
func (f *findings) identityPath(reason string) Decision {
	switch {
	case f.idAllow == nil:
		return Decision{Reason: reason}
	case !f.boundaryOK:
		return Decision{Reason: reasonNoBoundary}
	case !f.sessionOK:
		return Decision{Reason: reasonNoSession}
	}
	return Decision{Effect: Allowed, Policy: f.idPolicy.Name(), Statement: f.idAllow.label(), Reason: reasonAllowIdentity}
}

// resourcePath is the decision when the resource-based policy allows a role or through a
// wildcard: the permissions boundary and the session policies limit it.
func (f *findings) resourcePath() Decision {
	switch {
	case !f.boundaryOK:
		return Decision{Reason: reasonNoBoundary}
	case !f.sessionOK:
		return Decision{Reason: reasonNoSession}
	}
	return f.allowResource(reasonAllowResource)
}

// decide combines the findings of a request no policy denies.
func (f *findings) decide(r *request) Decision {
	in := f.in
	p := &in.Principal
	pAcct := p.account()
	if pAcct == "" && p.ARN == "" && p.SessionARN == "" {
		// A service, an identity provider or an anonymous caller: only a resource-based
		// policy can grant.
		if f.resAllow != nil {
			return f.allowResource(reasonAllowResource)
		}
		if in.TrustPolicy {
			return Decision{Reason: reasonNoTrust}
		}
		return Decision{Reason: reasonNoResourceGrant}
	}

	resAcct := in.ResourceAccount
	if resAcct == "" && r.partsOK {
		resAcct = r.parts[4]
	}
	if resAcct != "" && !arn.IsAccountID(resAcct) {
		resAcct = "" // "*" or a pattern: not an owner
	}
	if resAcct != "" && resAcct != pAcct {
		// Cross-account: both sides must allow.
		if f.resAllow == nil {
			if in.TrustPolicy {
				return Decision{Reason: reasonNoTrust}
			}
			return Decision{Reason: reasonNoResourceCross}
		}
		return f.identityPath(reasonNoIdentity)
	}
	if in.TrustPolicy {
		return f.decideTrust()
	}
	// Same account.
	switch f.resGrant {
	case grantDirect:
		return f.allowResource(reasonAllowResource)
	case grantRole, grantWildcard:
		return f.resourcePath()
	}
	if f.idAllow == nil && (f.resGrant == grantNone || f.resGrant == grantAccount) {
		return Decision{Reason: reasonNoAllow}
	}
	return f.identityPath(reasonNoAllow)
}

// decideTrust decides a same-account request to assume a role: its trust policy must
// allow the principal.
func (f *findings) decideTrust() Decision {
	switch {
	case f.resAllow == nil:
		return Decision{Reason: reasonNoTrust}
	case f.resGrant == grantDirect:
		return f.allowResource(reasonAllowResource)
	case f.resGrant == grantAccount:
		d := f.identityPath(reasonNoIdentity)
		if d.Effect == Allowed {
			d.Reason = reasonAllowTrustAccount
		}
		return d
	}
	// The role's ARN or a wildcard: limited by the boundary and session policies.
	return f.resourcePath()
}

// scan looks for the first matching Deny and, when wantAllow, the first matching Allow.
func (p *Policy) scan(r *request, wantAllow bool) (allow, deny *statement) {
	if !p.hasDeny && (!wantAllow || !p.hasAllow) {
		return nil, nil
	}
	c := p.cursor(r)
	for idx, known := c.next(); idx >= 0; idx, known = c.next() {
		if p.quick[idx].reject(r.in.Resource) {
			continue
		}
		st := &p.stmts[idx]
		if st.allow && (!wantAllow || allow != nil) {
			continue
		}
		if !st.matches(r, known) {
			continue
		}
		if st.hasPrincipal && !st.principalApplies(&r.in.Principal) {
			continue
		}
		if !st.condsHold(r.in.Context) {
			continue
		}
		if !st.allow {
			return nil, st
		}
		allow = st
		if !p.hasDeny {
			return allow, nil
		}
	}
	return allow, nil
}

// scanResource is scan for a resource-based policy: it finds the Allow that names the
// principal most directly.
func (p *Policy) scanResource(r *request) (allow *statement, g grant, deny *statement) {
	c := p.cursor(r)
	for idx, known := c.next(); idx >= 0; idx, known = c.next() {
		if p.quick[idx].reject(r.in.Resource) {
			continue
		}
		st := &p.stmts[idx]
		if st.allow && g == grantDirect {
			continue
		}
		if !st.matches(r, known) {
			continue
		}
		sg := grantWildcard
		if st.hasPrincipal {
			sg = st.principals.match(&r.in.Principal)
			if st.notPrincipal {
				if sg != grantNone {
					continue
				}
				sg = grantWildcard
			} else if sg == grantNone {
				continue
			}
		}
		if !st.condsHold(r.in.Context) {
			continue
		}
		if !st.allow {
			return nil, grantNone, st
		}
		if sg > g {
			allow, g = st, sg
		}
	}
	return allow, g, nil
}

func (st *statement) principalApplies(p *Principal) bool {
	g := st.principals.match(p)
	return (g != grantNone) != st.notPrincipal
}

// matches checks Action/NotAction (unless actionKnown) and Resource/NotResource.
func (st *statement) matches(r *request, actionKnown bool) bool {
	if !actionKnown && !st.actionMatches(r) {
		return false
	}
	if !st.hasResource {
		return true
	}
	m := false
	for i := range st.resources {
		if st.resources[i].match(r.in.Resource, &r.parts, r.partsOK, r.in.Context) {
			m = true
			break
		}
	}
	return m != st.notResource
}

func (st *statement) actionMatches(r *request) bool {
	m := false
	for i := range st.actions {
		a := &st.actions[i]
		if a.any {
			m = true
			break
		}
		if !r.actionOK || !equalFoldASCII(r.svc, a.service) {
			continue
		}
		if a.literal {
			if equalFoldASCII(r.name, a.name) {
				m = true
				break
			}
		} else if arn.GlobFold(a.name, r.name) {
			m = true
			break
		}
	}
	return m != st.notAction
}

func (st *statement) condsHold(ctx *Context) bool {
	for i := range st.conds {
		if !st.conds[i].eval(ctx) {
			return false
		}
	}
	return true
}
