package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/policy"
)

// Bounds of session durations, in seconds.
const (
	minSessionDuration      = 900
	defaultRoleSession      = 3600
	maxRoleSession          = 43200
	chainedSessionLimit     = 3600
	defaultUserSession      = 43200
	maxUserSession          = 129600
	maxSessionPolicyARNs    = 10
	maxSessionTags          = 50
	packedPolicyBudget      = 4096 // bytes of session policies and tags a token carries
	maxSessionNameLen       = 64
	maxSourceIdentityLength = 64
)

// GetCallerIdentity returns who the caller is; it needs no permission.
func (s *Service) GetCallerIdentity(ctx context.Context, c *Caller) (CallerIdentity, error) {
	if err := needCaller(c); err != nil {
		return CallerIdentity{}, err
	}
	s.noteUse(c, "sts:GetCallerIdentity", s.requestInfo(ctx).Region, s.now())
	return CallerIdentity{UserID: c.UserID, Account: c.Account, ARN: c.ARN}, nil
}

func checkSessionName(field, v string) error {
	if len(v) < 2 || len(v) > maxSessionNameLen {
		return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length between 2 and %d", v, field, maxSessionNameLen)
	}
	for _, r := range v {
		if !isNameChar(r) {
			return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", v, field)
		}
	}
	return nil
}

// sessionRequest is what issueRoleSession needs, after validation.
type sessionRequest struct {
	role       *principal
	name       string
	duration   time.Duration
	policy     string // compacted
	policyARNs []string
	tags       map[string]string
	transitive []string
	sourceID   string
	chained    bool
	provider   string // the OIDC provider's ARN (AssumeRoleWithWebIdentity): aws:FederatedProvider
}

