package iam

import (
	"strings"
	"testing"
	"time"
)

func TestAssumeRoleMatrix(t *testing.T) {
	e := newEnv(t)
	adminB := e.bootstrap(acctB, "adminb")
	a := e.admin
	userARN := "arn:aws:iam::" + acctA + ":user/alice"
	alice := e.user(a, "alice", "")                                 // no identity policy
	bob := e.user(a, "bob", allow("sts:AssumeRole", "*"))           // identity allow
	carolB := e.user(adminB, "carol", allow("sts:AssumeRole", "*")) // other account, allowed
	daveB := e.user(adminB, "dave", "")                             // other account, no allow
	byARN := e.role(a, "by-arn", trustARN(userARN))                 // trusts alice directly
	byAcct := e.role(a, "by-acct", trustARN(acctA))                 // trusts the account
	byRoot := e.role(a, "by-root", trustARN("arn:aws:iam::"+acctA+":root"))
	cross := e.role(a, "cross", trustARN("arn:aws:iam::"+acctB+":user/carol"))
	crossD := e.role(a, "cross-dave", trustARN("arn:aws:iam::"+acctB+":user/dave"))
	ext := e.role(a, "ext", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+acctA+`"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"secret-ext"}}}]}`)

	tests := []struct {
		name string
		c    *Caller
		in   AssumeRoleInput
		want string
	}{
		{"same account, trust names user", alice, AssumeRoleInput{RoleARN: byARN.ARN}, ""},
		{"same account, trust names account, no identity allow", alice, AssumeRoleInput{RoleARN: byAcct.ARN}, CodeAccessDenied},
		{"same account, trust names account, identity allow", bob, AssumeRoleInput{RoleARN: byAcct.ARN}, ""},
		{"same account, trust names root, identity allow", bob, AssumeRoleInput{RoleARN: byRoot.ARN}, ""},
		{"trust names someone else", bob, AssumeRoleInput{RoleARN: byARN.ARN}, CodeAccessDenied},
		{"cross account, both allow", carolB, AssumeRoleInput{RoleARN: cross.ARN}, ""},
		{"cross account, identity missing", daveB, AssumeRoleInput{RoleARN: crossD.ARN}, CodeAccessDenied},
		{"cross account, trust missing", carolB, AssumeRoleInput{RoleARN: byAcct.ARN}, CodeAccessDenied},
		{"external id ok", bob, AssumeRoleInput{RoleARN: ext.ARN, ExternalID: "secret-ext"}, ""},
		{"external id wrong", bob, AssumeRoleInput{RoleARN: ext.ARN, ExternalID: "nope-nope"}, CodeAccessDenied},
		{"external id missing", bob, AssumeRoleInput{RoleARN: ext.ARN}, CodeAccessDenied},
		{"missing role", bob, AssumeRoleInput{RoleARN: "arn:aws:iam::" + acctA + ":role/none"}, CodeAccessDenied},
		{"tags without TagSession", alice, AssumeRoleInput{RoleARN: byARN.ARN, Tags: []Tag{{"k", "v"}}}, CodeAccessDenied},
		{"source identity without SetSourceIdentity", alice, AssumeRoleInput{RoleARN: byARN.ARN, SourceIdentity: "alice@example.com"}, CodeAccessDenied},
		{"duration above role max", alice, AssumeRoleInput{RoleARN: byARN.ARN, DurationSeconds: 43201}, CodeValidationError},
		{"duration too short", alice, AssumeRoleInput{RoleARN: byARN.ARN, DurationSeconds: 899}, CodeValidationError},
		{"bad session name", alice, AssumeRoleInput{RoleARN: byARN.ARN, RoleSessionName: "a b"}, CodeValidationError},
		{"mfa", alice, AssumeRoleInput{RoleARN: byARN.ARN, SerialNumber: "arn:aws:iam::" + acctA + ":mfa/x", TokenCode: "123456"}, CodeValidationError},
		{"bad session policy", alice, AssumeRoleInput{RoleARN: byARN.ARN, Policy: `{"Statement":[]`}, CodeMalformedPolicyDocument},
	}
	for _, tt := range tests {
		if tt.in.RoleSessionName == "" {
			tt.in.RoleSessionName = "s1"
		}
		out, err := e.s.AssumeRole(e.ctx, tt.c, tt.in)
		if got := code(err); got != tt.want {
			t.Errorf("%s: AssumeRole = %v, want %q", tt.name, err, tt.want)
			continue
		}
		if err != nil {
			if tt.want == CodeAccessDenied && !strings.HasPrefix(err.(*Error).Message, "User: "+tt.c.ARN+" is not authorized to perform: sts:") {
				t.Errorf("%s: message %q", tt.name, err.(*Error).Message)
			}
			continue
		}
		cr := out.Credentials
		if !strings.HasPrefix(cr.AccessKeyID, "ASIA") || len(cr.AccessKeyID) != 20 || len(cr.SecretAccessKey) != 40 {
			t.Errorf("%s: credentials %q / %d-char secret", tt.name, cr.AccessKeyID, len(cr.SecretAccessKey))
		}
		if want := e.clock.Now().Add(time.Hour); !cr.Expiration.Equal(want) {
			t.Errorf("%s: expiration %v, want %v", tt.name, cr.Expiration, want)
		}
		roleName := tt.in.RoleARN[strings.LastIndexByte(tt.in.RoleARN, '/')+1:]
		if want := "arn:aws:sts::" + acctA + ":assumed-role/" + roleName + "/s1"; out.AssumedRoleUser.ARN != want {
			t.Errorf("%s: ARN %s, want %s", tt.name, out.AssumedRoleUser.ARN, want)
		}
		if !strings.HasPrefix(out.AssumedRoleUser.AssumedRoleID, "AROA") || !strings.HasSuffix(out.AssumedRoleUser.AssumedRoleID, ":s1") {
			t.Errorf("%s: AssumedRoleID %s", tt.name, out.AssumedRoleUser.AssumedRoleID)
		}
		c := e.caller(cr.AccessKeyID, cr.SessionToken)
		id, err := e.s.GetCallerIdentity(e.ctx, c)
		if err != nil || id.ARN != out.AssumedRoleUser.ARN || id.Account != acctA || id.UserID != out.AssumedRoleUser.AssumedRoleID {
			t.Errorf("%s: GetCallerIdentity = %+v, %v", tt.name, id, err)
		}
	}
}

