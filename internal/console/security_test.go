package console

import (
	"bytes"
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/testenv"

	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
)

// An attacker's view of the console: each test is one thing an attacker would try.

const foreignAccount = "210987654321"

// otherAccountSetup bootstraps a second account with a user, a role and a managed policy
// whose texts carry marker, and returns the policy's ARN.
func otherAccountSetup(t *testing.T, e *testEnv, marker string) string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := e.svc.Bootstrap(ctx, iam.BootstrapInput{AccountID: foreignAccount, AdminUserName: "admin"}); err != nil {
		t.Fatal(err)
	}
	root := e.svc.Root(foreignAccount)
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"` + marker + `","Effect":"Allow","Action":"rds-db:connect","Resource":"*"}]}`
	p, err := e.svc.CreatePolicy(ctx, root, iam.CreatePolicyInput{PolicyName: "theirs", PolicyDocument: doc, Description: marker})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateUser(ctx, root, iam.CreateUserInput{UserName: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutUserPolicy(ctx, root, "bob", "bobs", doc); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachUserPolicy(ctx, root, "bob", p.ARN); err != nil {
		t.Fatal(err)
	}
	return p.ARN
}

// The account's admin, allowed everything in its own account, sees nothing of another
// account by naming its ARNs: not its policies, not its principals in the simulator.
func TestSecurityCrossAccount(t *testing.T) {
	e := newTestEnv(t, nil)
	const marker = "OtherAccountSecretSid"
	e.registerDBs() // while there is one account
	theirs := otherAccountSetup(t, e, marker)
	c := e.signedIn("admin", adminPass)

	for _, path := range []string{
		Prefix + "policies/" + theirs,
		Prefix + "policies/?arn=" + url.QueryEscape(theirs),
	} {
		p := c.get(path)
		if p.Status == http.StatusOK || strings.Contains(p.Body, marker) {
			t.Errorf("GET %s: %d, shows the other account's policy:\n%s", path, p.Status, p.Body)
		}
	}
	for _, path := range []string{Prefix + "policies", Prefix + "policies?scope=All", Prefix + "users", Prefix + "simulator", Prefix + "activity", Prefix} {
		p := c.get(path)
		if strings.Contains(p.Body, foreignAccount) {
			t.Errorf("GET %s names the other account:\n%s", path, p.Body)
		}
	}
	// A POST naming the other account's policy changes nothing there.
	c.get(Prefix + "policies")
	p := c.post(Prefix+"policies/delete", url.Values{"arn": {theirs}})
	if p.Status == http.StatusSeeOther {
		t.Errorf("deleting the other account's policy: %d %s", p.Status, p.Location)
	}
	if _, err := e.svc.GetPolicy(context.Background(), e.svc.Root(foreignAccount), theirs); err != nil {
		t.Errorf("the other account's policy: %v", err)
	}

	// The simulator with the other account's user as the principal: refused, no verdict,
	// no statement of theirs.
	c.get(Prefix + "simulator")
	p = c.post(Prefix+"simulator", url.Values{"principal": {"arn:aws:iam::" + foreignAccount + ":user/bob"},
		"database": {"instance/orders"}, "dbuser": {"iam_user"}})
	if p.Status == http.StatusOK || strings.Contains(p.Body, marker) || strings.Contains(p.Body, "allowed") {
		t.Errorf("simulator on the other account's user: %d\n%s", p.Status, p.Body)
	}
}

// Console pages never expose the other account's live sessions either.
func TestSecurityLiveSessionsOtherAccount(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mu.Lock()
	e.live = []gateway.LiveSession{{Engine: "postgres", Database: "theirs", Account: foreignAccount, DBUser: "their_user"},
		{Engine: "postgres", Database: "nobodys", DBUser: "password_user"}}
	e.mu.Unlock()
	c := e.signedIn("admin", adminPass)
	for _, path := range []string{Prefix + "sessions", Prefix} {
		p := c.get(path)
		if p.Status != http.StatusOK || strings.Contains(p.Body, "their_user") || strings.Contains(p.Body, "password_user") {
			t.Errorf("GET %s: %d, shows another account's session:\n%s", path, p.Status, p.Body)
		}
	}
}

// browserPath is where a browser sends a form or link target raw (an attribute's
// text) found on a page at base: the reference resolved, with the dot segments WHATWG's
// URL parser removes (".", "..", and their %2e spellings).
func browserPath(t *testing.T, base *url.URL, raw string) string {
	t.Helper()
	raw = html.UnescapeString(raw)
	ref, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	u := base.ResolveReference(ref)
	segs := strings.Split(u.EscapedPath(), "/")
	var out []string
	for i, s := range segs {
		switch strings.ToLower(s) {
		case ".", "%2e":
			continue
		case "..", ".%2e", "%2e.", "%2e%2e":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			continue
		}
		if i == 0 || s != "" || i == len(segs)-1 {
			out = append(out, s)
		}
	}
	if u.RawQuery != "" {
		return strings.Join(out, "/") + "?" + u.RawQuery
	}
	return strings.Join(out, "/")
}

var targetAttr = regexp.MustCompile(`(?:href|action)="([^"]*)"`)

