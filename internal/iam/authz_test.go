package iam

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	narrow := e.user(e.admin, "bob", allow("iam:GetUser", "*"))
	denier := e.user(e.admin, "eve", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:*","Resource":"*"},
		{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}`)
	target := "arn:aws:iam::" + acctA + ":user/x"
	tests := []struct {
		name   string
		c      *Caller
		action string
		want   string // AccessDenied message, "" for allowed
	}{
		{"admin", e.admin, "iam:CreateUser", ""},
		{"narrow allowed", narrow, "iam:GetUser", ""},
		{"narrow denied", narrow, "iam:CreateUser", "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::111122223333:user/x because no identity-based policy allows the iam:CreateUser action"},
		{"explicit deny", denier, "iam:CreateUser", "User: arn:aws:iam::111122223333:user/eve is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::111122223333:user/x with an explicit deny in an identity-based policy"},
		{"root", e.s.Root(acctA), "iam:CreateUser", ""},
	}
	for _, tt := range tests {
		err := e.s.Authorize(e.ctx, tt.c, tt.action, target, nil)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Authorize = %v, want nil", tt.name, err)
		case tt.want != "":
			if e, ok := err.(*Error); !ok || e.Code != CodeAccessDenied || e.Message != tt.want {
				t.Errorf("%s: Authorize = %#v, want AccessDenied %q", tt.name, err, tt.want)
			}
		}
	}
	// The operation itself is authorized the same way.
	if _, err := e.s.CreateUser(e.ctx, narrow, CreateUserInput{UserName: "x"}); code(err) != CodeAccessDenied {
		t.Fatalf("CreateUser by narrow user = %v", err)
	}
	// An unauthorized caller learns nothing about existence.
	if err := e.s.DeleteUser(e.ctx, narrow, "nobody"); code(err) != CodeAccessDenied {
		t.Fatalf("DeleteUser(nobody) by narrow user = %v", err)
	}
}

func TestAuthorizeContext(t *testing.T) {
	e := newEnv(t)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::*:user/${aws:username}",
		"Condition":{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:PrincipalTag/team":"db","aws:RequestedRegion":"eu-west-1"}}}]}`
	if _, err := e.s.CreateUser(e.ctx, e.admin, CreateUserInput{UserName: "carol", Tags: []Tag{{"team", "db"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutUserPolicy(e.ctx, e.admin, "carol", "p", doc); err != nil {
		t.Fatal(err)
	}
	k, err := e.s.CreateAccessKey(e.ctx, e.admin, "carol")
	if err != nil {
		t.Fatal(err)
	}
	c := e.caller(k.AccessKeyID, "")
	self := "arn:aws:iam::" + acctA + ":user/carol"
	good := RequestInfo{SourceIP: netip.MustParseAddr("10.1.2.3"), SecureTransport: true, Region: "eu-west-1"}
	tests := []struct {
		name     string
		info     RequestInfo
		resource string
		ok       bool
	}{
		{"all conditions hold", good, self, true},
		{"other user", good, "arn:aws:iam::" + acctA + ":user/admin", false},
		{"plain http", RequestInfo{SourceIP: good.SourceIP, Region: good.Region}, self, false},
		{"other network", RequestInfo{SourceIP: netip.MustParseAddr("192.0.2.1"), SecureTransport: true, Region: good.Region}, self, false},
		{"other region", RequestInfo{SourceIP: good.SourceIP, SecureTransport: true, Region: "us-east-1"}, self, false},
	}
	for _, tt := range tests {
		err := e.s.Authorize(WithRequestInfo(e.ctx, tt.info), c, "iam:GetUser", tt.resource, nil)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Authorize = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	// extra adds keys.
	err = e.s.Authorize(e.ctx, e.admin, "iam:TagUser", self, &Request{RequestTags: []Tag{{Key: "x", Value: "y"}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBoundaryAndGroups(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	p, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "only-get", PolicyDocument: allow("iam:Get*", "*")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "b", PermissionsBoundary: p.ARN}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AttachUserPolicy(e.ctx, a, "b", adminPolicyARN); err != nil {
		t.Fatal(err)
	}
	k, _ := e.s.CreateAccessKey(e.ctx, a, "b")
	b := e.caller(k.AccessKeyID, "")
	if err := e.s.Authorize(e.ctx, b, "iam:GetRole", "*", nil); err != nil {
		t.Fatalf("within boundary: %v", err)
	}
	err = e.s.Authorize(e.ctx, b, "iam:CreateRole", "*", nil)
	if e, ok := err.(*Error); !ok || e.Message != "User: arn:aws:iam::111122223333:user/b is not authorized to perform: iam:CreateRole on resource: * because no permissions boundary allows the iam:CreateRole action" {
		t.Fatalf("outside boundary: %v", err)
	}
	// Group policies apply to members, and the snapshot follows membership changes.
	c := e.user(a, "c", "")
	if err := e.s.Authorize(e.ctx, c, "rds:DescribeDBClusters", "*", nil); code(err) != CodeAccessDenied {
		t.Fatalf("before group: %v", err)
	}
	if _, err := e.s.CreateGroup(e.ctx, a, CreateGroupInput{GroupName: "g"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutGroupPolicy(e.ctx, a, "g", "rds", allow("rds:Describe*", "*")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddUserToGroup(e.ctx, a, "g", "c"); err != nil {
		t.Fatal(err)
	}
	c = e.caller(c.AccessKeyID, "")
	if err := e.s.Authorize(e.ctx, c, "rds:DescribeDBClusters", "*", nil); err != nil {
		t.Fatalf("in group: %v", err)
	}
}

// rds-db:connect sees the request context AWS builds:
//   - IAM accepts a tag with an empty value, and AWS says a key whose value "resolves to a
//     null dataset, such as an empty string" makes ForAnyValue false (and Null "false" is
//     how a policy checks that "the context key exists and its value is not null"): the
//     golden cases in policy/testdata (cond_sets.json, cond_ifexists_null.json), end to end.
//   - aws:PrincipalIsAWSService: "The context key is set to false if the service uses the
//     credentials of an IAM principal ... This key is present in the request context for
//     all signed API requests that use AWS credentials." An auth token is such a request,
//     so a network-perimeter Deny written with plain Bool applies.
func TestAuthorizeConnectContext(t *testing.T) {
	e := newEnv(t)
	db := e.database()
	res := "arn:aws:rds-db:*:*:dbuser:" + db.ResourceID + "/app"
	for _, tt := range []struct {
		name, doc string
		tags      []Tag
		info      RequestInfo
		want      policy.Effect
	}{
		{"empty-tag", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"` + res + `",
			"Condition":{"ForAnyValue:StringNotEquals":{"aws:PrincipalTag/team":"contractors"},"Null":{"aws:PrincipalTag/team":"false"}}}]}`,
			[]Tag{{Key: "team", Value: ""}}, RequestInfo{SecureTransport: true}, policy.ImplicitDeny},
		{"perimeter", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"},
			{"Effect":"Deny","Action":"*","Resource":"*","Condition":{
			"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"},"Bool":{"aws:PrincipalIsAWSService":"false"}}}]}`,
			nil, RequestInfo{SecureTransport: true, SourceIP: netip.MustParseAddr("198.51.100.7")}, policy.ExplicitDeny},
	} {
		c := e.user(e.admin, tt.name, tt.doc)
		if tt.tags != nil {
			if err := e.s.TagUser(e.ctx, e.admin, tt.name, tt.tags); err != nil {
				t.Fatal(err)
			}
			c = e.caller(c.AccessKeyID, "")
		}
		d, err := e.s.AuthorizeConnect(e.ctx, c, db, "app", tt.info)
		if err != nil {
			t.Fatal(err)
		}
		if d.Effect != tt.want {
			t.Errorf("%s: AuthorizeConnect = %v (%s); AWS: %v", tt.name, d.Effect, d.Reason, tt.want)
		}
	}
}

// A managed policy that no longer compiles (a store written by another version) makes the
// users and roles attaching it, directly or through a group, deny everything, as an inline
// policy or a boundary that does not compile does: dropping it would drop its Denies.
func TestAuthorizeBrokenManagedPolicy(t *testing.T) {
	e := newEnv(t)
	deny := `{"Version":"2012-10-17","Statement":[` + stmtJSON("Deny", "iam:CreateUser", "*", "") + `]}`
	if _, err := e.s.CreatePolicy(e.ctx, e.admin, CreatePolicyInput{PolicyName: "guard", PolicyDocument: deny}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateGroup(e.ctx, e.admin, CreateGroupInput{GroupName: "guarded"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AttachGroupPolicy(e.ctx, e.admin, "guarded", arnA("policy/guard")); err != nil {
		t.Fatal(err)
	}
	direct := e.user(e.admin, "direct", allow("*", "*"))
	if err := e.s.AttachUserPolicy(e.ctx, e.admin, "direct", arnA("policy/guard")); err != nil {
		t.Fatal(err)
	}
	member := e.user(e.admin, "member", allow("*", "*"))
	if err := e.s.AddUserToGroup(e.ctx, e.admin, "guarded", "member"); err != nil {
		t.Fatal(err)
	}
	e.role(e.admin, "r", trustARN(arnA("user/direct")), allow("*", "*"))
	if err := e.s.AttachRolePolicy(e.ctx, e.admin, "r", arnA("policy/guard")); err != nil {
		t.Fatal(err)
	}
	_, out := e.assume(e.caller(direct.AccessKeyID, ""), AssumeRoleInput{RoleARN: arnA("role/r"), RoleSessionName: "s1"})
	err := e.raw.Update(e.ctx, func(tx store.Tx) error {
		var d policyDoc
		key := entityKey(acctA, "guard")
		if ok, err := getDoc(tx, kindPolicy, key, &d); err != nil || !ok {
			return fmt.Errorf("no policy guard (%v)", err)
		}
		d.version(d.Default).Document = `{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps"}]}`
		return putDoc(tx, kindPolicy, key, &d)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Caller{
		"user attaching it":      e.caller(direct.AccessKeyID, ""),
		"member of a group that": e.caller(member.AccessKeyID, ""),
		"session of a role that": e.caller(out.Credentials.AccessKeyID, out.Credentials.SessionToken),
	} {
		for _, action := range []string{"iam:CreateUser", "iam:GetUser"} {
			if err := e.s.Authorize(e.ctx, c, action, arnA("user/x"), nil); code(err) != CodeAccessDenied {
				t.Errorf("%s: %s = %v, want AccessDenied (a broken policy denies everything)", name, action, err)
			}
		}
	}
}
