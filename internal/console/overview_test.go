package console

import (
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/gateway"
)

// The overview's cards count what the person may list; the chart counts the account's
// logins of the last 24 hours by hour.
func TestOverview(t *testing.T) {
	e := newTestEnv(t, nil)
	e.user("alice", "", "Alice-pass-1")
	e.user("bob", "", "Bob-pass-1")
	alice := e.callerOf("alice")
	now := time.Now().UTC()
	e.login(now.Add(-30*time.Hour), access.Record{Database: "orders", User: "too_old", Caller: alice})
	// Three logins in one hour, whatever the minute now: from the start of the hour 5 hours
	// ago (at :58 now, -5h +0/+1/+2 minutes spanned two hours).
	fiveAgo := now.Add(-5 * time.Hour).Truncate(time.Hour)
	for i := range 3 {
		e.login(fiveAgo.Add(time.Duration(i)*time.Minute), access.Record{Database: "orders", User: "app_writer", Caller: alice})
	}
	e.login(now.Add(-2*time.Hour), access.Record{Database: "orders", User: "app_admin", Caller: alice, Outcome: access.OutcomeRefused, Reason: access.ReasonExplicitDeny})
	e.login(now.Add(-time.Minute), access.Record{Database: "orders", User: "app_admin", Caller: alice, Outcome: access.OutcomeRefused, Reason: access.ReasonImplicitDeny})
	e.mu.Lock()
	e.live = []gateway.LiveSession{
		{Engine: "postgres", Database: "orders", Account: testAccount, DBUser: "app_writer", Start: now},
		{Engine: "postgres", Database: "other", Account: otherAccount, DBUser: "spy_user", Start: now},
	}
	e.mu.Unlock()

	c := e.signedIn("admin", adminPass)
	p := c.get(Prefix)
	wantPage(t, "overview", p, http.StatusOK, "Database logins per hour, last 24 hours (UTC): 3 allowed, 2 refused",
		"allowed (3)", "refused (2)", "explicit-deny", "implicit-deny", "The chart as a table")
	if !strings.Contains(p.Body, `<svg class="chart"`) || !strings.Contains(p.Body, `fill="#b3261e"`) {
		t.Error("the overview has no chart")
	}
	if strings.Contains(p.Body, "style=") || strings.Contains(p.Body, "<script>") {
		t.Error("the overview has inline style or script")
	}
	// The hour of the three allowed logins has a bar of 3, the table says so too.
	hour := fiveAgo.Format("2006-01-02 15:04:05Z")
	wantPage(t, "overview chart", p, http.StatusOK, hour+": 3 allowed, 0 refused")
	if !regexp.MustCompile(`<th scope="row">` + hour + `</th><td>3</td><td>0</td>`).MatchString(p.Body) {
		t.Errorf("the table has no row of 3 allowed at %s", hour)
	}
	if strings.Contains(p.Body, "too_old") {
		t.Error("a login older than 24 hours is on the overview")
	}
	for label, n := range map[string]string{"Users": "3", "Roles": "0", "Databases": "0", "Live sessions": "1"} {
		if !regexp.MustCompile(`>` + label + `</a></div>\s*<div class="n">` + n + `</div>`).MatchString(p.Body) {
			t.Errorf("card %s is not %s", label, n)
		}
	}
	if strings.Contains(p.Body, "not allowed") {
		t.Error("the admin is not allowed something")
	}
}

// A person allowed only some parts sees "not allowed" in the others, not an error page.
func TestOverviewNotAllowed(t *testing.T) {
	e := newTestEnv(t, nil)
	e.user("lister", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`, "Lister-pass-1")
	e.login(time.Now().Add(-time.Minute), access.Record{Database: "orders", User: "secret_user", AccessKeyID: "AKIAUNKNOWNKEY000001", Outcome: access.OutcomeRefused, Reason: "unknown-key"})

	c := e.person("nobody", "")
	p := c.get(Prefix)
	wantPage(t, "overview of nobody", p, http.StatusOK, "not allowed (cloudtrail:LookupEvents)")
	if n := strings.Count(p.Body, `<div class="muted">not allowed</div>`); n != 5 {
		t.Errorf("%d cards not allowed, want 5\n%s", n, p.Body)
	}
	if strings.Contains(p.Body, "secret_user") || strings.Contains(p.Body, "<svg") {
		t.Error("the overview shows the audit trail to a person not allowed to read it")
	}

	c = e.signedIn("lister", "Lister-pass-1")
	p = c.get(Prefix)
	wantPage(t, "overview of lister", p, http.StatusOK)
	if !regexp.MustCompile(`>Users</a></div>\s*<div class="n">3</div>`).MatchString(p.Body) {
		t.Errorf("lister's users card has no count\n%s", p.Body)
	}
	if n := strings.Count(p.Body, `<div class="muted">not allowed</div>`); n != 4 {
		t.Errorf("%d cards not allowed, want 4", n)
	}
}

func TestNiceMax(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]int{0: 2, 1: 2, 2: 2, 3: 4, 9: 10, 10: 10, 11: 20, 21: 50, 51: 100, 101: 200, 4999: 5000} {
		if got := niceMax(n); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", n, got, want)
		}
	}
}

// The live sessions page lists the account's sessions only; without permission it is
// AccessDenied; without gateways it says so.
func TestLiveSessions(t *testing.T) {
	e := newTestEnv(t, nil)
	e.user("watcher", watchPolicy, "Watcher-pass-1")
	now := time.Now()
	e.mu.Lock()
	e.live = []gateway.LiveSession{
		{Engine: "postgres", Database: "orders", ResourceID: "db-ORDERS1", Account: testAccount, DBUser: "app_writer", DBName: "shop",
			Principal: "arn:aws:iam::" + testAccount + ":user/alice", AccessKeyID: "AKIAALICEALICE000001",
			Source: netip.MustParseAddrPort("192.0.2.7:50123"), Start: now.Add(-90 * time.Second)},
		{Engine: "mysql", Database: "other", Account: otherAccount, DBUser: "spy_user", Principal: "arn:aws:iam::" + otherAccount + ":user/spy", Start: now},
		{Engine: "postgres", Database: "orders", DBUser: "password_user", Start: now}, // a password login: nobody's
	}
	e.mu.Unlock()

	c := e.signedIn("watcher", "Watcher-pass-1")
	p := c.get(Prefix + "sessions")
	wantPage(t, "sessions", p, http.StatusOK, "postgres", "orders", "db-ORDERS1", "app_writer", "shop",
		"arn:aws:iam::"+testAccount+":user/alice", "AKIAALICEALICE000001", "192.0.2.7:50123", "1m ago", "Refresh")
	for _, s := range []string{"spy_user", "password_user", "mysql"} {
		if strings.Contains(p.Body, s) {
			t.Errorf("the sessions page shows %q", s)
		}
	}

	wantDenied(t, "sessions without permission", e.person("nobody", "").get(Prefix+"sessions"), "iamdb:ListGatewaySessions", "app_writer")

	c = newTestEnv(t, func(c *Config) { c.LiveSessions = nil }).signedIn("admin", adminPass)
	wantPage(t, "sessions without gateways", c.get(Prefix+"sessions"), http.StatusOK, "runs no gateways")
	wantPage(t, "overview without gateways", c.get(Prefix), http.StatusOK, "no gateways")
}