// targets returns the link and form targets of a page as a browser resolves them.
func targets(t *testing.T, e *testEnv, pagePath, body string) []string {
	t.Helper()
	base, _ := url.Parse(e.srv.URL + pagePath)
	var out []string
	for _, m := range targetAttr.FindAllStringSubmatch(body, -1) {
		out = append(out, browserPath(t, base, m[1]))
	}
	return out
}

// Names IAM accepts ("..", a path with "..", "?" or "#") do not turn a page's links and
// forms into links and forms of something else: deleting an inline policy named ".."
// must not post to the user's delete, a link to a policy must stay under
// /console/policies/.
func TestSecurityDotNames(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: "victim"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutUserPolicy(ctx, e.admin, "victim", "..", doc); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateGroup(ctx, e.admin, iam.CreateGroupInput{GroupName: "team"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: ".."}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddUserToGroup(ctx, e.admin, "team", ".."); err != nil {
		t.Fatal(err)
	}
	odd, err := e.svc.CreatePolicy(ctx, e.admin, iam.CreatePolicyInput{PolicyName: "odd", Path: "/../../../x?y#z/", PolicyDocument: doc})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachUserPolicy(ctx, e.admin, "victim", odd.ARN); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("admin", adminPass)

	p := c.get(Prefix + "users/victim")
	wantPage(t, "victim", p, http.StatusOK, "victim")
	for _, to := range targets(t, e, Prefix+"users/victim", p.Body) {
		if !strings.HasPrefix(to, Prefix) {
			t.Errorf("a target of the user's page leaves the console: %s", to)
		}
	}
	// The inline policy's delete form must not be the user's delete.
	if n := strings.Count(strings.Join(targets(t, e, Prefix+"users/victim", p.Body), "\n")+"\n", Prefix+"users/victim/delete\n"); n != 1 {
		t.Errorf("%d forms post to the user's delete, want 1", n)
	}
	p = c.get(Prefix + "groups/team")
	wantPage(t, "team", p, http.StatusOK, "team")
	userLink := false
	for _, to := range targets(t, e, Prefix+"groups/team", p.Body) {
		if to == Prefix+"groups/team/remove" || to == Prefix+"groups/remove" || !strings.HasPrefix(to, Prefix) {
			t.Errorf("a target of the group's page: %s", to)
		}
		userLink = userLink || strings.HasPrefix(to, Prefix+"users/..")
	}
	if !userLink {
		t.Errorf("the group's page has no link for its member \"..\" that stays a user link")
	}

	for _, path := range []string{Prefix + "policies", Prefix + "users/victim"} {
		p = c.get(path)
		found := false
		for _, to := range targets(t, e, path, p.Body) {
			if !strings.HasPrefix(to, Prefix) {
				t.Errorf("%s: a target leaves the console: %s", path, to)
			}
			if strings.HasPrefix(to, Prefix+"policies/") && strings.Contains(to, "odd") {
				found = true
				// The link shows the policy.
				if q := c.get(to); q.Status != http.StatusOK || !strings.Contains(q.Body, "odd") {
					t.Errorf("%s: the policy's link %s: %d\n%s", path, to, q.Status, q.Body)
				}
			}
		}
		if path == Prefix+"policies" && !found {
			t.Errorf("%s: no link to the policy odd", path)
		}
	}
	// After a change, the redirect to the policy stays in the console and shows it.
	c.get(Prefix + "policies")
	p = c.post(Prefix+"policies/versions", url.Values{"arn": {odd.ARN}, "document": {doc}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("new version: %d\n%s", p.Status, p.Body)
	}
	base, _ := url.Parse(e.srv.URL + Prefix)
	if to := browserPath(t, base, p.Location); !strings.HasPrefix(to, Prefix+"policies/") {
		t.Errorf("the redirect after a new version goes to %s (%s)", to, p.Location)
	} else if q := c.get(to); q.Status != http.StatusOK || !strings.Contains(q.Body, "odd") {
		t.Errorf("the redirect %s: %d\n%s", p.Location, q.Status, q.Body)
	}
}

// The post-sign-in destination stays under /console/ as a browser resolves it: no dot
// segments, in any spelling.
func TestSecuritySafeNextDots(t *testing.T) {
	base, _ := url.Parse("http://console.example" + Prefix)
	for _, next := range []string{"/console/../x", "/console/%2e%2e/x", "/console/.%2E/x", "/console/users/../../x", "/console/./../x",
		"/console/%2E%2e/%2e%2e/x", "/console/..", "/console/users/%2F..%2F..%2Fx"} {
		got := safeNext(next)
		if to := browserPath(t, base, got); !strings.HasPrefix(to, Prefix) {
			t.Errorf("safeNext(%q) = %q: a browser goes to %s", next, got, to)
		}
		if got != Prefix {
			t.Errorf("safeNext(%q) = %q, want it refused", next, got)
		}
	}
	for _, next := range []string{"/console/users", "/console/users/a.b", "/console/policies/arn:aws:iam::123456789012:policy/x", "/console/activity?user=a&max=3"} {
		if got := safeNext(next); got != next {
			t.Errorf("safeNext(%q) = %q, want it kept", next, got)
		}
	}
}

// Session fixation: a session cookie the attacker planted before sign-in is not the
// session after it; signing out
// ends the server's session, so a copied cookie is dead.
func TestSecuritySessionLifecycle(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.client()
	u, _ := url.Parse(e.srv.URL + Prefix)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "planted-by-the-attacker-0123456789abcdef0123", Path: cookiePath}})
	c.signIn("admin", adminPass, "")
	first := cookieOf(c, u, sessionCookie)
	if first == "" || first == "planted-by-the-attacker-0123456789abcdef0123" {
		t.Fatalf("session cookie after sign-in: %q", first)
	}
	attacker := e.client()
	attacker.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "planted-by-the-attacker-0123456789abcdef0123", Path: cookiePath}})
	if p := attacker.get(Prefix + "users"); p.Status != http.StatusSeeOther {
		t.Fatalf("the planted cookie: %d", p.Status)
	}

	// A second sign-in in the same browser cannot happen: the sign-in page sends a signed-in
	// browser on, and the form token's cookie ended with the first sign-in.
	if p := c.get(Prefix + "signin"); p.Status != http.StatusSeeOther || strings.Contains(p.Body, `name="token"`) {
		t.Fatalf("sign-in page while signed in: %d", p.Status)
	}
	if cookieOf(c, u, signinCookie) != "" {
		t.Errorf("the sign-in form's cookie outlived the sign-in")
	}
	second := first
	copied := e.client()
	// Sign-out: the copied cookie of the second session is dead too.
	copied.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: second, Path: cookiePath}})
	if p := copied.get(Prefix + "users"); p.Status != http.StatusOK {
		t.Fatalf("copied live cookie: %d", p.Status)
	}
	c.get(Prefix)
	if p := c.post(Prefix+"signout", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Status)
	}
	if p := copied.get(Prefix + "users"); p.Status != http.StatusSeeOther {
		t.Errorf("copied cookie after sign-out: %d", p.Status)
	}
	// Sign-out is POST only, with the token: a GET or a POST without it ends nothing.
	d := e.signedIn("admin", adminPass)
	if p := d.get(Prefix + "signout"); p.Status == http.StatusSeeOther && e.con.Sessions() == 0 {
		t.Errorf("GET signout ended the session")
	}
	if p := d.post(Prefix+"signout", url.Values{"csrf": {""}}); p.Status != http.StatusForbidden || e.con.Sessions() != 1 {
		t.Errorf("sign-out without the token: %d, %d sessions", p.Status, e.con.Sessions())
	}
}

