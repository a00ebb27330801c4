package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/client"
)

func TestProfileNames(t *testing.T) {
	t.Parallel()
	config := "[default]\nregion = us-east-1\n[profile app]\n[ profile  ops ]\n[sso-session corp]\n[services x]\n[profilex]\n[profile app]\n[profile]\n"
	if got, want := profileNames(config, true), []string{"default", "app", "ops"}; !slices.Equal(got, want) {
		t.Errorf("profileNames(config) = %q, want %q", got, want)
	}
	creds := "[default]\naws_access_key_id = A\n[app]\n[bad name]\n[]\n"
	if got, want := profileNames(creds, false), []string{"default", "app"}; !slices.Equal(got, want) {
		t.Errorf("profileNames(credentials) = %q, want %q", got, want)
	}
	if n := len(profileNames(strings.Repeat("[p]\n", 10)+func() string {
		var b strings.Builder
		for i := range 200 {
			b.WriteString("[p" + strings.Repeat("x", i) + "]\n")
		}
		return b.String()
	}(), false)); n != maxProfileNames {
		t.Errorf("profileNames of 201 profiles: %d names, want at most %d", n, maxProfileNames)
	}
}

func FuzzProfileNames(f *testing.F) {
	f.Add("[default]\n[profile app]\n", true)
	f.Add("[app]\n[ x ]\n", false)
	f.Fuzz(func(t *testing.T, text string, config bool) {
		names := profileNames(text, config)
		if len(names) > maxProfileNames {
			t.Errorf("%d names", len(names))
		}
		for i, n := range names {
			if n == "" || strings.ContainsAny(n, " \t[]") || slices.Contains(names[:i], n) {
				t.Errorf("profileNames(%q) = %q", text, names)
			}
		}
	})
}

func TestConnectGrants(t *testing.T) {
	t.Parallel()
	doc := `{"Version":"2012-10-17","Statement":[
		{"Sid":"A","Effect":"Allow","Action":["rds-db:connect","s3:*"],"Resource":["arn:aws:rds-db:r:1:dbuser:cluster-X/u","arn:x"]},
		{"Effect":"Allow","Action":"RDS-DB:*","Resource":"arn:aws:rds-db:r:1:dbuser:db-Y/*"},
		{"Sid":"D","Effect":"Deny","Action":"rds-db:connect","Resource":"*"},
		{"Sid":"E","Effect":"Allow","Action":"rds:Describe*","Resource":"*"}]}`
	gs, err := connectGrants(policyDoc{"p", doc})
	want := []connectGrant{{"p", "A", "arn:aws:rds-db:r:1:dbuser:cluster-X/u"}, {"p", "A", "arn:x"}, {"p", "#2", "arn:aws:rds-db:r:1:dbuser:db-Y/*"}}
	if err != nil || !slices.Equal(gs, want) {
		t.Errorf("connectGrants = %v, %v; want %v", gs, err, want)
	}
	one := `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:rds-db:r:1:dbuser:app/u"}}`
	if gs, err := connectGrants(policyDoc{"q", one}); err != nil || len(gs) != 1 || gs[0].Statement != "#1" {
		t.Errorf("connectGrants of one statement = %v, %v", gs, err)
	}
	if _, err := connectGrants(policyDoc{"big", strings.Repeat(" ", maxPolicyDoc+1)}); err == nil {
		t.Error("connectGrants of an oversized document: no error")
	}
}

