package iam

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/testenv"
)

// reopen starts another Service on raw (a restart), with the admin bootstrapped before.
func reopen(t *testing.T, raw store.Store) *env {
	t.Helper()
	cs := &countingStore{Store: raw}
	clk := testenv.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	s, err := New(context.Background(), Config{Store: cs, MasterKey: testMaster, Now: clk.Now, DefaultRegion: "ap-northeast-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &env{t: t, s: s, st: cs, raw: raw, clock: clk, ctx: context.Background()}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// advisorEnv is an account with a registered database, a user app allowed to log in as
// app_rw on it and to call iam:GetUser, and a group ops of which app is a member.
type advisorEnv struct {
	*env
	db  Database
	app *Caller
}

func newAdvisorEnv(t *testing.T) *advisorEnv {
	e := newEnv(t)
	db, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "orders", Engine: "postgres", Port: 5432, Region: "eu-west-1",
		Account: acctA, Endpoints: []string{"orders.example"}, IAMAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"rds-db:connect","Resource":["` + db.ConnectARN("app_rw") + `","` + db.ConnectARN("app_ro") + `"]},
		{"Effect":"Allow","Action":["iam:GetUser","iam:ListUsers"],"Resource":"*"}]}`
	app := e.user(e.admin, "app", doc)
	if _, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "ops"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddUserToGroup(e.ctx, e.admin, "ops", "app"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutGroupPolicy(e.ctx, e.admin, "ops", "sts", allow("sts:AssumeRole", "*")); err != nil {
		t.Fatal(err)
	}
	return &advisorEnv{env: e, db: db, app: e.caller(app.AccessKeyID, "")}
}

// TestAccessKeyLastUsedEveryLogin: every rds-db:connect decision for a key is noted at
// once (not sampled): GetAccessKeyLastUsed names the database's region and rds-db, before
// and after a flush, and after a restart; a decision question (CheckConnect) is not a use.
func TestAccessKeyLastUsedEveryLogin(t *testing.T) {
	e := newAdvisorEnv(t)
	last := func() AccessKeyLastUsed {
		t.Helper()
		lu, err := e.s.GetAccessKeyLastUsed(e.ctx, e.admin, e.app.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		return lu
	}
	if lu := last(); !lu.LastUsedDate.IsZero() || lu.ServiceName != "N/A" || lu.Region != "N/A" || lu.UserName != "app" {
		t.Fatalf("GetAccessKeyLastUsed(never used) = %+v", lu)
	}
	if _, err := e.s.CheckConnect(e.ctx, e.app, e.db, "app_rw", RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	if lu := last(); !lu.LastUsedDate.IsZero() {
		t.Fatalf("CheckConnect noted a use: %+v", lu)
	}
	for i := range 3 {
		e.clock.Advance(time.Second)
		d, err := e.s.AuthorizeConnect(e.ctx, e.app, e.db, "app_rw", RequestInfo{})
		if err != nil || !d.Allowed() {
			t.Fatalf("AuthorizeConnect = %+v, %v", d, err)
		}
		if lu := last(); !lu.LastUsedDate.Equal(e.clock.Now()) || lu.ServiceName != "rds-db" || lu.Region != "eu-west-1" {
			t.Fatalf("login %d: GetAccessKeyLastUsed = %+v; want %s rds-db eu-west-1", i, lu, e.clock.Now())
		}
	}
	want := e.clock.Now()
	if err := e.s.flushUsage(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := reopen(t, e.raw)
	lu, err := e2.s.GetAccessKeyLastUsed(e2.ctx, e2.caller(e.admin.AccessKeyID, ""), e.app.AccessKeyID)
	if err != nil || !lu.LastUsedDate.Equal(want) || lu.ServiceName != "rds-db" || lu.Region != "eu-west-1" {
		t.Fatalf("after a restart: GetAccessKeyLastUsed = %+v, %v; want %s", lu, err, want)
	}
}

func TestServiceLastAccessedDetails(t *testing.T) {
	e := newAdvisorEnv(t)
	t0 := e.clock.Now()
	if _, err := e.s.AuthorizeConnect(e.ctx, e.app, e.db, "app_rw", RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	t1 := e.clock.Now()
	if err := e.s.Authorize(WithRequestInfo(e.ctx, RequestInfo{Region: "us-east-2"}), e.app, "iam:GetUser", userARN(acctA, "/", "app"), nil); err != nil {
		t.Fatal(err)
	}
	// A denied attempt counts too, as in AWS.
	e.clock.Advance(time.Second)
	t2 := e.clock.Now()
	if err := e.s.Authorize(e.ctx, e.app, "iam:DeleteUser", userARN(acctA, "/", "app"), nil); code(err) != CodeAccessDenied {
		t.Fatalf("Authorize(iam:DeleteUser) = %v", err)
	}
	appARN := userARN(acctA, "/", "app")
	job := func(arn, granularity string) ServiceLastAccessedDetails {
		t.Helper()
		id, err := e.s.GenerateServiceLastAccessedDetails(e.ctx, e.admin, arn, granularity)
		if err != nil {
			t.Fatalf("GenerateServiceLastAccessedDetails(%s) = %v", arn, err)
		}
		if len(id) != 36 || strings.Count(id, "-") != 4 {
			t.Fatalf("JobId = %q", id)
		}
		out, err := e.s.GetServiceLastAccessedDetails(e.ctx, e.admin, GetServiceLastAccessedInput{JobID: id})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	byNS := func(out ServiceLastAccessedDetails) map[string]ServiceLastAccessed {
		m := map[string]ServiceLastAccessed{}
		for _, s := range out.Services {
			m[s.ServiceNamespace] = s
		}
		return m
	}

	out := job(appARN, GranularityAction)
	if out.JobStatus != "COMPLETED" || out.JobType != GranularityAction || out.IsTruncated {
		t.Fatalf("job = %+v", out)
	}
	m := byNS(out)
	if len(m) != 3 || m["iam"].ServiceName != "AWS Identity and Access Management" || m["sts"].ServiceName == "" {
		t.Fatalf("services = %+v; want iam, rds-db and sts (the group's policy)", out.Services)
	}
	rdsdb := m["rds-db"]
	if !rdsdb.LastAuthenticated.Equal(t0) || rdsdb.LastAuthenticatedEntity != appARN || rdsdb.LastAuthenticatedRegion != "eu-west-1" ||
		rdsdb.TotalAuthenticatedEntities != 1 || len(rdsdb.TrackedActions) != 1 || rdsdb.TrackedActions[0].ActionName != "connect" {
		t.Errorf("rds-db = %+v", rdsdb)
	}
	iamS := m["iam"]
	if !iamS.LastAuthenticated.Equal(t2) || iamS.LastAuthenticatedRegion != "ap-northeast-1" || len(iamS.TrackedActions) != 2 ||
		iamS.TrackedActions[1].ActionName != "GetUser" || !iamS.TrackedActions[1].LastAccessedTime.Equal(t1) || iamS.TrackedActions[1].LastAccessedRegion != "us-east-2" {
		t.Errorf("iam = %+v; want GetUser and the denied DeleteUser", iamS)
	}
	if s := m["sts"]; !s.LastAuthenticated.IsZero() || s.TotalAuthenticatedEntities != 0 {
		t.Errorf("sts (unused) = %+v", s)
	}
	if out := job(appARN, ""); out.JobType != GranularityService || len(byNS(out)["rds-db"].TrackedActions) != 0 {
		t.Errorf("SERVICE_LEVEL job = %+v", out)
	}

	// The group: its own policy's services (sts), its members' use.
	g := byNS(job(groupARN(acctA, "/", "ops"), ""))
	if len(g) != 1 || g["sts"].ServiceNamespace != "sts" {
		t.Errorf("group job = %+v", g)
	}

	// Flushed to the store, the records survive a restart; a managed policy's job counts
	// the entities it is attached to.
	p, err := e.s.CreatePolicy(e.ctx, e.admin, CreatePolicyInput{PolicyName: "conn", PolicyDocument: allow("rds-db:*", "*")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.AttachUserPolicy(e.ctx, e.admin, "app", p.ARN); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	adminKey := e.admin.AccessKeyID
	e2 := reopen(t, e.raw)
	e2.clock.Set(e.clock.Now())
	e.env = e2
	e.admin = e2.caller(adminKey, "")
	pm := byNS(job(p.ARN, GranularityAction))
	if s := pm["rds-db"]; len(pm) != 1 || !s.LastAuthenticated.Equal(t0) || s.TotalAuthenticatedEntities != 1 || s.LastAuthenticatedEntity != appARN {
		t.Errorf("policy job after a restart = %+v", pm)
	}

	// Errors.
	for _, c := range []struct{ arn, gran, want string }{
		{userARN(acctA, "/", "nobody"), "", CodeNoSuchEntity},
		{"arn:aws:iam::" + acctA + ":policy/nope", "", CodeNoSuchEntity},
		{appARN, "SOMETIMES", CodeInvalidInput},
		{"arn:aws:s3:::bucket", "", CodeInvalidInput},
		{"not an arn", "", CodeInvalidInput},
	} {
		if _, err := e.s.GenerateServiceLastAccessedDetails(e.ctx, e.admin, c.arn, c.gran); code(err) != c.want {
			t.Errorf("GenerateServiceLastAccessedDetails(%s, %q) = %v; want %s", c.arn, c.gran, err, c.want)
		}
	}
	for _, c := range []struct {
		in   GetServiceLastAccessedInput
		want string
	}{
		{GetServiceLastAccessedInput{JobID: "00000000-0000-4000-8000-000000000000"}, CodeNoSuchEntity},
		{GetServiceLastAccessedInput{JobID: "short"}, CodeInvalidInput},
		{GetServiceLastAccessedInput{JobID: "00000000-0000-4000-8000-000000000000", MaxItems: 1001}, CodeValidationError},
	} {
		if _, err := e.s.GetServiceLastAccessedDetails(e.ctx, e.admin, c.in); code(err) != c.want {
			t.Errorf("GetServiceLastAccessedDetails(%+v) = %v; want %s", c.in, err, c.want)
		}
	}
	// Paging.
	id, err := e.s.GenerateServiceLastAccessedDetails(e.ctx, e.admin, appARN, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	marker := ""
	for {
		out, err := e.s.GetServiceLastAccessedDetails(e.ctx, e.admin, GetServiceLastAccessedInput{JobID: id, MaxItems: 1, Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.Services {
			names = append(names, s.ServiceNamespace)
		}
		if !out.IsTruncated {
			break
		}
		marker = out.Marker
	}
	if strings.Join(names, ",") != "iam,rds-db,sts" {
		t.Errorf("paged services = %v", names)
	}
	// Authorization: app may not generate a job.
	app := e2.caller(e.app.AccessKeyID, "")
	if _, err := e2.s.GenerateServiceLastAccessedDetails(e.ctx, app, appARN, ""); code(err) != CodeAccessDenied {
		t.Errorf("GenerateServiceLastAccessedDetails(app) = %v; want AccessDenied", err)
	}
}

// TestCredentialReportGolden pins the report's CSV: header, root row, sentinels, times.
func TestCredentialReportGolden(t *testing.T) {
	e := newAdvisorEnv(t)
	if _, err := e.s.GetCredentialReport(e.ctx, e.admin); code(err) != CodeReportNotPresent {
		t.Fatalf("GetCredentialReport(none yet) = %v; want ReportNotPresent", err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.s.CreateAccessKey(e.ctx, e.admin, "app"); err != nil { // app's second key, never used
		t.Fatal(err)
	}
	if _, err := e.s.CreateUser(e.ctx, e.admin, CreateUserInput{UserName: "no-keys", Path: "/people/"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(90 * time.Second)
	if _, err := e.s.AuthorizeConnect(e.ctx, e.app, e.db, "app_rw", RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	gen, err := e.s.GenerateCredentialReport(e.ctx, e.admin)
	if err != nil || gen.State != ReportStarted {
		t.Fatalf("GenerateCredentialReport = %+v, %v", gen, err)
	}
	r, err := e.s.GetCredentialReport(e.ctx, e.admin)
	if err != nil || r.ReportFormat != "text/csv" || !r.GeneratedTime.Equal(e.clock.Now()) {
		t.Fatalf("GetCredentialReport = %+v, %v", r, err)
	}
	golden := filepath.Join("testdata", "credential-report.csv")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, r.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Content) != string(want) {
		t.Errorf("report:\n%s\nwant (%s):\n%s", r.Content, golden, want)
	}
	if first, _, _ := strings.Cut(string(r.Content), "\n"); first != CredentialReportHeader {
		t.Errorf("header = %q", first)
	}

	// A report under 4 hours old is reused; an older one is made anew.
	e.clock.Advance(3 * time.Hour)
	if gen, err := e.s.GenerateCredentialReport(e.ctx, e.admin); err != nil || gen.State != ReportComplete {
		t.Errorf("GenerateCredentialReport(3h later) = %+v, %v; want COMPLETE", gen, err)
	}
	e.clock.Advance(2 * time.Hour)
	if gen, err := e.s.GenerateCredentialReport(e.ctx, e.admin); err != nil || gen.State != ReportStarted {
		t.Errorf("GenerateCredentialReport(5h later) = %+v, %v; want STARTED", gen, err)
	}
	if r2, err := e.s.GetCredentialReport(e.ctx, e.admin); err != nil || !r2.GeneratedTime.Equal(e.clock.Now()) {
		t.Errorf("GetCredentialReport = %v, %v; want the new report", r2.GeneratedTime, err)
	}
	if _, err := e.s.GenerateCredentialReport(e.ctx, e.app); code(err) != CodeAccessDenied {
		t.Errorf("GenerateCredentialReport(app) = %v; want AccessDenied", err)
	}
}

func TestListUnusedAccess(t *testing.T) {
	e := newAdvisorEnv(t)
	role := e.role(e.admin, "idle", trustARN("arn:aws:iam::"+acctA+":root"), allow("rds-db:connect", "arn:aws:rds-db:*:"+acctA+":dbuser:*/report"))
	e.clock.Advance(40 * 24 * time.Hour)
	if _, err := e.s.AuthorizeConnect(e.ctx, e.app, e.db, "app_rw", RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	// A refused login is no use of a grant.
	if d, err := e.s.AuthorizeConnect(e.ctx, e.app, e.db, "postgres", RequestInfo{}); err != nil || d.Allowed() {
		t.Fatalf("AuthorizeConnect(postgres) = %+v, %v", d, err)
	}
	out, err := e.s.ListUnusedAccess(e.ctx, e.admin, 30)
	if err != nil {
		t.Fatal(err)
	}
	appARN := userARN(acctA, "/", "app")
	var grants []string
	for _, g := range out.Grants {
		grants = append(grants, g.Principal+" "+g.Database+" "+g.DBUser)
	}
	// The admin (AdministratorAccess: rds-db:connect on *) never logged in either.
	want := []string{role.ARN + "  report", userARN(acctA, "/", "admin") + "  ", appARN + " orders app_ro"}
	if strings.Join(grants, "|") != strings.Join(want, "|") {
		t.Errorf("unused grants = %q; want %q", grants, want)
	}
	var principals []string
	for _, p := range out.Principals {
		principals = append(principals, p.Kind+" "+p.Principal)
	}
	// The admin's key is used by this very call; app's key by its logins.
	wantP := []string{UnusedRole + " " + role.ARN}
	if strings.Join(principals, "|") != strings.Join(wantP, "|") {
		t.Errorf("unused principals = %q; want %q", principals, wantP)
	}
	if _, err := e.s.ListUnusedAccess(e.ctx, e.admin, 0); code(err) != CodeInvalidInput {
		t.Errorf("ListUnusedAccess(0 days) = %v", err)
	}
	if _, err := e.s.ListUnusedAccess(e.ctx, e.app, 30); code(err) != CodeAccessDenied {
		t.Errorf("ListUnusedAccess(app) = %v", err)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"rds-db:*", "rds-db:connect", true}, {"rds:*", "rds-db:connect", false},
		{"rds*", "rds-db:connect", true}, {"iam:get?ser", "iam:getuser", true}, {"a*b*c", "aXbYc", true}, {"a*b", "ab", true},
		{"a*b", "a", false}, {"", "x", false},
	} {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// FuzzAdvisorPolicy feeds arbitrary documents and actions to the advisor's statement reader
// (it must not panic) and checks globMatch against a regular expression.
func FuzzAdvisorPolicy(f *testing.F) {
	f.Add(`{"Statement":{"Effect":"Allow","Action":"rds-db:*","Resource":"*"}}`, "rds-db:connect")
	f.Add(`{"Statement":[{"Effect":"Allow","NotAction":["iam:*"],"NotResource":"x"}]}`, "sts:assumerole")
	f.Add(`{"Statement":[1,{"Effect":"Allow","Action":7}]}`, "a*b?c")
	f.Fuzz(func(t *testing.T, doc, action string) {
		for _, st := range allowStatements([]string{doc}) {
			st.allows(action)
		}
		re, err := regexp.Compile("^(?s:" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(doc)) + ")$")
		if err != nil || !utf8.ValidString(doc) || !utf8.ValidString(action) {
			return
		}
		if got, want := globMatch(doc, action), re.MatchString(action); got != want && len(doc) == len([]rune(doc)) && len(action) == len([]rune(action)) {
			t.Fatalf("globMatch(%q, %q) = %v, regexp says %v", doc, action, got, want)
		}
	})
}

// A deleted user's advisor records go with it: a user of the same name starts afresh.
func TestAdvisorRecordsDeletedWithUser(t *testing.T) {
	e := newEnv(t)
	tmp := e.user(e.admin, "tmp", "")
	if err := e.s.Authorize(e.ctx, tmp, "iam:ListUsers", "*", nil); code(err) != CodeAccessDenied {
		t.Fatalf("Authorize = %v", err)
	}
	if err := e.s.flushUsage(e.ctx); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		err := e.raw.View(e.ctx, func(tx store.Tx) error {
			its, err := listAll(tx, kindLastUsed, lastUsedActionPrefix+"user/"+entityKey(acctA, "tmp")+" ")
			n = len(its)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("stored records of tmp = %d, want 1", n)
	}
	if err := e.s.DeleteAccessKey(e.ctx, e.admin, "tmp", tmp.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, e.admin, "tmp"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("stored records of the deleted tmp = %d, want 0", n)
	}
}

// Above half of maxUsageCells, a flush drops the written records from memory; the answers
// do not change, since readers merge the store's records.
func TestAdvisorEvictsFlushed(t *testing.T) {
	e := newAdvisorEnv(t)
	old := maxUsageCells
	maxUsageCells = 4
	t.Cleanup(func() { maxUsageCells = old })
	if err := e.s.flushUsage(e.ctx); err != nil { // the admin's records of the set-up
		t.Fatal(err)
	}
	if n := e.s.usage.cells.Load(); n != 0 {
		t.Fatalf("cells after the set-up's flush = %d, want 0", n)
	}
	for _, action := range []string{"iam:GetUser", "iam:ListUsers", "iam:DeleteUser", "iam:CreateUser"} {
		e.clock.Advance(time.Second)
		e.s.Authorize(e.ctx, e.app, action, "*", nil)
	}
	if n := e.s.usage.cells.Load(); n != 4 {
		t.Fatalf("cells = %d, want 4", n)
	}
	e.s.Authorize(e.ctx, e.app, "iam:ListGroups", "*", nil) // full: not noted
	if err := e.s.flushUsage(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.s.usage.cells.Load(); n != 0 {
		t.Fatalf("cells after a flush = %d, want 0", n)
	}
	e.clock.Advance(time.Second)
	e.s.Authorize(e.ctx, e.app, "iam:ListGroups", "*", nil)
	id, err := e.s.GenerateServiceLastAccessedDetails(e.ctx, e.admin, userARN(acctA, "/", "app"), GranularityAction)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.s.GetServiceLastAccessedDetails(e.ctx, e.admin, GetServiceLastAccessedInput{JobID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Services {
		if s.ServiceNamespace == "iam" {
			if len(s.TrackedActions) != 5 || !s.LastAuthenticated.Equal(e.clock.Now()) {
				t.Errorf("iam = %+v; want the 4 flushed actions and ListGroups", s)
			}
			return
		}
	}
	t.Errorf("no iam in %+v", out.Services)
}
