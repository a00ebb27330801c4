package iam

import (
	"context"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
)

// Console sessions last DefaultConsoleSession unless the console asks for less; never
// more than maxUserSession, the longest a user's session may be.
const DefaultConsoleSession = 12 * time.Hour

// ConsoleSignInInput is what the console's sign-in form sends.
type ConsoleSignInInput struct {
	// Account is the 12-digit account ID or the account's alias.
	Account, UserName, Password string
	// MFACode is a code of one of the user's enabled MFA devices; needed when it has one.
	MFACode string
	// NewPassword replaces an expired password or one an administrator asked to reset.
	NewPassword string
	// Duration is the session's absolute lifetime: 0 for DefaultConsoleSession.
	Duration time.Duration
}

// ConsoleSession is a signed-in user's temporary credentials: a session of the user (like
// GetSessionToken's) marked as a console session, so that it may call IAM with or without
// MFA, as AWS console sessions do. MFA says the user gave an MFA code:
// aws:MultiFactorAuthPresent is true for everything the session does.
type ConsoleSession struct {
	Credentials
	Account, UserName, UserARN string
	MFA                        bool
}

// SignInError is why ConsoleSignIn refused; Reason is one of the SignIn constants and
// Message is for the person signing in.
type SignInError struct {
	Reason, Message string
}

func (e *SignInError) Error() string { return "iam: console sign-in: " + e.Message }

// Reasons of a SignInError.
const (
	// SignInFailed: unknown account or user, no login profile, wrong password: one answer
	// for all, as AWS gives.
	SignInFailed = "failed"
	// SignInMFARequired: the password is right and the user has an MFA device: ask for a code.
	SignInMFARequired = "mfa-required"
	// SignInMFAFailed: the code is not one of the user's devices' (or was used already).
	SignInMFAFailed = "mfa-failed"
	// SignInNewPassword: the password must be changed first: ask for NewPassword.
	SignInNewPassword = "new-password"
	// SignInPasswordRejected: the new password was refused (Message says why).
	SignInPasswordRejected = "password-rejected"
	// SignInExpired: the password expired and the policy says only an administrator may
	// reset it.
	SignInExpired = "expired"
)

func signInErr(reason, msg string) *SignInError { return &SignInError{Reason: reason, Message: msg} }

// ConsoleSignIn checks a console sign-in and issues the session. It is an internal entry
// point (no AWS action): the password is the user's login profile's, the MFA code one of
// the user's enabled devices' (used once), a password change goes through ChangePassword
// as the new session, with its authorization. Errors are *SignInError, or the store's.
func (s *Service) ConsoleSignIn(ctx context.Context, in ConsoleSignInInput) (ConsoleSession, error) {
	var out ConsoleSession
	acct := s.resolveAccount(in.Account)
	lookIn := acct
	if lookIn == "" {
		lookIn = "000000000000" // no such account: the same hash as for a real one, to no avail
	}
	check, err := s.VerifyPassword(ctx, lookIn, in.UserName, in.Password)
	if err != nil {
		return out, err
	}
	if acct == "" || !check.OK {
		return out, signInErr(SignInFailed, "Your authentication information is incorrect. Please try again.")
	}
	snap := s.snap.Load()
	u := snap.users.Get(entityKey(acct, in.UserName))
	if u == nil {
		return out, signInErr(SignInFailed, "Your authentication information is incorrect. Please try again.")
	}
	if check.HardExpiry {
		return out, signInErr(SignInExpired, "Your password has expired; an administrator must reset it.")
	}
	needNew := check.Expired || check.ResetRequired
	// Asked for a new password, the code is looked at but not used up: the form comes back
	// with it.
	mfa, err := s.checkConsoleMFA(ctx, acct, u.name, strings.TrimSpace(in.MFACode), !needNew || in.NewPassword != "")
	if err != nil {
		return out, err
	}
	if needNew && in.NewPassword == "" {
		return out, signInErr(SignInNewPassword, "You must change your password to continue.")
	}
	dur := in.Duration
	if dur <= 0 {
		dur = DefaultConsoleSession
	}
	dur = min(dur, maxUserSession*time.Second)
	now := s.now()
	var mfaAt int64
	if mfa {
		mfaAt = now.UnixNano()
	}
	akid, secret, err := newSessionKey(s.rand)
	if err != nil {
		return out, err
	}
	exp := now.Add(dur).Truncate(time.Second).UTC()
	tok, err := s.sealSession(&sessionPayload{K: akid, S: secret, A: acct, U: u.arn, UI: u.id, I: now.UnixNano(), E: exp.Unix(), M: mfaAt, CS: true})
	if err != nil {
		return out, err
	}
	out = ConsoleSession{
		Credentials: Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: tok, Expiration: exp},
		Account:     acct, UserName: u.name, UserARN: u.arn, MFA: mfa,
	}
	if err := s.notePasswordUse(ctx, acct, u.name, now); err != nil {
		return ConsoleSession{}, err
	}
	if needNew {
		key, err := s.LookupKey(ctx, akid, tok)
		if err != nil {
			return ConsoleSession{}, err
		}
		if err := s.ChangePassword(ctx, key.Principal, in.Password, in.NewPassword); err != nil {
			msg := err.Error()
			if e, ok := err.(*Error); ok {
				msg = e.Message
			}
			return ConsoleSession{}, signInErr(SignInPasswordRejected, msg)
		}
	}
	return out, nil
}