func TestGrantMistake(t *testing.T) {
	t.Parallel()
	db := &database{Kind: "cluster", Identifier: "app-db", ResourceID: "cluster-ABC", ARN: "arn:aws:rds:eu-west-1:123456789012:cluster:app-db"}
	d := diagnosis{o: Options{Username: "app_user"}}
	for _, tt := range []struct {
		resource, check, fix string
	}{
		{"arn:aws:rds-db:eu-west-1:123456789012:dbuser:app-db/app_user", "policy_arn", "arn:aws:rds-db:eu-west-1:123456789012:dbuser:cluster-ABC/app_user"},
		{"arn:aws:rds-db:eu-west-1:123456789012:dbuser:cluster-ABC/App_User", "user_case", "log in as App_User"},
		{"arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABC/app_user", "policy_arn", "region"},
		{"arn:aws:rds-db:eu-west-1:123456789012:dbuser:cluster-ABC/app_user", "", ""},
		{"arn:aws:rds-db:*:123456789012:dbuser:*/*", "", ""},
		{"*", "", ""},
	} {
		r, found := d.grantMistake(connectGrant{"p", "S", tt.resource}, db)
		if found != (tt.check != "") || found && (r.Check != tt.check || !strings.Contains(r.Fix+r.Detail, tt.fix)) {
			t.Errorf("grantMistake(%s) = %+v, %v; want %q with %q", tt.resource, r, found, tt.check, tt.fix)
		}
	}
	// Without the database (describing refused): an identifier is still recognisable.
	if r, found := d.grantMistake(connectGrant{"p", "S", "arn:aws:rds-db:r:1:dbuser:app-db/app_user"}, nil); !found || r.Check != "policy_arn" {
		t.Errorf("grantMistake without the database = %+v, %v", r, found)
	}
}

// checkClock compares with the Date header: ahead by more than 5 minutes or behind by
// 15 fails, by more than 2 warns.
func TestCheckClock(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	creds := client.StaticCredentials("AKIAEXAMPLE", "secret", "")
	for _, tt := range []struct {
		offset time.Duration
		status Status
		word   string
	}{
		{0, OK, "within"},
		{3 * time.Minute, Warn, "off the authority's"},
		{6 * time.Minute, Fail, "ahead"},
		{-16 * time.Minute, Fail, "behind"},
	} {
		r := checkClock(context.Background(), creds, srv.URL, time.Now().Add(tt.offset))
		if r.Status != tt.status || !strings.Contains(r.Detail, tt.word) || tt.status != OK && !strings.Contains(r.Fix, "NTP") {
			t.Errorf("checkClock with the clock %v off = %+v, want %v %q", tt.offset, r, tt.status, tt.word)
		}
	}
	if r := checkClock(context.Background(), creds, "http://127.0.0.1:1", time.Now()); r.Status != Skip {
		t.Errorf("checkClock without an authority = %+v, want skip", r)
	}
}

func TestPrintJSON(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := PrintJSON(&b, []Result{ok("region", "us-east-1"), fail("token", "refused: expired", "sign a fresh one")}); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil || rep.OK || len(rep.Checks) != 2 ||
		rep.Checks[1] != (JSONResult{"token", "fail", "refused: expired", "sign a fresh one"}) || rep.Checks[0].Status != "ok" {
		t.Errorf("PrintJSON = %s (%v)", b.String(), err)
	}
	b.Reset()
	if err := PrintJSON(&b, nil); err != nil || !strings.Contains(b.String(), `"ok": true`) || !strings.Contains(b.String(), `"checks": []`) {
		t.Errorf("PrintJSON(nil) = %s, %v", b.String(), err)
	}
}

func FuzzConnectGrants(f *testing.F) {
	f.Add(`{"Statement":[{"Sid":"A","Effect":"Allow","Action":["rds-db:*"],"Resource":"arn:aws:rds-db:r:1:dbuser:db-X/u"}]}`)
	f.Add(`{"Statement":{"Effect":"Allow","Action":"*","Resource":["a","b"]}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		gs, err := connectGrants(policyDoc{"p", doc})
		if err != nil {
			return
		}
		d := diagnosis{o: Options{Username: "u"}}
		db := &database{Kind: "cluster", Identifier: "id", ResourceID: "cluster-X", ARN: "arn:aws:rds:r:1:cluster:id"}
		for _, g := range gs {
			if g.Policy != "p" || g.Statement == "" {
				t.Errorf("connectGrants(%q) = %+v", doc, gs)
			}
			d.grantMistake(g, db)
			d.grantMistake(g, nil)
		}
	})
}
