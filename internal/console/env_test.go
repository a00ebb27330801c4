package console

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/awsquery"
	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

// testEnv is the console as the authority serves it: a real iam.Service on SQLite, the
// real AWS Query API, a real audit journal, behind a loopback HTTP server at /console/
// beside the API at /.
type testEnv struct {
	t       testing.TB
	auth    *authority.Authority
	svc     *iam.Service
	journal *audit.Journal
	con     *Console
	srv     *httptest.Server
	admin   *iam.Caller // the account's admin (long-term key), for setting things up

	mu   sync.Mutex
	live []gateway.LiveSession // what Config.LiveSessions returns
}

const (
	testAccount = authority.DefaultAccount
	testRegion  = "ap-northeast-1"
	adminPass   = "Admin-console-1"
)

// newTestEnv starts the console; the admin has a console password (adminPass). mod, if
// not nil, adjusts the console's Config.
func newTestEnv(t testing.TB, mod func(*Config)) *testEnv {
	t.Helper()
	a := authority.New(t, authority.Options{Region: testRegion})
	j, err := audit.Open(t.TempDir(), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	api, err := awsquery.New(awsquery.Config{IAM: a.IAM, Region: testRegion, Audit: j, AuditReader: j})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, auth: a, svc: a.IAM, journal: j}
	k, err := a.IAM.LookupKey(context.Background(), a.Admin.AccessKeyID, "")
	if err != nil {
		t.Fatal(err)
	}
	e.admin = k.Principal
	if _, err := a.IAM.CreateLoginProfile(context.Background(), e.admin, "admin", adminPass, false); err != nil {
		t.Fatal(err)
	}
	cfg := Config{IAM: a.IAM, API: api, Region: testRegion, Audit: j, Recorder: j, LiveSessions: func() []gateway.LiveSession {
		e.mu.Lock()
		defer e.mu.Unlock()
		return append([]gateway.LiveSession(nil), e.live...)
	}}
	if mod != nil {
		mod(&cfg)
	}
	e.con, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", e.con)
	mux.Handle("/", api)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// user creates a user with an inline policy (if doc is not empty) and a console password.
func (e *testEnv) user(name, doc, password string) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: name}); err != nil {
		e.t.Fatal(err)
	}
	if doc != "" {
		if err := e.svc.PutUserPolicy(ctx, e.admin, name, "console-test", doc); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.svc.CreateLoginProfile(ctx, e.admin, name, password, false); err != nil {
		e.t.Fatal(err)
	}
}

// personPass is the console password of the users person creates.
const personPass = "Person-pass-1"

// person creates a user with an inline policy (if doc is not empty) and returns a client
// signed in as it.
func (e *testEnv) person(name, doc string) *client {
	e.t.Helper()
	e.user(name, doc, personPass)
	return e.signedIn(name, personPass)
}

// signedIn returns a new client signed in as user with password (without MFA).
func (e *testEnv) signedIn(user, password string) *client {
	e.t.Helper()
	c := e.client()
	c.signIn(user, password, "")
	return c
}

// policy creates a customer managed policy and returns its ARN.
func (e *testEnv) policy(name, doc string) string {
	e.t.Helper()
	p, err := e.svc.CreatePolicy(context.Background(), e.admin, iam.CreatePolicyInput{PolicyName: name, PolicyDocument: doc})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ARN
}

// client is a person's browser without a browser: a cookie jar, and the CSRF token of the
// last page it saw.
type client struct {
	t    testing.TB
	e    *testEnv
	hc   *http.Client
	csrf string
}

func (e *testEnv) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &client{t: e.t, e: e, hc: hc}
}

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// page is an answer: status, Location for redirects, the body.
type page struct {
	Status   int
	Location string
	Body     string
}

func (c *client) do(req *http.Request) page {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	p := page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b)}
	if m := csrfField.FindStringSubmatch(p.Body); m != nil {
		c.csrf = html.UnescapeString(m[1])
	}
	return p
}

// get fetches a console path ("/console/users").
func (c *client) get(path string) page {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post submits a form to path with the CSRF token of the last page seen (unless form
// sets csrf), as a same-origin browser form would.
func (c *client) post(path string, form url.Values) page {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.e.srv.URL)
	return c.do(req)
}

// signIn signs in as user with password (and an MFA code if not empty) and fails the
// test unless it lands on the overview.
func (c *client) signIn(user, password, mfa string) {
	c.t.Helper()
	if p := c.trySignIn(user, password, mfa); p.Status != http.StatusSeeOther || p.Location != Prefix {
		c.t.Fatalf("sign-in as %s: %d %s\n%s", user, p.Status, p.Location, p.Body)
	}
	c.get(Prefix) // for the CSRF token
}

// trySignIn submits the sign-in form and returns the answer.
func (c *client) trySignIn(user, password, mfa string) page {
	c.t.Helper()
	p := c.get(Prefix + "signin")
	m := tokenField.FindStringSubmatch(p.Body)
	if m == nil {
		c.t.Fatalf("sign-in page without a form token:\n%s", p.Body)
	}
	form := url.Values{"token": {m[1]}, "account": {testAccount}, "user": {user}, "password": {password}, "next": {Prefix}}
	if mfa != "" {
		form.Set("mfa", mfa)
	}
	return c.post(Prefix+"signin", form)
}

// wantDenied fails the test unless p is an AccessDenied page (403) that names action
// (if not empty) and shows none of hidden.
func wantDenied(t testing.TB, what string, p page, action string, hidden ...string) {
	t.Helper()
	texts := []string{"AccessDenied"}
	if action != "" {
		texts = append(texts, action)
	}
	wantPage(t, what, p, http.StatusForbidden, texts...)
	for _, h := range hidden {
		if strings.Contains(p.Body, h) {
			t.Errorf("%s: the AccessDenied page shows %q", what, h)
		}
	}
}

// wantRedirect fails the test unless p is a 303 to the path to.
func wantRedirect(t *testing.T, what string, p page, to string) {
	t.Helper()
	if p.Status != http.StatusSeeOther || p.Location != to {
		t.Fatalf("%s: %d %q, want 303 %q\n%s", what, p.Status, p.Location, to, p.Body)
	}
}

// wantHTML fails the test unless p's HTML contains every one of marks as it is, and
// html/template rejected no URL in it.
func wantHTML(t *testing.T, what string, p page, marks ...string) {
	t.Helper()
	if strings.Contains(p.Body, "ZgotmplZ") {
		t.Errorf("%s: a value the template refused (ZgotmplZ)\n%s", what, p.Body)
	}
	for _, m := range marks {
		if !strings.Contains(p.Body, m) {
			t.Errorf("%s: the HTML does not contain %q\n%s", what, m, p.Body)
		}
	}
}

// wantPage fails the test unless p has status and contains every one of texts (HTML
// escaped as a template would).
func wantPage(t testing.TB, what string, p page, status int, texts ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.Status, status, p.Body)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, html.EscapeString(s)) {
			t.Errorf("%s: the page does not show %q\n%s", what, s, p.Body)
		}
	}
}
