package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

// Sign-in and the session: the form token, one answer for a wrong password, the cookie's
// attributes, the security headers, CSRF on every POST, cross-origin POSTs refused,
// sign-out, and a ConsoleLogin event for each attempt.
func TestSignInSession(t *testing.T) {
	e := newTestEnv(t, nil)
	c := e.client()

	p := c.get(Prefix + "users")
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"signin?next=%2Fconsole%2Fusers" {
		t.Fatalf("users without a session: %d %s", p.Status, p.Location)
	}
	p = c.trySignIn("admin", "wrong-password", "")
	wantPage(t, "wrong password", p, http.StatusOK, "Your authentication information is incorrect")
	p = c.post(Prefix+"signin", url.Values{"token": {"forged"}, "account": {testAccount}, "user": {"admin"}, "password": {adminPass}})
	wantPage(t, "forged form token", p, http.StatusForbidden, "The sign-in form expired")

	resp, err := c.hc.Get(e.srv.URL + Prefix + "signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := resp.Header.Get(h); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q…", h, got, want)
		}
	}

	p = c.trySignIn("admin", adminPass, "")
	if p.Status != http.StatusSeeOther || p.Location != Prefix {
		t.Fatalf("sign-in: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	u, _ := url.Parse(e.srv.URL + Prefix)
	var sess *http.Cookie
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || len(sess.Value) < 40 {
		t.Fatalf("no session cookie: %v", c.hc.Jar.Cookies(u))
	}
	p = c.get(Prefix + "users")
	wantPage(t, "users", p, http.StatusOK, "admin", "Create a user")

	// CSRF: a POST without the token, with another's, or from another origin is refused.
	p = c.post(Prefix+"users", url.Values{"name": {"eve"}, "csrf": {""}})
	wantPage(t, "POST without a token", p, http.StatusForbidden, "The form has expired")
	p = c.post(Prefix+"users", url.Values{"name": {"eve"}, "csrf": {"x" + c.csrf}})
	wantPage(t, "POST with a wrong token", p, http.StatusForbidden)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+Prefix+"users", strings.NewReader(url.Values{"name": {"eve"}, "csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := c.do(req); p.Status != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", p.Status)
	}
	if _, err := e.svc.GetUser(context.Background(), e.admin, "eve"); err == nil {
		t.Fatal("a refused POST created the user")
	}
	p = c.post(Prefix+"users", url.Values{"name": {"eve"}})
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"users/eve" {
		t.Fatalf("create user: %d %s\n%s", p.Status, p.Location, p.Body)
	}

	p = c.post(Prefix+"signout", nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Status)
	}
	if p := c.get(Prefix + "users"); p.Status != http.StatusSeeOther {
		t.Fatalf("users after sign-out: %d", p.Status)
	}
	if e.con.Sessions() != 0 {
		t.Fatalf("%d sessions after sign-out", e.con.Sessions())
	}

	// The journal has both attempts, and the user the console created, by the admin's
	// console session.
	page, err := e.journal.Lookup(context.Background(), audit.Query{Attr: audit.AttrEventName, Value: "ConsoleLogin", Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, ev := range page.Events {
		results = append(results, ev.ResponseElements["ConsoleLogin"].(string)+"/"+ev.UserIdentity.UserName)
	}
	if strings.Join(results, ",") != "Success/admin,Failure/admin" {
		t.Errorf("ConsoleLogin events: %v", results)
	}
	page, err = e.journal.Lookup(context.Background(), audit.Query{Attr: audit.AttrEventName, Value: "CreateUser", Max: 10})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("CreateUser events: %v, %v", page.Events, err)
	}
	if ev := page.Events[0]; ev.UserIdentity.UserName != "admin" || ev.UserAgent != "iamdb-console" || ev.SourceIPAddress != "127.0.0.1" {
		t.Errorf("CreateUser event: %+v", ev)
	}
}

// A user whose policies allow nothing gets AccessDenied pages, not data.
func TestAccessDeniedPage(t *testing.T) {
	e := newTestEnv(t, nil)
	p := e.person("nobody", "").get(Prefix + "users")
	wantDenied(t, "users", p, "iam:ListUsers", "/console/users/admin")
	wantPage(t, "users", p, http.StatusForbidden, "Access denied")
}

// Idle and absolute expiry.
func TestSessionExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := newTestEnv(t, func(c *Config) { c.Now = clock; c.IdleTimeout = 10 * time.Minute; c.MaxAge = time.Hour })
	c := e.signedIn("admin", adminPass)
	now = now.Add(9 * time.Minute)
	if p := c.get(Prefix + "users"); p.Status != http.StatusOK {
		t.Fatalf("after 9 idle minutes: %d", p.Status)
	}
	now = now.Add(10 * time.Minute)
	if p := c.get(Prefix + "users"); p.Status != http.StatusSeeOther {
		t.Fatalf("after 10 idle minutes: %d", p.Status)
	}
	c.signIn("admin", adminPass, "")
	for range 6 {
		now = now.Add(9 * time.Minute)
		if p := c.get(Prefix + "users"); p.Status != http.StatusOK {
			t.Fatalf("active session: %d", p.Status)
		}
	}
	now = now.Add(9 * time.Minute) // 63 minutes after sign-in: past MaxAge
	if p := c.get(Prefix + "users"); p.Status != http.StatusSeeOther {
		t.Fatalf("past the absolute expiry: %d", p.Status)
	}
}
