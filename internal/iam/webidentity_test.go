package iam

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/jwt"
	"github.com/iamdb/iamdb/policy"
)

// fakeKeys is a WebIdentityKeySource holding key sets by issuer URL; a forced refresh
// makes the keys in next visible, as a provider rotating its keys would.
type fakeKeys struct {
	mu     sync.Mutex
	sets   map[string]*jwt.KeySet
	next   map[string]*jwt.KeySet
	err    error
	calls  []string // "URL fresh=BOOL"
	nfresh int
}

func (f *fakeKeys) Keys(_ context.Context, u string, fresh bool) (*jwt.KeySet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, u)
	if fresh {
		f.nfresh++
		if n, ok := f.next[u]; ok {
			f.sets[u] = n
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	ks, ok := f.sets[u]
	if !ok {
		return nil, errors.New("oidc: cannot fetch the issuer's keys: 404")
	}
	return ks, nil
}

const (
	webIssuer = "https://oidc.example.com/id/CLUSTER1"
	webHP     = "oidc.example.com/id/CLUSTER1"
	webSub    = "system:serviceaccount:prod:app"
)

var webProviderARN = "arn:aws:iam::" + acctA + ":oidc-provider/" + webHP

type webEnv struct {
	*env
	keys  *fakeKeys
	key   *ecdsa.PrivateKey
	rsa   *rsa.PrivateKey
	other *ecdsa.PrivateKey
}

func newWebEnv(t *testing.T) *webEnv {
	t.Helper()
	fk := &fakeKeys{sets: map[string]*jwt.KeySet{}, next: map[string]*jwt.KeySet{}}
	e := newEnvOn(t, openStore(t), testMaster, func(c *Config) { c.WebIdentityKeys = fk })
	w := &webEnv{env: e, keys: fk}
	w.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	w.other, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	w.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	fk.sets[webIssuer] = &jwt.KeySet{Keys: []jwt.Key{{ID: "k1", Public: w.key.Public()}, {ID: "r1", Public: w.rsa.Public()}}}
	if _, err := e.s.CreateOpenIDConnectProvider(e.ctx, e.admin, CreateOIDCProviderInput{URL: webIssuer, ClientIDList: []string{"sts.amazonaws.com", "other-client"}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// claims returns the claims of a valid token at the env's time.
func (w *webEnv) claims() map[string]any {
	now := w.clock.Now()
	return map[string]any{
		"iss": webIssuer, "sub": webSub, "aud": []string{"sts.amazonaws.com"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func (w *webEnv) sign(claims map[string]any, key crypto.Signer, alg, kid string) string {
	w.t.Helper()
	s, err := jwt.Sign(claims, key, alg, kid, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *webEnv) token(mut func(map[string]any)) string {
	c := w.claims()
	if mut != nil {
		mut(c)
	}
	return w.sign(c, w.key, jwt.ES256, "k1")
}

func federatedTrust(actions string, condition string) string {
	if condition != "" {
		condition = `,"Condition":` + condition
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + webProviderARN + `"},"Action":` + actions + condition + `}]}`
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	w := newWebEnv(t)
	irsa := w.role(w.admin, "irsa", federatedTrust(`"sts:AssumeRoleWithWebIdentity"`,
		`{"StringEquals":{"`+webHP+`:sub":"`+webSub+`","`+webHP+`:aud":"sts.amazonaws.com"}}`))
	out, err := w.s.AssumeRoleWithWebIdentity(w.ctx, AssumeRoleWithWebIdentityInput{RoleARN: irsa.ARN, RoleSessionName: "pod-1", WebIdentityToken: w.token(nil)})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity = %v", err)
	}
	if out.SubjectFromWebIdentityToken != webSub || out.Provider != webProviderARN || out.Audience != "sts.amazonaws.com" {
		t.Errorf("output = %q %q %q", out.SubjectFromWebIdentityToken, out.Provider, out.Audience)
	}
	wantARN := "arn:aws:sts::" + acctA + ":assumed-role/irsa/pod-1"
	if out.AssumedRoleUser.ARN != wantARN || !strings.HasPrefix(out.Credentials.AccessKeyID, "ASIA") {
		t.Errorf("AssumedRoleUser = %+v, key %s", out.AssumedRoleUser, out.Credentials.AccessKeyID)
	}
	if got := out.Credentials.Expiration.Sub(w.clock.Now()); got != time.Hour {
		t.Errorf("session lasts %v, want the default 1h", got)
	}
	c := w.caller(out.Credentials.AccessKeyID, out.Credentials.SessionToken)
	if c.ARN != wantARN || c.Type != CallerAssumedRole {
		t.Errorf("caller = %s %s, want %s assumed role", c.ARN, c.Type, wantARN)
	}
	id, err := w.s.GetCallerIdentity(w.ctx, c)
	if err != nil || id.ARN != wantARN || id.Account != acctA {
		t.Errorf("GetCallerIdentity = %+v, %v", id, err)
	}
	// The same token again (SDKs refresh with the file's token until it changes).
	if _, err := w.s.AssumeRoleWithWebIdentity(w.ctx, AssumeRoleWithWebIdentityInput{RoleARN: irsa.ARN, RoleSessionName: "pod-1", WebIdentityToken: w.token(nil), DurationSeconds: 900}); err != nil {
		t.Errorf("second AssumeRoleWithWebIdentity = %v", err)
	}
}

func TestAssumeRoleWithWebIdentityRefusals(t *testing.T) {
	w := newWebEnv(t)
	subCond := `{"StringEquals":{"` + webHP + `:sub":"` + webSub + `"}}`
	exact := w.role(w.admin, "exact", federatedTrust(`"sts:AssumeRoleWithWebIdentity"`, subCond))
	like := w.role(w.admin, "like", federatedTrust(`"sts:AssumeRoleWithWebIdentity"`, `{"StringLike":{"`+webHP+`:sub":"system:serviceaccount:prod:*"},"StringEquals":{"aws:FederatedProvider":"`+webProviderARN+`"}}`))
	audOther := w.role(w.admin, "aud-other", federatedTrust(`"sts:AssumeRoleWithWebIdentity"`, `{"StringEquals":{"`+webHP+`:aud":"other-client"}}`))
	tagging := w.role(w.admin, "tagging", federatedTrust(`["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`, `{"StringEquals":{"aws:RequestTag/team":"db"}}`))
	awsTrust := w.role(w.admin, "aws-trust", trustARN("arn:aws:iam::"+acctA+":root", "sts:AssumeRoleWithWebIdentity"))
	wrongAction := w.role(w.admin, "wrong-action", federatedTrust(`"sts:AssumeRole"`, ""))
	short, err := w.s.CreateRole(w.ctx, w.admin, CreateRoleInput{RoleName: "short", AssumeRolePolicyDocument: federatedTrust(`"sts:AssumeRoleWithWebIdentity"`, ""), MaxSessionDuration: 3600})
	if err != nil {
		t.Fatal(err)
	}
	// A provider of account B with the same URL does not serve account A's roles and vice versa.
	adminB := w.bootstrap(acctB, "adminb")
	roleB := w.role(adminB, "b-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::`+acctB+`:oidc-provider/`+webHP+`"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`)

	tags := func(v any) func(map[string]any) {
		return func(m map[string]any) { m["https://aws.amazon.com/tags"] = v }
	}
	now := w.clock.Now()
	hs := func() string { // HS256 "signed" with the EC public key's bytes
		enc := base64.RawURLEncoding
		return enc.EncodeToString([]byte(`{"alg":"HS256","kid":"k1"}`)) + "." + enc.EncodeToString([]byte(`{"iss":"`+webIssuer+`","sub":"x","aud":"sts.amazonaws.com","exp":9999999999}`)) + ".c2ln"
	}()
	none := func() string {
		enc := base64.RawURLEncoding
		return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(`{"iss":"`+webIssuer+`","sub":"x","aud":"sts.amazonaws.com","exp":9999999999}`)) + ".AA"
	}()
	tamper := func(s string) string { // flip the last signature character
		b := []byte(s)
		if b[len(b)-2] == 'A' {
			b[len(b)-2] = 'B'
		} else {
			b[len(b)-2] = 'A'
		}
		return string(b)
	}

	tests := []struct {
		name    string
		in      AssumeRoleWithWebIdentityInput
		want    string
		message string // a substring of the message, if not empty
	}{
		{"exact sub", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(nil)}, "", ""},
		{"other sub", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["sub"] = "system:serviceaccount:prod:other" })}, CodeAccessDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"StringLike sub", AssumeRoleWithWebIdentityInput{RoleARN: like.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["sub"] = "system:serviceaccount:prod:batch" })}, "", ""},
		{"StringLike sub, other namespace", AssumeRoleWithWebIdentityInput{RoleARN: like.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["sub"] = "system:serviceaccount:dev:batch" })}, CodeAccessDenied, ""},
		{"aud condition, token for sts", AssumeRoleWithWebIdentityInput{RoleARN: audOther.ARN, WebIdentityToken: w.token(nil)}, CodeAccessDenied, ""},
		{"aud condition, token for other-client", AssumeRoleWithWebIdentityInput{RoleARN: audOther.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["aud"] = "other-client" })}, "", ""},
		{"aud not a client ID", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["aud"] = []string{"sts.amazon.com"} })}, CodeInvalidIdentityToken, "Incorrect token audience"},
		{"no aud", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { delete(m, "aud") })}, CodeInvalidIdentityToken, "Incorrect token audience"},
		{"unknown issuer", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["iss"] = "https://other.example.com" })}, CodeInvalidIdentityToken, "No OpenIDConnect provider found in your account for https://other.example.com"},
		{"no iss", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { delete(m, "iss") })}, CodeInvalidIdentityToken, "iss"},
		{"iss without scheme", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["iss"] = webHP })}, "", ""},
		{"iss with trailing slash and upper-case host", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["iss"] = "https://OIDC.example.com/id/CLUSTER1/" })}, "", ""},
		{"expired", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["exp"] = now.Add(-2 * time.Minute).Unix() })}, CodeExpiredTokenException, "Token expired: current date/time"},
		{"expired within skew", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["exp"] = now.Add(-30 * time.Second).Unix() })}, "", ""},
		{"no exp", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { delete(m, "exp") })}, CodeInvalidIdentityToken, "exp"},
		{"not yet valid", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["nbf"] = now.Add(5 * time.Minute).Unix() })}, CodeInvalidIdentityToken, "not valid yet"},
		{"issued in the future", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["iat"] = now.Add(5 * time.Minute).Unix() })}, CodeInvalidIdentityToken, "not valid yet"},
		{"no sub", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { delete(m, "sub") })}, CodeInvalidIdentityToken, "sub"},
		{"bad signature", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: tamper(w.token(nil))}, CodeInvalidIdentityToken, "could not be validated"},
		{"signed by another key under a known kid", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.sign(w.claims(), w.other, jwt.ES256, "k1")}, CodeInvalidIdentityToken, "could not be validated"},
		{"unknown kid", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.sign(w.claims(), w.other, jwt.ES256, "k9")}, CodeInvalidIdentityToken, "kid"},
		{"RS256 key", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.sign(w.claims(), w.rsa, jwt.RS256, "r1")}, "", ""},
		{"HS256 with a public key", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: hs}, CodeInvalidIdentityToken, "algorithm"},
		{"alg none", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: none}, CodeInvalidIdentityToken, "algorithm"},
		{"malformed", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: "not.a.jwt"}, CodeInvalidIdentityToken, ""},
		{"too short", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: "abc"}, CodeValidationError, ""},
		{"oversized", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: strings.Repeat("a", 20001)}, CodeValidationError, ""},
		{"tags without TagSession", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(tags(map[string]any{"principal_tags": map[string]any{"team": []string{"db"}}}))}, CodeAccessDenied, "sts:TagSession"},
		{"tags with TagSession", AssumeRoleWithWebIdentityInput{RoleARN: tagging.ARN, WebIdentityToken: w.token(tags(map[string]any{"principal_tags": map[string]any{"team": []string{"db"}}, "transitive_tag_keys": []string{"team"}}))}, "", ""},
		{"tag value refused by the trust policy", AssumeRoleWithWebIdentityInput{RoleARN: tagging.ARN, WebIdentityToken: w.token(tags(map[string]any{"principal_tags": map[string]any{"team": []string{"web"}}}))}, CodeAccessDenied, ""},
		{"tags claim malformed", AssumeRoleWithWebIdentityInput{RoleARN: tagging.ARN, WebIdentityToken: w.token(tags("team=db"))}, CodeIDPRejectedClaim, ""},
		{"tag with two values", AssumeRoleWithWebIdentityInput{RoleARN: tagging.ARN, WebIdentityToken: w.token(tags(map[string]any{"principal_tags": map[string]any{"team": []string{"db", "web"}}}))}, CodeIDPRejectedClaim, ""},
		{"transitive key not a tag", AssumeRoleWithWebIdentityInput{RoleARN: tagging.ARN, WebIdentityToken: w.token(tags(map[string]any{"principal_tags": map[string]any{"team": []string{"db"}}, "transitive_tag_keys": []string{"env"}}))}, CodeIDPRejectedClaim, ""},
		{"aws: tag key", AssumeRoleWithWebIdentityInput{RoleARN: tagging.ARN, WebIdentityToken: w.token(tags(map[string]any{"principal_tags": map[string]any{"aws:team": []string{"db"}}}))}, CodeIDPRejectedClaim, ""},
		{"source identity without SetSourceIdentity", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(func(m map[string]any) { m["https://aws.amazon.com/source_identity"] = "alice" })}, CodeAccessDenied, "sts:SetSourceIdentity"},
		{"trust names an AWS principal", AssumeRoleWithWebIdentityInput{RoleARN: awsTrust.ARN, WebIdentityToken: w.token(nil)}, CodeAccessDenied, ""},
		{"trust allows sts:AssumeRole only", AssumeRoleWithWebIdentityInput{RoleARN: wrongAction.ARN, WebIdentityToken: w.token(nil)}, CodeAccessDenied, ""},
		{"unknown role", AssumeRoleWithWebIdentityInput{RoleARN: "arn:aws:iam::" + acctA + ":role/none", WebIdentityToken: w.token(nil)}, CodeAccessDenied, ""},
		{"role of an account without the provider", AssumeRoleWithWebIdentityInput{RoleARN: roleB.ARN, WebIdentityToken: w.token(nil)}, CodeInvalidIdentityToken, "No OpenIDConnect provider found"},
		{"duration above the role's maximum", AssumeRoleWithWebIdentityInput{RoleARN: short.ARN, WebIdentityToken: w.token(nil), DurationSeconds: 7200}, CodeValidationError, "MaxSessionDuration"},
		{"duration below 900", AssumeRoleWithWebIdentityInput{RoleARN: short.ARN, WebIdentityToken: w.token(nil), DurationSeconds: 899}, CodeValidationError, ""},
		{"ProviderId", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(nil), ProviderID: "graph.facebook.com"}, CodeValidationError, ""},
		{"bad role ARN", AssumeRoleWithWebIdentityInput{RoleARN: "arn:aws:iam::" + acctA + ":user/alice", WebIdentityToken: w.token(nil)}, CodeValidationError, ""},
		{"bad session name", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, RoleSessionName: "a b", WebIdentityToken: w.token(nil)}, CodeValidationError, ""},
		{"session policy", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(nil), Policy: allow("rds-db:connect", "*")}, "", ""},
		{"unknown managed session policy", AssumeRoleWithWebIdentityInput{RoleARN: exact.ARN, WebIdentityToken: w.token(nil), PolicyARNs: []string{"arn:aws:iam::" + acctA + ":policy/none"}}, CodeInvalidParameterValue, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.RoleSessionName == "" {
				tt.in.RoleSessionName = "s1"
			}
			out, err := w.s.AssumeRoleWithWebIdentity(w.ctx, tt.in)
			if got := code(err); got != tt.want {
				t.Fatalf("AssumeRoleWithWebIdentity = %v, want %q", err, tt.want)
			}
			if err != nil {
				var e *Error
				errors.As(err, &e)
				if !strings.Contains(e.Message, tt.message) {
					t.Errorf("message %q, want it to contain %q", e.Message, tt.message)
				}
				return
			}
			if out.Credentials.AccessKeyID == "" {
				t.Errorf("no credentials")
			}
		})
	}

	// Session tags reach the session (and aws:PrincipalTag).
	out, err := w.s.AssumeRoleWithWebIdentity(w.ctx, AssumeRoleWithWebIdentityInput{RoleARN: tagging.ARN, RoleSessionName: "tagged",
		WebIdentityToken: w.token(tags(map[string]any{"principal_tags": map[string]any{"team": []string{"db"}}, "transitive_tag_keys": []string{"team"}}))})
	if err != nil {
		t.Fatal(err)
	}
	c := w.caller(out.Credentials.AccessKeyID, out.Credentials.SessionToken)
	if c.Session == nil || c.Session.Tags["team"] != "db" || len(c.Session.TransitiveTagKeys) != 1 || c.Tags["team"] != "db" {
		t.Errorf("session = %+v, tags %v, want team=db, transitive", c.Session, c.Tags)
	}
}

func TestAssumeRoleWithWebIdentityKeyRotationAndOutage(t *testing.T) {
	w := newWebEnv(t)
	r := w.role(w.admin, "r", federatedTrust(`"sts:AssumeRoleWithWebIdentity"`, ""))
	in := func(tok string) AssumeRoleWithWebIdentityInput {
		return AssumeRoleWithWebIdentityInput{RoleARN: r.ARN, RoleSessionName: "s1", WebIdentityToken: tok}
	}
	// The provider rotates to a new key k2: the first token naming it forces one refresh.
	w.keys.next[webIssuer] = &jwt.KeySet{Keys: []jwt.Key{{ID: "k2", Public: w.other.Public()}}}
	if _, err := w.s.AssumeRoleWithWebIdentity(w.ctx, in(w.sign(w.claims(), w.other, jwt.ES256, "k2"))); err != nil {
		t.Fatalf("token with the rotated key = %v", err)
	}
	if w.keys.nfresh != 1 {
		t.Errorf("%d forced refreshes, want 1", w.keys.nfresh)
	}
	if got := w.keys.calls[0]; got != webIssuer {
		t.Errorf("keys fetched under %q, want %q", got, webIssuer)
	}
	// The provider is unreachable: InvalidIdentityToken, with the reason appended.
	w.keys.err = errors.New("oidc: cannot fetch the issuer's keys: connection refused")
	_, err := w.s.AssumeRoleWithWebIdentity(w.ctx, in(w.token(nil)))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidIdentityToken || !strings.Contains(e.Message, "Couldn't retrieve verification key") || !strings.Contains(e.Message, "connection refused") {
		t.Errorf("provider down: %v, want InvalidIdentityToken about the verification key", err)
	}
}

func TestIssuerHostPath(t *testing.T) {
	for _, tc := range []struct{ iss, hp, fetch string }{
		{"https://oidc.eks.us-east-1.amazonaws.com/id/ABC", "oidc.eks.us-east-1.amazonaws.com/id/ABC", "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"},
		{"https://Token.Actions.GitHubUserContent.com/", "token.actions.githubusercontent.com", "https://token.actions.githubusercontent.com"},
		{"accounts.google.com", "accounts.google.com", "https://accounts.google.com"},
		{"http://127.0.0.1:8080/x", "127.0.0.1:8080/x", "http://127.0.0.1:8080/x"},
		{"ftp://x", "", ""},
		{"https://", "", ""},
		{"https://u@x", "", ""},
		{"https://x/?a", "", ""},
	} {
		hp, fetch, ok := issuerHostPath(tc.iss)
		if hp != tc.hp || fetch != tc.fetch || ok != (tc.hp != "") {
			t.Errorf("issuerHostPath(%q) = %q, %q, %v, want %q, %q", tc.iss, hp, fetch, ok, tc.hp, tc.fetch)
		}
	}
}

// AWS global condition keys, aws:FederatedProvider: "When the resulting role session's
// temporary credentials are used to make a request, the request context identifies the
// IdP that authenticated the original federated identity. Availability – This key is
// present in the role-session of a role that was assumed using OpenID Connect (OIDC)
// provider, and in the role-trust policy when an OIDC provider is used to call
// AssumeRoleWithWebIdentity."
// So a Deny on aws:FederatedProvider in the role's own policy must stop rds-db:connect of a
// web-identity (IRSA) session, and an Allow conditioned on it must grant.
func TestWebIdentitySessionFederatedProvider(t *testing.T) {
	w := newWebEnv(t)
	db := w.database()
	res := "arn:aws:rds-db:*:*:dbuser:" + db.ResourceID + "/app"
	denyFromIdP := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"rds-db:connect","Resource":"` + res + `"},
	  {"Effect":"Deny","Action":"rds-db:connect","Resource":"*","Condition":{"StringEquals":{"aws:FederatedProvider":"` + webProviderARN + `"}}}]}`
	allowFromIdP := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"rds-db:connect","Resource":"` + res + `","Condition":{"StringEquals":{"aws:FederatedProvider":"` + webProviderARN + `"}}}]}`
	trust := federatedTrust(`"sts:AssumeRoleWithWebIdentity"`, `{"StringEquals":{"`+webHP+`:sub":"`+webSub+`"}}`)
	for _, tt := range []struct {
		name, doc string
		want      policy.Effect
	}{
		{"deny-on-provider", denyFromIdP, policy.ExplicitDeny}, // allow where AWS denies
		{"allow-on-provider", allowFromIdP, policy.Allowed},    // deny where AWS allows
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := w.role(w.admin, "irsa-"+tt.name, trust, tt.doc)
			out, err := w.s.AssumeRoleWithWebIdentity(w.ctx, AssumeRoleWithWebIdentityInput{RoleARN: r.ARN, RoleSessionName: "pod-1", WebIdentityToken: w.token(nil)})
			if err != nil {
				t.Fatal(err)
			}
			c := w.caller(out.Credentials.AccessKeyID, out.Credentials.SessionToken)
			d, err := w.s.AuthorizeConnect(w.ctx, c, db, "app", RequestInfo{SecureTransport: true})
			if err != nil {
				t.Fatal(err)
			}
			if d.Effect != tt.want {
				t.Errorf("AuthorizeConnect = %v (%s), AWS: %v (aws:FederatedProvider = %s in the role session's context)", d.Effect, d.Reason, tt.want, webProviderARN)
			}
		})
	}
}
