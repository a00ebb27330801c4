package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv"
	testauthority "github.com/iamdb/iamdb/internal/testenv/authority"
)

const (
	testAccount = "111111111111"
	testRegion  = "eu-west-1"
	ec2Trust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`
)

var testMaster = []byte("0123456789abcdef0123456789abcdef")

// authority is a real iam.Service on a temporary store, with an account and a fixed clock.
type authority struct {
	*testauthority.Authority
	t   *testing.T
	ctx context.Context
}

func newAuthority(t *testing.T) *authority {
	t.Helper()
	a := testauthority.New(t, testauthority.Options{Account: testAccount, Region: testRegion, MasterKey: testMaster,
		Clock: testenv.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))})
	return &authority{Authority: a, t: t, ctx: context.Background()}
}

func (a *authority) role(name string) string {
	return a.Role(a.t, name, ec2Trust).ARN
}

func (a *authority) profile(name string) string {
	a.t.Helper()
	p, err := a.IAM.CreateInstanceProfile(a.ctx, a.Root(), iam.CreateInstanceProfileInput{InstanceProfileName: name})
	if err != nil {
		a.t.Fatal(err)
	}
	return p.ARN
}

func (a *authority) addRole(profile, role string) {
	a.t.Helper()
	if err := a.IAM.AddRoleToInstanceProfile(a.ctx, a.Root(), profile, role); err != nil {
		a.t.Fatal(err)
	}
}

// expectValid checks that the authority accepts the credentials now, as the session of
// wantARN.
func (a *authority) expectValid(c credsJSON, wantARN string) {
	a.t.Helper()
	k, err := a.IAM.LookupKey(a.ctx, c.AccessKeyID, c.Token)
	if err != nil {
		a.t.Fatalf("LookupKey(%s) = %v, want the session", c.AccessKeyID, err)
	}
	if !k.Expiration.After(a.Clock.Now()) {
		a.t.Errorf("LookupKey(%s): expiration %v, not after now %v", c.AccessKeyID, k.Expiration, a.Clock.Now())
	}
	if got := k.Principal.ARN; got != wantARN {
		a.t.Errorf("LookupKey(%s): principal %s, want %s", c.AccessKeyID, got, wantARN)
	}
}

// credsJSON is what both endpoints return (the union of their fields).
type credsJSON struct {
	Code, LastUpdated, Type string
	AccessKeyID             string `json:"AccessKeyId"`
	SecretAccessKey, Token  string
	Expiration              string
	RoleArn, AccountId      string
}

func do(t *testing.T, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Host = "169.254.169.254" // httptest's example.com is refused (DNS rebinding)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func token(t *testing.T, h http.Handler, ttl string) string {
	t.Helper()
	w := do(t, h, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", ttl)
	if w.Code != 200 {
		t.Fatalf("PUT /latest/api/token (ttl %s) = %d %q, want 200", ttl, w.Code, w.Body.String())
	}
	if got := w.Header().Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"); got != ttl {
		t.Errorf("PUT /latest/api/token: X-Aws-Ec2-Metadata-Token-Ttl-Seconds = %q, want %q echoed", got, ttl)
	}
	return w.Body.String()
}

func decodeCreds(t *testing.T, w *httptest.ResponseRecorder) credsJSON {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("credentials: status %d %q, want 200", w.Code, w.Body.String())
	}
	var c credsJSON
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatalf("credentials: %v in %q", err, w.Body.String())
	}
	return c
}

// webIMDS is an IMDS serving the role web and logging at debug level into logs, with a
// token of it and the path of its credentials.
func webIMDS(t *testing.T, a *authority) (m *IMDS, logs *testenv.LogBuffer, tok, creds string) {
	t.Helper()
	logs = &testenv.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m = newIMDS(t, a, IMDSConfig{RoleARN: a.role("web"), Logger: log})
	return m, logs, token(t, m, "60"), "/latest/meta-data/iam/security-credentials/web"
}

func newIMDS(t *testing.T, a *authority, cfg IMDSConfig) *IMDS {
	t.Helper()
	cfg.Authority, cfg.Now, cfg.Region = a.IAM, a.Clock.Now, testRegion
	m, err := NewIMDS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The IMDSv2 flow against an instance profile created, and given its role, after the
// endpoint started.
func TestIMDSInstanceProfile(t *testing.T) {
	a := newAuthority(t)
	profileARN := "arn:aws:iam::" + testAccount + ":instance-profile/app-profile"
	m := newIMDS(t, a, IMDSConfig{InstanceProfileARN: profileARN, InstanceID: "i-0123456789abcdef0"})
	tok := token(t, m, "21600")
	list := "/latest/meta-data/iam/security-credentials/"

	if w := do(t, m, "GET", list, "X-aws-ec2-metadata-token", tok); w.Code != 404 {
		t.Errorf("GET %s before the profile exists = %d, want 404", list, w.Code)
	}
	a.profile("app-profile")
	if w := do(t, m, "GET", list, "X-aws-ec2-metadata-token", tok); w.Code != 404 {
		t.Errorf("GET %s with an empty profile = %d, want 404", list, w.Code)
	}
	roleARN := a.role("app-role")
	a.addRole("app-profile", "app-role")

	for _, p := range []string{list, strings.TrimSuffix(list, "/")} {
		w := do(t, m, "GET", p, "X-aws-ec2-metadata-token", tok)
		if w.Code != 200 || w.Body.String() != "app-role" {
			t.Errorf("GET %s = %d %q, want 200 app-role", p, w.Code, w.Body.String())
		}
	}
	c := decodeCreds(t, do(t, m, "GET", list+"app-role", "X-aws-ec2-metadata-token", tok))
	now := a.Clock.Now()
	if c.Code != "Success" || c.Type != "AWS-HMAC" || !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.SecretAccessKey) != 40 || c.Token == "" {
		t.Errorf("credentials = Code %q Type %q AccessKeyId %q, secret %d chars, token %d bytes", c.Code, c.Type, c.AccessKeyID, len(c.SecretAccessKey), len(c.Token))
	}
	if want := isoTime(now.Add(time.Hour)); c.Expiration != want {
		t.Errorf("Expiration = %q, want %q", c.Expiration, want)
	}
	if want := isoTime(now); c.LastUpdated != want {
		t.Errorf("LastUpdated = %q, want %q", c.LastUpdated, want)
	}
	a.expectValid(c, "arn:aws:sts::"+testAccount+":assumed-role/app-role/i-0123456789abcdef0")
	_ = roleARN

	if w := do(t, m, "GET", list+"other-role", "X-aws-ec2-metadata-token", tok); w.Code != 404 {
		t.Errorf("GET %sother-role = %d, want 404", list, w.Code)
	}
	// Same session on a second request.
	if c2 := decodeCreds(t, do(t, m, "GET", list+"app-role", "X-aws-ec2-metadata-token", tok)); c2.AccessKeyID != c.AccessKeyID {
		t.Errorf("second request: key %s, want the cached %s", c2.AccessKeyID, c.AccessKeyID)
	}

	var info struct{ Code, InstanceProfileArn string }
	w := do(t, m, "GET", "/latest/meta-data/iam/info", "X-aws-ec2-metadata-token", tok)
	if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil || info.Code != "Success" || info.InstanceProfileArn != profileARN {
		t.Errorf("GET iam/info = %d %q (%v), want Success and %s", w.Code, w.Body.String(), err, profileARN)
	}
}

// The other metadata SDKs read: instance ID and region.
func TestIMDSMetadata(t *testing.T) {
	a := newAuthority(t)
	roleARN := a.role("web")
	m := newIMDS(t, a, IMDSConfig{RoleARN: roleARN})
	if !strings.HasPrefix(m.InstanceID(), "i-") || len(m.InstanceID()) != 19 {
		t.Errorf("derived InstanceID = %q, want i- and 17 hex digits", m.InstanceID())
	}
	tok := token(t, m, "60")
	tests := []struct{ path, want string }{
		{"/latest/meta-data/instance-id", m.InstanceID()},
		{"/latest/meta-data/placement/region", testRegion},
		{"/latest/meta-data/placement/availability-zone/", testRegion + "a"}, // botocore's path
		{"/latest/meta-data/iam/security-credentials/", "web"},
		{"/latest/meta-data/", "iam/\ninstance-id\nplacement/\n"},
	}
	for _, tt := range tests {
		w := do(t, m, "GET", tt.path, "X-aws-ec2-metadata-token", tok)
		if w.Code != 200 || w.Body.String() != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.path, w.Code, w.Body.String(), tt.want)
		}
	}
	var doc struct{ Region, AccountID, InstanceID string }
	w := do(t, m, "GET", "/latest/dynamic/instance-identity/document", "X-aws-ec2-metadata-token", tok)
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Region != testRegion || doc.AccountID != testAccount || doc.InstanceID != m.InstanceID() {
		t.Errorf("GET instance-identity/document = %d %q (%v)", w.Code, w.Body.String(), err)
	}
	for _, p := range []string{"/latest/meta-data/nope", "/latest/meta-data/iam/security-credentials/web/x", "/latest//meta-data", "/latest/meta-data/../meta-data/instance-id"} {
		if w := do(t, m, "GET", p, "X-aws-ec2-metadata-token", tok); w.Code != 404 {
			t.Errorf("GET %s = %d, want 404", p, w.Code)
		}
	}
}

// Refusals: tokens (missing, forged, expired, several), TTLs, methods, proxies, bodies.
func TestIMDSRefusals(t *testing.T) {
	a := newAuthority(t)
	m := newIMDS(t, a, IMDSConfig{RoleARN: a.role("web")})
	creds := "/latest/meta-data/iam/security-credentials/web"
	short := token(t, m, "1")
	good := token(t, m, "21600")

	tests := []struct {
		name, method, path string
		hdr                []string
		want               int
	}{
		{"IMDSv1 is off", "GET", creds, nil, 401},
		{"forged token", "GET", creds, []string{"X-aws-ec2-metadata-token", good[:len(good)-2] + "AA"}, 401},
		{"garbage token", "GET", creds, []string{"X-aws-ec2-metadata-token", "AQAEAE-not-ours=="}, 401},
		{"empty token", "GET", creds, []string{"X-aws-ec2-metadata-token", ""}, 401},
		{"two tokens", "GET", creds, []string{"X-aws-ec2-metadata-token", good, "X-aws-ec2-metadata-token", good}, 401},
		{"X-Forwarded-For on PUT", "PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "60", "X-Forwarded-For", "10.0.0.1"}, 403},
		{"X-Forwarded-For on GET", "GET", creds, []string{"X-aws-ec2-metadata-token", good, "X-Forwarded-For", "10.0.0.1"}, 403},
		{"no TTL", "PUT", "/latest/api/token", nil, 400},
		{"TTL 0", "PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "0"}, 400},
		{"TTL 21601", "PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "21601"}, 400},
		{"TTL -5", "PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "-5"}, 400},
		{"TTL +5", "PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "+5"}, 400},
		{"TTL 1e3", "PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "1e3"}, 400},
		{"two TTLs", "PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "5", "X-aws-ec2-metadata-token-ttl-seconds", "6"}, 400},
		{"GET token", "GET", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "60"}, 405},
		{"POST metadata", "POST", creds, []string{"X-aws-ec2-metadata-token", good}, 405},
	}
	for _, tt := range tests {
		if w := do(t, m, tt.method, tt.path, tt.hdr...); w.Code != tt.want {
			t.Errorf("%s: %s %s = %d %q, want %d", tt.name, tt.method, tt.path, w.Code, w.Body.String(), tt.want)
		}
	}

	// Bodies are bounded.
	r := httptest.NewRequest("PUT", "/latest/api/token", strings.NewReader(strings.Repeat("x", 2*maxBody)))
	r.Host = "127.0.0.1"
	r.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT with a 2 KiB body = %d, want 413", w.Code)
	}

	// The token TTL is enforced: the one-second token dies, the six-hour one lives.
	if w := do(t, m, "GET", creds, "X-aws-ec2-metadata-token", short); w.Code != 200 {
		t.Errorf("GET with a fresh one-second token = %d, want 200", w.Code)
	}
	a.Clock.Advance(time.Second)
	if w := do(t, m, "GET", creds, "X-aws-ec2-metadata-token", short); w.Code != 401 {
		t.Errorf("GET with an expired one-second token = %d, want 401", w.Code)
	}
	a.Clock.Advance(6*time.Hour - 2*time.Second)
	if w := do(t, m, "GET", creds, "X-aws-ec2-metadata-token", good); w.Code != 200 {
		t.Errorf("GET with a six-hour token a second before its end = %d, want 200", w.Code)
	}
	a.Clock.Advance(2 * time.Second)
	if w := do(t, m, "GET", creds, "X-aws-ec2-metadata-token", good); w.Code != 401 {
		t.Errorf("GET with an expired six-hour token = %d, want 401", w.Code)
	}

	// Another endpoint's (or a restarted endpoint's) token is refused.
	other := newIMDS(t, a, IMDSConfig{RoleARN: "arn:aws:iam::" + testAccount + ":role/web"})
	if w := do(t, m, "GET", creds, "X-aws-ec2-metadata-token", token(t, other, "60")); w.Code != 401 {
		t.Errorf("GET with another endpoint's token = %d, want 401", w.Code)
	}
}

// DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 sends
// its own name as Host. Only IP literals and localhost are served, for the token PUT and
// every GET; the refusal is logged with the host.
func TestIMDSHost(t *testing.T) {
	a := newAuthority(t)
	m, logs, tok, creds := webIMDS(t, a)
	tests := []struct {
		host string
		want int
	}{
		{"169.254.169.254", 200},
		{"169.254.169.254:80", 200},
		{"127.0.0.1:8090", 200},
		{"[::1]:8090", 200},
		{"[::1]", 200},
		{"[fd00:ec2::254]", 200},
		{"localhost", 200},
		{"localhost:8090", 200},
		{"LocalHost:8090", 200},
		{"evil.example", 403},
		{"evil.example:8090", 403},
		{"169.254.169.254.evil.example", 403},
		{"127.0.0.1.nip.io:8090", 403},
		{"localhost.evil.example", 403},
		{"evil-localhost", 403},
		{"", 403},
		{"::1", 403},             // IPv6 without brackets
		{"[127.0.0.1]", 403},     // IPv4 in brackets
		{"[::1", 403},            // unclosed
		{"[::1]x", 403},          // junk after the bracket
		{"127.0.0.1:", 403},      // empty port
		{"127.0.0.1:65536", 403}, // port out of range
		{"127.0.0.1:80:80", 403}, // two ports
		{"127.0.0.1:+80", 403},   // not digits
		{"0x7f.0.0.1", 403},      // not a canonical literal
		{"2130706433", 403},      // 127.0.0.1 as one number
		{"127.000.000.001", 403}, // leading zeros
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			for _, req := range []struct {
				method, path string
				hdr          []string
			}{
				{"PUT", "/latest/api/token", []string{"X-aws-ec2-metadata-token-ttl-seconds", "60"}},
				{"GET", creds, []string{"X-aws-ec2-metadata-token", tok}},
			} {
				r := httptest.NewRequest(req.method, req.path, nil)
				r.Host = tt.host
				for i := 0; i < len(req.hdr); i += 2 {
					r.Header.Set(req.hdr[i], req.hdr[i+1])
				}
				w := httptest.NewRecorder()
				m.ServeHTTP(w, r)
				if w.Code != tt.want {
					t.Errorf("%s %s with Host %q = %d %q, want %d", req.method, req.path, tt.host, w.Code, w.Body.String(), tt.want)
				}
				if w.Code == 403 && (strings.Contains(w.Body.String(), "Secret") || len(w.Body.String()) > 32) {
					t.Errorf("%s %s with Host %q: body %q, want a short refusal", req.method, req.path, tt.host, w.Body.String())
				}
			}
		})
	}
	if !strings.Contains(logs.String(), `reason="host is not an IP address or localhost" host=evil.example`) {
		t.Errorf("log lacks the refused host:\n%s", logs.String())
	}
}

// With AllowIMDSv1, GETs without a token are served; a bad token is still refused.
func TestIMDSv1Allowed(t *testing.T) {
	a := newAuthority(t)
	m := newIMDS(t, a, IMDSConfig{RoleARN: a.role("web"), AllowIMDSv1: true})
	creds := "/latest/meta-data/iam/security-credentials/web"
	a.expectValid(decodeCreds(t, do(t, m, "GET", creds)), "arn:aws:sts::"+testAccount+":assumed-role/web/"+m.InstanceID())
	if w := do(t, m, "GET", creds, "X-aws-ec2-metadata-token", "v1.bogus"); w.Code != 401 {
		t.Errorf("IMDSv1 on, GET with a bad token = %d, want 401", w.Code)
	}
}

// Rotation: the same session until less than a third of its lifetime remains, then a new
// one; the old one keeps working until its own expiry.
func TestRotation(t *testing.T) {
	a := newAuthority(t)
	roleARN := a.role("web")
	m := newIMDS(t, a, IMDSConfig{RoleARN: roleARN, InstanceID: "i-0aaaaaaaaaaaaaaaa"})
	creds := "/latest/meta-data/iam/security-credentials/web"
	session := "arn:aws:sts::" + testAccount + ":assumed-role/web/i-0aaaaaaaaaaaaaaaa"
	get := func() credsJSON {
		t.Helper()
		return decodeCreds(t, do(t, m, "GET", creds, "X-aws-ec2-metadata-token", token(t, m, "60")))
	}
	start := a.Clock.Now()
	first := get()
	a.Clock.Advance(40*time.Minute - time.Second) // 20m01s left
	if c := get(); c.AccessKeyID != first.AccessKeyID {
		t.Errorf("at 39m59s: key %s, want the first session %s", c.AccessKeyID, first.AccessKeyID)
	}
	a.Clock.Advance(2 * time.Second) // 19m59s left
	second := get()
	if second.AccessKeyID == first.AccessKeyID {
		t.Fatalf("at 40m01s: still the first session %s, want a rotation", first.AccessKeyID)
	}
	if want := isoTime(a.Clock.Now().Add(time.Hour)); second.Expiration != want {
		t.Errorf("rotated session: Expiration %s, want %s", second.Expiration, want)
	}
	if want := isoTime(start.Add(time.Hour)); first.Expiration != want {
		t.Errorf("first session: Expiration %s, want %s", first.Expiration, want)
	}
	// Both work: what an SDK fetched before the rotation keeps working.
	a.expectValid(first, session)
	a.expectValid(second, session)
	a.Clock.Advance(20 * time.Minute) // the first has expired
	if k, err := a.IAM.LookupKey(a.ctx, first.AccessKeyID, first.Token); err == nil && k.Expiration.After(a.Clock.Now()) {
		t.Errorf("first session after its expiry: still valid until %v", k.Expiration)
	}
	if c := get(); c.AccessKeyID != second.AccessKeyID {
		t.Errorf("at 60m01s: key %s, want the second session %s (40 minutes left)", c.AccessKeyID, second.AccessKeyID)
	}
}

// failingAuthority fails every issue after the first.
type failingAuthority struct {
	Authority
	calls int
}

func (f *failingAuthority) AssumeRoleForWorkload(ctx context.Context, role, service, name string, d time.Duration) (iam.AssumeRoleOutput, error) {
	f.calls++
	if f.calls > 1 {
		return iam.AssumeRoleOutput{}, errors.New("store unavailable")
	}
	return f.Authority.AssumeRoleForWorkload(ctx, role, service, name, d)
}

// A failed rotation serves the current session while it lasts, then fails.
func TestRotationFailure(t *testing.T) {
	a := newAuthority(t)
	roleARN := a.role("web")
	c, err := NewCache(CacheConfig{Authority: &failingAuthority{Authority: a.IAM}, SessionName: "i", Now: a.Clock.Now})
	if err == nil {
		t.Fatal("NewCache with a one-character session name: no error")
	}
	c, err = NewCache(CacheConfig{Authority: &failingAuthority{Authority: a.IAM}, SessionName: "i-0123", Now: a.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Get(a.ctx, roleARN)
	if err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(50 * time.Minute)
	if got, err := c.Get(a.ctx, roleARN); err != nil || got.AccessKeyID != first.AccessKeyID {
		t.Errorf("Get after a failed rotation = %v, %v; want the current session", got, err)
	}
	a.Clock.Advance(10 * time.Minute)
	if _, err := c.Get(a.ctx, roleARN); err == nil {
		t.Errorf("Get after a failed rotation and the session's expiry: no error")
	}
	if s := first.String(); strings.Contains(s, first.SecretAccessKey) || strings.Contains(s, first.SessionToken) {
		t.Errorf("Credentials.String() = %q shows a secret", s)
	}
}

func TestNewIMDSErrors(t *testing.T) {
	a := newAuthority(t)
	for _, cfg := range []IMDSConfig{
		{},
		{RoleARN: "arn:aws:iam::111111111111:role/a", InstanceProfileARN: "arn:aws:iam::111111111111:instance-profile/a"},
		{RoleARN: "arn:aws:iam::111111111111:user/a"},
		{InstanceProfileARN: "arn:aws:iam::111111111111:role/a"},
		{RoleARN: "arn:aws:iam::1111:role/a"},
	} {
		cfg.Authority, cfg.Region = a.IAM, testRegion
		if _, err := NewIMDS(cfg); err == nil {
			t.Errorf("NewIMDS(role %q, profile %q) = nil error", cfg.RoleARN, cfg.InstanceProfileARN)
		}
	}
}

func newContainer(t *testing.T, a *authority, roleARN string) *Container {
	t.Helper()
	c, err := NewContainer(ContainerConfig{Authority: a.IAM, RoleARN: roleARN, AuthorizationToken: "s3cr3t-container-token", Now: a.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestContainer(t *testing.T) {
	a := newAuthority(t)
	roleARN := a.role("task")
	c := newContainer(t, a, roleARN)
	w := do(t, c, "GET", "/v1/credentials", "Authorization", "s3cr3t-container-token")
	cr := decodeCreds(t, w)
	if cr.RoleArn != roleARN || cr.AccountId != testAccount || cr.Expiration != isoTime(a.Clock.Now().Add(time.Hour)) {
		t.Errorf("container credentials: RoleArn %q, AccountId %q, Expiration %q", cr.RoleArn, cr.AccountId, cr.Expiration)
	}
	a.expectValid(cr, "arn:aws:sts::"+testAccount+":assumed-role/task/iamdb-container")
	tests := []struct {
		name, method, path string
		hdr                []string
		want               int
	}{
		{"no authorization", "GET", "/v1/credentials", nil, 401},
		{"empty authorization", "GET", "/v1/credentials", []string{"Authorization", ""}, 401},
		{"wrong authorization", "GET", "/v1/credentials", []string{"Authorization", "s3cr3t-container-tokeN"}, 403},
		{"prefix of the token", "GET", "/v1/credentials", []string{"Authorization", "s3cr3t"}, 403},
		{"two authorizations", "GET", "/v1/credentials", []string{"Authorization", "s3cr3t-container-token", "Authorization", "s3cr3t-container-token"}, 403},
		{"wrong path", "GET", "/v2/credentials", []string{"Authorization", "s3cr3t-container-token"}, 404},
		{"POST", "POST", "/v1/credentials", []string{"Authorization", "s3cr3t-container-token"}, 405},
		{"X-Forwarded-For", "GET", "/v1/credentials", []string{"Authorization", "s3cr3t-container-token", "X-Forwarded-For", "1.2.3.4"}, 403},
	}
	for _, tt := range tests {
		w := do(t, c, tt.method, tt.path, tt.hdr...)
		if w.Code != tt.want {
			t.Errorf("%s: %s %s = %d %q, want %d", tt.name, tt.method, tt.path, w.Code, w.Body.String(), tt.want)
		}
		if strings.Contains(w.Body.String(), "Secret") {
			t.Errorf("%s: refusal %q carries credentials", tt.name, w.Body.String())
		}
	}

	// A role that does not exist (yet): 404, then served once it does.
	late := newContainer(t, a, "arn:aws:iam::"+testAccount+":role/late")
	if w := do(t, late, "GET", "/v1/credentials", "Authorization", "s3cr3t-container-token"); w.Code != 404 {
		t.Errorf("container of a missing role = %d %q, want 404", w.Code, w.Body.String())
	}
	a.role("late")
	decodeCreds(t, do(t, late, "GET", "/v1/credentials", "Authorization", "s3cr3t-container-token"))

	for _, tok := range []string{"", "short", "has space in the token", "line\nbreak-in-the-token", strings.Repeat("x", 1025)} {
		if _, err := NewContainer(ContainerConfig{Authority: a.IAM, RoleARN: roleARN, AuthorizationToken: tok}); err == nil {
			t.Errorf("NewContainer(token %.20q) = nil error", tok)
		}
	}
	if _, err := NewContainer(ContainerConfig{Authority: a.IAM, RoleARN: roleARN, AuthorizationToken: "s3cr3t-container-token", Path: "/a/../b"}); err == nil {
		t.Errorf("NewContainer(path /a/../b) = nil error")
	}
}

// Over a real listener, with a body the server must not read.
func TestIMDSOverHTTP(t *testing.T) {
	a := newAuthority(t)
	m := newIMDS(t, a, IMDSConfig{RoleARN: a.role("web")})
	srv := httptest.NewServer(m)
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "300")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") != "300" {
		t.Fatalf("PUT token over HTTP = %d, ttl header %q", resp.StatusCode, resp.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
	}
	req, _ = http.NewRequest("GET", srv.URL+"/latest/meta-data/iam/security-credentials/web", nil)
	req.Header.Set("X-aws-ec2-metadata-token", string(tok))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET credentials over HTTP = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The same request as a rebound browser sends it: the address is ours, the name not.
	req.Host = "169.254.169.254.evil.example"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("GET credentials over HTTP with Host %q = %d, want 403", req.Host, resp.StatusCode)
	}
}

// Issuance, rotation and refusals are logged; secrets, session tokens and metadata tokens
// never are.
func TestNoSecretsInLogs(t *testing.T) {
	a := newAuthority(t)
	m, logs, tok, creds := webIMDS(t, a)
	first := decodeCreds(t, do(t, m, "GET", creds, "X-aws-ec2-metadata-token", tok))
	a.Clock.Advance(45 * time.Minute)
	tok = token(t, m, "60")
	second := decodeCreds(t, do(t, m, "GET", creds, "X-aws-ec2-metadata-token", tok))
	do(t, m, "GET", creds, "X-aws-ec2-metadata-token", tok+"x")
	do(t, m, "GET", creds)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})) // into the same buffer
	c, err := NewContainer(ContainerConfig{Authority: a.IAM, RoleARN: a.role("task"), AuthorizationToken: "s3cr3t-container-token", Now: a.Clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	third := decodeCreds(t, do(t, c, "GET", "/v1/credentials", "Authorization", "s3cr3t-container-token"))
	do(t, c, "GET", "/v1/credentials", "Authorization", "s3cr3t-container-tokeX")

	out := logs.String()
	for _, want := range []string{"workload credentials issued", "workload credentials rotated", "imds request refused", "container credentials request refused", first.AccessKeyID} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	logs.NoSecret(t, first.SecretAccessKey, first.Token, second.SecretAccessKey, second.Token, third.SecretAccessKey, third.Token, tok, "s3cr3t-container-tok")
}

// The endpoints serve a role only when its trust policy lets their service assume it, as
// EC2 and ECS do: a role that trusts only a user (an admin role put in an instance
// profile) is never handed out, and the refusal is logged with its reason.
func TestWorkloadTrust(t *testing.T) {
	a := newAuthority(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	userTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/admin"},"Action":"sts:AssumeRole"}]}`
	ecsOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	ec2Only := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	denyEC2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:RoleSessionName":"i-0bad"}}}]}`
	list := "/latest/meta-data/iam/security-credentials/"
	imdsStatus := func(role, instance string) int {
		m := newIMDS(t, a, IMDSConfig{RoleARN: role, InstanceID: instance, Logger: log})
		return do(t, m, "GET", list+roleName(role), "X-aws-ec2-metadata-token", token(t, m, "60")).Code
	}
	containerStatus := func(role string) int {
		c, err := NewContainer(ContainerConfig{Authority: a.IAM, RoleARN: role, AuthorizationToken: "s3cr3t-container-token", Now: a.Clock.Now, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		return do(t, c, "GET", "/v1/credentials", "Authorization", "s3cr3t-container-token").Code
	}
	admin := a.Role(t, "admin-only", userTrust).ARN
	ecs := a.Role(t, "ecs-only", ecsOnly).ARN
	ec2 := a.Role(t, "ec2-only", ec2Only).ARN
	// The trust policy is evaluated with the request's keys: a Deny on the session name
	// (the instance ID) holds.
	deny := a.Role(t, "deny-one", denyEC2).ARN
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"IMDS for a role trusting only a user", imdsStatus(admin, "i-0123"), 404},
		{"container credentials for a role trusting only a user", containerStatus(admin), 404},
		{"IMDS for a role trusting only ecs-tasks", imdsStatus(ecs, "i-0123"), 404},
		{"container credentials for a role trusting ecs-tasks", containerStatus(ecs), 200},
		{"IMDS for a role trusting ec2", imdsStatus(ec2, "i-0123"), 200},
		{"container credentials for a role trusting only ec2", containerStatus(ec2), 404},
		{"IMDS for an instance the trust policy denies", imdsStatus(deny, "i-0bad"), 404},
		{"IMDS for an instance the trust policy allows", imdsStatus(deny, "i-0good"), 200},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	if !strings.Contains(logs.String(), "role refused to the endpoint") || !strings.Contains(logs.String(), "admin-only") {
		t.Errorf("the refusal is not logged with the role:\n%s", logs.String())
	}
}

// FuzzLocalHost: an accepted Host names an IP literal or localhost, never a DNS name an
// attacker could point at the endpoint.
func FuzzLocalHost(f *testing.F) {
	for _, s := range []string{"169.254.169.254", "127.0.0.1:80", "[::1]:8090", "[::1]", "localhost", "LOCALHOST:1",
		"evil.example", "169.254.169.254.evil.example", "", "::1", "[127.0.0.1]", "127.0.0.1:", "[fe80::1%25eth0]:80", "1.2.3.4:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !localHost(host) {
			return
		}
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			name = host[1 : len(host)-1]
		}
		if _, err := netip.ParseAddr(name); err != nil && !strings.EqualFold(name, "localhost") {
			t.Errorf("localHost(%q) = true, but %q is neither an IP address nor localhost", host, name)
		}
	})
}
