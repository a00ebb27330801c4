package iam

import (
	"strings"
	"testing"
)

// The escalation regression suite (issue 15): every known IAM privilege-escalation
// technique that applies to iamdb's API. For each, a principal holding exactly what AWS
// requires succeeds; lacking any one of those permissions it is refused; and every
// guardrail Deny variant holds — at the API and, with the same request, in
// SimulatePrincipalPolicy, which must give the same answer.

const (
	protectedTag = `{"StringEquals":{"aws:ResourceTag/protected":"true"}}`
	adminPolicy  = adminPolicyARN
)

// grant is one statement of the attacker's policy.
type grant struct{ action, resource string }

// guard is a Deny added to the attacker's policy that must stop the technique.
type guard struct {
	name      string
	action    string // the action denied
	condition string // JSON of the Condition block, "" for none
	// sim is the request the guard decides, for SimulatePrincipalPolicy: the resource
	// and the context entries of the request's own keys (the simulator finds the
	// resource's tags and boundary itself).
	simResource string
	simContext  []ContextEntry
}

// technique is one escalation path.
type technique struct {
	name string
	// setup prepares the account as its administrator (targets, tags, roles).
	setup func(e *env)
	// needs are the permissions AWS requires for the technique, over and above the
	// attacker's name (ARN patterns may use ${me}).
	needs []grant
	// attempt performs the technique as c and then uses what it gained; nil means the
	// escalation worked.
	attempt func(e *env, c *Caller) error
	guards  []guard
}

