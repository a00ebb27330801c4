package iam

import (
	"errors"
	"testing"
	"time"
)

func signInReason(err error) string {
	var se *SignInError
	if errors.As(err, &se) {
		return se.Reason
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// Console sign-in: one answer for every wrong account, user or password; an MFA device
// makes a code necessary (used once); a reset asks for a new password, changed through
// ChangePassword; the session is the user's, may call IAM without MFA and carries
// aws:MultiFactorAuthPresent as the sign-in had it.
func TestConsoleSignIn(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	if err := e.s.CreateAccount(e.ctx, "444455556666", "acme"); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iam:ListUsers","iam:ChangePassword"],"Resource":"*"},
		{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`
	e.user(a, "carol", doc)
	if _, err := e.s.CreateLoginProfile(e.ctx, a, "carol", "Carol-pass-1", false); err != nil {
		t.Fatal(err)
	}
	bob := e.bootstrap("444455556666", "bob")
	if _, err := e.s.CreateLoginProfile(e.ctx, bob, "bob", "Bob-pass-11", false); err != nil {
		t.Fatal(err)
	}

	for _, in := range []ConsoleSignInInput{
		{Account: acctA, UserName: "carol", Password: "wrong-pass"},
		{Account: acctA, UserName: "nobody", Password: "Carol-pass-1"},
		{Account: "999999999999", UserName: "carol", Password: "Carol-pass-1"},
		{Account: "acme", UserName: "carol", Password: "Carol-pass-1"},
		{Account: acctA, UserName: "admin", Password: "Carol-pass-1"}, // no login profile
	} {
		if _, err := e.s.ConsoleSignIn(e.ctx, in); signInReason(err) != SignInFailed {
			t.Errorf("ConsoleSignIn(%s/%s) = %v, want %s", in.Account, in.UserName, err, SignInFailed)
		}
	}
	if cs, err := e.s.ConsoleSignIn(e.ctx, ConsoleSignInInput{Account: "ACME", UserName: "bob", Password: "Bob-pass-11"}); err != nil || cs.Account != "444455556666" {
		t.Fatalf("sign-in by alias = %+v, %v", cs, err)
	}

	cs, err := e.s.ConsoleSignIn(e.ctx, ConsoleSignInInput{Account: acctA, UserName: "Carol", Password: "Carol-pass-1", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if cs.MFA || cs.UserName != "carol" || !cs.Expiration.Equal(e.clock.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("session %+v", cs)
	}
	if u, err := e.s.GetUser(e.ctx, a, "carol"); err != nil || !u.PasswordLastUsed.Equal(e.clock.Now().UTC().Truncate(time.Second)) {
		t.Errorf("GetUser after a sign-in: PasswordLastUsed %v, %v", u.PasswordLastUsed, err)
	}
	c := e.caller(cs.AccessKeyID, cs.SessionToken)
	if c.Type != CallerUser || c.ARN != "arn:aws:iam::"+acctA+":user/carol" || !c.Session.Console {
		t.Fatalf("caller %+v", c)
	}
	if err := e.s.Authorize(e.ctx, c, "iam:ListUsers", "*", nil); err != nil {
		t.Errorf("console session without MFA, iam:ListUsers: %v", err)
	}
	if err := e.s.Authorize(e.ctx, c, "iam:GetUser", "*", nil); code(err) != CodeAccessDenied {
		t.Errorf("console session without MFA, MFA-only action: %v", err)
	}
	if _, err := e.s.GetSessionToken(e.ctx, c, GetSessionTokenInput{}); code(err) != CodeAccessDenied {
		t.Errorf("GetSessionToken from a console session: %v", err)
	}

	serial, seed := enableMFA(t, e, a, "carol", "carol-mfa")
	e.clock.Advance(totpStep)
	now := totpCounter(e.clock.Now())
	in := ConsoleSignInInput{Account: acctA, UserName: "carol", Password: "Carol-pass-1"}
	if _, err := e.s.ConsoleSignIn(e.ctx, in); signInReason(err) != SignInMFARequired {
		t.Fatalf("no code: %v", err)
	}
	in.MFACode = totpCode(seed, now+7)
	if _, err := e.s.ConsoleSignIn(e.ctx, in); signInReason(err) != SignInMFAFailed {
		t.Fatalf("wrong code: %v", err)
	}
	in.MFACode = totpCode(seed, now)
	cs, err = e.s.ConsoleSignIn(e.ctx, in)
	if err != nil || !cs.MFA {
		t.Fatalf("with code: %+v, %v", cs, err)
	}
	if _, err := e.s.ConsoleSignIn(e.ctx, in); signInReason(err) != SignInMFAFailed {
		t.Fatalf("replayed code: %v", err)
	}
	c = e.caller(cs.AccessKeyID, cs.SessionToken)
	if err := e.s.Authorize(e.ctx, c, "iam:GetUser", "*", nil); err != nil {
		t.Errorf("MFA console session, MFA-only action: %v", err)
	}
	// A reset with MFA: the code asked with the new password is not used up by the first
	// step, which only asks for the new password.
	if err := e.s.UpdateLoginProfile(e.ctx, a, UpdateLoginProfileInput{UserName: "carol", PasswordResetRequired: new(true)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(totpStep)
	in = ConsoleSignInInput{Account: acctA, UserName: "carol", Password: "Carol-pass-1", MFACode: totpCode(seed, now+1)}
	if _, err := e.s.ConsoleSignIn(e.ctx, in); signInReason(err) != SignInNewPassword {
		t.Fatalf("reset with MFA, first step: %v", err)
	}
	in.NewPassword = "Carol-pass-9"
	if cs, err := e.s.ConsoleSignIn(e.ctx, in); err != nil || !cs.MFA {
		t.Fatalf("reset with MFA, new password: %+v %v", cs, err)
	}
	if err := e.s.UpdateLoginProfile(e.ctx, a, UpdateLoginProfileInput{UserName: "carol", Password: new("Carol-pass-1")}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeactivateMFADevice(e.ctx, a, "carol", serial); err != nil {
		t.Fatal(err)
	}

	if err := e.s.UpdateLoginProfile(e.ctx, a, UpdateLoginProfileInput{UserName: "carol", PasswordResetRequired: new(true)}); err != nil {
		t.Fatal(err)
	}
	in = ConsoleSignInInput{Account: acctA, UserName: "carol", Password: "Carol-pass-1"}
	if _, err := e.s.ConsoleSignIn(e.ctx, in); signInReason(err) != SignInNewPassword {
		t.Fatalf("reset required: %v", err)
	}
	in.NewPassword = "x"
	if _, err := e.s.ConsoleSignIn(e.ctx, in); signInReason(err) != SignInPasswordRejected {
		t.Fatalf("short new password: %v", err)
	}
	in.NewPassword = "Carol-pass-2"
	if _, err := e.s.ConsoleSignIn(e.ctx, in); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := e.s.ConsoleSignIn(e.ctx, ConsoleSignInInput{Account: acctA, UserName: "carol", Password: "Carol-pass-2"}); err != nil {
		t.Fatalf("sign-in with the new password: %v", err)
	}
	if _, err := e.s.ConsoleSignIn(e.ctx, ConsoleSignInInput{Account: acctA, UserName: "carol", Password: "Carol-pass-1"}); signInReason(err) != SignInFailed {
		t.Fatalf("sign-in with the old password: %v", err)
	}
}

// The password policy's AllowUsersToChangePassword grants iam:ChangePassword and
// iam:GetAccountPasswordPolicy to every user: a console session without MFA gets them as
// its user does (a GetSessionToken session without MFA still cannot call IAM).
func TestConsoleSessionGranted(t *testing.T) {
	e := newEnv(t)
	e.user(e.admin, "dora", "")
	if _, err := e.s.CreateLoginProfile(e.ctx, e.admin, "dora", "Dora-pass-1", false); err != nil {
		t.Fatal(err)
	}
	if err := e.s.UpdateAccountPasswordPolicy(e.ctx, e.admin, PasswordPolicy{AllowUsersToChangePassword: true}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.s.ConsoleSignIn(e.ctx, ConsoleSignInInput{Account: acctA, UserName: "dora", Password: "Dora-pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.caller(cs.AccessKeyID, cs.SessionToken)
	if _, err := e.s.GetAccountPasswordPolicy(e.ctx, c); err != nil {
		t.Errorf("console session, GetAccountPasswordPolicy granted by the policy: %v", err)
	}
	if err := e.s.ChangePassword(e.ctx, c, "Dora-pass-1", "Dora-pass-2"); err != nil {
		t.Errorf("console session, ChangePassword granted by the policy: %v", err)
	}
	k, err := e.s.CreateAccessKey(e.ctx, e.admin, "dora")
	if err != nil {
		t.Fatal(err)
	}
	cr, err := e.s.GetSessionToken(e.ctx, e.caller(k.AccessKeyID, ""), GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetAccountPasswordPolicy(e.ctx, e.caller(cr.AccessKeyID, cr.SessionToken)); code(err) != CodeInvalidClientTokenID {
		t.Errorf("GetSessionToken session without MFA, GetAccountPasswordPolicy: %v", err)
	}
}