func TestAssumeRoleTagsChainingSourceIdentity(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	alice := e.user(a, "alice", "")
	userARN := "arn:aws:iam::" + acctA + ":user/alice"
	// first trusts alice with tags and source identity; its sessions may assume second.
	first := e.role(a, "first", trustARN(userARN, "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"),
		allow("sts:AssumeRole", "*"))
	second := e.role(a, "second", trustARN(first.ARN, "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"),
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"db","aws:SourceIdentity":"alice"}}}]}`)
	noTags := e.role(a, "no-tags", trustARN(first.ARN))

	s1, out := e.assume(alice, AssumeRoleInput{
		RoleARN: first.ARN, RoleSessionName: "one", Tags: []Tag{{"team", "db"}, {"env", "dev"}},
		TransitiveTagKeys: []string{"team"}, SourceIdentity: "alice",
	})
	if out.SourceIdentity != "alice" || out.PackedPolicySize < 1 {
		t.Fatalf("AssumeRole output = %+v", out)
	}
	if s1.Tags["team"] != "db" || s1.Tags["env"] != "dev" || s1.Session.SourceIdentity != "alice" || s1.Session.Chained {
		t.Fatalf("session one = %+v / %+v", s1, s1.Session)
	}
	// Chaining: transitive tags and the source identity pass on; 1 hour cap.
	if _, err := e.s.AssumeRole(e.ctx, s1, AssumeRoleInput{RoleARN: second.ARN, RoleSessionName: "two", DurationSeconds: 3601}); code(err) != CodeValidationError ||
		err.(*Error).Message != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Fatalf("chained 3601s = %v", err)
	}
	s2, _ := e.assume(s1, AssumeRoleInput{RoleARN: second.ARN, RoleSessionName: "two"})
	if s2.Tags["team"] != "db" || s2.Tags["env"] != "" || s2.Session.SourceIdentity != "alice" || !s2.Session.Chained {
		t.Fatalf("session two = tags %v, session %+v", s2.Tags, s2.Session)
	}
	if err := e.s.Authorize(e.ctx, s2, "rds-db:connect", "arn:aws:rds-db:us-east-1:"+acctA+":dbuser:db-X/u", nil); err != nil {
		t.Fatalf("connect with transitive tag and source identity: %v", err)
	}
	// Transitive tags need sts:TagSession in the next role's trust policy.
	if _, err := e.s.AssumeRole(e.ctx, s1, AssumeRoleInput{RoleARN: noTags.ARN, RoleSessionName: "three"}); code(err) != CodeAccessDenied {
		t.Fatalf("transitive tags into a role without TagSession = %v", err)
	}
	// A transitive key must be one of the tags; overriding a transitive tag is refused.
	if _, err := e.s.AssumeRole(e.ctx, alice, AssumeRoleInput{RoleARN: first.ARN, RoleSessionName: "xx", TransitiveTagKeys: []string{"nope"}}); code(err) != CodeInvalidParameterValue {
		t.Fatalf("transitive key without tag = %v", err)
	}
	if _, err := e.s.AssumeRole(e.ctx, s1, AssumeRoleInput{RoleARN: second.ARN, RoleSessionName: "xx", Tags: []Tag{{"TEAM", "x"}}}); code(err) != CodeInvalidParameterValue {
		t.Fatalf("override transitive tag = %v", err)
	}
	// Session policies limit the session.
	s3, _ := e.assume(s1, AssumeRoleInput{RoleARN: second.ARN, RoleSessionName: "four", Policy: allow("rds-db:connect", "arn:aws:rds-db:*:*:dbuser:*/other")})
	err := e.s.Authorize(e.ctx, s3, "rds-db:connect", "arn:aws:rds-db:us-east-1:"+acctA+":dbuser:db-X/u", nil)
	if code(err) != CodeAccessDenied || !strings.Contains(err.Error(), "because no session policy allows") {
		t.Fatalf("outside session policy: %v", err)
	}
}

func TestGetSessionToken(t *testing.T) {
	e := newEnv(t)
	cr, err := e.s.GetSessionToken(e.ctx, e.admin, GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Now().Add(12 * time.Hour); !cr.Expiration.Equal(want) {
		t.Fatalf("expiration %v, want %v", cr.Expiration, want)
	}
	c := e.caller(cr.AccessKeyID, cr.SessionToken)
	if c.ARN != e.admin.ARN || c.Type != CallerUser || c.Session == nil {
		t.Fatalf("session caller = %+v", c)
	}
	if err := e.s.Authorize(e.ctx, c, "rds:DescribeDBInstances", "*", nil); err != nil {
		t.Fatalf("non-IAM action: %v", err)
	}
	if err := e.s.Authorize(e.ctx, c, "iam:ListUsers", "*", nil); code(err) != CodeInvalidClientTokenID {
		t.Fatalf("IAM with GetSessionToken credentials = %v", err)
	}
	if _, err := e.s.GetSessionToken(e.ctx, c, GetSessionTokenInput{}); code(err) != CodeAccessDenied {
		t.Fatalf("GetSessionToken with session credentials = %v", err)
	}
	for _, d := range []int{899, 129601} {
		if _, err := e.s.GetSessionToken(e.ctx, e.admin, GetSessionTokenInput{DurationSeconds: d}); code(err) != CodeValidationError {
			t.Errorf("GetSessionToken(%d) = %v", d, err)
		}
	}
}

func TestAssumeRoleForWorkload(t *testing.T) {
	e := newEnv(t)
	r := e.role(e.admin, "ec2-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, allow("rds-db:connect", "*"))
	if _, err := e.s.CreateInstanceProfile(e.ctx, e.admin, CreateInstanceProfileInput{InstanceProfileName: "ip"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddRoleToInstanceProfile(e.ctx, e.admin, "ip", "ec2-role"); err != nil {
		t.Fatal(err)
	}
	roleARN, err := e.s.InstanceProfileRole(e.ctx, "arn:aws:iam::"+acctA+":instance-profile/ip")
	if err != nil || roleARN != r.ARN {
		t.Fatalf("InstanceProfileRole = %q, %v", roleARN, err)
	}
	out, err := e.s.AssumeRoleForWorkload(e.ctx, r.ARN, ServiceEC2, "i-0123456789", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := e.caller(out.Credentials.AccessKeyID, out.Credentials.SessionToken)
	if c.ARN != "arn:aws:sts::"+acctA+":assumed-role/ec2-role/i-0123456789" {
		t.Fatalf("workload caller %s", c.ARN)
	}
	role, err := e.s.GetRole(e.ctx, e.admin, "ec2-role")
	if err != nil || role.RoleLastUsed.LastUsedDate.IsZero() {
		t.Fatalf("RoleLastUsed = %+v, %v", role.RoleLastUsed, err)
	}
}
