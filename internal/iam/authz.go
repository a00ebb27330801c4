package iam

import (
	"context"
	"strings"
	"time"

	"github.com/iamdb/iamdb/policy"
)

// Authorize decides whether c may perform action on resource, with AWS's request context:
// the principal keys and tags, aws:CurrentTime and aws:EpochTime, aws:SecureTransport,
// aws:SourceIp and aws:RequestedRegion from ctx's RequestInfo, and for sessions
// aws:TokenIssueTime, aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge (MFA sessions) and
// aws:SourceIdentity. req, if not nil, adds the keys the action evaluates (see Request). It
// returns nil or an *Error AccessDenied worded like AWS's. A root caller is allowed
// everything. Credentials from GetSessionToken cannot call IAM (InvalidClientTokenId)
// unless they were issued with MFA, as in AWS; console sessions can.
func (s *Service) Authorize(ctx context.Context, c *Caller, action, resource string, req *Request) error {
	if err := needCaller(c); err != nil {
		return err
	}
	info := s.requestInfo(ctx)
	now := s.now()
	s.noteUse(c, action, info.Region, now)
	if c.Type == CallerRoot {
		return nil
	}
	if noIAMWithoutMFA(c, action) {
		return apiErr(CodeInvalidClientTokenID, "The security token included in the request is invalid")
	}
	d := s.evaluate(c, action, resource, "", info, now, req)
	if d.Allowed() {
		return nil
	}
	return accessDenied(c, action, resource, d)
}

// noIAMWithoutMFA reports whether c is a GetSessionToken session without MFA asking for an
// IAM action, which AWS refuses as InvalidClientTokenId whatever the policies say. Role
// sessions and console sessions may call IAM.
func noIAMWithoutMFA(c *Caller, action string) bool {
	s := c.Session
	return s != nil && s.RoleARN == "" && !s.MFAAuthenticated && !s.Console && strings.HasPrefix(strings.ToLower(action), "iam:")
}

// evaluate runs policy.Evaluate for c with a pooled request context.
func (s *Service) evaluate(c *Caller, action, resource, resourceAccount string, info RequestInfo, now time.Time, req *Request) policy.Decision {
	if c.broken {
		return policy.Decision{Reason: "a policy of the principal could not be compiled"}
	}
	pc := s.ctxPool.Get().(*policy.Context)
	pc.Reset()
	fillContext(pc, c, info, now)
	req.fill(pc, action)
	in := policy.Input{
		Action: action, Resource: resource, ResourceAccount: resourceAccount, Principal: c.Principal, Context: pc,
		Identity: c.identity, Boundary: c.boundary, Session: c.sessionP,
	}
	d := policy.Evaluate(&in)
	s.ctxPool.Put(pc)
	return d
}

// fillContext sets the request-context keys every request of c has.
func fillContext(pc *policy.Context, c *Caller, info RequestInfo, now time.Time) {
	pc.SetPrincipal(c.Principal)
	for i := range c.tagCtx {
		pc.Set(c.tagCtx[i].key, c.tagCtx[i].val)
	}
	pc.Set(policy.KeyCurrentTime, policy.Date(now))
	pc.Set(policy.KeyEpochTime, policy.Number(float64(now.Unix())))
	pc.Set(policy.KeySecureTransport, policy.Bool(info.SecureTransport))
	pc.Set(policy.KeyPrincipalIsAWSService, policy.Bool(false)) // every request here is signed by an IAM principal
	if info.SourceIP.IsValid() {
		pc.Set(policy.KeySourceIP, policy.IP(info.SourceIP))
	}
	if info.Region != "" {
		pc.Set(policy.KeyRequestedRegion, policy.String(info.Region))
	}
	if sess := c.Session; sess != nil {
		pc.Set(policy.KeyTokenIssueTime, policy.Date(sess.IssuedAt))
		pc.Set(policy.KeyMultiFactorAuthPresent, policy.Bool(sess.MFAAuthenticated))
		if sess.MFAAuthenticated {
			pc.Set(policy.KeyMultiFactorAuthAge, policy.Number(float64(max(0, int64(now.Sub(sess.MFAAuthTime)/time.Second)))))
		}
		if sess.SourceIdentity != "" {
			pc.Set(policy.KeySourceIdentity, policy.String(sess.SourceIdentity))
		}
		if sess.FederatedProvider != "" {
			pc.Set(policy.KeyFederatedProvider, policy.String(sess.FederatedProvider))
		}
	}
}

func serviceOf(action string) string {
	if i := strings.IndexByte(action, ':'); i > 0 {
		return strings.ToLower(action[:i])
	}
	return action
}

// Reasons of policy.Decision that decide the wording of AccessDenied.
const (
	reasonDenyBoundary = "explicit deny in the permissions boundary"
	reasonDenySession  = "explicit deny in a session policy"
	reasonDenyResource = "explicit deny in the resource-based policy"
	reasonNoBoundary   = "the permissions boundary does not allow the request"
	reasonNoSession    = "no session policy allows the request"
)

// accessDenied words a denial as AWS does.
func accessDenied(c *Caller, action, resource string, d policy.Decision) *Error {
	msg := "User: " + c.ARN + " is not authorized to perform: " + action + " on resource: " + resource
	if d.Effect == policy.ExplicitDeny {
		switch d.Reason {
		case reasonDenyBoundary:
			msg += " with an explicit deny in a permissions boundary"
		case reasonDenySession:
			msg += " with an explicit deny in a session policy"
		case reasonDenyResource:
			msg += " with an explicit deny in a resource-based policy"
		default:
			msg += " with an explicit deny in an identity-based policy"
		}
	} else {
		switch d.Reason {
		case reasonNoBoundary:
			msg += " because no permissions boundary allows the " + action + " action"
		case reasonNoSession:
			msg += " because no session policy allows the " + action + " action"
		default:
			msg += " because no identity-based policy allows the " + action + " action"
		}
	}
	return apiErr(CodeAccessDenied, "%s", msg)
}

// authorize is Authorize for the operations of this package.
func (s *Service) authorize(ctx context.Context, c *Caller, action, resource string, req *Request) error {
	return s.Authorize(ctx, c, action, resource, req)
}

// authorizeGranted is Authorize for an action that a setting of the account grants to
// every IAM user when granted is true (the password policy's AllowUsersToChangePassword:
// iam:ChangePassword and iam:GetAccountPasswordPolicy), as if an allow were attached: an
// explicit deny in the caller's policies still refuses.
func (s *Service) authorizeGranted(ctx context.Context, c *Caller, action, resource string, req *Request, granted bool) error {
	if !granted || c == nil || c.Type != CallerUser {
		return s.Authorize(ctx, c, action, resource, req)
	}
	info := s.requestInfo(ctx)
	now := s.now()
	s.noteUse(c, action, info.Region, now)
	if noIAMWithoutMFA(c, action) {
		return apiErr(CodeInvalidClientTokenID, "The security token included in the request is invalid")
	}
	if d := s.evaluate(c, action, resource, "", info, now, req); d.Effect == policy.ExplicitDeny {
		return accessDenied(c, action, resource, d)
	}
	return nil
}
