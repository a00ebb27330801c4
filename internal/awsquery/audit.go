package awsquery

import (
	"crypto/tls"
	"net/http"
	"strings"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// The audit trail of the API: one CloudTrail event per request that reached a known action
// (allowed, refused or failed) or was refused by authentication (missing or bad signature,
// unknown, inactive or expired key, stale date), whatever the action. Requests refused
// before the API and the action are known (404, 405, 415, 413, a malformed form, no
// Action) are not recorded: they name no call. The event is recorded before the response
// is written (ServeHTTP).
//
// Identities: an authenticated caller is named by access.Identity (IAMUser, AssumedRole,
// Root). A request refused by authentication is type "Unknown" with the access key it
// presented, and the key's account when the key exists (a signature that does not match
// a real key); recipientAccountId is that account, or "" when no account is known.
// AssumeRoleWithWebIdentity, which is unsigned, is type "WebIdentityUser" with the
// token's provider, audience and subject (principalId "provider:aud:sub", userName the
// subject) once the token is verified, recorded in the role's account.
//
// readOnly is true for Get*, List*, Describe*, Simulate*, Verify* and for STS's
// credential-issuing actions, as CloudTrail marks AssumeRole; responseElements are
// recorded for the actions that are not read-only and for STS's actions that issue
// credentials (credentials{accessKeyId, expiration}, assumedRoleUser), never the secret
// access key or the session token. IAM and STS events are in us-east-1, as AWS records
// them; RDS events in the request's region.

// Bounds of CloudTrail's fields.
const (
	maxUserAgent    = 1024
	maxErrorMessage = 1024
	maxEventName    = 128
	maxHostHeader   = 256
)

// auditable reports whether the request is recorded: it named an action of a known API,
// and that action is known or the request went through authentication.
func (st *reqState) auditable() bool {
	return st.svc != nil && st.name != "" && (st.action != "" || st.authTried)
}

// credentialIssuers are the STS actions that hand out temporary credentials.
var credentialIssuers = map[string]bool{
	"AssumeRole": true, "AssumeRoleWithWebIdentity": true, "AssumeRoleWithSAML": true,
	"GetSessionToken": true, "GetFederationToken": true,
}

// readOnlyAction reports whether CloudTrail marks action read-only.
func readOnlyAction(service, action string) bool {
	if service == "sts" && credentialIssuers[action] {
		return true
	}
	for _, p := range []string{"Get", "List", "Describe", "Simulate", "Verify"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// event builds the CloudTrail record of a request: res is the action's result (nil on
// failure), qe the error answered (nil on success). eventTime is left to the Recorder,
// which stamps the request's completion (CloudTrail's), in the order it writes events.
func (s *Server) event(r *http.Request, st *reqState, res any, qe *queryError) *audit.Event {
	svc := st.svc.name
	e := &audit.Event{
		EventSource:     svc + ".amazonaws.com",
		EventName:       audit.Clip(st.name, maxEventName),
		AWSRegion:       "us-east-1",
		SourceIPAddress: sourceIP(r).String(),
		UserAgent:       audit.Clip(r.UserAgent(), maxUserAgent),
		RequestID:       st.rid,
		ReadOnly:        readOnlyAction(svc, st.name),
		EventType:       audit.TypeAPICall,
		ManagementEvent: true,
		EventCategory:   audit.CategoryManage,
	}
	if svc == "rds" {
		e.AWSRegion = st.region
		if e.AWSRegion == "" {
			e.AWSRegion = s.region
		}
	}
	switch {
	case st.identity != nil:
		e.UserIdentity = *st.identity
		e.RecipientAccountID = st.recipient
	case st.principal != nil:
		e.UserIdentity = access.Identity(st.principal)
		e.RecipientAccountID = st.principal.Account
	default:
		e.UserIdentity = audit.UserIdentity{Type: "Unknown", AccessKeyID: presentedKey(r)}
		if st.keyOwner != nil {
			e.UserIdentity.AccountID = st.keyOwner.Account
			e.RecipientAccountID = st.keyOwner.Account
		} else {
			e.RecipientAccountID = st.recipient
		}
	}
	if st.action != "" {
		e.RequestParameters = requestParameters(st.form)
	}
	if qe != nil {
		e.ErrorCode = qe.code
		e.ErrorMessage = audit.Clip(qe.message, maxErrorMessage)
	} else if !readOnlyAction(svc, st.name) || svc == "sts" && credentialIssuers[st.name] {
		e.ResponseElements = responseElements(res)
	}
	e.Resources = resources(svc, e.RecipientAccountID, e.AWSRegion, st.form)
	if r.TLS != nil {
		e.TLSDetails = &audit.TLSDetails{TLSVersion: tlsVersionName(r.TLS.Version),
			CipherSuite: tls.CipherSuiteName(r.TLS.CipherSuite), ClientProvidedHostHeader: audit.Clip(r.Host, maxHostHeader)}
	}
	return e
}

// webIdentity records the caller of AssumeRoleWithWebIdentity once its token is verified.
func (c *call) webIdentity(roleARN string, out iam.AssumeRoleWithWebIdentityOutput) {
	c.st.identity = &audit.UserIdentity{
		Type:        "WebIdentityUser",
		PrincipalID: out.Provider + ":" + out.Audience + ":" + out.SubjectFromWebIdentityToken,
		UserName:    out.SubjectFromWebIdentityToken,
	}
	c.st.recipient = arnAccount(roleARN)
}

// arnAccount is the account field of an ARN, "" if it has none.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return ""
}

// presentedKey is the access key ID a request's credential scope names, unverified, ""
// if none. Only the ID: never the signature or the session token.
func presentedKey(r *http.Request) string {
	cred, _ := presentedCredential(r)
	akid, _, _ := strings.Cut(cred, "/")
	if len(akid) > 128 || strings.ContainsAny(akid, ", \t") {
		return ""
	}
	return akid
}

// resources names the entities a request's parameters name, where that is cheap: ARN
// parameters as they are, IAM names as ARNs with the default path "/" (paths are not
// resolved), RDS identifiers in the event's region.
func resources(svc, account, region string, f *form) []audit.Resource {
	if f == nil {
		return nil
	}
	var out []audit.Resource
	add := func(arn, typ string) {
		out = append(out, audit.Resource{ARN: arn, AccountID: arnAccount(arn), Type: typ})
	}
	for _, p := range []struct{ key, typ string }{
		{"PolicyArn", "AWS::IAM::Policy"}, {"RoleArn", "AWS::IAM::Role"},
		{"OpenIDConnectProviderArn", "AWS::IAM::OIDCProvider"},
	} {
		if v, ok := f.get(p.key); ok && strings.HasPrefix(v, "arn:") && len(v) <= 2048 {
			add(v, p.typ)
		}
	}
	if account == "" {
		return out
	}
	switch svc {
	case "iam":
		for _, p := range []struct{ key, kind, typ string }{
			{"UserName", "user", "AWS::IAM::User"}, {"RoleName", "role", "AWS::IAM::Role"},
			{"GroupName", "group", "AWS::IAM::Group"}, {"InstanceProfileName", "instance-profile", "AWS::IAM::InstanceProfile"},
		} {
			if v, ok := f.get(p.key); ok && v != "" && len(v) <= 128 {
				add("arn:aws:iam::"+account+":"+p.kind+"/"+v, p.typ)
			}
		}
	case "rds":
		if v, ok := f.get("DBInstanceIdentifier"); ok && v != "" && len(v) <= 63 {
			add("arn:aws:rds:"+region+":"+account+":db:"+strings.ToLower(v), "AWS::RDS::DBInstance")
		}
		if v, ok := f.get("DBClusterIdentifier"); ok && v != "" && len(v) <= 63 {
			add("arn:aws:rds:"+region+":"+account+":cluster:"+strings.ToLower(v), "AWS::RDS::DBCluster")
		}
	}
	return out
}
