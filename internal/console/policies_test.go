package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/policy"
)

const (
	testPolicyARN = "arn:aws:iam::" + testAccount + ":policy/db-connect"
	connectDoc    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"}]}`
	describeDoc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds:DescribeDBInstances","Resource":"*"}]}`
)

// Managed policies: create through the form, listed, invalid documents re-rendered with
// the problem and nothing created, Validate that does not save, a new default version,
// versions deleted, the API's own refusal kept in the form, the policy deleted.
func TestPoliciesPages(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	c := e.signedIn("admin", adminPass)

	p := c.get(Prefix + "policies")
	wantPage(t, "policies", p, http.StatusOK, "Create a policy", "Validate", "rds-db:connect")

	notCreated := func(what string) {
		t.Helper()
		if _, err := e.svc.GetPolicy(ctx, e.admin, testPolicyARN); err == nil {
			t.Fatalf("%s: the policy was created", what)
		}
	}
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"invalid JSON", "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\",, }\n  ]\n}",
			[]string{"MalformedPolicyDocument", "line 4, column 24"}},
		{"Effect Maybe", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"rds-db:connect","Resource":"*"}]}`,
			[]string{"MalformedPolicyDocument: Statement[0]", "Effect"}},
		{"unknown key", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*","Bogus":1}]}`,
			[]string{"MalformedPolicyDocument: Statement[0]", "Bogus"}},
		{"Principal in an identity policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"rds-db:connect","Resource":"*"}]}`,
			[]string{"MalformedPolicyDocument", "Principal"}},
		{"empty", "  ", []string{"MalformedPolicyDocument: the policy document is empty"}},
		{"too large", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*","Sid":"` + strings.Repeat("a", 7000) + `"}]}`,
			[]string{"LimitExceeded: Cannot exceed quota for PolicySize: 6144"}},
	} {
		p := c.post(Prefix+"policies", url.Values{"name": {"db-connect"}, "description": {"kept"}, "document": {tc.doc}, "op": {"save"}})
		wantPage(t, tc.name, p, http.StatusBadRequest, append(tc.want, "is not valid", "kept")...)
		if tc.name != "too large" && !strings.Contains(p.Body, htmlText(tc.doc)) {
			t.Errorf("%s: the form lost the document\n%s", tc.name, p.Body)
		}
		notCreated(tc.name)
	}

	// Validate only validates.
	p = c.post(Prefix+"policies", url.Values{"name": {"db-connect"}, "document": {connectDoc}, "op": {"validate"}})
	wantPage(t, "validate", p, http.StatusOK, "The identity-based policy is valid.")
	notCreated("validate")
	p = c.post(Prefix+"policies", url.Values{"name": {"db-connect"}, "document": {`{"Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"}]}`}, "op": {"validate"}})
	wantPage(t, "validate without Version", p, http.StatusOK, "is valid", `Version is not "2012-10-17"`)

	p = c.post(Prefix+"policies", url.Values{"name": {"db-connect"}, "description": {"connect anywhere"}, "document": {connectDoc}})
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"policies/"+testPolicyARN {
		t.Fatalf("create policy: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	pol, err := e.svc.GetPolicy(ctx, e.admin, testPolicyARN)
	if err != nil || pol.Description != "connect anywhere" {
		t.Fatalf("GetPolicy after create = %+v, %v", pol, err)
	}
	p = c.get(p.Location)
	wantPage(t, "policy page", p, http.StatusOK, "Policy db-connect created.", testPolicyARN, `"Action": "rds-db:connect"`, "v1", "Not attached")
	p = c.get(Prefix + "policies?arn=" + url.QueryEscape(testPolicyARN))
	wantPage(t, "policy page by ?arn=", p, http.StatusOK, testPolicyARN)
	p = c.get(Prefix + "policies/?arn=" + url.QueryEscape(testPolicyARN))
	wantPage(t, "policy page by /?arn=", p, http.StatusOK, testPolicyARN, "connect anywhere")
	p = c.get(Prefix + "policies")
	wantPage(t, "policies after create", p, http.StatusOK, "db-connect", testPolicyARN)
	if !strings.Contains(p.Body, `href="/console/policies/`+testPolicyARN+`"`) {
		t.Errorf("the listing does not link to the policy's page\n%s", p.Body)
	}
	if strings.Contains(p.Body, "AdministratorAccess") {
		t.Error("the default listing shows AWS managed policies")
	}
	p = c.get(Prefix + "policies?scope=AWS")
	wantPage(t, "AWS managed policies", p, http.StatusOK, "AdministratorAccess")
	p = c.get(Prefix + "policies/arn:aws:iam::aws:policy/AdministratorAccess")
	wantPage(t, "AWS managed policy", p, http.StatusOK, "AdministratorAccess", `"Action": "*"`)
	if strings.Contains(p.Body, "Delete policy") {
		t.Error("an AWS managed policy offers to be deleted")
	}

	// The same name again: the API refuses and the form keeps the document.
	p = c.post(Prefix+"policies", url.Values{"name": {"db-connect"}, "document": {describeDoc}})
	wantPage(t, "duplicate name", p, http.StatusConflict, "Nothing was saved:", "EntityAlreadyExists", "rds:DescribeDBInstances")

	// A new version: invalid is refused, Validate does not save, saving makes it default.
	p = c.post(Prefix+"policies/versions", url.Values{"arn": {testPolicyARN}, "document": {`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`}})
	wantPage(t, "invalid version", p, http.StatusBadRequest, "MalformedPolicyDocument", "Maybe")
	p = c.post(Prefix+"policies/versions", url.Values{"arn": {testPolicyARN}, "document": {describeDoc}, "op": {"validate"}})
	wantPage(t, "validate version", p, http.StatusOK, "is valid")
	if vs, err := e.svc.ListPolicyVersions(ctx, e.admin, iam.ListNamedInput{Name: testPolicyARN}); err != nil || len(vs.Versions) != 1 {
		t.Fatalf("versions after refused and validated = %+v, %v", vs, err)
	}
	p = c.post(Prefix+"policies/versions", url.Values{"arn": {testPolicyARN}, "document": {describeDoc}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("new version: %d\n%s", p.Status, p.Body)
	}
	if pol, err := e.svc.GetPolicy(ctx, e.admin, testPolicyARN); err != nil || pol.DefaultVersionID != "v2" {
		t.Fatalf("default version after new = %+v, %v", pol, err)
	}
	p = c.get(p.Location)
	wantPage(t, "policy with v2", p, http.StatusOK, "rds:DescribeDBInstances", "v2", "Make default")

	// Version 1 back as default, then v2 deleted.
	p = c.post(Prefix+"policies/default-version", url.Values{"arn": {testPolicyARN}, "version": {"v1"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("set default: %d\n%s", p.Status, p.Body)
	}
	p = c.post(Prefix+"policies/delete-version", url.Values{"arn": {testPolicyARN}, "version": {"v1"}})
	wantPage(t, "delete default version", p, http.StatusConflict, "DeleteConflict")
	p = c.post(Prefix+"policies/delete-version", url.Values{"arn": {testPolicyARN}, "version": {"v2"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("delete version: %d\n%s", p.Status, p.Body)
	}
	vs, err := e.svc.ListPolicyVersions(ctx, e.admin, iam.ListNamedInput{Name: testPolicyARN})
	if err != nil || len(vs.Versions) != 1 || vs.Versions[0].VersionID != "v1" || !vs.Versions[0].IsDefaultVersion {
		t.Fatalf("versions after delete = %+v, %v", vs, err)
	}

	// Attached, it shows where and cannot be deleted; detached, it can.
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: "carol"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachUserPolicy(ctx, e.admin, "carol", testPolicyARN); err != nil {
		t.Fatal(err)
	}
	p = c.get(Prefix + "policies/" + testPolicyARN)
	wantPage(t, "attached policy", p, http.StatusOK, "User", "carol")
	p = c.post(Prefix+"policies/delete", url.Values{"arn": {testPolicyARN}})
	wantPage(t, "delete attached", p, http.StatusConflict, "DeleteConflict")
	if err := e.svc.DetachUserPolicy(ctx, e.admin, "carol", testPolicyARN); err != nil {
		t.Fatal(err)
	}
	p = c.post(Prefix+"policies/delete", url.Values{"arn": {testPolicyARN}})
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"policies" {
		t.Fatalf("delete policy: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	notCreated("after delete")
}

// A user without IAM permissions sees no policy and creates none.
func TestPoliciesDenied(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	e.policy("db-connect", connectDoc)
	c := e.person("dave", "")
	wantDenied(t, "policies", c.get(Prefix+"policies"), "iam:ListPolicies")
	wantDenied(t, "policy", c.get(Prefix+"policies/"+testPolicyARN), "iam:GetPolicy", "rds-db:connect")
	wantDenied(t, "create", c.post(Prefix+"policies", url.Values{"name": {"mine"}, "document": {connectDoc}}), "iam:CreatePolicy")
	if _, err := e.svc.GetPolicy(ctx, e.admin, "arn:aws:iam::"+testAccount+":policy/mine"); err == nil {
		t.Fatal("a denied user created a policy")
	}
	wantDenied(t, "new version", c.post(Prefix+"policies/versions", url.Values{"arn": {testPolicyARN}, "document": {describeDoc}}), "iam:CreatePolicyVersion")
	wantDenied(t, "delete", c.post(Prefix+"policies/delete", url.Values{"arn": {testPolicyARN}}), "iam:DeletePolicy")
	if pol, err := e.svc.GetPolicy(ctx, e.admin, testPolicyARN); err != nil || pol.DefaultVersionID != "v1" {
		t.Fatalf("policy after denied changes = %+v, %v", pol, err)
	}
}

func TestSyntaxPosition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc       string
		line, col int
		ok        bool
	}{
		{`{"a":1}`, 0, 0, false},
		{`{"a":}`, 1, 6, true},
		{"{\n  \"a\": 1,\n  x\n}", 3, 3, true},
		{"{\"é\": 1 x}", 1, 9, true},
		{"{\n", 2, 1, true},
	} {
		line, col, ok := syntaxPosition(tc.doc)
		if line != tc.line || col != tc.col || ok != tc.ok {
			t.Errorf("syntaxPosition(%q) = %d, %d, %v, want %d, %d, %v", tc.doc, line, col, ok, tc.line, tc.col, tc.ok)
		}
	}
}

// validatePolicy takes any form input: it never panics, says valid exactly when
// policy.Parse accepts the document, and places syntax errors inside the document.
func FuzzValidatePolicy(f *testing.F) {
	for _, s := range []string{connectDoc, describeDoc, "", "{", "{\n\"a\":}", `{"Statement":[]}`, "[1,2", "{\"\xff\":1}",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, doc string, trust bool) {
		k := managedDoc
		if trust {
			k = trustDoc
		}
		pc := validatePolicy(doc, k)
		_, err := policy.Parse([]byte(doc), policy.WithKind(k.kind), policy.WithMaxSize(k.limit))
		if strings.TrimSpace(doc) != "" && len(doc) <= maxDocument && pc.Valid() != (err == nil) {
			t.Fatalf("validatePolicy(%q) valid = %v, Parse error %v", doc, pc.Valid(), err)
		}
		if line, col, ok := syntaxPosition(doc); ok {
			if line < 1 || line > strings.Count(doc, "\n")+1 || col < 1 || col > utf8.RuneCountInString(doc)+1 {
				t.Fatalf("syntaxPosition(%q) = %d, %d", doc, line, col)
			}
		}
	})
}

// htmlText is s as a template writes it in text.
func htmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}
