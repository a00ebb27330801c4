package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/audittest"
	"github.com/iamdb/iamdb/internal/awsquery"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

// auditEnv is an authority serving LookupEvents over a trail of known events.
//
// The trail is a real journal (audit.Open on a temporary directory), the events put in
// with Record, oldest first (the journal keeps an hour's events in recording order).
type auditEnv struct {
	url   string
	auth  *authority.Authority
	trail *audit.Journal
	now   time.Time
}

func newAuditEnv(t *testing.T) *auditEnv {
	t.Helper()
	a := authority.New(t, authority.Options{})
	e := &auditEnv{auth: a, trail: audittest.OpenJournal(t), now: time.Now().UTC().Truncate(time.Second)}
	h, err := awsquery.New(awsquery.Config{IAM: a.IAM, AuditReader: e.trail})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// event is an event of the authority's account at now-ago.
func (e *auditEnv) event(id, source, name, user, ip, code string, ago time.Duration) audit.Event {
	return audit.Event{EventID: id, EventTime: audit.Time{Time: e.now.Add(-ago)}, EventSource: source, EventName: name,
		UserIdentity: audit.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::" + e.auth.Account + ":user/" + user, UserName: user,
			AccountID: e.auth.Account, AccessKeyID: "AKIA" + strings.ToUpper(user)},
		SourceIPAddress: ip, ErrorCode: code, AWSRegion: "us-east-1", EventType: audit.TypeAPICall, ManagementEvent: true,
		RecipientAccountID: e.auth.Account, EventCategory: audit.CategoryManage}
}

// useCreds makes k the SDK chain's credentials and the authority the default endpoint.
func (e *auditEnv) useCreds(t *testing.T, k iam.AccessKey) {
	t.Setenv("AWS_ACCESS_KEY_ID", k.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", k.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", writeFile(t, t.TempDir(), "config", ""))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", writeFile(t, t.TempDir(), "credentials", ""))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", "")
	t.Setenv("AWS_ENDPOINT_URL", e.url)
}

