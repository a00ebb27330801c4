package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/iam"
)

const trustDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`

// A role's life through the console: created with a trust policy (an invalid one refused
// and kept in the form), the trust policy replaced, a managed policy attached and
// detached, inline policies put, viewed and deleted, and the role deleted.
func TestRolesPages(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.CreatePolicy(ctx, e.admin, iam.CreatePolicyInput{PolicyName: "db-connect", PolicyDocument: connectDoc}); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("admin", adminPass)

	p := c.get(Prefix + "roles")
	wantPage(t, "roles", p, http.StatusOK, "Create a role", "No roles you can see", `"AWS": "arn:aws:iam::`+testAccount+`:root"`, "sts:AssumeRole")

	noRole := func(what string) {
		t.Helper()
		if _, err := e.svc.GetRole(ctx, e.admin, "app"); err == nil {
			t.Fatalf("%s: the role exists", what)
		}
	}
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"no Principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, []string{"MalformedPolicyDocument", "Principal"}},
		{"Resource in a trust policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}`, []string{"MalformedPolicyDocument", "Resource"}},
		{"invalid JSON", `{"Version":"2012-10-17",}`, []string{"MalformedPolicyDocument", "line 1, column 25"}},
	} {
		p := c.post(Prefix+"roles", url.Values{"name": {"app"}, "description": {"the app"}, "document": {tc.doc}})
		wantPage(t, tc.name, p, http.StatusBadRequest, append(tc.want, "The role trust policy is not valid", "the app")...)
		if !strings.Contains(p.Body, htmlText(tc.doc)) {
			t.Errorf("%s: the form lost the document\n%s", tc.name, p.Body)
		}
		noRole(tc.name)
	}
	p = c.post(Prefix+"roles", url.Values{"name": {"app/x"}, "document": {trustDocument}})
	wantPage(t, "invalid role name", p, http.StatusBadRequest, "Nothing was saved:", "ValidationError", "app/x", "sts:AssumeRole")
	p = c.post(Prefix+"roles", url.Values{"name": {"app"}, "document": {trustDocument}, "op": {"validate"}})
	wantPage(t, "validate trust", p, http.StatusOK, "The role trust policy is valid.")
	noRole("validate")

	p = c.post(Prefix+"roles", url.Values{"name": {"app"}, "path": {"/apps/"}, "description": {"the app"}, "document": {trustDocument}})
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"roles/app" {
		t.Fatalf("create role: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	role, err := e.svc.GetRole(ctx, e.admin, "app")
	if err != nil || role.Path != "/apps/" || role.Description != "the app" {
		t.Fatalf("GetRole after create = %+v, %v", role, err)
	}
	p = c.get(p.Location)
	wantPage(t, "role page", p, http.StatusOK, "Role app created.", "arn:aws:iam::"+testAccount+":role/apps/app", `"Action": "sts:AssumeRole"`, "1h0m0s", "No managed policies attached", "No inline policies")
	wantPage(t, "roles after create", c.get(Prefix+"roles"), http.StatusOK, "app", "/apps/")

	// The trust policy: an identity policy is refused; a new one replaces it.
	p = c.post(Prefix+"roles/app/trust", url.Values{"document": {connectDoc}})
	wantPage(t, "identity policy as trust", p, http.StatusBadRequest, "MalformedPolicyDocument", "rds-db:connect")
	newTrust := strings.Replace(trustDocument, ":root", ":user/admin", 1)
	p = c.post(Prefix+"roles/app/trust", url.Values{"document": {newTrust}, "op": {"validate"}})
	wantPage(t, "validate new trust", p, http.StatusOK, "is valid")
	if role, _ := e.svc.GetRole(ctx, e.admin, "app"); role.AssumeRolePolicyDocument != trustDocument {
		t.Fatalf("Validate changed the trust policy: %s", role.AssumeRolePolicyDocument)
	}
	if p := c.post(Prefix+"roles/app/trust", url.Values{"document": {newTrust}}); p.Status != http.StatusSeeOther {
		t.Fatalf("update trust: %d\n%s", p.Status, p.Body)
	}
	if role, _ := e.svc.GetRole(ctx, e.admin, "app"); role.AssumeRolePolicyDocument != newTrust {
		t.Fatalf("trust policy after update: %s", role.AssumeRolePolicyDocument)
	}

	// Attach and detach a managed policy.
	p = c.get(Prefix + "roles/app")
	wantPage(t, "attach form", p, http.StatusOK, "db-connect", "AdministratorAccess")
	if p := c.post(Prefix+"roles/app/attach", url.Values{"arn": {testPolicyARN}}); p.Status != http.StatusSeeOther {
		t.Fatalf("attach: %d\n%s", p.Status, p.Body)
	}
	att, err := e.svc.ListAttachedRolePolicies(ctx, e.admin, iam.ListAttachedPoliciesInput{Name: "app"})
	if err != nil || len(att.AttachedPolicies) != 1 || att.AttachedPolicies[0].PolicyARN != testPolicyARN {
		t.Fatalf("attached after attach = %+v, %v", att, err)
	}
	wantPage(t, "attached", c.get(Prefix+"roles/app"), http.StatusOK, "Detach", testPolicyARN)
	wantPage(t, "attach a missing policy", c.post(Prefix+"roles/app/attach", url.Values{"arn": {testPolicyARN + "-x"}}), http.StatusNotFound, "NoSuchEntity")

	// Inline policies: invalid refused, valid put, viewed, replaced, over the role's
	// quota refused by the API with the document kept.
	p = c.post(Prefix+"roles/app/inline", url.Values{"policy": {"describe"}, "document": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds:Describe*"}]}`}})
	wantPage(t, "invalid inline", p, http.StatusBadRequest, "MalformedPolicyDocument", "Resource", "describe")
	if _, err := e.svc.GetRolePolicy(ctx, e.admin, "app", "describe"); err == nil {
		t.Fatal("an invalid inline policy was put")
	}
	p = c.post(Prefix+"roles/app/inline", url.Values{"policy": {"describe"}, "document": {describeDoc}})
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"roles/app/inline/describe" {
		t.Fatalf("put inline: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	if ip, err := e.svc.GetRolePolicy(ctx, e.admin, "app", "describe"); err != nil || !strings.Contains(ip.PolicyDocument, "rds:DescribeDBInstances") {
		t.Fatalf("GetRolePolicy = %+v, %v", ip, err)
	}
	wantPage(t, "inline page", c.get(p.Location), http.StatusOK, "Inline policy describe saved.", "Edit inline policy describe", `"Action": "rds:DescribeDBInstances"`)
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("B", 6000) + `","Effect":"Allow","Action":"rds:DescribeDBInstances","Resource":"*"}]}`
	if p := c.post(Prefix+"roles/app/inline", url.Values{"policy": {"big1"}, "document": {big}}); p.Status != http.StatusSeeOther {
		t.Fatalf("put big1: %d\n%s", p.Status, p.Body)
	}
	p = c.post(Prefix+"roles/app/inline", url.Values{"policy": {"big2"}, "document": {big}})
	wantPage(t, "over the role's inline quota", p, http.StatusConflict, "Nothing was saved:", "LimitExceeded", "big2", strings.Repeat("B", 6000))
	if _, err := e.svc.GetRolePolicy(ctx, e.admin, "app", "big2"); err == nil {
		t.Fatal("the API's refusal put the policy")
	}

	// The role cannot go while it has policies; after they do, it can.
	wantPage(t, "delete with policies", c.post(Prefix+"roles/app/delete", nil), http.StatusConflict, "DeleteConflict")
	for _, name := range []string{"describe", "big1"} {
		if p := c.post(Prefix+"roles/app/inline/"+name+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("delete inline %s: %d\n%s", name, p.Status, p.Body)
		}
	}
	if in, err := e.svc.ListRolePolicies(ctx, e.admin, iam.ListNamedInput{Name: "app"}); err != nil || len(in.PolicyNames) != 0 {
		t.Fatalf("inline after delete = %+v, %v", in, err)
	}
	if p := c.post(Prefix+"roles/app/detach", url.Values{"arn": {testPolicyARN}}); p.Status != http.StatusSeeOther {
		t.Fatalf("detach: %d\n%s", p.Status, p.Body)
	}
	if p := c.post(Prefix+"roles/app/delete", nil); p.Status != http.StatusSeeOther || p.Location != Prefix+"roles" {
		t.Fatalf("delete role: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	noRole("after delete")
	wantPage(t, "deleted role", c.get(Prefix+"roles/app"), http.StatusNotFound, "NoSuchEntity")
}

// Without IAM permissions nothing is shown or changed; with read-only ones the role is
// shown and changes are refused.
func TestRolesDenied(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.CreateRole(ctx, e.admin, iam.CreateRoleInput{RoleName: "app", AssumeRolePolicyDocument: trustDocument}); err != nil {
		t.Fatal(err)
	}
	e.policy("db-connect", connectDoc)

	c := e.person("dave", "")
	wantDenied(t, "roles", c.get(Prefix+"roles"), "iam:ListRoles")
	wantDenied(t, "role", c.get(Prefix+"roles/app"), "iam:GetRole", "sts:AssumeRole")
	wantDenied(t, "create", c.post(Prefix+"roles", url.Values{"name": {"mine"}, "document": {trustDocument}}), "iam:CreateRole")
	if _, err := e.svc.GetRole(ctx, e.admin, "mine"); err == nil {
		t.Fatal("a denied user created a role")
	}

	r := e.person("rita", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetRole","iam:ListAttachedRolePolicies","iam:ListRolePolicies","iam:ListRoles"],"Resource":"*"}]}`)
	wantPage(t, "read-only role page", r.get(Prefix+"roles/app"), http.StatusOK, "arn:aws:iam::"+testAccount+":role/app", "ARN of the policy to attach")
	wantDenied(t, "read-only attach", r.post(Prefix+"roles/app/attach", url.Values{"arn": {testPolicyARN}}), "iam:AttachRolePolicy")
	wantDenied(t, "read-only put inline", r.post(Prefix+"roles/app/inline", url.Values{"policy": {"x"}, "document": {connectDoc}}), "iam:PutRolePolicy")
	wantDenied(t, "read-only trust", r.post(Prefix+"roles/app/trust", url.Values{"document": {trustDocument}}), "iam:UpdateAssumeRolePolicy")
	wantDenied(t, "read-only delete", r.post(Prefix+"roles/app/delete", nil), "iam:DeleteRole")
	att, err := e.svc.ListAttachedRolePolicies(ctx, e.admin, iam.ListAttachedPoliciesInput{Name: "app"})
	if err != nil || len(att.AttachedPolicies) != 0 {
		t.Fatalf("attached after denied attach = %+v, %v", att, err)
	}
	if in, err := e.svc.ListRolePolicies(ctx, e.admin, iam.ListNamedInput{Name: "app"}); err != nil || len(in.PolicyNames) != 0 {
		t.Fatalf("inline after denied put = %+v, %v", in, err)
	}
	if _, err := e.svc.GetRole(ctx, e.admin, "app"); err != nil {
		t.Fatalf("role after denied delete: %v", err)
	}
}