func cookieOf(c *client, u *url.URL, name string) string {
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// Under TLS both cookies are Secure, HttpOnly, SameSite=Strict, Path /console/; HSTS is
// sent.
func TestSecurityCookiesTLS(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := httptest.NewTLSServer(e.srv.Config.Handler)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	hc := srv.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(srv.URL + Prefix + "signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check := func(resp *http.Response, name string) {
		t.Helper()
		for _, ck := range resp.Cookies() {
			if ck.Name == name {
				if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != cookiePath {
					t.Errorf("cookie %s: %+v", name, ck)
				}
				return
			}
		}
		t.Errorf("no cookie %s in %v", name, resp.Header["Set-Cookie"])
	}
	check(resp, signinCookie)
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS under TLS")
	}
	u, _ := url.Parse(srv.URL + Prefix)
	token := ""
	for _, ck := range jar.Cookies(u) {
		if ck.Name == signinCookie {
			token = ck.Value
		}
	}
	form := url.Values{"token": {token}, "account": {testAccount}, "user": {"admin"}, "password": {adminPass}, "next": {Prefix}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+Prefix+"signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in over TLS: %d", resp.StatusCode)
	}
	check(resp, sessionCookie)
}

// Login CSRF: another site cannot sign the victim's browser into the attacker's account,
// even with the form token of the attacker's own sign-in page.
func TestSecurityLoginCSRF(t *testing.T) {
	e := newTestEnv(t, nil)
	attacker := e.client()
	m := tokenField.FindStringSubmatch(attacker.get(Prefix + "signin").Body)
	if m == nil {
		t.Fatal("no form token")
	}
	victim := e.client()
	victim.get(Prefix + "signin") // the victim has a sign-in cookie of its own
	form := url.Values{"token": {m[1]}, "account": {testAccount}, "user": {"admin"}, "password": {adminPass}, "next": {Prefix}}
	for _, h := range []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site", "Origin": "https://evil." + strings.TrimPrefix(e.srv.URL, "http://")},
		{"Origin": "null"},
		{}, // no Origin: the token still has to match the victim's cookie
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+Prefix+"signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		if p := victim.do(req); p.Status != http.StatusForbidden {
			t.Errorf("sign-in POST with %v: %d %s", h, p.Status, p.Location)
		}
	}
	if n := e.con.Sessions(); n != 0 {
		t.Errorf("%d sessions after login CSRF attempts", n)
	}
}