// resolveAccount returns the account ID named by an ID or an alias, "" if there is none.
func (s *Service) resolveAccount(idOrAlias string) string {
	accounts := s.snap.Load().accounts
	if arn.IsAccountID(idOrAlias) {
		if _, ok := accounts[idOrAlias]; ok {
			return idOrAlias
		}
		return ""
	}
	for id, a := range accounts {
		if a.Alias != "" && strings.EqualFold(a.Alias, idOrAlias) {
			return id
		}
	}
	return ""
}

// checkConsoleMFA reports whether the user gave a valid code of one of its enabled MFA
// devices; a user without devices signs in without (false, nil). With use, the step of the
// code is recorded, so that it cannot be used again; without, only its presence is checked.
func (s *Service) checkConsoleMFA(ctx context.Context, acct, user, code string, use bool) (bool, error) {
	var used bool
	err := s.update(ctx, func(tx store.Tx) error {
		devs, err := userDevices(tx, acct, user)
		if err != nil || len(devs) == 0 {
			return err
		}
		used = true
		if code == "" {
			return signInErr(SignInMFARequired, "Enter the code of your MFA device.")
		}
		if checkCode("tokenCode", code) != nil {
			return signInErr(SignInMFAFailed, "The MFA code is not valid.")
		}
		if !use {
			return nil
		}
		for _, d := range devs {
			if ok, _ := s.useCode(acct, d, code); ok {
				return putDoc(tx, kindMFA, mfaKey(acct, d.Name), d)
			}
		}
		return signInErr(SignInMFAFailed, "The MFA code is not valid, or was used already. Wait for the next code.")
	})
	return used, err
}

// SignInUser names the user a console sign-in was for, for its audit event.
type SignInUser struct {
	Account, UserName, UserID, ARN string
}

// UserForSignIn returns the user named by a sign-in form's account (ID or alias) and
// user name, from the snapshot; false if there is none.
func (s *Service) UserForSignIn(account, userName string) (SignInUser, bool) {
	acct := s.resolveAccount(account)
	if acct == "" || checkName("userName", userName, maxUserName) != nil {
		return SignInUser{}, false
	}
	u := s.snap.Load().users.Get(entityKey(acct, userName))
	if u == nil {
		return SignInUser{}, false
	}
	return SignInUser{Account: acct, UserName: u.name, UserID: u.id, ARN: u.arn}, true
}

// notePasswordUse records a sign-in with the user's password (GetUser's PasswordLastUsed,
// the credential report's password_last_used), to the second.
func (s *Service) notePasswordUse(ctx context.Context, acct, user string, now time.Time) error {
	return s.update(ctx, func(tx store.Tx) error {
		var l loginDoc
		key := entityKey(acct, user)
		if ok, err := getDoc(tx, kindLogin, key, &l); err != nil || !ok {
			return err
		}
		l.Used = now.UTC().Truncate(time.Second)
		return putDoc(tx, kindLogin, key, &l)
	})
}