// AssumeRole returns temporary credentials for a role session, after evaluating the
// role's trust policy and, where AWS requires it, the caller's identity policies (the
// caller's own account trusted by account, and every cross-account request). Session tags
// need sts:TagSession and a source identity sts:SetSourceIdentity, both in the same
// evaluation. Transitive session tags and the source identity of a calling role session
// pass to the new session (role chaining, limited to one hour). MFA is not supported:
// SerialNumber and TokenCode are refused with ValidationError.
func (s *Service) AssumeRole(ctx context.Context, c *Caller, in AssumeRoleInput) (AssumeRoleOutput, error) {
	if err := needCaller(c); err != nil {
		return AssumeRoleOutput{}, err
	}
	if in.SerialNumber != "" || in.TokenCode != "" {
		return AssumeRoleOutput{}, validation("MFA is not supported by iamdb: SerialNumber and TokenCode must not be given.")
	}
	if len(in.RoleARN) < 20 || len(in.RoleARN) > 2048 {
		return AssumeRoleOutput{}, validation("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20", in.RoleARN)
	}
	a, err := arn.Parse(in.RoleARN)
	if err != nil || a.Service != "iam" || !arn.IsAccountID(a.AccountID) || !strings.HasPrefix(a.Resource, "role/") {
		return AssumeRoleOutput{}, validation("%s is invalid", in.RoleARN)
	}
	if err := checkSessionName("roleSessionName", in.RoleSessionName); err != nil {
		return AssumeRoleOutput{}, err
	}
	dur := in.DurationSeconds
	if dur == 0 {
		dur = defaultRoleSession
	}
	if dur < minSessionDuration || dur > maxRoleSession {
		return AssumeRoleOutput{}, validation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value between %d and %d", dur, minSessionDuration, maxRoleSession)
	}
	if in.ExternalID != "" && (len(in.ExternalID) < 2 || len(in.ExternalID) > 1224) {
		return AssumeRoleOutput{}, validation("1 validation error detected: Value '%s' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224", in.ExternalID)
	}
	req := sessionRequest{name: in.RoleSessionName, duration: time.Duration(dur) * time.Second}
	if req.policy, req.policyARNs, err = checkSessionPolicies(in.Policy, in.PolicyARNs); err != nil {
		return AssumeRoleOutput{}, err
	}
	if err := req.setTags(c, in.Tags, in.TransitiveTagKeys); err != nil {
		return AssumeRoleOutput{}, err
	}
	req.sourceID = in.SourceIdentity
	if in.SourceIdentity != "" {
		if err := checkSessionName("sourceIdentity", in.SourceIdentity); err != nil {
			return AssumeRoleOutput{}, err
		}
		if strings.HasPrefix(strings.ToLower(in.SourceIdentity), "aws:") {
			return AssumeRoleOutput{}, validation("SourceIdentity cannot start with 'aws:'.")
		}
	}
	if c.Session != nil && c.Session.SourceIdentity != "" {
		if in.SourceIdentity != "" && in.SourceIdentity != c.Session.SourceIdentity {
			return AssumeRoleOutput{}, apiErr(CodeAccessDenied, "The source identity of the calling session cannot be changed.")
		}
		req.sourceID = c.Session.SourceIdentity
	}
	req.chained = c.Type == CallerAssumedRole

	snap := s.snap.Load()
	role := snap.roles.Get(entityKey(a.AccountID, lastSegment(a.Resource)))
	deny := apiErr(CodeAccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.ARN, in.RoleARN)
	if role == nil || role.arn != in.RoleARN || role.broken || role.trust == nil {
		return AssumeRoleOutput{}, deny // AWS does not say whether the role exists
	}
	req.role = role
	info := s.requestInfo(ctx)
	now := s.now()
	extra := req.request(in.ExternalID)
	s.noteUse(c, "sts:AssumeRole", info.Region, now)
	actions := []string{"sts:AssumeRole"}
	if len(req.tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if req.sourceID != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	for _, action := range actions {
		d := s.evaluateTrust(c, role, action, info, now, extra)
		if !d.Allowed() {
			if action == "sts:AssumeRole" {
				return AssumeRoleOutput{}, deny
			}
			return AssumeRoleOutput{}, apiErr(CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, in.RoleARN)
		}
	}
	if dur > int(role.maxSession) {
		return AssumeRoleOutput{}, validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if req.chained && dur > chainedSessionLimit {
		return AssumeRoleOutput{}, validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	for _, pa := range req.policyARNs {
		if snap.managed.Get(pa) == nil || !managedUsableBy(pa, role.account) {
			return AssumeRoleOutput{}, invalidInputSTS("Policy %s does not exist or is not attachable.", pa)
		}
	}
	return s.issueRoleSession(&req, now)
}

func invalidInputSTS(format string, args ...any) *Error {
	return apiErr(CodeInvalidParameterValue, format, args...)
}

// managedUsableBy reports whether a managed policy ARN may be used by acct.
func managedUsableBy(policyARN, acct string) bool {
	parts, ok := arn.Split(policyARN)
	return ok && (parts[4] == "aws" || parts[4] == acct)
}

// evaluateTrust decides an sts action of c on role: the role's trust policy as the
// resource-based policy, with c's identity policies.
func (s *Service) evaluateTrust(c *Caller, role *principal, action string, info RequestInfo, now time.Time, req *Request) policy.Decision {
	if c.broken {
		return policy.Decision{}
	}
	pc := s.ctxPool.Get().(*policy.Context)
	pc.Reset()
	fillContext(pc, c, info, now)
	req.fill(pc, action)
	in := policy.Input{
		Action: action, Resource: role.arn, ResourceAccount: role.account, Principal: c.Principal, Context: pc,
		Identity: c.identity, Boundary: c.boundary, Session: c.sessionP,
		ResourcePolicy: role.trust, TrustPolicy: true,
	}
	d := policy.Evaluate(&in)
	s.ctxPool.Put(pc)
	return d
}

// request is the Request of the trust evaluations of r: the role's tags, the session's
// name, tags, transitive tag keys and source identity, and externalID.
func (r *sessionRequest) request(externalID string) *Request {
	return &Request{
		ResourceTags: r.role.tagList(),
		RequestTags:  tagsFromMap(r.tags), TransitiveTagKeys: r.transitive,
		RoleSessionName: r.name, ExternalID: externalID, SourceIdentity: r.sourceID,
	}
}

// checkSessionPolicies validates the session policies of AssumeRole and compacts the
// inline one.
func checkSessionPolicies(doc string, arns []string) (string, []string, error) {
	if len(arns) > maxSessionPolicyARNs {
		return "", nil, validation("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxSessionPolicyARNs)
	}
	for _, a := range arns {
		if _, _, err := parsePolicyARN(a); err != nil {
			return "", nil, validation("1 validation error detected: Value '%s' at 'policyArns' failed to satisfy constraint: Member must be a valid ARN", a)
		}
	}
	if doc == "" {
		return "", arns, nil
	}
	if _, err := parseDoc(doc, policy.KindSession, policy.MaxSessionPolicySize, "SessionPolicySize"); err != nil {
		if e, ok := err.(*Error); ok && e.Code == CodeLimitExceeded {
			return "", nil, apiErr(CodePackedPolicyTooLarge, "Packed policy consumes more than 100%% of allotted space, please use smaller policy set.")
		}
		return "", nil, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(doc)); err != nil {
		return "", nil, apiErr(CodeMalformedPolicyDocument, "Syntax errors in policy.")
	}
	return b.String(), arns, nil
}

// setTags validates session tags and combines them with the transitive tags of a calling
// role session.
func (r *sessionRequest) setTags(c *Caller, tags []Tag, transitive []string) error {
	if len(tags) > maxSessionTags {
		return validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxSessionTags)
	}
	if _, err := checkTags(nil, tags); err != nil {
		return err
	}
	r.tags = map[string]string{}
	if s := c.Session; s != nil && c.Type == CallerAssumedRole {
		for _, k := range s.TransitiveTagKeys {
			if v, ok := s.Tags[k]; ok {
				r.tags[k] = v
				r.transitive = append(r.transitive, k)
			}
		}
	}
	for _, t := range tags {
		for k := range r.tags {
			if strings.EqualFold(k, t.Key) {
				return invalidInputSTS("One or more of the specified session tag keys conflicts with transitive tag keys that are set by the caller session.")
			}
		}
		r.tags[t.Key] = t.Value
	}
	for _, k := range transitive {
		found := ""
		for _, t := range tags {
			if strings.EqualFold(t.Key, k) {
				found = t.Key
			}
		}
		if found == "" {
			return invalidInputSTS("The specified transitive tag key %s must be included in the requested tags.", k)
		}
		if !containsString(r.transitive, found) {
			r.transitive = append(r.transitive, found)
		}
	}
	if len(r.tags) == 0 {
		r.tags = nil
	}
	return nil
}

// packedSize is the percentage of packedPolicyBudget the session's policies and tags use.
func (r *sessionRequest) packedSize() int {
	n := len(r.policy)
	for _, a := range r.policyARNs {
		n += len(a)
	}
	for k, v := range r.tags {
		n += len(k) + len(v)
	}
	for _, k := range r.transitive {
		n += len(k)
	}
	return (n*100 + packedPolicyBudget - 1) / packedPolicyBudget
}

// issueRoleSession creates the credentials of a role session.
func (s *Service) issueRoleSession(r *sessionRequest, now time.Time) (AssumeRoleOutput, error) {
	packed := r.packedSize()
	if packed > 100 {
		return AssumeRoleOutput{}, apiErr(CodePackedPolicyTooLarge, "Packed policy consumes %d%% of allotted space, please use smaller policy set.", packed)
	}
	akid, secret, err := newSessionKey(s.rand)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	exp := now.Add(r.duration).Truncate(time.Second).UTC()
	p := &sessionPayload{
		K: akid, S: secret, A: r.role.account, R: r.role.arn, RI: r.role.id, N: r.name,
		T: r.tags, TT: r.transitive, SI: r.sourceID, P: r.policy, PA: r.policyARNs,
		I: now.UnixNano(), E: exp.Unix(), C: r.chained, FP: r.provider,
	}
	tok, err := s.sealSession(p)
	if err == errSessionTooLarge {
		return AssumeRoleOutput{}, apiErr(CodePackedPolicyTooLarge, "Packed policy consumes more than 100%% of allotted space, please use smaller policy set.")
	}
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	note(&s.usage.roles, entityKey(r.role.account, r.role.name), "sts", "", now)
	return AssumeRoleOutput{
		Credentials: Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: tok, Expiration: exp},
		AssumedRoleUser: AssumedRoleUser{
			ARN:           assumedRoleARN(r.role.account, r.role.name, r.name),
			AssumedRoleID: r.role.id + ":" + r.name,
		},
		PackedPolicySize: packed,
		SourceIdentity:   r.sourceID,
	}, nil
}

// GetSessionToken returns temporary credentials for an IAM user (or root) calling with a
// long-term key; it needs no permission. Credentials from a session cannot call it
// (AccessDenied). With SerialNumber and TokenCode, the code is checked against the user's
// enabled virtual MFA device (and cannot be used again): the session then carries MFA
// (aws:MultiFactorAuthPresent true, aws:MultiFactorAuthAge) and may call IAM. Without,
// the session has the user's permissions but cannot call IAM, as in AWS.
func (s *Service) GetSessionToken(ctx context.Context, c *Caller, in GetSessionTokenInput) (Credentials, error) {
	if err := needCaller(c); err != nil {
		return Credentials{}, err
	}
	if in.SerialNumber != "" || in.TokenCode != "" {
		if err := checkSerial("serialNumber", in.SerialNumber); err != nil {
			return Credentials{}, err
		}
		if err := checkCode("tokenCode", in.TokenCode); err != nil {
			return Credentials{}, err
		}
	}
	if c.Session != nil || c.Type == CallerAssumedRole {
		return Credentials{}, apiErr(CodeAccessDenied, "Cannot call GetSessionToken with session credentials")
	}
	if c.Type != CallerUser {
		return Credentials{}, apiErr(CodeAccessDenied, "GetSessionToken is available to IAM users only in iamdb.")
	}
	dur := in.DurationSeconds
	if dur == 0 {
		dur = defaultUserSession
	}
	if dur < minSessionDuration || dur > maxUserSession {
		return Credentials{}, validation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value between %d and %d", dur, minSessionDuration, maxUserSession)
	}
	now := s.now()
	s.noteUse(c, "sts:GetSessionToken", s.requestInfo(ctx).Region, now)
	var mfaAt int64
	if in.SerialNumber != "" {
		if err := s.checkSessionMFA(ctx, c, in.SerialNumber, in.TokenCode); err != nil {
			return Credentials{}, err
		}
		mfaAt = now.UnixNano()
	}
	akid, secret, err := newSessionKey(s.rand)
	if err != nil {
		return Credentials{}, err
	}
	exp := now.Add(time.Duration(dur) * time.Second).Truncate(time.Second).UTC()
	tok, err := s.sealSession(&sessionPayload{K: akid, S: secret, A: c.Account, U: c.ARN, UI: c.UserID, I: now.UnixNano(), E: exp.Unix(), M: mfaAt})
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: tok, Expiration: exp}, nil
}

// AssumeRoleForWorkload is an internal entry point, for the authority's own workload
// credential endpoints (instance profiles, container credentials): it issues a session of
// the role to service (ServiceEC2, ServiceECSTasks), the way that service assumes the
// role in AWS: the role's trust policy must allow sts:AssumeRole to the service principal
// (AccessDenied naming the reason otherwise). Whoever calls it is responsible for having
// established that the workload may use the role; it must never be reachable from the AWS
// API. duration is 15 minutes to the role's MaxSessionDuration; if zero, one hour (capped
// by the role's maximum).
func (s *Service) AssumeRoleForWorkload(ctx context.Context, roleARN, service, sessionName string, duration time.Duration) (AssumeRoleOutput, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return AssumeRoleOutput{}, validation("%s is invalid", roleARN)
	}
	if err := checkSessionName("roleSessionName", sessionName); err != nil {
		return AssumeRoleOutput{}, err
	}
	role := s.snap.Load().roles.Get(entityKey(a.AccountID, lastSegment(a.Resource)))
	if role == nil || role.arn != roleARN {
		return AssumeRoleOutput{}, noSuchRole(lastSegment(a.Resource))
	}
	if service == "" {
		return AssumeRoleOutput{}, validation("a workload session needs the service that assumes the role")
	}
	now := s.now()
	svc := &Caller{Principal: policy.Principal{Service: service}}
	req := &Request{ResourceTags: role.tagList(), RoleSessionName: sessionName}
	if role.broken || role.trust == nil {
		return AssumeRoleOutput{}, apiErr(CodeAccessDenied, "%s cannot assume %s: its trust policy could not be compiled", service, roleARN)
	}
	if d := s.evaluateTrust(svc, role, "sts:AssumeRole", s.requestInfo(ctx), now, req); !d.Allowed() {
		return AssumeRoleOutput{}, apiErr(CodeAccessDenied, "%s is not authorized to perform: sts:AssumeRole on resource: %s (%s)", service, roleARN, d.Reason)
	}
	max := time.Duration(role.maxSession) * time.Second
	if duration == 0 {
		duration = min(time.Hour, max)
	}
	if duration < minSessionDuration*time.Second || duration > max {
		return AssumeRoleOutput{}, validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return s.issueRoleSession(&sessionRequest{role: role, name: sessionName, duration: duration}, now)
}
