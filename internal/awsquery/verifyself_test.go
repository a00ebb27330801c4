package awsquery

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/token"
)

// TestVerifyDBAuthTokenSelf: a caller without rds-db:VerifyAuthToken may ask about a token
// signed with its own key (what connecting would tell it, with the reason), but not about
// anyone else's, nor learn which endpoints exist.
func TestVerifyDBAuthTokenSelf(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	ic := e.iamClient(e.admin)
	if _, err := e.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "selfdb", Kind: iam.KindInstance, Engine: "postgres",
		Endpoints: []string{"selfdb.example.com"}, Port: 5432, Region: testRegion, Account: testAccount, IAMAuth: true}); err != nil {
		t.Fatal(err)
	}
	_, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carol")})
	check(t, "CreateUser(carol)", err)
	k, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("carol")})
	check(t, "CreateAccessKey(carol)", err)
	carol := aws.Credentials{AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}
	build := func(c aws.Credentials, endpoint string) string {
		tok, err := token.Build(endpoint, testRegion, "app", token.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, time.Now())
		check(t, "token.Build", err)
		return tok
	}
	own := build(carol, "selfdb.example.com:5432")
	vr := verifyToken(t, e, carol, own, "app")
	if !vr.Valid || vr.Decision != "implicitDeny" || vr.PrincipalArn != "arn:aws:iam::123456789012:user/carol" {
		t.Errorf("VerifyDBAuthToken(own token) = %+v; want valid, implicitDeny", vr)
	}
	if vr := verifyToken(t, e, carol, own, "other"); vr.Valid || vr.Reason != "user-mismatch" {
		t.Errorf("VerifyDBAuthToken(own token, other user) = %+v; want user-mismatch", vr)
	}
	for name, tok := range map[string]string{
		"the admin's token":           build(e.admin, "selfdb.example.com:5432"),
		"own token, unknown endpoint": build(carol, "nowhere.example.com:5432"),
	} {
		r := e.raw(carol, "rds", formOf("Action", "VerifyDBAuthToken", "Version", versionRDS, "Token", tok, "DBUser", "app"))
		if r.status != 403 || r.Code != "AccessDenied" {
			t.Errorf("VerifyDBAuthToken(%s) = %d %s; want 403 AccessDenied", name, r.status, r.body)
		}
	}
}

func TestTokenAccessKeyID(t *testing.T) {
	for tok, want := range map[string]string{
		"h:5432/?Action=connect&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=x": "AKIAEXAMPLE",
		"h:5432?X-Amz-Credential=ASIAX/20260101/us-east-1/rds-db/aws4_request":                                            "ASIAX",
		"h:5432/?Action=connect":                              "",
		"h:5432/?NotX-Amz-Credential=AKIAEVIL%2Fx":            "",
		"h:5432/?X-Amz-Credential=AKIANOSLASH&Action=connect": "",
	} {
		if got := tokenAccessKeyID(tok); got != want {
			t.Errorf("tokenAccessKeyID(%q) = %q, want %q", tok, got, want)
		}
	}
}