// Secrets: a new access key's secret and a virtual MFA device's seed are only on the
// POST's answer (no-store), never in a redirect, a flash, a later page or a log line; a
// password typed at sign-in is in no log, and what is logged of the form is bounded.
func TestSecuritySecrets(t *testing.T) {
	var logs testenv.LogBuffer
	e := newTestEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.user("alice", "", "Alice-console-1")
	c := e.signedIn("admin", adminPass)
	c.get(Prefix + "users/alice")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+Prefix+"users/alice/keys", strings.NewReader(url.Values{"csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("new key: %d, Location %q, Cache-Control %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
	secret := regexp.MustCompile(`Secret access key</dt><dd><pre data-copy>([^<]+)</pre>`).FindStringSubmatch(body.String())
	if secret == nil || len(secret[1]) < 30 {
		t.Fatalf("no secret on the answer:\n%s", body.String())
	}
	for _, path := range []string{Prefix + "users/alice", Prefix, Prefix + "activity"} {
		if p := c.get(path); strings.Contains(p.Body, secret[1]) {
			t.Errorf("%s shows the secret", path)
		}
	}

	c.get(Prefix + "users/alice")
	p := c.post(Prefix+"users/alice/mfa", nil)
	seed := regexp.MustCompile(`Secret key \(Base32\): <code>([A-Z2-7]+)</code>`).FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || seed == nil || p.Location != "" {
		t.Fatalf("new MFA device: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	if !strings.Contains(p.Body, `autocomplete="off"`) {
		t.Error("the MFA form does not turn autocomplete off")
	}
	if q := c.get(Prefix + "users/alice"); strings.Contains(q.Body, seed[1]) {
		t.Error("the user's page shows the seed")
	}

	// A failed sign-in logs neither the password nor an unbounded user name, nor the name
	// of a user that does not exist (a password typed into the user name field, often).
	o := e.client()
	long := strings.Repeat("u", 100000)
	o.trySignIn(long, "the-typed-password-1", "")
	o.trySignIn("admin", "the-typed-password-2", "")
	o.trySignIn("Tr0ub4dor&3-typed-in-user-field", "x", "")
	log := logs.String()
	if !strings.Contains(log, "user=admin") || !strings.Contains(log, "user="+hiddenUser) {
		t.Errorf("the log does not name the existing user and hide the other:\n%.2000s", log)
	}
	for _, s := range []string{secret[1], seed[1], "the-typed-password", adminPass, "Alice-console-1", "Tr0ub4dor"} {
		if strings.Contains(log, s) {
			t.Errorf("the log has %q:\n%.2000s", s, log)
		}
	}
	if strings.Contains(log, strings.Repeat("u", 1000)) {
		t.Errorf("the log has the 100,000 byte user name unbounded (%d bytes of log)", len(log))
	}
}

// Unbounded input: huge query and path values are refused or bounded, not served.
func TestSecurityBounds(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.signedIn("admin", adminPass)
	for _, path := range []string{
		Prefix + "activity?user=" + strings.Repeat("a", 100000),
		Prefix + "activity?max=999999999999",
		Prefix + "users/" + strings.Repeat("a", 100000),
		Prefix + "policies/arn:aws:iam::" + testAccount + ":policy/" + strings.Repeat("a", 100000),
		Prefix + "databases/" + strings.Repeat("a", 100000) + "?kind=instance",
	} {
		p := c.get(path)
		if p.Status == http.StatusOK && len(p.Body) > 200000 || p.Status >= 500 {
			t.Errorf("GET %.60s…: %d, %d bytes", path, p.Status, len(p.Body))
		}
	}
	// A body over 1 MiB is refused.
	c.get(Prefix + "users")
	p := c.post(Prefix+"users", url.Values{"name": {"big"}, "path": {strings.Repeat("/a", 1<<20)}})
	if p.Status == http.StatusSeeOther {
		t.Errorf("a 2 MiB form was served: %d", p.Status)
	}
}

// Markup in what IAM stores (a policy's text, a role's description, a policy's path)
// is text on every page that shows it, in the textarea of the JSON editor too.
func TestSecurityMarkupInData(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	const evil = `</textarea></pre><script>alert(1)</script><img src=x onerror=alert(2)>`
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/` + strings.ReplaceAll(evil, `"`, `\"`) + `"}]}`
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutUserPolicy(ctx, e.admin, "u", "p", doc); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRole(ctx, e.admin, iam.CreateRoleInput{RoleName: "r", Description: `"><img src=x onerror=alert(3)>`,
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutRolePolicy(ctx, e.admin, "r", "p", doc); err != nil {
		t.Fatal(err)
	}
	pol, err := e.svc.CreatePolicy(ctx, e.admin, iam.CreatePolicyInput{PolicyName: "m", Path: `/"><script>/`, PolicyDocument: doc})
	if err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("admin", adminPass)
	for _, path := range []string{Prefix + "users/u", Prefix + "roles", Prefix + "roles/r", Prefix + "roles/r/inline/p", Prefix + "policies", policyPath(pol.ARN)} {
		p := c.get(path)
		if p.Status != http.StatusOK {
			t.Errorf("GET %s: %d", path, p.Status)
		}
		if path != Prefix+"roles" && !strings.Contains(p.Body, "&lt;script&gt;") {
			t.Errorf("GET %s does not show the text with markup, escaped", path)
		}
		for _, bad := range []string{"<script>", "<img src=x", "</textarea></pre>"} {
			if strings.Contains(p.Body, bad) {
				t.Errorf("GET %s: the page has %q as markup", path, bad)
			}
		}
	}
}

// One user signing in again and again ends its own oldest sessions, not other people's:
// at most maxUserSessions each.
func TestSessionsPerUser(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxSessions = maxUserSessions + 2 })
	e.user("mallory", "", "Mallory-pass-1")
	victim := e.signedIn("admin", adminPass)
	for range maxUserSessions + 5 {
		e.signedIn("mallory", "Mallory-pass-1")
	}
	if p := victim.get(Prefix + "users"); p.Status != http.StatusOK {
		t.Fatalf("the admin's session after mallory's %d sign-ins: %d", maxUserSessions+5, p.Status)
	}
	if n := e.con.Sessions(); n != maxUserSessions+1 {
		t.Fatalf("%d sessions, want %d (mallory's cap and the admin's)", n, maxUserSessions+1)
	}
}
