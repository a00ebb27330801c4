package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamdb/iamdb/internal/iam"
)

// The simulator answers allowed with the allowing statement, implicitDeny with the
// statement to attach and to whom, explicitDeny naming the denying statement among
// others; it says when IAM authentication is off, and refuses a person without
// iam:SimulatePrincipalPolicy.
func TestSimulator(t *testing.T) {
	e := newTestEnv(t, nil)
	pg, my := e.registerDBs()
	ctx := context.Background()
	connect := pg.ConnectARN("iam_user")
	userARN := func(n string) string { return "arn:aws:iam::" + testAccount + ":user/" + n }

	// app: a managed policy allows iam_user on orders from 10.0.0.0/8.
	e.user("app", "", "App-console-1")
	pol, err := e.svc.CreatePolicy(ctx, e.admin, iam.CreatePolicyInput{PolicyName: "orders-connect", PolicyDocument: `{"Version":"2012-10-17","Statement":[
		{"Sid":"Other","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
		{"Sid":"OrdersFromOffice","Effect":"Allow","Action":"rds-db:connect","Resource":"` + connect + `","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachUserPolicy(ctx, e.admin, "app", pol.ARN); err != nil {
		t.Fatal(err)
	}
	// blocked: allowed everything on rds-db, but an inline Deny for iam_user.
	e.user("blocked", `{"Version":"2012-10-17","Statement":[
		{"Sid":"AllDBs","Effect":"Allow","Action":"rds-db:connect","Resource":"*"},
		{"Sid":"NotOrdersIamUser","Effect":"Deny","Action":"rds-db:*","Resource":"`+connect+`"},
		{"Sid":"AlsoAllow","Effect":"Allow","Action":"rds-db:connect","Resource":"`+connect+`"}]}`, "Blocked-console-1")

	c := e.signedIn("admin", adminPass)
	p := c.get(Prefix + "simulator")
	wantPage(t, "simulator form", p, http.StatusOK, userARN("app"), userARN("blocked"), "instance/orders", "cluster/shop")

	ask := func(principal, db, user, ip string, mfa bool) page {
		t.Helper()
		f := url.Values{"principal": {principal}, "database": {db}, "dbuser": {user}, "sourceip": {ip}}
		if mfa {
			f.Set("mfa", "true")
		}
		return c.post(Prefix+"simulator", f)
	}

	p = ask(userARN("app"), "instance/orders", "iam_user", "10.1.2.3", false)
	wantPage(t, "allowed", p, http.StatusOK, "allowed", connect, "orders-connect", `"Sid": "OrdersFromOffice"`,
		"IAM database authentication is off for orders")
	if strings.Contains(p.Body, "s3:GetObject") {
		t.Error("allowed: the page shows a statement that did not decide")
	}
	p = ask(userARN("app"), "instance/orders", "iam_user", "192.0.2.1", false)
	wantPage(t, "implicit deny from outside", p, http.StatusOK, "implicitDeny", "attach to", userARN("app"),
		`"Resource": "`+connect+`"`, `"Action": "rds-db:connect"`, "aws iam put-user-policy", "--user-name app")

	other := my.ConnectARN("reporting")
	p = ask(userARN("app"), "cluster/shop", "reporting", "", true)
	wantPage(t, "implicit deny", p, http.StatusOK, "implicitDeny", `"Resource": "`+other+`"`)
	if strings.Contains(p.Body, "IAM database authentication is off") {
		t.Error("the cluster has IAM authentication on, the page says off")
	}

	p = ask(userARN("blocked"), "instance/orders", "iam_user", "", false)
	wantPage(t, "explicit deny", p, http.StatusOK, "explicitDeny", "Denied by", "console-test", `"Sid": "NotOrdersIamUser"`, "must change")
	if strings.Contains(p.Body, `"Sid": "AllDBs"`) || strings.Contains(p.Body, "attach to") {
		t.Errorf("explicit deny: the page shows an allow statement or an attach fix\n%s", p.Body)
	}
	p = ask(userARN("blocked"), "instance/orders", "other_user", "", false)
	wantPage(t, "allowed by the wildcard", p, http.StatusOK, "allowed", `"Sid": "AllDBs"`)

	// A role: its inline Deny is named, and the fix for a refusal puts a role policy.
	if _, err := e.svc.CreateRole(ctx, e.admin, iam.CreateRoleInput{RoleName: "batch", AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutRolePolicy(ctx, e.admin, "batch", "no-shop", `{"Version":"2012-10-17","Statement":{"Sid":"NoShop","Effect":"Deny","Action":"rds-db:connect","Resource":"`+my.ConnectARN("*")+`"}}`); err != nil {
		t.Fatal(err)
	}
	roleARN := "arn:aws:iam::" + testAccount + ":role/batch"
	wantPage(t, "role, explicit deny", ask(roleARN, "cluster/shop", "etl", "", false), http.StatusOK, "explicitDeny", "no-shop", `"Sid": "NoShop"`)
	wantPage(t, "role, implicit deny", ask(roleARN, "instance/orders", "etl", "", false), http.StatusOK, "implicitDeny",
		"aws iam put-role-policy", "--role-name batch", pg.ConnectARN("etl"))

	// Bad input is answered on the form, not sent.
	p = ask(userARN("app"), "instance/orders", "*", "", false)
	wantPage(t, "wildcard user", p, http.StatusBadRequest, "Database user:")
	p = ask("arn:aws:s3:::bucket", "instance/nope", "u", "not-an-ip", false)
	wantPage(t, "bad input", p, http.StatusBadRequest, "Principal: not a user or role ARN", "Database: choose one", "Source IP: not an IP address")

	// Without iam:SimulatePrincipalPolicy: 403, and no decision.
	e.user("viewer", describeOnly, "Viewer-console-1")
	v := e.signedIn("viewer", "Viewer-console-1")
	wantPage(t, "viewer's form", v.get(Prefix+"simulator"), http.StatusOK, "instance/orders")
	p = v.post(Prefix+"simulator", url.Values{"principal": {userARN("app")}, "database": {"instance/orders"}, "dbuser": {"iam_user"}})
	wantDenied(t, "viewer's simulation", p, "iam:SimulatePrincipalPolicy", "implicitDeny", "allowed")
}

// cutPosition cuts a statement at the simulator's 1-based line/column positions, end
// column included; positions outside the document cut nothing.
func TestCutPosition(t *testing.T) {
	t.Parallel()
	doc := "{\n  \"Statement\": [\n    {\"Effect\": \"Deny\"},\n    {\"Effect\": \"Allow\"}\n  ]\n}"
	pos := func(l, c int32) *iamtypes.Position { return &iamtypes.Position{Line: l, Column: c} }
	for _, tc := range []struct {
		name       string
		start, end *iamtypes.Position
		want       string
		ok         bool
	}{
		// AWS's positions: 1-based, just after the opening and after the closing brace.
		{"second statement", pos(4, 6), pos(4, 24), `{"Effect": "Allow"}`, true},
		{"first statement", pos(3, 6), pos(3, 23), `{"Effect": "Deny"}`, true},
		{"not at braces", pos(3, 7), pos(3, 23), "", false},
		{"end before start", pos(4, 5), pos(3, 5), "", false},
		{"line past the end", pos(9, 1), pos(9, 2), "", false},
		{"column zero", pos(1, 0), pos(1, 1), "", false},
		{"column past the end", pos(6, 1), pos(6, 40), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := cutPosition(doc, tc.start, tc.end)
			if got != tc.want || ok != tc.ok {
				t.Errorf("cutPosition(%v, %v) = %q, %v, want %q, %v", *tc.start, *tc.end, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzPolicyText: the policy documents the API returns are split and cut without a
// panic, and every cut is a part of the document.
func FuzzPolicyText(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, int32(1), int32(38), int32(1), int32(80))
	f.Add(`{"Statement":{"Effect":"Deny"}}`, int32(1), int32(14), int32(1), int32(30))
	f.Add("{\n\"Statement\":[1]\n}", int32(2), int32(1), int32(3), int32(1))
	f.Fuzz(func(t *testing.T, doc string, l1, c1, l2, c2 int32) {
		if len(doc) > 1<<16 {
			return
		}
		for _, s := range splitStatements(doc) {
			if s.raw == "" || s.text == "" {
				t.Fatalf("splitStatements(%q): an empty statement", doc)
			}
		}
		if got, ok := cutPosition(doc, &iamtypes.Position{Line: l1, Column: c1}, &iamtypes.Position{Line: l2, Column: c2}); ok && !strings.Contains(doc, got) {
			t.Fatalf("cutPosition(%q) = %q, not a part of it", doc, got)
		}
	})
}
