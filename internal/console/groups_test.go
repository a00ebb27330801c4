package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/iam"
)

// An administrator creates a group, adds a member, attaches a policy, sees an inline one,
// is refused deletion while the group is in use, then empties and deletes it.
func TestGroupPages(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: "gina"}); err != nil {
		t.Fatal(err)
	}
	polARN := e.policy("read-s3", testPolicyDoc)
	c := e.signedIn("admin", adminPass)
	wantPage(t, "groups", c.get(Prefix+"groups"), http.StatusOK, "No groups you can see.", "Create a group")

	wantRedirect(t, "create group", c.post(Prefix+"groups", url.Values{"name": {"ops"}, "path": {"/teams/"}}), Prefix+"groups/ops")
	g, err := e.svc.GetGroup(ctx, e.admin, iam.ListNamedInput{Name: "ops"})
	if err != nil || g.Group.Path != "/teams/" {
		t.Fatalf("group ops: %+v, %v", g, err)
	}
	wantPage(t, "groups", c.get(Prefix+"groups"), http.StatusOK, "Group ops created.", "/console/groups/ops", "/teams/")
	p := c.get(Prefix + "groups/ops")
	wantPage(t, "ops", p, http.StatusOK, "Group ops", "arn:aws:iam::"+testAccount+":group/teams/ops", "No members.", "No managed policies attached.", "No inline policies.")
	wantHTML(t, "ops", p, "<option>gina</option>", "<option>admin</option>")

	wantRedirect(t, "add member", c.post(Prefix+"groups/ops/members", url.Values{"user": {"gina"}}), Prefix+"groups/ops")
	wantRedirect(t, "attach", c.post(Prefix+"groups/ops/policies", url.Values{"arn": {polARN}}), Prefix+"groups/ops")
	if err := e.svc.PutGroupPolicy(ctx, e.admin, "ops", "ops-inline", testPolicyDoc); err != nil {
		t.Fatal(err)
	}
	g, err = e.svc.GetGroup(ctx, e.admin, iam.ListNamedInput{Name: "ops"})
	if err != nil || len(g.Users) != 1 || g.Users[0].UserName != "gina" {
		t.Fatalf("ops members: %+v, %v", g, err)
	}
	at, err := e.svc.ListAttachedGroupPolicies(ctx, e.admin, iam.ListAttachedPoliciesInput{Name: "ops"})
	if err != nil || len(at.AttachedPolicies) != 1 || at.AttachedPolicies[0].PolicyARN != polARN {
		t.Fatalf("ops policies: %+v, %v", at, err)
	}
	p = c.get(Prefix + "groups/ops")
	wantPage(t, "ops in use", p, http.StatusOK, "/console/users/gina", "read-s3", polARN, "ops-inline", `"Action": "s3:GetObject"`)
	if strings.Contains(p.Body, "<option>gina</option>") {
		t.Error("the add form offers a member")
	}

	wantPage(t, "delete ops in use", c.post(Prefix+"groups/ops/delete", nil), http.StatusConflict, "DeleteConflict")
	if _, err := e.svc.GetGroup(ctx, e.admin, iam.ListNamedInput{Name: "ops"}); err != nil {
		t.Fatalf("ops after a refused delete: %v", err)
	}

	wantRedirect(t, "remove member", c.post(Prefix+"groups/ops/members/gina/remove", nil), Prefix+"groups/ops")
	wantRedirect(t, "detach", c.post(Prefix+"groups/ops/policies/detach", url.Values{"arn": {polARN}}), Prefix+"groups/ops")
	wantRedirect(t, "delete inline", c.post(Prefix+"groups/ops/inline/ops-inline/delete", nil), Prefix+"groups/ops")
	wantPage(t, "ops empty", c.get(Prefix+"groups/ops"), http.StatusOK, "No members.", "No managed policies attached.", "No inline policies.")
	wantRedirect(t, "delete ops", c.post(Prefix+"groups/ops/delete", nil), Prefix+"groups")
	if _, err := e.svc.GetGroup(ctx, e.admin, iam.ListNamedInput{Name: "ops"}); err == nil {
		t.Fatal("ops still exists")
	}
	wantPage(t, "groups after delete", c.get(Prefix+"groups"), http.StatusOK, "Group ops deleted.", "No groups you can see.")
	wantPage(t, "ops gone", c.get(Prefix+"groups/ops"), http.StatusNotFound, "NoSuchEntity")
}

// A user without group permissions gets AccessDenied, not data, and changes nothing.
func TestGroupAccessDenied(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.CreateGroup(ctx, e.admin, iam.CreateGroupInput{GroupName: "secret-team"}); err != nil {
		t.Fatal(err)
	}
	c := e.person("hank", "")
	wantDenied(t, "groups", c.get(Prefix+"groups"), "iam:ListGroups", "secret-team")
	wantDenied(t, "group", c.get(Prefix+"groups/secret-team"), "iam:GetGroup")
	wantDenied(t, "create", c.post(Prefix+"groups", url.Values{"name": {"mine"}}), "")
	wantDenied(t, "join", c.post(Prefix+"groups/secret-team/members", url.Values{"user": {"hank"}}), "")
	g, err := e.svc.GetGroup(ctx, e.admin, iam.ListNamedInput{Name: "secret-team"})
	if err != nil || len(g.Users) != 0 {
		t.Fatalf("secret-team: %+v, %v", g, err)
	}
	if _, err := e.svc.GetGroup(ctx, e.admin, iam.ListNamedInput{Name: "mine"}); err == nil {
		t.Fatal("a denied POST created a group")
	}
}
