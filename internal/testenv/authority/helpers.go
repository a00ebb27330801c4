package authority

import (
	"context"
	"strconv"
	"testing"

	"github.com/iamdb/iamdb/internal/iam"
)

// User creates an IAM user with one access key, and the inline policies (named p0, p1,
// …) given, and returns the key.
func (a *Authority) User(t testing.TB, name string, policies ...string) iam.AccessKey {
	t.Helper()
	if _, err := a.IAM.CreateUser(context.Background(), a.Root(), iam.CreateUserInput{UserName: name}); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	for i, doc := range policies {
		a.PutUserPolicy(t, name, "p"+strconv.Itoa(i), doc)
	}
	return a.AccessKey(t, name)
}

// AccessKey creates an access key of user.
func (a *Authority) AccessKey(t testing.TB, user string) iam.AccessKey {
	t.Helper()
	k, err := a.IAM.CreateAccessKey(context.Background(), a.Root(), user)
	if err != nil {
		t.Fatalf("CreateAccessKey(%s): %v", user, err)
	}
	return k
}

// DeactivateKey makes user's access key inactive.
func (a *Authority) DeactivateKey(t testing.TB, user, accessKeyID string) {
	t.Helper()
	in := iam.UpdateAccessKeyInput{UserName: user, AccessKeyID: accessKeyID, Status: iam.StatusInactive}
	if err := a.IAM.UpdateAccessKey(context.Background(), a.Root(), in); err != nil {
		t.Fatalf("UpdateAccessKey(%s): %v", user, err)
	}
}

// PutUserPolicy sets user's inline policy name to doc.
func (a *Authority) PutUserPolicy(t testing.TB, user, name, doc string) {
	t.Helper()
	if err := a.IAM.PutUserPolicy(context.Background(), a.Root(), user, name, doc); err != nil {
		t.Fatalf("PutUserPolicy(%s, %s): %v", user, name, err)
	}
}

// Role creates a role with the trust policy and the inline policies (named p0, p1, …)
// given.
func (a *Authority) Role(t testing.TB, name, trust string, policies ...string) iam.Role {
	t.Helper()
	ctx := context.Background()
	r, err := a.IAM.CreateRole(ctx, a.Root(), iam.CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: trust})
	if err != nil {
		t.Fatalf("CreateRole(%s): %v", name, err)
	}
	for i, doc := range policies {
		if err := a.IAM.PutRolePolicy(ctx, a.Root(), name, "p"+strconv.Itoa(i), doc); err != nil {
			t.Fatalf("PutRolePolicy(%s): %v", name, err)
		}
	}
	return r
}

// AttachPolicy creates the managed policy name with doc, attaches it to the user
// (and to no one else) and returns its ARN.
func (a *Authority) AttachPolicy(t testing.TB, user, name, doc string) string {
	t.Helper()
	ctx := context.Background()
	p, err := a.IAM.CreatePolicy(ctx, a.Root(), iam.CreatePolicyInput{PolicyName: name, PolicyDocument: doc})
	if err != nil {
		t.Fatalf("CreatePolicy(%s): %v", name, err)
	}
	if err := a.IAM.AttachUserPolicy(ctx, a.Root(), user, p.ARN); err != nil {
		t.Fatalf("AttachUserPolicy(%s, %s): %v", user, name, err)
	}
	return p.ARN
}

// Caller resolves credentials to their caller, as the HTTP layer and the gateways do.
func (a *Authority) Caller(t testing.TB, accessKeyID, sessionToken string) *iam.Caller {
	t.Helper()
	k, err := a.IAM.LookupKey(context.Background(), accessKeyID, sessionToken)
	if err != nil {
		t.Fatalf("LookupKey(%s): %v", accessKeyID, err)
	}
	return k.Principal
}

// Session returns temporary credentials (GetSessionToken) of the user of the access key,
// valid for seconds from the clock's now.
func (a *Authority) Session(t testing.TB, accessKeyID string, seconds int) iam.Credentials {
	t.Helper()
	c := a.Caller(t, accessKeyID, "")
	s, err := a.IAM.GetSessionToken(context.Background(), c, iam.GetSessionTokenInput{DurationSeconds: seconds})
	if err != nil {
		t.Fatalf("GetSessionToken(%s): %v", accessKeyID, err)
	}
	return s
}