func stmtJSON(effect, action, resource, cond string) string {
	s := `{"Effect":"` + effect + `","Action":"` + action + `","Resource":"` + resource + `"`
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

func attackerPolicy(needs []grant, skip int, deny *guard) string {
	var stmts []string
	for i, g := range needs {
		if i != skip {
			stmts = append(stmts, stmtJSON("Allow", g.action, g.resource, ""))
		}
	}
	if deny != nil {
		stmts = append(stmts, stmtJSON("Deny", deny.action, "*", deny.condition))
	}
	if len(stmts) == 0 {
		stmts = append(stmts, stmtJSON("Allow", "iam:GetUser", "arn:aws:iam::"+acctA+":user/nobody", ""))
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

const me = "arn:aws:iam::" + acctA + ":user/mallory"

func arnA(res string) string { return "arn:aws:iam::" + acctA + ":" + res }

// gained checks that c (re-resolved, so that the change applies) can now do what only an
// administrator can.
func gained(e *env, akid, tok string) error {
	c := e.caller(akid, tok)
	return e.s.Authorize(e.ctx, c, "iam:CreateUser", arnA("user/anyone"), nil)
}

// gainedAfter is gained for c's own key once err, the outcome of c's attempt, is nil.
func gainedAfter(e *env, c *Caller, err error) error {
	if err != nil {
		return err
	}
	return gained(e, c.AccessKeyID, "")
}

func techniques() []technique {
	must := func(e *env, err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	createPolicy := func(e *env, name, doc string) {
		e.t.Helper()
		_, err := e.s.CreatePolicy(e.ctx, e.admin, CreatePolicyInput{PolicyName: name, PolicyDocument: doc})
		must(e, err)
	}
	adminTrust := trustARN(arnA("user/admin"))
	ec2Trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	accountTrust := trustARN("arn:aws:iam::" + acctA + ":root")
	allowAll := allow("*", "*")
	// Everything but changing one's own boundary, which the technique's needs grant.
	allButBoundaries := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:DeleteUserPermissionsBoundary","iam:PutUserPermissionsBoundary"],"Resource":"*"}]}`
	tagProtected := func(e *env, kind, name string) {
		t := []Tag{{Key: "protected", Value: "true"}}
		switch kind {
		case "user":
			must(e, e.s.TagUser(e.ctx, e.admin, name, t))
		case "role":
			must(e, e.s.TagRole(e.ctx, e.admin, name, t))
		case "policy":
			must(e, e.s.TagPolicy(e.ctx, e.admin, arnA("policy/"+name), t))
		}
	}
	return []technique{
		{
			name: "CreatePolicyVersion as default on a policy attached to oneself",
			setup: func(e *env) {
				createPolicy(e, "mine", allow("iam:GetUser", "*"))
				must(e, e.s.AttachUserPolicy(e.ctx, e.admin, "mallory", arnA("policy/mine")))
				tagProtected(e, "policy", "mine")
			},
			needs: []grant{{"iam:CreatePolicyVersion", arnA("policy/mine")}},
			attempt: func(e *env, c *Caller) error {
				_, err := e.s.CreatePolicyVersion(e.ctx, c, CreatePolicyVersionInput{PolicyARN: arnA("policy/mine"), PolicyDocument: allowAll, SetAsDefault: true})
				return gainedAfter(e, c, err)
			},
			guards: []guard{{name: "resource tag", action: "iam:*", condition: protectedTag, simResource: arnA("policy/mine")}},
		},
		{
			name: "SetDefaultPolicyVersion to a broader version",
			setup: func(e *env) {
				createPolicy(e, "mine", allow("iam:GetUser", "*"))
				_, err := e.s.CreatePolicyVersion(e.ctx, e.admin, CreatePolicyVersionInput{PolicyARN: arnA("policy/mine"), PolicyDocument: allowAll})
				must(e, err)
				must(e, e.s.AttachUserPolicy(e.ctx, e.admin, "mallory", arnA("policy/mine")))
				tagProtected(e, "policy", "mine")
			},
			needs: []grant{{"iam:SetDefaultPolicyVersion", arnA("policy/mine")}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.SetDefaultPolicyVersion(e.ctx, c, arnA("policy/mine"), "v2"))
			},
			guards: []guard{{name: "resource tag", action: "iam:SetDefaultPolicyVersion", condition: protectedTag, simResource: arnA("policy/mine")}},
		},
		{
			name: "CreateAccessKey for another, more powerful user",
			setup: func(e *env) {
				e.user(e.admin, "vip", allowAll)
				tagProtected(e, "user", "vip")
			},
			needs: []grant{{"iam:CreateAccessKey", arnA("user/vip")}},
			attempt: func(e *env, c *Caller) error {
				k, err := e.s.CreateAccessKey(e.ctx, c, "vip")
				if err != nil {
					return err
				}
				return gained(e, k.AccessKeyID, "")
			},
			guards: []guard{{name: "resource tag", action: "iam:*", condition: protectedTag, simResource: arnA("user/vip")}},
		},
		{
			name: "AttachUserPolicy AdministratorAccess to oneself",
			setup: func(e *env) {
				createPolicy(e, "boundary", allow("iam:Get*", "*"))
			},
			needs: []grant{{"iam:AttachUserPolicy", me}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.AttachUserPolicy(e.ctx, c, "mallory", adminPolicy))
			},
			guards: []guard{
				{name: "iam:PolicyARN", action: "iam:AttachUserPolicy", condition: `{"ArnEquals":{"iam:PolicyARN":"` + adminPolicy + `"}}`,
					simResource: me, simContext: []ContextEntry{{Key: "iam:PolicyARN", Type: "string", Values: []string{adminPolicy}}}},
				{name: "only users with the boundary", action: "iam:AttachUserPolicy", condition: `{"StringNotEquals":{"iam:PermissionsBoundary":"` + arnA("policy/boundary") + `"}}`,
					simResource: me},
			},
		},
		{
			name: "AttachGroupPolicy to one's own group",
			setup: func(e *env) {
				_, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "devs"})
				must(e, err)
				must(e, e.s.AddUserToGroup(e.ctx, e.admin, "devs", "mallory"))
			},
			needs: []grant{{"iam:AttachGroupPolicy", arnA("group/devs")}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.AttachGroupPolicy(e.ctx, c, "devs", adminPolicy))
			},
			guards: []guard{{name: "iam:PolicyARN", action: "iam:AttachGroupPolicy", condition: `{"ArnLike":{"iam:PolicyARN":"arn:aws:iam::aws:policy/*"}}`,
				simResource: arnA("group/devs"), simContext: []ContextEntry{{Key: "iam:PolicyARN", Type: "string", Values: []string{adminPolicy}}}}},
		},
		{
			name: "AttachRolePolicy to a role one can assume",
			setup: func(e *env) {
				e.role(e.admin, "ops", trustARN(me))
				tagProtected(e, "role", "ops")
			},
			needs: []grant{{"iam:AttachRolePolicy", arnA("role/ops")}},
			attempt: func(e *env, c *Caller) error {
				if err := e.s.AttachRolePolicy(e.ctx, c, "ops", adminPolicy); err != nil {
					return err
				}
				_, out := e.assume(c, AssumeRoleInput{RoleARN: arnA("role/ops"), RoleSessionName: "s1"})
				return gained(e, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
			},
			guards: []guard{
				{name: "iam:PolicyARN", action: "iam:AttachRolePolicy", condition: `{"StringEquals":{"iam:PolicyARN":"` + adminPolicy + `"}}`,
					simResource: arnA("role/ops"), simContext: []ContextEntry{{Key: "iam:PolicyARN", Type: "string", Values: []string{adminPolicy}}}},
				{name: "resource tag", action: "iam:AttachRolePolicy", condition: protectedTag, simResource: arnA("role/ops")},
			},
		},
		{
			name: "PutUserPolicy on oneself",
			setup: func(e *env) {
				createPolicy(e, "boundary", allow("iam:Get*", "*"))
				tagProtected(e, "user", "mallory")
			},
			needs: []grant{{"iam:PutUserPolicy", me}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.PutUserPolicy(e.ctx, c, "mallory", "more", allowAll))
			},
			guards: []guard{
				{name: "only users with the boundary", action: "iam:PutUserPolicy", condition: `{"StringNotEquals":{"iam:PermissionsBoundary":"` + arnA("policy/boundary") + `"}}`, simResource: me},
				{name: "resource tag", action: "iam:PutUserPolicy", condition: protectedTag, simResource: me},
			},
		},
		{
			name: "PutGroupPolicy on one's own group",
			setup: func(e *env) {
				_, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "devs"})
				must(e, err)
				must(e, e.s.AddUserToGroup(e.ctx, e.admin, "devs", "mallory"))
			},
			needs: []grant{{"iam:PutGroupPolicy", arnA("group/devs")}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.PutGroupPolicy(e.ctx, c, "devs", "more", allowAll))
			},
			guards: []guard{{name: "principal tag", action: "iam:Put*", condition: `{"StringNotEquals":{"aws:PrincipalTag/role":"admin"}}`, simResource: arnA("group/devs")}},
		},
		{
			name: "PutRolePolicy on a role one can assume",
			setup: func(e *env) {
				e.role(e.admin, "ops", trustARN(me))
				tagProtected(e, "role", "ops")
			},
			needs: []grant{{"iam:PutRolePolicy", arnA("role/ops")}},
			attempt: func(e *env, c *Caller) error {
				if err := e.s.PutRolePolicy(e.ctx, c, "ops", "more", allowAll); err != nil {
					return err
				}
				_, out := e.assume(c, AssumeRoleInput{RoleARN: arnA("role/ops"), RoleSessionName: "s1"})
				return gained(e, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
			},
			guards: []guard{{name: "resource tag", action: "iam:PutRolePolicy", condition: protectedTag, simResource: arnA("role/ops")}},
		},
		{
			name: "AddUserToGroup into the administrators' group",
			setup: func(e *env) {
				_, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "admins"})
				must(e, err)
				must(e, e.s.AttachGroupPolicy(e.ctx, e.admin, "admins", adminPolicy))
			},
			needs: []grant{{"iam:AddUserToGroup", arnA("group/admins")}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.AddUserToGroup(e.ctx, c, "admins", "mallory"))
			},
			guards: []guard{{name: "principal tag", action: "iam:AddUserToGroup", condition: `{"Null":{"aws:PrincipalTag/approved":"true"}}`, simResource: arnA("group/admins")}},
		},
		{
			name: "UpdateAssumeRolePolicy to trust oneself",
			setup: func(e *env) {
				e.role(e.admin, "admin-role", adminTrust, allowAll)
				tagProtected(e, "role", "admin-role")
			},
			needs: []grant{{"iam:UpdateAssumeRolePolicy", arnA("role/admin-role")}},
			attempt: func(e *env, c *Caller) error {
				if err := e.s.UpdateAssumeRolePolicy(e.ctx, c, "admin-role", trustARN(me)); err != nil {
					return err
				}
				out, err := e.s.AssumeRole(e.ctx, c, AssumeRoleInput{RoleARN: arnA("role/admin-role"), RoleSessionName: "s1"})
				if err != nil {
					return err
				}
				return gained(e, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
			},
			guards: []guard{{name: "resource tag", action: "iam:UpdateAssumeRolePolicy", condition: protectedTag, simResource: arnA("role/admin-role")}},
		},
		{
			name: "PassRole through an instance profile to IMDS",
			setup: func(e *env) {
				e.role(e.admin, "admin-role", ec2Trust, allowAll)
				tagProtected(e, "role", "admin-role")
				_, err := e.s.CreateInstanceProfile(e.ctx, e.admin, CreateInstanceProfileInput{InstanceProfileName: "web"})
				must(e, err)
			},
			needs: []grant{{"iam:AddRoleToInstanceProfile", arnA("instance-profile/web")}, {"iam:PassRole", arnA("role/admin-role")}},
			attempt: func(e *env, c *Caller) error {
				if err := e.s.AddRoleToInstanceProfile(e.ctx, c, "web", "admin-role"); err != nil {
					return err
				}
				role, err := e.s.InstanceProfileRole(e.ctx, arnA("instance-profile/web"))
				if err != nil {
					return err
				}
				out, err := e.s.AssumeRoleForWorkload(e.ctx, role, ServiceEC2, "i-0123", 0)
				if err != nil {
					return err
				}
				return gained(e, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
			},
			guards: []guard{
				{name: "iam:PassedToService", action: "iam:PassRole", condition: `{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}`,
					simResource: arnA("role/admin-role"), simContext: []ContextEntry{{Key: "iam:PassedToService", Type: "string", Values: []string{ServiceEC2}}}},
				{name: "resource tag", action: "iam:PassRole", condition: protectedTag, simResource: arnA("role/admin-role")},
			},
		},
		{
			name: "role chaining to a role the first one may assume",
			setup: func(e *env) {
				e.role(e.admin, "hop", accountTrust, allow("sts:AssumeRole", arnA("role/admin-role")))
				e.role(e.admin, "admin-role", accountTrust, allowAll)
				tagProtected(e, "role", "hop")
			},
			needs: []grant{{"sts:AssumeRole", arnA("role/hop")}},
			attempt: func(e *env, c *Caller) error {
				out, err := e.s.AssumeRole(e.ctx, c, AssumeRoleInput{RoleARN: arnA("role/hop"), RoleSessionName: "s1"})
				if err != nil {
					return err
				}
				hop := e.caller(out.Credentials.AccessKeyID, out.Credentials.SessionToken)
				out, err = e.s.AssumeRole(e.ctx, hop, AssumeRoleInput{RoleARN: arnA("role/admin-role"), RoleSessionName: "s2"})
				if err != nil {
					return err
				}
				return gained(e, out.Credentials.AccessKeyID, out.Credentials.SessionToken)
			},
			guards: []guard{
				{name: "resource tag", action: "sts:AssumeRole", condition: protectedTag, simResource: arnA("role/hop")},
				{name: "session name", action: "sts:AssumeRole", condition: `{"StringNotEquals":{"sts:RoleSessionName":"${aws:username}"}}`,
					simResource: arnA("role/hop"), simContext: []ContextEntry{{Key: "sts:RoleSessionName", Type: "string", Values: []string{"s1"}}}},
			},
		},
		{
			name:  "self-tagging into an ABAC rds-db:connect condition",
			needs: []grant{{"iam:TagUser", me}},
			attempt: func(e *env, c *Caller) error {
				if err := e.s.TagUser(e.ctx, c, "mallory", []Tag{{Key: "team", Value: "dba"}}); err != nil {
					return err
				}
				return abacConnect(e, c.AccessKeyID)
			},
			guards: []guard{
				{name: "aws:TagKeys", action: "iam:TagUser", condition: `{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}`,
					simResource: me, simContext: []ContextEntry{{Key: "aws:TagKeys", Type: "stringList", Values: []string{"team"}}}},
				{name: "aws:RequestTag", action: "iam:TagUser", condition: `{"StringEquals":{"aws:RequestTag/team":"dba"}}`,
					simResource: me, simContext: []ContextEntry{{Key: "aws:RequestTag/team", Type: "string", Values: []string{"dba"}}}},
			},
		},
		{
			name:  "a new user tagged into an ABAC condition at creation",
			needs: []grant{{"iam:CreateUser", arnA("user/sock")}, {"iam:TagUser", arnA("user/sock")}, {"iam:CreateAccessKey", arnA("user/sock")}},
			attempt: func(e *env, c *Caller) error {
				if _, err := e.s.CreateUser(e.ctx, c, CreateUserInput{UserName: "sock", Tags: []Tag{{Key: "team", Value: "dba"}}}); err != nil {
					return err
				}
				k, err := e.s.CreateAccessKey(e.ctx, c, "sock")
				if err != nil {
					return err
				}
				if err := e.s.AddUserToGroup(e.ctx, e.admin, "everyone", "sock"); err != nil {
					return err
				}
				return abacConnect(e, k.AccessKeyID)
			},
			guards: []guard{
				{name: "aws:TagKeys on TagUser", action: "iam:TagUser", condition: `{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}`,
					simResource: arnA("user/sock"), simContext: []ContextEntry{{Key: "aws:TagKeys", Type: "stringList", Values: []string{"team"}}}},
				{name: "aws:RequestTag on CreateUser", action: "iam:CreateUser", condition: `{"Null":{"aws:RequestTag/team":"false"}}`,
					simResource: arnA("user/sock"), simContext: []ContextEntry{{Key: "aws:RequestTag/team", Type: "string", Values: []string{"dba"}}}},
			},
		},
		{
			name: "DeleteUserPermissionsBoundary from oneself",
			setup: func(e *env) {
				createPolicy(e, "boundary", allow("iam:*PermissionsBoundary", "*"))
				must(e, e.s.PutUserPermissionsBoundary(e.ctx, e.admin, "mallory", arnA("policy/boundary")))
				must(e, e.s.PutUserPolicy(e.ctx, e.admin, "mallory", "wide", allButBoundaries))
			},
			needs: []grant{{"iam:DeleteUserPermissionsBoundary", me}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.DeleteUserPermissionsBoundary(e.ctx, c, "mallory"))
			},
			guards: []guard{{name: "keep the boundary", action: "iam:DeleteUserPermissionsBoundary",
				condition: `{"StringEquals":{"iam:PermissionsBoundary":"` + arnA("policy/boundary") + `"}}`, simResource: me}},
		},
		{
			name: "PutUserPermissionsBoundary to a broader boundary",
			setup: func(e *env) {
				createPolicy(e, "boundary", allow("iam:*PermissionsBoundary", "*"))
				must(e, e.s.PutUserPermissionsBoundary(e.ctx, e.admin, "mallory", arnA("policy/boundary")))
				must(e, e.s.PutUserPolicy(e.ctx, e.admin, "mallory", "wide", allButBoundaries))
			},
			needs: []grant{{"iam:PutUserPermissionsBoundary", me}},
			attempt: func(e *env, c *Caller) error {
				return gainedAfter(e, c, e.s.PutUserPermissionsBoundary(e.ctx, c, "mallory", adminPolicy))
			},
			guards: []guard{{name: "only the given boundary", action: "iam:PutUserPermissionsBoundary",
				condition:   `{"StringNotEquals":{"iam:PermissionsBoundary":"` + arnA("policy/boundary") + `"}}`,
				simResource: me, simContext: []ContextEntry{{Key: "iam:PermissionsBoundary", Type: "string", Values: []string{adminPolicy}}}}},
		},
	}
}

