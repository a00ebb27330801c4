package iam

import (
	"strings"
	"testing"
)

func TestManagedPolicies(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"rds-db:connect\", \"Resource\": \"*\"}]\n}"
	p, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "connect", Path: "/db/", PolicyDocument: doc, Description: "d", Tags: []Tag{{"k", "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.ARN != "arn:aws:iam::"+acctA+":policy/db/connect" || p.DefaultVersionID != "v1" || !p.IsAttachable || p.AttachmentCount != 0 {
		t.Fatalf("CreatePolicy = %+v", p)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"duplicate", func() error {
			_, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "CONNECT", PolicyDocument: doc})
			return err
		}(), CodeEntityAlreadyExists},
		{"malformed", func() error {
			_, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "m", PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"x:y"}]}`})
			return err
		}(), CodeMalformedPolicyDocument},
		{"principal in identity policy", func() error {
			_, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "m", PolicyDocument: trustARN(acctA)})
			return err
		}(), CodeMalformedPolicyDocument},
		{"too large", func() error {
			big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 6200) + `"}]}`
			_, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "big", PolicyDocument: big})
			return err
		}(), CodeLimitExceeded},
		{"bad ARN", func() error { _, err := e.s.GetPolicy(e.ctx, a, "not-an-arn"); return err }(), CodeInvalidInput},
		{"missing", func() error { _, err := e.s.GetPolicy(e.ctx, a, "arn:aws:iam::"+acctA+":policy/none"); return err }(), CodeNoSuchEntity},
		{"wrong path", func() error { _, err := e.s.GetPolicy(e.ctx, a, "arn:aws:iam::"+acctA+":policy/connect"); return err }(), CodeNoSuchEntity},
		{"bad version id", func() error { _, err := e.s.GetPolicyVersion(e.ctx, a, p.ARN, "1"); return err }(), CodeValidationError},
		{"missing version", func() error { _, err := e.s.GetPolicyVersion(e.ctx, a, p.ARN, "v9"); return err }(), CodeNoSuchEntity},
		{"attach missing policy", e.s.AttachUserPolicy(e.ctx, a, "admin", "arn:aws:iam::"+acctA+":policy/none"), CodeNoSuchEntity},
		{"attach to missing user", e.s.AttachUserPolicy(e.ctx, a, "nobody", p.ARN), CodeNoSuchEntity},
		{"detach not attached", e.s.DetachUserPolicy(e.ctx, a, "admin", p.ARN), CodeNoSuchEntity},
	}
	for _, tt := range tests {
		if got := code(tt.err); got != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.want)
		}
	}
	// The document comes back as given.
	v, err := e.s.GetPolicyVersion(e.ctx, a, p.ARN, "v1")
	if err != nil || v.Document != doc || !v.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion = %+v, %v", v, err)
	}
	// Versions: up to 5, then LimitExceeded.
	for i := 2; i <= 5; i++ {
		v, err := e.s.CreatePolicyVersion(e.ctx, a, CreatePolicyVersionInput{PolicyARN: p.ARN, PolicyDocument: allow("rds:*", "*"), SetAsDefault: i == 3})
		if err != nil || v.VersionID != "v"+string(rune('0'+i)) {
			t.Fatalf("CreatePolicyVersion %d = %+v, %v", i, v, err)
		}
	}
	if _, err := e.s.CreatePolicyVersion(e.ctx, a, CreatePolicyVersionInput{PolicyARN: p.ARN, PolicyDocument: doc}); code(err) != CodeLimitExceeded {
		t.Fatalf("sixth version = %v", err)
	}
	got, _ := e.s.GetPolicy(e.ctx, a, p.ARN)
	if got.DefaultVersionID != "v3" {
		t.Fatalf("default = %s, want v3", got.DefaultVersionID)
	}
	vs, err := e.s.ListPolicyVersions(e.ctx, a, ListNamedInput{Name: p.ARN, MaxItems: 2})
	if err != nil || len(vs.Versions) != 2 || vs.Versions[0].VersionID != "v5" || !vs.IsTruncated {
		t.Fatalf("ListPolicyVersions = %+v, %v", vs, err)
	}
	vs, err = e.s.ListPolicyVersions(e.ctx, a, ListNamedInput{Name: p.ARN, Marker: vs.Marker})
	if err != nil || len(vs.Versions) != 3 || vs.Versions[0].VersionID != "v3" || !vs.Versions[0].IsDefaultVersion {
		t.Fatalf("ListPolicyVersions page 2 = %+v, %v", vs, err)
	}
	if err := e.s.DeletePolicyVersion(e.ctx, a, p.ARN, "v3"); code(err) != CodeDeleteConflict {
		t.Fatalf("delete default version = %v", err)
	}
	if err := e.s.SetDefaultPolicyVersion(e.ctx, a, p.ARN, "v1"); err != nil {
		t.Fatal(err)
	}

	// Attachments count, list and block deletion.
	bob := e.user(a, "bob", "")
	if err := e.s.AttachUserPolicy(e.ctx, a, "bob", p.ARN); err != nil {
		t.Fatal(err)
	}
	e.role(a, "r", trustARN(acctA))
	if err := e.s.AttachRolePolicy(e.ctx, a, "r", p.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateGroup(e.ctx, a, CreateGroupInput{GroupName: "g"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AttachGroupPolicy(e.ctx, a, "g", p.ARN); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Authorize(e.ctx, e.caller(bob.AccessKeyID, ""), "rds-db:connect", "*", nil); err != nil {
		t.Fatalf("attached policy (v1 default) does not apply: %v", err)
	}
	got, _ = e.s.GetPolicy(e.ctx, a, p.ARN)
	if got.AttachmentCount != 3 {
		t.Fatalf("AttachmentCount = %d", got.AttachmentCount)
	}
	ents, err := e.s.ListEntitiesForPolicy(e.ctx, a, ListEntitiesForPolicyInput{PolicyARN: p.ARN})
	if err != nil || len(ents.PolicyUsers) != 1 || len(ents.PolicyRoles) != 1 || len(ents.PolicyGroups) != 1 || ents.PolicyUsers[0].Name != "bob" {
		t.Fatalf("ListEntitiesForPolicy = %+v, %v", ents, err)
	}
	ents, err = e.s.ListEntitiesForPolicy(e.ctx, a, ListEntitiesForPolicyInput{PolicyARN: p.ARN, EntityFilter: EntityRole})
	if err != nil || len(ents.PolicyUsers) != 0 || len(ents.PolicyRoles) != 1 {
		t.Fatalf("ListEntitiesForPolicy(Role) = %+v, %v", ents, err)
	}
	lp, err := e.s.ListPolicies(e.ctx, a, ListPoliciesInput{Scope: ScopeLocal})
	if err != nil || len(lp.Policies) != 1 {
		t.Fatalf("ListPolicies(Local) = %+v, %v", lp, err)
	}
	lp, err = e.s.ListPolicies(e.ctx, a, ListPoliciesInput{Scope: ScopeAWS, OnlyAttached: true})
	if err != nil || len(lp.Policies) != 1 || lp.Policies[0].ARN != adminPolicyARN {
		t.Fatalf("ListPolicies(AWS, attached) = %+v, %v", lp, err)
	}
	if err := e.s.DeletePolicy(e.ctx, a, p.ARN); code(err) != CodeDeleteConflict {
		t.Fatalf("DeletePolicy attached = %v", err)
	}
	for _, f := range []func() error{
		func() error { return e.s.DetachUserPolicy(e.ctx, a, "bob", p.ARN) },
		func() error { return e.s.DetachRolePolicy(e.ctx, a, "r", p.ARN) },
		func() error { return e.s.DetachGroupPolicy(e.ctx, a, "g", p.ARN) },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.DeletePolicy(e.ctx, a, p.ARN); code(err) != CodeDeleteConflict || !strings.Contains(err.Error(), "more than one version") {
		t.Fatalf("DeletePolicy with versions = %v", err)
	}
	for _, v := range []string{"v2", "v3", "v4", "v5"} {
		if err := e.s.DeletePolicyVersion(e.ctx, a, p.ARN, v); err != nil {
			t.Fatalf("DeletePolicyVersion(%s) = %v", v, err)
		}
	}
	if err := e.s.DeletePolicy(e.ctx, a, p.ARN); err != nil {
		t.Fatalf("DeletePolicy = %v", err)
	}
	if err := e.s.Authorize(e.ctx, e.caller(bob.AccessKeyID, ""), "rds-db:connect", "*", nil); code(err) != CodeAccessDenied {
		t.Fatalf("after detach: %v", err)
	}
}

func TestInlinePolicies(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	e.role(a, "r", trustARN(acctA))
	doc := "{ \"Version\": \"2012-10-17\", \"Statement\": { \"Effect\": \"Allow\", \"Action\": \"rds-db:connect\", \"Resource\": \"*\" } }"
	if err := e.s.PutRolePolicy(e.ctx, a, "r", "connect", doc); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.GetRolePolicy(e.ctx, a, "r", "connect")
	if err != nil || got.PolicyDocument != doc || got.EntityName != "r" {
		t.Fatalf("GetRolePolicy = %+v, %v", got, err)
	}
	names, err := e.s.ListRolePolicies(e.ctx, a, ListNamedInput{Name: "r"})
	if err != nil || len(names.PolicyNames) != 1 {
		t.Fatalf("ListRolePolicies = %+v, %v", names, err)
	}
	if _, err := e.s.GetRolePolicy(e.ctx, a, "r", "nope"); code(err) != CodeNoSuchEntity || !strings.Contains(err.Error(), "The role policy with name nope cannot be found.") {
		t.Fatalf("GetRolePolicy(nope) = %v", err)
	}
	if err := e.s.PutRolePolicy(e.ctx, a, "r", "bad", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`); code(err) != CodeMalformedPolicyDocument {
		t.Fatalf("PutRolePolicy with Principal = %v", err)
	}
	// Users: 2048 characters for all inline policies together.
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 1200) + `"}]}`
	if err := e.s.PutUserPolicy(e.ctx, a, "admin", "one", big); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutUserPolicy(e.ctx, a, "admin", "two", big); code(err) != CodeLimitExceeded {
		t.Fatalf("second big inline policy = %v", err)
	}
	if err := e.s.PutUserPolicy(e.ctx, a, "admin", "one", big); err != nil {
		t.Fatalf("replacing an inline policy = %v", err)
	}
	if err := e.s.DeleteGroupPolicy(e.ctx, a, "nogroup", "x"); code(err) != CodeNoSuchEntity {
		t.Fatalf("DeleteGroupPolicy(missing group) = %v", err)
	}
}

func TestGroupsProfilesTags(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	g, err := e.s.CreateGroup(e.ctx, a, CreateGroupInput{GroupName: "devs", Path: "/t/"})
	if err != nil || !strings.HasPrefix(g.GroupID, "AGPA") || g.ARN != "arn:aws:iam::"+acctA+":group/t/devs" {
		t.Fatalf("CreateGroup = %+v, %v", g, err)
	}
	if _, err := e.s.CreateGroup(e.ctx, a, CreateGroupInput{GroupName: "Devs"}); code(err) != CodeEntityAlreadyExists {
		t.Fatalf("duplicate group = %v", err)
	}
	if err := e.s.AddUserToGroup(e.ctx, a, "devs", "nobody"); code(err) != CodeNoSuchEntity {
		t.Fatalf("AddUserToGroup(nobody) = %v", err)
	}
	if err := e.s.AddUserToGroup(e.ctx, a, "devs", "admin"); err != nil {
		t.Fatal(err)
	}
	gg, err := e.s.GetGroup(e.ctx, a, ListNamedInput{Name: "devs"})
	if err != nil || len(gg.Users) != 1 || gg.Users[0].UserName != "admin" {
		t.Fatalf("GetGroup = %+v, %v", gg, err)
	}
	gl, err := e.s.ListGroupsForUser(e.ctx, a, ListNamedInput{Name: "admin"})
	if err != nil || len(gl.Groups) != 1 {
		t.Fatalf("ListGroupsForUser = %+v, %v", gl, err)
	}
	if err := e.s.DeleteGroup(e.ctx, a, "devs"); code(err) != CodeDeleteConflict {
		t.Fatalf("DeleteGroup with member = %v", err)
	}
	if err := e.s.RemoveUserFromGroup(e.ctx, a, "devs", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteGroup(e.ctx, a, "devs"); err != nil {
		t.Fatal(err)
	}
	if l, err := e.s.ListGroups(e.ctx, a, ListInput{}); err != nil || len(l.Groups) != 0 {
		t.Fatalf("ListGroups = %+v, %v", l, err)
	}

	// Instance profiles.
	e.role(a, "r1", trustARN(acctA))
	e.role(a, "r2", trustARN(acctA))
	ip, err := e.s.CreateInstanceProfile(e.ctx, a, CreateInstanceProfileInput{InstanceProfileName: "ip"})
	if err != nil || !strings.HasPrefix(ip.InstanceProfileID, "AIPA") || ip.ARN != "arn:aws:iam::"+acctA+":instance-profile/ip" {
		t.Fatalf("CreateInstanceProfile = %+v, %v", ip, err)
	}
	if err := e.s.AddRoleToInstanceProfile(e.ctx, a, "ip", "r1"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddRoleToInstanceProfile(e.ctx, a, "ip", "r2"); code(err) != CodeLimitExceeded {
		t.Fatalf("second role = %v", err)
	}
	got, err := e.s.GetInstanceProfile(e.ctx, a, "ip")
	if err != nil || len(got.Roles) != 1 || got.Roles[0].RoleName != "r1" {
		t.Fatalf("GetInstanceProfile = %+v, %v", got, err)
	}
	fr, err := e.s.ListInstanceProfilesForRole(e.ctx, a, ListNamedInput{Name: "r1"})
	if err != nil || len(fr.InstanceProfiles) != 1 {
		t.Fatalf("ListInstanceProfilesForRole = %+v, %v", fr, err)
	}
	if err := e.s.DeleteRole(e.ctx, a, "r1"); code(err) != CodeDeleteConflict {
		t.Fatalf("DeleteRole in a profile = %v", err)
	}
	if err := e.s.DeleteInstanceProfile(e.ctx, a, "ip"); code(err) != CodeDeleteConflict {
		t.Fatalf("DeleteInstanceProfile with role = %v", err)
	}
	if err := e.s.RemoveRoleFromInstanceProfile(e.ctx, a, "ip", "r1"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteInstanceProfile(e.ctx, a, "ip"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetInstanceProfile(e.ctx, a, "ip"); code(err) != CodeNoSuchEntity {
		t.Fatalf("GetInstanceProfile after delete = %v", err)
	}

	// Tags; role tags become principal tags of sessions.
	if err := e.s.TagRole(e.ctx, a, "r2", []Tag{{"team", "db"}, {"env", "prod"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.TagRole(e.ctx, a, "r2", []Tag{{"TEAM", "ops"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.UntagRole(e.ctx, a, "r2", []string{"env"}); err != nil {
		t.Fatal(err)
	}
	tl, err := e.s.ListRoleTags(e.ctx, a, ListNamedInput{Name: "r2"})
	if err != nil || len(tl.Tags) != 1 || tl.Tags[0] != (Tag{"TEAM", "ops"}) {
		t.Fatalf("ListRoleTags = %+v, %v", tl, err)
	}
	if err := e.s.TagUser(e.ctx, a, "admin", []Tag{{"k", "v"}}); err != nil {
		t.Fatal(err)
	}
	if ul, err := e.s.ListUserTags(e.ctx, a, ListNamedInput{Name: "admin"}); err != nil || len(ul.Tags) != 1 {
		t.Fatalf("ListUserTags = %+v, %v", ul, err)
	}
	if err := e.s.UntagUser(e.ctx, a, "admin", []string{"k"}); err != nil {
		t.Fatal(err)
	}
	p, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "p", PolicyDocument: allow("s3:*", "*")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.TagPolicy(e.ctx, a, p.ARN, []Tag{{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if pl, err := e.s.ListPolicyTags(e.ctx, a, ListNamedInput{Name: p.ARN}); err != nil || len(pl.Tags) != 1 {
		t.Fatalf("ListPolicyTags = %+v, %v", pl, err)
	}
	if err := e.s.TagPolicy(e.ctx, a, adminPolicyARN, []Tag{{"a", "b"}}); code(err) != CodeAccessDenied {
		t.Fatalf("TagPolicy(AWS managed) = %v", err)
	}
	if err := e.s.UntagPolicy(e.ctx, a, p.ARN, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	e.role(a, "tagged", trustARN(e.admin.ARN), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"db"}}}]}`)
	if err := e.s.TagRole(e.ctx, a, "tagged", []Tag{{"team", "db"}}); err != nil {
		t.Fatal(err)
	}
	s, _ := e.assume(a, AssumeRoleInput{RoleARN: "arn:aws:iam::" + acctA + ":role/tagged", RoleSessionName: "t1"})
	if err := e.s.Authorize(e.ctx, s, "rds-db:connect", "*", nil); err != nil {
		t.Fatalf("role tag as principal tag: %v", err)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	r, err := e.s.CreateRole(e.ctx, a, CreateRoleInput{RoleName: "pgdemo-oltp-rw-role", Path: "/svc/", AssumeRolePolicyDocument: trustARN(acctA), Description: "d"})
	if err != nil || r.MaxSessionDuration != 3600 || r.ARN != "arn:aws:iam::"+acctA+":role/svc/pgdemo-oltp-rw-role" || !strings.HasPrefix(r.RoleID, "AROA") {
		t.Fatalf("CreateRole = %+v, %v", r, err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"duplicate", func() error {
			_, err := e.s.CreateRole(e.ctx, a, CreateRoleInput{RoleName: "PGDEMO-oltp-rw-role", AssumeRolePolicyDocument: trustARN(acctA)})
			return err
		}(), CodeEntityAlreadyExists},
		{"max session", func() error {
			_, err := e.s.CreateRole(e.ctx, a, CreateRoleInput{RoleName: "x", AssumeRolePolicyDocument: trustARN(acctA), MaxSessionDuration: 100})
			return err
		}(), CodeValidationError},
		{"trust without principal", func() error {
			_, err := e.s.CreateRole(e.ctx, a, CreateRoleInput{RoleName: "x", AssumeRolePolicyDocument: allow("sts:AssumeRole", "*")})
			return err
		}(), CodeMalformedPolicyDocument},
		{"missing", func() error { _, err := e.s.GetRole(e.ctx, a, "nope"); return err }(), CodeNoSuchEntity},
		{"update trust malformed", e.s.UpdateAssumeRolePolicy(e.ctx, a, "pgdemo-oltp-rw-role", "{}"), CodeMalformedPolicyDocument},
	}
	for _, tt := range tests {
		if got := code(tt.err); got != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.want)
		}
	}
	if err := e.s.UpdateAssumeRolePolicy(e.ctx, a, "pgdemo-oltp-rw-role", trustARN(a.ARN)); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.GetRole(e.ctx, a, "pgdemo-oltp-rw-role")
	if err != nil || got.AssumeRolePolicyDocument != trustARN(a.ARN) || !got.RoleLastUsed.LastUsedDate.IsZero() {
		t.Fatalf("GetRole = %+v, %v", got, err)
	}
	if l, err := e.s.ListRoles(e.ctx, a, ListInput{PathPrefix: "/svc/"}); err != nil || len(l.Roles) != 1 {
		t.Fatalf("ListRoles = %+v, %v", l, err)
	}
	if err := e.s.DeleteRole(e.ctx, a, "pgdemo-oltp-rw-role"); err != nil {
		t.Fatal(err)
	}
}

func TestOIDCProviders(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	p, err := e.s.CreateOpenIDConnectProvider(e.ctx, a, CreateOIDCProviderInput{URL: "https://Token.Actions.example.com/", ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil || p.ARN != "arn:aws:iam::"+acctA+":oidc-provider/token.actions.example.com" {
		t.Fatalf("CreateOpenIDConnectProvider = %+v, %v", p, err)
	}
	if _, err := e.s.CreateOpenIDConnectProvider(e.ctx, a, CreateOIDCProviderInput{URL: "https://token.actions.example.com"}); code(err) != CodeEntityAlreadyExists {
		t.Fatalf("duplicate = %v", err)
	}
	if _, err := e.s.CreateOpenIDConnectProvider(e.ctx, a, CreateOIDCProviderInput{URL: "http://insecure.example"}); code(err) != CodeValidationError {
		t.Fatalf("http URL = %v", err)
	}
	got, err := e.s.GetOpenIDConnectProvider(e.ctx, a, p.ARN)
	if err != nil || got.ClientIDList[0] != "sts.amazonaws.com" {
		t.Fatalf("GetOpenIDConnectProvider = %+v, %v", got, err)
	}
	l, err := e.s.ListOpenIDConnectProviders(e.ctx, a)
	if err != nil || len(l) != 1 || l[0] != p.ARN {
		t.Fatalf("ListOpenIDConnectProviders = %v, %v", l, err)
	}
	if err := e.s.DeleteOpenIDConnectProvider(e.ctx, a, p.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetOpenIDConnectProvider(e.ctx, a, p.ARN); code(err) != CodeNoSuchEntity {
		t.Fatalf("after delete = %v", err)
	}
}

func TestSimulate(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	e.user(a, "bob", `{"Version":"2012-10-17","Statement":[{"Sid":"Connect","Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:*:*:dbuser:*/bob"},
		{"Sid":"NoProd","Effect":"Deny","Action":"rds-db:connect","Resource":"arn:aws:rds-db:*:*:dbuser:db-PROD/*"}]}`)
	out, err := e.s.SimulatePrincipalPolicy(e.ctx, a, SimulatePrincipalPolicyInput{
		PolicySourceARN: "arn:aws:iam::" + acctA + ":user/bob",
		ActionNames:     []string{"rds-db:connect", "iam:CreateUser"},
		ResourceARNs:    []string{"arn:aws:rds-db:us-east-1:" + acctA + ":dbuser:db-X/bob", "arn:aws:rds-db:us-east-1:" + acctA + ":dbuser:db-PROD/bob"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"allowed", "explicitDeny", "implicitDeny", "implicitDeny"}
	if len(out.EvaluationResults) != 4 {
		t.Fatalf("results = %+v", out.EvaluationResults)
	}
	for i, r := range out.EvaluationResults {
		if r.EvalDecision != want[i] {
			t.Errorf("result %d (%s on %s) = %s, want %s", i, r.EvalActionName, r.EvalResourceName, r.EvalDecision, want[i])
		}
	}
	if m := out.EvaluationResults[0].MatchedStatements; len(m) != 1 || m[0].SourcePolicyID != "p" || m[0].SourcePolicyType != SourceUser || m[0].StatementID != "Connect" {
		t.Errorf("matched = %+v", m)
	}
	if m := out.EvaluationResults[1].MatchedStatements; len(m) != 1 || m[0].StatementID != "NoProd" {
		t.Errorf("matched deny = %+v", m)
	}
	cu, err := e.s.SimulateCustomPolicy(e.ctx, a, SimulateCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`},
		ActionNames:     []string{"s3:GetObject"},
		ContextEntries:  []ContextEntry{{Key: "aws:SourceIp", Type: "ip", Values: []string{"10.1.1.1"}}},
	})
	if err != nil || len(cu.EvaluationResults) != 1 || cu.EvaluationResults[0].EvalDecision != "allowed" || cu.EvaluationResults[0].MatchedStatements[0].SourcePolicyID != "PolicyInputList.1" {
		t.Fatalf("SimulateCustomPolicy = %+v, %v", cu, err)
	}
	if _, err := e.s.SimulateCustomPolicy(e.ctx, a, SimulateCustomPolicyInput{PolicyInputList: []string{"{"}, ActionNames: []string{"s3:GetObject"}}); code(err) != CodeMalformedPolicyDocument {
		t.Fatalf("malformed input = %v", err)
	}
	bob := e.caller(mustKeys(t, e, "bob"), "")
	if _, err := e.s.SimulatePrincipalPolicy(e.ctx, bob, SimulatePrincipalPolicyInput{PolicySourceARN: a.ARN, ActionNames: []string{"s3:GetObject"}}); code(err) != CodeAccessDenied {
		t.Fatalf("simulate by bob = %v", err)
	}
}

func mustKeys(t *testing.T, e *env, user string) string {
	l, err := e.s.ListAccessKeys(e.ctx, e.admin, ListNamedInput{Name: user})
	if err != nil || len(l.AccessKeys) == 0 {
		t.Fatalf("ListAccessKeys(%s) = %+v, %v", user, l, err)
	}
	return l.AccessKeys[0].AccessKeyID
}

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	k1, err := e.s.CreateAccessKey(e.ctx, a, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range k1.AccessKeyID[4:] {
		if !strings.ContainsRune(base32Alphabet, r) {
			t.Fatalf("key ID %s", k1.AccessKeyID)
		}
	}
	if len(k1.AccessKeyID) != 20 || !strings.HasPrefix(k1.AccessKeyID, "AKIA") || len(k1.SecretAccessKey) != 40 || k1.UserName != "admin" {
		t.Fatalf("CreateAccessKey = %+v", k1)
	}
	if _, err := e.s.CreateAccessKey(e.ctx, a, ""); code(err) != CodeLimitExceeded {
		t.Fatalf("third key = %v", err)
	}
	if err := e.s.UpdateAccessKey(e.ctx, a, UpdateAccessKeyInput{AccessKeyID: k1.AccessKeyID, Status: "Off"}); code(err) != CodeValidationError {
		t.Fatalf("bad status = %v", err)
	}
	if err := e.s.DeleteAccessKey(e.ctx, a, "", "AKIANOSUCHKEY0000000"); code(err) != CodeNoSuchEntity {
		t.Fatalf("delete missing key = %v", err)
	}
	lu, err := e.s.GetAccessKeyLastUsed(e.ctx, a, k1.AccessKeyID)
	if err != nil || !lu.LastUsedDate.IsZero() || lu.ServiceName != "N/A" {
		t.Fatalf("GetAccessKeyLastUsed(unused) = %+v, %v", lu, err)
	}
	// A role session must name the user.
	e.role(a, "r", trustARN(a.ARN), allow("iam:*", "*"))
	s, _ := e.assume(a, AssumeRoleInput{RoleARN: "arn:aws:iam::" + acctA + ":role/r", RoleSessionName: "s1"})
	if _, err := e.s.CreateAccessKey(e.ctx, s, ""); code(err) != CodeValidationError {
		t.Fatalf("CreateAccessKey() by a role session = %v", err)
	}
}
