package iam

import (
	"strings"
	"testing"
)

func TestBootstrapIdempotent(t *testing.T) {
	e := newEnv(t)
	if e.admin.ARN != "arn:aws:iam::"+acctA+":user/admin" || e.admin.Type != CallerUser || !strings.HasPrefix(e.admin.UserID, "AIDA") {
		t.Fatalf("admin caller = %+v", e.admin)
	}
	key, created, err := e.s.Bootstrap(e.ctx, BootstrapInput{AccountID: acctA, AdminUserName: "admin"})
	if err != nil || created || key.SecretAccessKey != "" || key.AccessKeyID != "" {
		t.Fatalf("second Bootstrap = %+v, %v, %v; want zero key, false, nil", key, created, err)
	}
	out, err := e.s.ListAttachedUserPolicies(e.ctx, e.admin, ListAttachedPoliciesInput{Name: "admin"})
	if err != nil || len(out.AttachedPolicies) != 1 || out.AttachedPolicies[0].PolicyARN != adminPolicyARN {
		t.Fatalf("ListAttachedUserPolicies = %+v, %v", out, err)
	}
	p, err := e.s.GetPolicy(e.ctx, e.admin, adminPolicyARN)
	if err != nil || p.AttachmentCount != 1 || p.PolicyName != "AdministratorAccess" {
		t.Fatalf("GetPolicy(admin) = %+v, %v", p, err)
	}
	if err := e.s.DeletePolicy(e.ctx, e.admin, adminPolicyARN); code(err) != CodeAccessDenied {
		t.Fatalf("DeletePolicy(AWS managed) = %v, want AccessDenied", err)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	u, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "bob", Path: "/eng/", Tags: []Tag{{"team", "db"}}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ARN != "arn:aws:iam::"+acctA+":user/eng/bob" || len(u.UserID) != 21 || !strings.HasPrefix(u.UserID, "AIDA") {
		t.Fatalf("CreateUser = %+v", u)
	}
	for _, r := range u.UserID[4:] {
		if !strings.ContainsRune(base32Alphabet, r) {
			t.Fatalf("user ID %q has %q", u.UserID, r)
		}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"duplicate", func() error { _, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "BOB"}); return err }(), CodeEntityAlreadyExists},
		{"bad name", func() error { _, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "b b"}); return err }(), CodeValidationError},
		{"long name", func() error {
			_, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: strings.Repeat("x", 65)})
			return err
		}(), CodeValidationError},
		{"bad path", func() error {
			_, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "c", Path: "eng"})
			return err
		}(), CodeValidationError},
		{"missing", func() error { _, err := e.s.GetUser(e.ctx, a, "nobody"); return err }(), CodeNoSuchEntity},
		{"delete missing", e.s.DeleteUser(e.ctx, a, "nobody"), CodeNoSuchEntity},
		{"bad boundary", func() error {
			_, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "d", PermissionsBoundary: "arn:aws:iam::" + acctA + ":policy/none"})
			return err
		}(), CodeNoSuchEntity},
		{"too many tags", func() error {
			var tags []Tag
			for i := range 51 {
				tags = append(tags, Tag{Key: "k" + strings.Repeat("x", i), Value: "v"})
			}
			_, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "e", Tags: tags})
			return err
		}(), CodeLimitExceeded},
		{"aws: tag", func() error {
			_, err := e.s.CreateUser(e.ctx, a, CreateUserInput{UserName: "e", Tags: []Tag{{"aws:x", "v"}}})
			return err
		}(), CodeInvalidInput},
	}
	for _, tt := range tests {
		if got := code(tt.err); got != tt.want {
			t.Errorf("%s: error %v, want %s", tt.name, tt.err, tt.want)
		}
	}
	_, err = e.s.GetUser(e.ctx, a, "nobody")
	if err.Error() != "iam: NoSuchEntity: The user with name nobody cannot be found." {
		t.Errorf("GetUser(nobody) = %q", err)
	}
	got, err := e.s.GetUser(e.ctx, a, "Bob")
	if err != nil || got.UserName != "bob" || got.Tags[0].Value != "db" {
		t.Fatalf("GetUser(Bob) = %+v, %v", got, err)
	}
	self, err := e.s.GetUser(e.ctx, a, "")
	if err != nil || self.UserName != "admin" {
		t.Fatalf("GetUser() = %+v, %v", self, err)
	}
	list, err := e.s.ListUsers(e.ctx, a, ListInput{})
	if err != nil || len(list.Users) != 2 {
		t.Fatalf("ListUsers = %+v, %v", list, err)
	}
	list, err = e.s.ListUsers(e.ctx, a, ListInput{PathPrefix: "/eng/"})
	if err != nil || len(list.Users) != 1 || list.Users[0].UserName != "bob" {
		t.Fatalf("ListUsers(/eng/) = %+v, %v", list, err)
	}
	p1, err := e.s.ListUsers(e.ctx, a, ListInput{MaxItems: 1})
	if err != nil || !p1.IsTruncated || len(p1.Users) != 1 {
		t.Fatalf("ListUsers(MaxItems 1) = %+v, %v", p1, err)
	}
	p2, err := e.s.ListUsers(e.ctx, a, ListInput{MaxItems: 1, Marker: p1.Marker})
	if err != nil || p2.IsTruncated || len(p2.Users) != 1 || p2.Users[0].UserName == p1.Users[0].UserName {
		t.Fatalf("ListUsers(page 2) = %+v, %v", p2, err)
	}

	// DeleteConflict as AWS: keys, inline policies, attached policies, groups.
	k, err := e.s.CreateAccessKey(e.ctx, a, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, a, "bob"); code(err) != CodeDeleteConflict || !strings.Contains(err.Error(), "access keys") {
		t.Fatalf("DeleteUser with key = %v", err)
	}
	if err := e.s.DeleteAccessKey(e.ctx, a, "bob", k.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutUserPolicy(e.ctx, a, "bob", "inl", allow("s3:*", "*")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, a, "bob"); code(err) != CodeDeleteConflict {
		t.Fatalf("DeleteUser with policy = %v", err)
	}
	if err := e.s.DeleteUserPolicy(e.ctx, a, "bob", "inl"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateGroup(e.ctx, a, CreateGroupInput{GroupName: "devs"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddUserToGroup(e.ctx, a, "devs", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, a, "bob"); code(err) != CodeDeleteConflict {
		t.Fatalf("DeleteUser in group = %v", err)
	}
	if err := e.s.RemoveUserFromGroup(e.ctx, a, "devs", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, a, "bob"); err != nil {
		t.Fatalf("DeleteUser = %v", err)
	}
	if _, err := e.s.GetUser(e.ctx, a, "bob"); code(err) != CodeNoSuchEntity {
		t.Fatalf("GetUser after delete = %v", err)
	}
}