func TestAuditTail(t *testing.T) {
	e := newAuditEnv(t)
	e.useCreds(t, e.auth.Admin)
	old := e.event("00000000-0000-4000-8000-000000000001", audit.SourceIAM, "CreateUser", "admin", "10.0.0.1", "", 3*time.Hour)
	create := e.event("00000000-0000-4000-8000-000000000002", audit.SourceIAM, "CreateUser", "admin", "10.0.0.1", "", 50*time.Minute)
	denied := e.event("00000000-0000-4000-8000-000000000003", audit.SourceRDSDB, "connect", "app user", "10.0.0.2", "AccessDenied", 40*time.Minute)
	foreign := e.event("00000000-0000-4000-8000-000000000004", audit.SourceIAM, "CreateUser", "admin", "10.0.0.9", "", 30*time.Minute)
	foreign.RecipientAccountID = "210987654321"
	audittest.Record(t, e.trail, old, create, denied, foreign)
	var fillers []string
	for i := range 60 { // more than a page
		f := e.event(fmt.Sprintf("00000000-0000-4000-8000-1000000000%02d", i), audit.SourceSTS, "GetCallerIdentity", "bob", "10.0.0.3", "", 20*time.Minute-time.Duration(i)*time.Second)
		audittest.Record(t, e.trail, f)
		fillers = append(fillers, fmt.Sprintf("%s sts.amazonaws.com GetCallerIdentity bob 10.0.0.3 -", f.EventTime.Format(audit.TimeFormat)))
	}
	ctx := context.Background()

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"audit", "tail"}, &out, &errOut); err != nil {
		t.Fatalf("audit tail: %v\n%s", err, errOut.String())
	}
	want := append([]string{
		create.EventTime.Format(audit.TimeFormat) + " iam.amazonaws.com CreateUser admin 10.0.0.1 -",
		denied.EventTime.Format(audit.TimeFormat) + " rds-db.amazonaws.com connect app_user 10.0.0.2 AccessDenied",
	}, fillers...)
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit tail printed\n%s\nwant\n%s", out.String(), strings.Join(want, "\n"))
	}

	out.Reset()
	if err := run(ctx, []string{"audit", "tail", "--since", "4h", "--event-name", "CreateUser", "--format", "json", "--endpoint-url", e.url}, &out, &errOut); err != nil {
		t.Fatalf("audit tail --format json: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var recs []audit.Event
	for _, l := range lines {
		var r audit.Event
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[0].EventID != old.EventID || recs[1].EventID != create.EventID || recs[1].SourceIPAddress != "10.0.0.1" {
		t.Errorf("audit tail --format json --event-name CreateUser printed\n%s", out.String())
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--username", "a", "--event-name", "b"}, "only one filter"},
		{[]string{"--read-only", "maybe"}, "--read-only is true or false"},
		{[]string{"--format", "xml"}, "--format is text or json"},
		{[]string{"--endpoint-url", ""}, "no --endpoint-url"},
	} {
		err := run(ctx, append([]string{"audit", "tail"}, tc.args...), &out, &errOut)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("audit tail %v = %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}

	// A user without cloudtrail:LookupEvents is refused by the authority.
	e.useCreds(t, e.auth.User(t, "nobody"))
	err := run(ctx, []string{"audit", "tail"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException: User: arn:aws:iam::"+e.auth.Account+":user/nobody is not authorized to perform: cloudtrail:LookupEvents") {
		t.Errorf("audit tail as nobody = %v", err)
	}
}

func TestAuditTailFollow(t *testing.T) {
	e := newAuditEnv(t)
	k := e.auth.User(t, "auditor", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}`)
	e.useCreds(t, k)
	first := e.event("00000000-0000-4000-8000-000000000001", audit.SourceIAM, "CreateUser", "admin", "10.0.0.1", "", time.Minute)
	audittest.Record(t, e.trail, first)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testenv.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"audit", "tail", "--follow", "--interval", "20ms", "--username", "admin"}, &out, &out)
	}()
	waitFor := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(out.String(), what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %d × %q; printed:\n%s", n, what, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(" CreateUser admin ", 1)
	// New events, one in the same second as the first (asked again, printed once), one of
	// another user (filtered out by the authority).
	audittest.Record(t, e.trail, e.event("00000000-0000-4000-8000-000000000002", audit.SourceIAM, "DeleteUser", "admin", "10.0.0.1", "", time.Minute))
	audittest.Record(t, e.trail, e.event("00000000-0000-4000-8000-000000000003", audit.SourceIAM, "CreateRole", "bob", "10.0.0.1", "", 0))
	audittest.Record(t, e.trail, e.event("00000000-0000-4000-8000-000000000004", audit.SourceIAM, "AttachUserPolicy", "admin", "10.0.0.5", "", 0))
	waitFor(" AttachUserPolicy admin 10.0.0.5 -", 1)
	time.Sleep(100 * time.Millisecond) // a few more polls: nothing printed twice
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("audit tail --follow: %v", err)
	}
	got := out.String()
	if strings.Count(got, "\n") != 3 || strings.Count(got, "CreateUser") != 1 || !strings.Contains(got, " DeleteUser ") || strings.Contains(got, "CreateRole") {
		t.Errorf("audit tail --follow printed\n%s", got)
	}
}

// An event's fields come from requests (eventName is the Action of any request that tried
// to sign): the text line replaces whatever a terminal would act on or reorder.
func TestAuditTailField(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "-",
		"GetUser":                       "GetUser",
		"a b\tc\nd\x1b[2J\x7f":          "a_b_c_d_[2J_",
		"Get\u009b2J\u009b1;1HUser":     "Get_2J_1;1HUser",
		"Create\u202eresU\u2066x\u200e": "Create_resU_x_",
		"line\u2028para\u2029":          "line_para_",
		"ユーザー":                          "ユーザー",
	} {
		if got := field(in); got != want {
			t.Errorf("field(%q) = %q, want %q", in, got, want)
		}
	}
}
