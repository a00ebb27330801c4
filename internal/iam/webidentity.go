package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/jwt"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

// WebIdentityKeySource returns the signing keys of an OIDC issuer (internal/oidc's
// KeyCache). issuerURL is the URL the keys are fetched under, "https://host/path" (or
// "http://127.0.0.1:port/path" where the source allows it). With fresh, the source
// refetches the keys if it may (a token names a key it lacks). It must be safe for
// concurrent use.
type WebIdentityKeySource interface {
	Keys(ctx context.Context, issuerURL string, fresh bool) (*jwt.KeySet, error)
}

const (
	defaultWebIdentitySkew = time.Minute
	minWebIdentityToken    = 4
	maxWebIdentityToken    = jwt.MaxTokenSize // 20000, STS's limit
	webIdentityAction      = "sts:AssumeRoleWithWebIdentity"
	tagsClaim              = "https://aws.amazon.com/tags"
	sourceIdentityClaim    = "https://aws.amazon.com/source_identity"
	principalWebIdentity   = "WebIdentityUser"
)

// AssumeRoleWithWebIdentityInput is AssumeRoleWithWebIdentity's input.
type AssumeRoleWithWebIdentityInput struct {
	RoleARN          string
	RoleSessionName  string
	WebIdentityToken string // an OIDC ID token (JWT)
	DurationSeconds  int    // 900 to the role's maximum; 3600 if zero
	Policy           string // inline session policy, optional
	PolicyARNs       []string
	// ProviderID names OAuth 2.0 providers (www.amazon.com, graph.facebook.com), which
	// iamdb does not support: it must be empty.
	ProviderID string
}

// AssumeRoleWithWebIdentityOutput is AssumeRoleWithWebIdentity's output.
type AssumeRoleWithWebIdentityOutput struct {
	AssumeRoleOutput
	// SubjectFromWebIdentityToken is the token's "sub".
	SubjectFromWebIdentityToken string
	// Provider is the ARN of the IAM OIDC provider that matched the token's issuer.
	Provider string
	// Audience is the token's audience that matched one of the provider's client IDs.
	Audience string
}

