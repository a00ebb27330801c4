package console

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

const (
	otherAccount = "999988887777"
	// watchPolicy allows the audit trail and the live sessions, nothing else.
	watchPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:LookupEvents","iamdb:ListGatewaySessions"],"Resource":"*"}]}`
)

// callerOf returns the IAM caller of a new access key of user, as the gateway gets it
// when it verifies a token the key signed.
func (e *testEnv) callerOf(user string) *iam.Caller {
	e.t.Helper()
	ctx := context.Background()
	k, err := e.svc.CreateAccessKey(ctx, e.admin, user)
	if err != nil {
		e.t.Fatal(err)
	}
	lk, err := e.svc.LookupKey(ctx, k.AccessKeyID, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return lk.Principal
}

// login records a database login attempt at t the way the gateway does: an access.Record
// turned into its event by Record.Event, into the journal. A record with a caller or an
// access key is an IAM login, one without a password login.
func (e *testEnv) login(t time.Time, rec access.Record) {
	e.t.Helper()
	rec.Engine, rec.Mode, rec.IAM, rec.IAMKnown = "postgres", access.ModeGateway, rec.Caller != nil || rec.AccessKeyID != "", true
	if rec.Region == "" {
		rec.Region = testRegion
	}
	if rec.Account == "" {
		rec.Account = testAccount
	}
	if rec.Outcome == "" {
		rec.Outcome = access.OutcomeOK
	}
	if rec.Caller != nil {
		rec.Principal, rec.AccessKeyID = rec.Caller.ARN, rec.Caller.AccessKeyID
	}
	if !rec.Source.IsValid() {
		rec.Source = netip.MustParseAddrPort("192.0.2.7:50123")
	}
	ev := rec.Event()
	ev.EventTime = audit.Time{Time: t}
	if err := e.journal.Record(context.Background(), ev); err != nil {
		e.t.Fatal(err)
	}
}

// activityEnv has alice's logins (one allowed, one refused), a refusal of an unknown key,
// a refused password login, a login in another account and an old one, and a signed-in
// watcher.
func activityEnv(t *testing.T) (*testEnv, *client, time.Time) {
	e := newTestEnv(t, nil)
	e.user("alice", "", "Alice-pass-1")
	e.user("watcher", watchPolicy, "Watcher-pass-1")
	alice := e.callerOf("alice")
	now := time.Now().UTC()
	orders := access.Record{Database: "orders", ResourceID: "db-ORDERS1", DBName: "shop"}
	rec := orders
	rec.User, rec.Caller = "old_reader", alice
	e.login(now.Add(-3*24*time.Hour), rec)
	rec = orders
	rec.User, rec.Caller = "app_writer", alice
	e.login(now.Add(-2*time.Hour), rec)
	rec = orders
	rec.User, rec.Caller, rec.Outcome, rec.Reason = "app_admin", alice, access.OutcomeRefused, access.ReasonImplicitDeny
	e.login(now.Add(-50*time.Minute), rec)
	e.login(now.Add(-30*time.Minute), access.Record{Database: "billing", ResourceID: "db-BILLING1", User: "billing_ro",
		AccessKeyID: "AKIAUNKNOWNKEY000001", Outcome: access.OutcomeRefused, Reason: "unknown-key"})
	e.login(now.Add(-20*time.Minute), access.Record{Database: "orders", ResourceID: "db-ORDERS1", User: "pw_user",
		Outcome: access.OutcomeRefused, Reason: "password authentication failed"})
	spy := &iam.Caller{Account: otherAccount, ARN: "arn:aws:iam::" + otherAccount + ":user/spy", UserID: "AIDASPY", Type: iam.CallerUser, AccessKeyID: "AKIASPYSPYSPYSPY0001"}
	e.login(now.Add(-10*time.Minute), access.Record{Account: otherAccount, Database: "secretdb", ResourceID: "db-SECRET1", User: "spy_user", Caller: spy})
	c := e.signedIn("watcher", "Watcher-pass-1")
	return e, c, now
}

var rowPattern = regexp.MustCompile(`<tr>\s*<td>\d{4}-`)

// rows counts the event rows of an activity page.
func rows(p page) int { return len(rowPattern.FindAllString(p.Body, -1)) }

func TestActivity(t *testing.T) {
	e, c, now := activityEnv(t)
	_ = e

	p := c.get(Prefix + "activity")
	wantPage(t, "activity", p, http.StatusOK, "app_writer", "app_admin", "implicit-deny", "billing_ro", "unknown-key",
		"unknown (key AKIAUNKNOWNKEY000001)", "orders", "shop", "192.0.2.7", "arn:aws:iam::"+testAccount+":user/alice")
	wantHTML(t, "activity", p, `<span class="muted">password login</span>`)
	if strings.Contains(p.Body, ">unknown<") {
		t.Error("the activity page shows a password login's principal as unknown")
	}
	if !strings.Contains(p.Body, `href="/console/static/activity.css"`) {
		t.Error("the activity page does not link its stylesheet")
	}
	if css := c.get(Prefix + "static/activity.css"); css.Status != http.StatusOK || !strings.Contains(css.Body, "label.check") {
		t.Errorf("activity.css: %d", css.Status)
	}
	if n := rows(p); n != 4 {
		t.Errorf("activity: %d rows, want 4 (24 hours of this account's logins)\n%s", n, p.Body)
	}
	for _, hidden := range []string{"spy_user", "secretdb", "old_reader", "ConsoleLogin"} {
		if strings.Contains(p.Body, hidden) {
			t.Errorf("activity shows %q", hidden)
		}
	}

	for _, tc := range []struct {
		name, query string
		want        []string
		not         []string
	}{
		{"refused", "outcome=refused", []string{"app_admin", "billing_ro", "pw_user"}, []string{"app_writer"}},
		{"allowed", "outcome=allowed", []string{"app_writer"}, []string{"app_admin", "billing_ro"}},
		{"db user", "dbuser=app_admin", []string{"app_admin"}, []string{"app_writer", "billing_ro"}},
		{"database by identifier", "database=ORDERS", []string{"app_writer", "app_admin"}, []string{"billing_ro"}},
		{"database by resource id", "database=db-BILLING1", []string{"billing_ro"}, []string{"app_writer"}},
		{"principal by name", "principal=alice", []string{"app_writer", "app_admin"}, []string{"billing_ro"}},
		{"principal by ARN", "principal=" + url.QueryEscape("arn:aws:iam::"+testAccount+":user/alice"), []string{"app_writer", "app_admin"}, []string{"billing_ro"}},
		{"principal by key", "principal=AKIAUNKNOWNKEY000001", []string{"billing_ro"}, []string{"app_writer"}},
		{"another account's user", "principal=spy", nil, []string{"spy_user"}},
		{"last hour", "range=1h", []string{"app_admin", "billing_ro"}, []string{"app_writer"}},
		{"7 days", "range=7d", []string{"old_reader", "app_writer"}, []string{"spy_user"}},
		{"custom", "range=custom&from=" + now.Add(-4*24*time.Hour).Format(timeInput) + "&to=" + now.Add(-24*time.Hour).Format(timeInput), []string{"old_reader"}, []string{"app_writer", "billing_ro"}},
		{"all events", "all=1", []string{"signin ConsoleLogin", "watcher", "app_writer"}, []string{"spy_user"}},
		{"all events, refused", "all=1&outcome=refused", []string{"app_admin"}, []string{"app_writer", "ConsoleLogin"}},
	} {
		p := c.get(Prefix + "activity?" + tc.query)
		wantPage(t, tc.name, p, http.StatusOK, tc.want...)
		for _, s := range tc.not {
			if strings.Contains(p.Body, s) {
				t.Errorf("%s: the page shows %q", tc.name, s)
			}
		}
	}

	for _, q := range []string{"outcome=maybe", "range=1y", "range=custom&from=yesterday", "next=x", "next=0.AAAA", "principal=" + strings.Repeat("a", 600)} {
		p := c.get(Prefix + "activity?" + q)
		wantPage(t, q, p, http.StatusBadRequest, "Activity")
	}

	// A refused login on the overview links to the activity page filtered to it.
	p = c.get(Prefix)
	wantPage(t, "overview", p, http.StatusOK, "implicit-deny", "unknown-key",
		"/console/activity?database=orders&dbuser=app_admin&outcome=refused&principal=arn")
	wantHTML(t, "overview", p, `<span class="muted">password login</span>`)
}

var nextLink = regexp.MustCompile(`href="([^"]+)" rel="next"`)

// Pages of 50, continuing where the last ended even inside one of the journal's pages,
// with filters applied over them.
func TestActivityPaging(t *testing.T) {
	e := newTestEnv(t, nil)
	e.user("alice", "", "Alice-pass-1")
	alice := e.callerOf("alice")
	start := time.Now().UTC().Add(-3 * time.Hour)
	// 130 logins: every third refused; user bulk_N.
	for i := range 130 {
		rec := access.Record{Database: "orders", ResourceID: "db-ORDERS1", User: fmt.Sprintf("bulk_%03d", i), Caller: alice}
		if i%3 == 0 {
			rec.Outcome, rec.Reason = access.OutcomeRefused, access.ReasonExplicitDeny
		}
		e.login(start.Add(time.Duration(i)*time.Minute), rec)
	}
	c := e.signedIn("admin", adminPass)

	for _, tc := range []struct {
		query string
		want  int
	}{{"", 130}, {"outcome=allowed", 86}, {"outcome=refused", 44}} {
		seen := map[string]bool{}
		path := Prefix + "activity?" + tc.query
		for pages := 0; path != ""; pages++ {
			if pages > 5 {
				t.Fatalf("%q: too many pages", tc.query)
			}
			p := c.get(path)
			wantPage(t, path, p, http.StatusOK)
			n := 0
			for _, m := range regexp.MustCompile(`bulk_\d{3}`).FindAllString(p.Body, -1) {
				if seen[m] {
					t.Fatalf("%q: %s twice", tc.query, m)
				}
				seen[m] = true
				n++
			}
			if n > activityPage {
				t.Fatalf("%q: %d rows on a page", tc.query, n)
			}
			path = ""
			if m := nextLink.FindStringSubmatch(p.Body); m != nil {
				path = html.UnescapeString(m[1])
				if n != activityPage {
					t.Errorf("%q: a page of %d before the last", tc.query, n)
				}
			}
		}
		if len(seen) != tc.want {
			t.Errorf("%q: %d logins over the pages, want %d", tc.query, len(seen), tc.want)
		}
	}
}

// Without cloudtrail:LookupEvents the page is AccessDenied; without an audit trail it says so.
func TestActivityDeniedAndOff(t *testing.T) {
	e := newTestEnv(t, nil)
	e.login(time.Now().Add(-time.Minute), access.Record{Database: "orders", User: "secret_user", AccessKeyID: "AKIAUNKNOWNKEY000001", Outcome: access.OutcomeRefused, Reason: "unknown-key"})
	wantDenied(t, "activity without permission", e.person("nobody", "").get(Prefix+"activity"), "cloudtrail:LookupEvents", "secret_user")

	c := newTestEnv(t, func(c *Config) { c.Audit = nil }).signedIn("admin", adminPass)
	wantPage(t, "activity without an audit trail", c.get(Prefix+"activity"), http.StatusOK, "The audit trail is off")
	wantPage(t, "overview without an audit trail", c.get(Prefix), http.StatusOK, "The audit trail is off")
}

func TestParseCursor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want cursor
		ok   bool
	}{
		{"0.", cursor{}, true},
		{"12.AbC-_", cursor{Token: "AbC-_", Skip: 12}, true},
		{"49.x", cursor{Token: "x", Skip: 49}, true},
		{"50.x", cursor{}, false},
		{"-1.x", cursor{}, false},
		{"x", cursor{}, false},
		{"", cursor{}, false},
		{"1." + strings.Repeat("a", 200), cursor{}, false},
	} {
		got, err := parseCursor(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseCursor(%q) = %+v, %v, want %+v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// The activity page's query string: never a panic, values bounded, and a filter that
// parses makes links that parse back to it.
func FuzzActivityFilter(f *testing.F) {
	for _, s := range []string{
		"", "principal=alice&outcome=refused&range=1h", "range=custom&from=2026-01-02T03:04&to=2026-01-03T00:00",
		"all=1&next=3.AAAA&at=1700000000", "database=orders&dbuser=app", "next=50.x", "at=-1", "outcome=%ff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := parseActivityFilter(q)
		if err != nil {
			return
		}
		for _, v := range []string{fl.Principal, fl.Database, fl.DBUser, fl.From, fl.To} {
			if len(v) > maxFilterValue {
				t.Fatalf("a value of %d bytes passed", len(v))
			}
		}
		back, err := parseActivityFilter(fl.values())
		if err != nil {
			t.Fatalf("the filter's own link does not parse: %v", err)
		}
		fl.Cursor, fl.At = cursor{}, 0
		if fl.Range != "custom" {
			fl.From, fl.To = "", ""
		}
		if back != fl {
			t.Fatalf("round trip: %+v, want %+v", back, fl)
		}
		fl.window(time.Unix(1_800_000_000, 0)) // must not panic
	})
}