// abacConnect registers a database whose connect policy is conditioned on the principal
// tag team=dba (attached to everyone through the attacker's group) and asks whether c may
// connect.
func abacConnect(e *env, akid string) error {
	c := e.caller(akid, "")
	db, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "orders", Kind: KindInstance, Engine: "postgres",
		Endpoints: []string{"orders.local"}, Port: 5432, Region: "ap-northeast-1", Account: acctA, IAMAuth: true})
	if err != nil {
		return err
	}
	d, err := e.s.AuthorizeConnect(e.ctx, c, db, "dba", RequestInfo{SecureTransport: true})
	if err != nil {
		return err
	}
	if !d.Allowed() {
		return apiErr(CodeAccessDenied, "connect: %s", d.Reason)
	}
	return nil
}

// newEscalationEnv makes an account with the attacker mallory holding policy, and runs
// the technique's setup.
func newEscalationEnv(t *testing.T, tq technique, policy string) (*env, *Caller) {
	e := newEnv(t)
	// Everyone in the account may connect as "dba" when tagged team=dba (ABAC).
	if _, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "everyone"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutGroupPolicy(e.ctx, e.admin, "everyone", "abac", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"dba"}}}]}`); err != nil {
		t.Fatal(err)
	}
	c := e.user(e.admin, "mallory", policy)
	for _, u := range []string{"mallory"} {
		if err := e.s.AddUserToGroup(e.ctx, e.admin, "everyone", u); err != nil {
			t.Fatal(err)
		}
	}
	if tq.setup != nil {
		tq.setup(e)
	}
	return e, e.caller(c.AccessKeyID, "")
}

func TestEscalationSuite(t *testing.T) {
	for _, tq := range techniques() {
		t.Run(tq.name, func(t *testing.T) {
			t.Parallel()
			t.Run("exactly what AWS requires", func(t *testing.T) {
				e, c := newEscalationEnv(t, tq, attackerPolicy(tq.needs, -1, nil))
				for _, g := range tq.guards {
					if got := simulateGuard(t, e, tq, g); got != "allowed" {
						t.Errorf("SimulatePrincipalPolicy(%s) without the guard %s = %s, want allowed, as the API answers", g.action, g.name, got)
					}
				}
				if err := tq.attempt(e, c); err != nil {
					t.Fatalf("the technique failed with exactly the permissions AWS requires: %v", err)
				}
			})
			for i, g := range tq.needs {
				t.Run("without "+g.action, func(t *testing.T) {
					e, c := newEscalationEnv(t, tq, attackerPolicy(tq.needs, i, nil))
					if err := tq.attempt(e, c); code(err) != CodeAccessDenied {
						t.Fatalf("without %s on %s: %v, want AccessDenied", g.action, g.resource, err)
					}
				})
			}
			for _, g := range tq.guards {
				t.Run("guard "+g.name, func(t *testing.T) {
					e, c := newEscalationEnv(t, tq, attackerPolicy(tq.needs, -1, &g))
					// The simulator, asked about the decisive request, and the API agree.
					if got := simulateGuard(t, e, tq, g); got != "explicitDeny" {
						t.Errorf("SimulatePrincipalPolicy(%s on %s) with the guard = %s, want explicitDeny", g.action, g.simResource, got)
					}
					if err := tq.attempt(e, c); code(err) != CodeAccessDenied {
						t.Fatalf("with the guard %s: %v, want AccessDenied", g.name, err)
					}
				})
			}
		})
	}
}

// simulateGuard asks SimulatePrincipalPolicy about the request guard g decides, for the
// attacker: its action (a wildcard guard: the technique's first action) on its resource
// with the request's own keys.
func simulateGuard(t *testing.T, e *env, tq technique, g guard) string {
	t.Helper()
	action := g.action
	if strings.HasSuffix(action, "*") {
		action = tq.needs[0].action
	}
	out, err := e.s.SimulatePrincipalPolicy(e.ctx, e.admin, SimulatePrincipalPolicyInput{
		PolicySourceARN: me, ActionNames: []string{action},
		ResourceARNs: []string{g.simResource}, ContextEntries: g.simContext,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.EvaluationResults[0].EvalDecision
}

// Finding 2 of issue 15 as reported: a user allowed to edit one instance profile put an
// AdministratorAccess role that trusts only user/admin into it and read admin credentials
// from IMDS. Without iam:PassRole the profile refuses the role; with it, IMDS (EC2)
// still cannot assume a role whose trust policy does not name ec2.amazonaws.com.
func TestInstanceProfileEscalation(t *testing.T) {
	e := newEnv(t)
	e.role(e.admin, "admin-role", trustARN(arnA("user/admin")), allow("*", "*"))
	if _, err := e.s.CreateInstanceProfile(e.ctx, e.admin, CreateInstanceProfileInput{InstanceProfileName: "web"}); err != nil {
		t.Fatal(err)
	}
	editor := e.user(e.admin, "editor", allow("iam:AddRoleToInstanceProfile", arnA("instance-profile/web")))
	if err := e.s.AddRoleToInstanceProfile(e.ctx, editor, "web", "admin-role"); code(err) != CodeAccessDenied ||
		!strings.Contains(err.Error(), "iam:PassRole") {
		t.Fatalf("AddRoleToInstanceProfile without iam:PassRole = %v, want AccessDenied for iam:PassRole", err)
	}
	passer := e.user(e.admin, "passer", `{"Version":"2012-10-17","Statement":[`+
		stmtJSON("Allow", "iam:AddRoleToInstanceProfile", arnA("instance-profile/web"), "")+","+
		stmtJSON("Allow", "iam:PassRole", arnA("role/admin-role"), "")+`]}`)
	if err := e.s.AddRoleToInstanceProfile(e.ctx, passer, "web", "admin-role"); err != nil {
		t.Fatalf("AddRoleToInstanceProfile with iam:PassRole = %v", err)
	}
	role, err := e.s.InstanceProfileRole(e.ctx, arnA("instance-profile/web"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AssumeRoleForWorkload(e.ctx, role, ServiceEC2, "i-0123", 0); code(err) != CodeAccessDenied {
		t.Fatalf("AssumeRoleForWorkload(ec2) of a role trusting only user/admin = %v, want AccessDenied", err)
	}
	if _, err := e.s.AssumeRoleForWorkload(e.ctx, role, "", "i-0123", 0); err == nil {
		t.Fatal("AssumeRoleForWorkload without a service issued a session")
	}
}

// A Deny on an entity's ARN must hold however the caller spells the entity's name: IAM
// names are case-insensitive, ARNs in policies case-sensitive, so the resource ARN must be
// built from the stored name.
func TestEscalationNameCase(t *testing.T) {
	e := newEnv(t)
	e.user(e.admin, "Boss", "")
	if _, err := e.s.CreateInstanceProfile(e.ctx, e.admin, CreateInstanceProfileInput{InstanceProfileName: "Web"}); err != nil {
		t.Fatal(err)
	}
	guard := `{"Version":"2012-10-17","Statement":[` +
		stmtJSON("Allow", "*", "*", "") + "," +
		stmtJSON("Deny", "iam:*", arnA("instance-profile/Web"), "") + "," +
		stmtJSON("Deny", "iam:*", arnA("user/Boss"), "") + "," +
		stmtJSON("Deny", "iam:*", arnA("role/Admin"), "") + "," +
		stmtJSON("Deny", "sts:AssumeRole", arnA("role/Admin"), "") + `]}`
	c := e.user(e.admin, "mallory", guard)
	e.role(e.admin, "Admin", trustARN(me)) // after mallory: a trust policy names existing principals
	e.role(e.admin, "plain", trustARN(me))
	if err := e.s.AttachUserPolicy(e.ctx, c, "Boss", adminPolicy); code(err) != CodeAccessDenied {
		t.Fatalf("AttachUserPolicy(Boss) = %v, want AccessDenied", err)
	}
	if _, err := e.s.CreateAccessKey(e.ctx, c, "BOSS"); code(err) != CodeAccessDenied {
		t.Errorf("CreateAccessKey(BOSS) = %v, want AccessDenied (Deny on user/Boss)", err)
	}
	if err := e.s.AttachUserPolicy(e.ctx, c, "boss", adminPolicy); code(err) != CodeAccessDenied {
		t.Errorf("AttachUserPolicy(boss) = %v, want AccessDenied (Deny on user/Boss)", err)
	}
	if _, err := e.s.GetUser(e.ctx, c, "boss"); code(err) != CodeAccessDenied {
		t.Errorf("GetUser(boss) = %v, want AccessDenied (Deny on user/Boss)", err)
	}
	if err := e.s.DeleteUser(e.ctx, c, "BOSS"); code(err) != CodeAccessDenied {
		t.Errorf("DeleteUser(BOSS) = %v, want AccessDenied (Deny on user/Boss)", err)
	}
	if err := e.s.UpdateAssumeRolePolicy(e.ctx, c, "ADMIN", trustARN(me)); code(err) != CodeAccessDenied {
		t.Errorf("UpdateAssumeRolePolicy(ADMIN) = %v, want AccessDenied (Deny on role/Admin)", err)
	}
	if err := e.s.PutRolePolicy(e.ctx, c, "admin", "x", allow("*", "*")); code(err) != CodeAccessDenied {
		t.Errorf("PutRolePolicy(admin) = %v, want AccessDenied (Deny on role/Admin)", err)
	}
	if err := e.s.AddRoleToInstanceProfile(e.ctx, c, "web", "plain"); code(err) != CodeAccessDenied {
		t.Errorf("AddRoleToInstanceProfile(web) = %v, want AccessDenied (Deny on instance-profile/Web)", err)
	}
	if _, err := e.s.AssumeRole(e.ctx, c, AssumeRoleInput{RoleARN: arnA("role/ADMIN"), RoleSessionName: "s1"}); code(err) != CodeAccessDenied {
		t.Errorf("AssumeRole(role/ADMIN) = %v, want AccessDenied (Deny on role/Admin)", err)
	}
}

// The same bypass, end to end: a user allowed IAM except on the administrators' group
// joins it by spelling its name in another case, and becomes an administrator.
func TestEscalationGroupNameCase(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "Admins"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AttachGroupPolicy(e.ctx, e.admin, "Admins", adminPolicy); err != nil {
		t.Fatal(err)
	}
	c := e.user(e.admin, "mallory", `{"Version":"2012-10-17","Statement":[`+
		stmtJSON("Allow", "iam:AddUserToGroup", "*", "")+","+
		stmtJSON("Deny", "iam:*", arnA("group/Admins"), "")+`]}`)
	if err := e.s.AddUserToGroup(e.ctx, c, "Admins", "mallory"); code(err) != CodeAccessDenied {
		t.Fatalf("AddUserToGroup(Admins) = %v, want AccessDenied", err)
	}
	err := e.s.AddUserToGroup(e.ctx, c, "admins", "mallory")
	if err == nil {
		t.Errorf("AddUserToGroup(admins) succeeded despite the Deny on group/Admins; now admin: %v", gained(e, c.AccessKeyID, "") == nil)
	}
}

// AWS stores a trust policy's user or role ARN as that principal's unique ID, "to
// mitigate the risk of someone escalating their privileges by removing and recreating the
// role or user": a user recreated under a deleted user's name is not trusted.

// AWS stores a trust policy's user and role ARNs as the principals' unique IDs, "to mitigate
// the risk of someone escalating their privileges by removing and recreating the role or
// user", and refuses a trust policy naming a user or role that does not exist
// (MalformedPolicyDocument "Invalid principal in policy"). So whoever may create a user or
// role of a trusted name does not get the role.
func TestEscalationTrustBoundToIDs(t *testing.T) {
	e := newEnv(t)
	alice := e.user(e.admin, "alice", allow("sts:AssumeRole", "*"))
	hop := e.role(e.admin, "hop", trustARN(arnA("user/alice")), allow("sts:AssumeRole", "*"))
	// Trusted: alice herself (named in another case), and sessions of hop.
	e.role(e.admin, "ops", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",
		"Principal":{"AWS":["`+arnA("user/ALICE")+`","`+hop.ARN+`","arn:aws:iam::999988887777:user/elsewhere"]}}]}`, allow("*", "*"))
	if _, err := e.s.AssumeRole(e.ctx, alice, AssumeRoleInput{RoleARN: arnA("role/ops"), RoleSessionName: "s1"}); err != nil {
		t.Fatalf("alice, whom ops trusts: %v", err)
	}
	hopSession, _ := e.assume(alice, AssumeRoleInput{RoleARN: hop.ARN, RoleSessionName: "s2"})
	if _, err := e.s.AssumeRole(e.ctx, hopSession, AssumeRoleInput{RoleARN: arnA("role/ops"), RoleSessionName: "s3"}); err != nil {
		t.Fatalf("a session of hop, which ops trusts: %v", err)
	}

	// alice and hop leave; mallory may create users and roles of those names, and keys.
	for _, err := range []error{
		e.s.DeleteUserPolicy(e.ctx, e.admin, "alice", "p"), e.s.DeleteAccessKey(e.ctx, e.admin, "alice", alice.AccessKeyID),
		e.s.DeleteUser(e.ctx, e.admin, "alice"), e.s.DeleteRolePolicy(e.ctx, e.admin, "hop", "p0"), e.s.DeleteRole(e.ctx, e.admin, "hop"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	mallory := e.user(e.admin, "mallory", `{"Version":"2012-10-17","Statement":[`+
		stmtJSON("Allow", "iam:CreateUser", arnA("user/alice"), "")+","+
		stmtJSON("Allow", "iam:CreateAccessKey", arnA("user/alice"), "")+","+
		stmtJSON("Allow", "iam:CreateRole", arnA("role/hop"), "")+","+
		stmtJSON("Allow", "iam:PutRolePolicy", arnA("role/hop"), "")+","+
		stmtJSON("Allow", "sts:AssumeRole", arnA("role/hop"), "")+`]}`)
	if _, err := e.s.CreateUser(e.ctx, mallory, CreateUserInput{UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	k, err := e.s.CreateAccessKey(e.ctx, mallory, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AssumeRole(e.ctx, e.caller(k.AccessKeyID, ""), AssumeRoleInput{RoleARN: arnA("role/ops"), RoleSessionName: "s4"}); code(err) != CodeAccessDenied {
		t.Errorf("a new user/alice assumed ops, which trusted the deleted one: %v", err)
	}
	e.role(mallory, "hop", trustARN(me))
	if err := e.s.PutRolePolicy(e.ctx, mallory, "hop", "p", allow("sts:AssumeRole", "*")); err != nil {
		t.Fatal(err)
	}
	newHop, _ := e.assume(e.caller(mallory.AccessKeyID, ""), AssumeRoleInput{RoleARN: hop.ARN, RoleSessionName: "s5"})
	if _, err := e.s.AssumeRole(e.ctx, newHop, AssumeRoleInput{RoleARN: arnA("role/ops"), RoleSessionName: "s6"}); code(err) != CodeAccessDenied {
		t.Errorf("a session of a new role/hop assumed ops, which trusted the deleted one: %v", err)
	}

	// Naming a user or role that does not exist, or with another path, is refused.
	for _, principal := range []string{arnA("user/ghost"), arnA("role/ghost"), arnA("user/team/mallory")} {
		doc := trustARN(principal)
		want := `Invalid principal in policy: "AWS":"` + principal + `"`
		_, err := e.s.CreateRole(e.ctx, e.admin, CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: doc})
		if code(err) != CodeMalformedPolicyDocument || !strings.Contains(err.Error(), want) {
			t.Errorf("CreateRole trusting %s = %v, want MalformedPolicyDocument %q", principal, err, want)
		}
		err = e.s.UpdateAssumeRolePolicy(e.ctx, e.admin, "ops", doc)
		if code(err) != CodeMalformedPolicyDocument || !strings.Contains(err.Error(), want) {
			t.Errorf("UpdateAssumeRolePolicy trusting %s = %v, want MalformedPolicyDocument %q", principal, err, want)
		}
	}
}