// AssumeRoleWithWebIdentity returns temporary credentials for a role session to the holder
// of an OIDC token, with no AWS credentials (the request is unsigned). The token must be
// signed by the IAM OIDC provider of the role's account whose URL is the token's "iss"
// (keys from the issuer's discovery document, see WebIdentityKeySource), be within its
// "exp" (STS's ExpiredTokenException otherwise), "nbf" and "iat" (with
// Config.WebIdentitySkew), carry a "sub" and an "aud" that is one of the provider's client
// IDs. The role's trust policy must then allow sts:AssumeRoleWithWebIdentity to the
// principal {"Federated": PROVIDER-ARN}, with the condition keys HOST/PATH:sub,
// HOST/PATH:aud, HOST/PATH:amr (when the token has one), aws:FederatedProvider,
// sts:RoleSessionName and, for session tags from the https://aws.amazon.com/tags claim,
// aws:RequestTag/*, aws:TagKeys and sts:TransitiveTagKeys (tags also need
// sts:TagSession; a https://aws.amazon.com/source_identity claim sts:SetSourceIdentity).
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, in AssumeRoleWithWebIdentityInput) (AssumeRoleWithWebIdentityOutput, error) {
	var zero AssumeRoleWithWebIdentityOutput
	a, dur, err := checkWebIdentityInput(&in)
	if err != nil {
		return zero, err
	}
	req := sessionRequest{name: in.RoleSessionName, duration: time.Duration(dur) * time.Second}
	if req.policy, req.policyARNs, err = checkSessionPolicies(in.Policy, in.PolicyARNs); err != nil {
		return zero, err
	}

	now := s.now()
	idt, err := s.verifyWebIdentity(ctx, a.AccountID, in.WebIdentityToken, now)
	if err != nil {
		return zero, err
	}
	if err := req.setWebIdentityClaims(idt); err != nil {
		return zero, err
	}

	snap := s.snap.Load()
	role := snap.roles.Get(entityKey(a.AccountID, lastSegment(a.Resource)))
	deny := apiErr(CodeAccessDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	if role == nil || role.arn != in.RoleARN || role.broken || role.trust == nil {
		return zero, deny
	}
	req.role, req.provider = role, idt.providerARN
	if err := s.authorizeWebIdentity(ctx, &req, idt, now, deny); err != nil {
		return zero, err
	}
	if dur > int(role.maxSession) {
		return zero, validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	for _, pa := range req.policyARNs {
		if snap.managed.Get(pa) == nil || !managedUsableBy(pa, role.account) {
			return zero, invalidInputSTS("Policy %s does not exist or is not attachable.", pa)
		}
	}
	out, err := s.issueRoleSession(&req, now)
	if err != nil {
		return zero, err
	}
	return AssumeRoleWithWebIdentityOutput{
		AssumeRoleOutput:            out,
		SubjectFromWebIdentityToken: idt.token.Claims.Subject,
		Provider:                    idt.providerARN,
		Audience:                    idt.audience,
	}, nil
}

// checkWebIdentityInput validates the parameters of AssumeRoleWithWebIdentity as STS does,
// and returns the role's ARN and the session's duration in seconds.
func checkWebIdentityInput(in *AssumeRoleWithWebIdentityInput) (arn.ARN, int, error) {
	if len(in.RoleARN) < 20 || len(in.RoleARN) > 2048 {
		return arn.ARN{}, 0, validation("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20", in.RoleARN)
	}
	a, err := arn.Parse(in.RoleARN)
	if err != nil || a.Service != "iam" || !arn.IsAccountID(a.AccountID) || !strings.HasPrefix(a.Resource, "role/") {
		return arn.ARN{}, 0, validation("%s is invalid", in.RoleARN)
	}
	if err := checkSessionName("roleSessionName", in.RoleSessionName); err != nil {
		return arn.ARN{}, 0, err
	}
	if n := len(in.WebIdentityToken); n < minWebIdentityToken || n > maxWebIdentityToken {
		return arn.ARN{}, 0, validation("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between %d and %d", minWebIdentityToken, maxWebIdentityToken)
	}
	if in.ProviderID != "" {
		return arn.ARN{}, 0, validation("ProviderId is for OAuth 2.0 providers, which iamdb does not support; omit it for OpenID Connect tokens.")
	}
	dur := in.DurationSeconds
	if dur == 0 {
		dur = defaultRoleSession
	}
	if dur < minSessionDuration || dur > maxRoleSession {
		return arn.ARN{}, 0, validation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value between %d and %d", dur, minSessionDuration, maxRoleSession)
	}
	return a, dur, nil
}

// setWebIdentityClaims takes the session tags and the source identity of the session from
// the token's claims; a claim that is not valid is IDPRejectedClaim.
func (req *sessionRequest) setWebIdentityClaims(idt *webIdentity) error {
	tags, transitive, err := sessionTagsClaim(idt.token.Claims.Raw[tagsClaim])
	if err != nil {
		return err
	}
	if err := req.setTags(&Caller{}, tags, transitive); err != nil {
		if e, ok := err.(*Error); ok {
			return apiErr(CodeIDPRejectedClaim, "The session tags in the %s claim are not valid: %s", tagsClaim, e.Message)
		}
		return err
	}
	if raw, ok := idt.token.Claims.Raw[sourceIdentityClaim]; ok {
		if json.Unmarshal(raw, &req.sourceID) != nil || checkSessionName("sourceIdentity", req.sourceID) != nil ||
			strings.HasPrefix(strings.ToLower(req.sourceID), "aws:") {
			return apiErr(CodeIDPRejectedClaim, "The %s claim is not a valid source identity.", sourceIdentityClaim)
		}
	}
	return nil
}

// authorizeWebIdentity asks the trust policy of req.role whether the federated principal
// of idt may assume it, and tag the session and set its source identity if it asks to. A
// refusal to assume the role is deny.
func (s *Service) authorizeWebIdentity(ctx context.Context, req *sessionRequest, idt *webIdentity, now time.Time, deny error) error {
	caller := &Caller{
		Account: "", Type: principalWebIdentity,
		Principal: policy.Principal{Federated: idt.providerARN, Type: principalWebIdentity},
	}
	prefix := idt.hostPath + ":"
	extra := req.request("")
	extra.Federated = []ContextKey{
		{Key: "aws:federatedprovider", Values: []policy.Value{policy.String(idt.providerARN)}},
		{Key: prefix + "sub", Values: []policy.Value{policy.String(idt.token.Claims.Subject)}},
		{Key: prefix + "aud", Values: []policy.Value{policy.String(idt.audience)}},
	}
	if len(idt.amr) > 0 {
		amr := make([]policy.Value, len(idt.amr))
		for i, v := range idt.amr {
			amr[i] = policy.String(v)
		}
		extra.Federated = append(extra.Federated, ContextKey{Key: prefix + "amr", Values: amr})
	}
	actions := []string{webIdentityAction}
	if len(req.tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if req.sourceID != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	info := s.requestInfo(ctx)
	for _, action := range actions {
		if d := s.evaluateTrust(caller, req.role, action, info, now, extra); !d.Allowed() {
			if action == webIdentityAction {
				return deny
			}
			return apiErr(CodeAccessDenied, "Not authorized to perform %s", action)
		}
	}
	return nil
}

// webIdentity is a verified token and what matched it.
type webIdentity struct {
	token       *jwt.Token
	hostPath    string // the provider's URL without https://
	providerARN string
	audience    string
	amr         []string
}

func invalidIdentityToken(format string, args ...any) *Error {
	return apiErr(CodeInvalidIdentityToken, format, args...)
}

// issuerHostPath returns the "iss" claim in the form provider ARNs use (host in lower case
// and path, no scheme, no trailing slash) and the URL the issuer's keys are fetched under.
// An issuer without a scheme is https://.
func issuerHostPath(iss string) (hostPath, fetchURL string, ok bool) {
	rest, scheme := iss, "https://"
	switch {
	case strings.HasPrefix(iss, "https://"):
		rest = iss[len("https://"):]
	case strings.HasPrefix(iss, "http://"):
		rest, scheme = iss[len("http://"):], "http://"
	case strings.Contains(iss, "://"):
		return "", "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	host, path, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(rest, "?#@ ") {
		return "", "", false
	}
	if path != "" {
		path = "/" + path
	}
	hostPath = strings.ToLower(host) + path
	return hostPath, scheme + hostPath, true
}

// verifyWebIdentity checks a token against the account's OIDC provider for its issuer.
func (s *Service) verifyWebIdentity(ctx context.Context, acct, raw string, now time.Time) (*webIdentity, error) {
	const unverifiable = "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."
	tok, err := jwt.Parse(raw)
	if err != nil {
		if errors.Is(err, jwt.ErrAlgorithm) {
			return nil, invalidIdentityToken("The token's signing algorithm is not supported: use RS256, RS384, RS512, PS256, ES256 or ES384.")
		}
		return nil, invalidIdentityToken("%s", unverifiable)
	}
	if tok.Claims.Issuer == "" {
		return nil, invalidIdentityToken("Missing a required claim: iss")
	}
	hp, fetchURL, ok := issuerHostPath(tok.Claims.Issuer)
	if !ok {
		return nil, invalidIdentityToken("No OpenIDConnect provider found in your account for %s", tok.Claims.Issuer)
	}
	var prov oidcDoc
	var found bool
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = getDoc(tx, kindOIDC, acct+"/"+hp, &prov)
		return err
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, invalidIdentityToken("No OpenIDConnect provider found in your account for %s", tok.Claims.Issuer)
	}
	keys, err := s.webKeys.Keys(ctx, fetchURL, false)
	if err == nil {
		err = tok.Verify(keys)
		if errors.Is(err, jwt.ErrUnknownKey) {
			if keys, err = s.webKeys.Keys(ctx, fetchURL, true); err == nil {
				err = tok.Verify(keys)
			}
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrSignature):
		return nil, invalidIdentityToken("%s", unverifiable)
	case errors.Is(err, jwt.ErrUnknownKey):
		return nil, invalidIdentityToken("No key of the identity provider matches the token's key ID (kid).")
	default:
		// The reason (an unreachable issuer, http://, a bad discovery document) is the
		// operator's to see; iamdb appends it.
		return nil, invalidIdentityToken("Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements (iamdb: %v)", err)
	}
	c := &tok.Claims
	if c.Expiry == nil {
		return nil, invalidIdentityToken("Missing a required claim: exp")
	}
	if err := c.Validate(jwt.Validation{Now: now, Skew: s.webSkew}); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, apiErr(CodeExpiredTokenException, "Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), c.Expiry.Unix())
		case errors.Is(err, jwt.ErrNotYetValid):
			return nil, invalidIdentityToken("The token is not valid yet: check the clocks of the identity provider and of iamdb (nbf or iat is in the future).")
		}
		return nil, invalidIdentityToken("%s", unverifiable)
	}
	if c.Subject == "" {
		return nil, invalidIdentityToken("Missing a required claim: sub")
	}
	aud := c.MatchAudience(prov.ClientIDs)
	if aud == "" {
		return nil, invalidIdentityToken("Incorrect token audience")
	}
	w := &webIdentity{token: tok, hostPath: hp, providerARN: oidcARN(acct, hp), audience: aud}
	if raw, ok := c.Raw["amr"]; ok {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			w.amr = []string{one}
		} else if json.Unmarshal(raw, &w.amr) != nil {
			return nil, apiErr(CodeIDPRejectedClaim, "The amr claim must be a string or a list of strings.")
		}
	}
	return w, nil
}

// sessionTagsClaim reads the https://aws.amazon.com/tags claim:
// {"principal_tags": {"KEY": ["VALUE"]}, "transitive_tag_keys": ["KEY"]}.
func sessionTagsClaim(raw json.RawMessage) ([]Tag, []string, error) {
	if raw == nil {
		return nil, nil, nil
	}
	var c struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	bad := func(why string) error {
		return apiErr(CodeIDPRejectedClaim, "The %s claim is not valid: %s.", tagsClaim, why)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, nil, bad("want {\"principal_tags\": {\"key\": [\"value\"]}, \"transitive_tag_keys\": [\"key\"]}")
	}
	if len(c.PrincipalTags) > maxSessionTags {
		return nil, nil, bad(fmt.Sprintf("more than %d tags", maxSessionTags))
	}
	tags := make([]Tag, 0, len(c.PrincipalTags))
	for k, vs := range c.PrincipalTags {
		if len(vs) != 1 {
			return nil, nil, bad(fmt.Sprintf("tag %q must have exactly one value", k))
		}
		tags = append(tags, Tag{Key: k, Value: vs[0]})
	}
	return tags, c.TransitiveTagKeys, nil
}
