package iam

import (
	"context"
	"errors"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// loginDoc is a user's login profile (kind "login", key the user's entityKey): the console
// password's hash, when it was set, and the hashes of the previous ones the password
// policy's PasswordReusePrevention remembers.
type loginDoc struct {
	User          string         `json:"user"` // the user's name as spelt
	Created       time.Time      `json:"created"`
	Set           time.Time      `json:"set"` // when the current password was set
	ResetRequired bool           `json:"resetRequired,omitempty"`
	Used          time.Time      `json:"used,omitzero"` // the last console sign-in with it
	Hash          passwordHash   `json:"hash"`
	History       []passwordHash `json:"history,omitempty"` // previous passwords, newest first
}

// maxPasswordHistory is how many previous hashes a login profile keeps: the policy's
// largest PasswordReusePrevention, less the current password.
const maxPasswordHistory = maxReusePrevention - 1

// LoginProfile is a user's login profile, without its password.
type LoginProfile struct {
	UserName              string
	CreateDate            time.Time
	PasswordResetRequired bool
}

func noSuchLogin(user string) *Error {
	return noSuchEntity("Login Profile for User %s cannot be found.", user)
}

func loadPasswordPolicy(tx store.Tx, acct string) (*passwordPolicyDoc, error) {
	var d passwordPolicyDoc
	ok, err := getDoc(tx, kindPasswordPolicy, acct, &d)
	if err != nil || !ok {
		return nil, err
	}
	return &d, nil
}

// setPassword checks pw against the account's policy (and reuse against the profile's
// history) and stores its hash in l.
func (s *Service) setPassword(tx store.Tx, acct, user string, l *loginDoc, pw string, now time.Time) error {
	pol, err := loadPasswordPolicy(tx, acct)
	if err != nil {
		return err
	}
	var alias string
	var a accountDoc
	if ok, err := getDoc(tx, kindAccount, acct, &a); err != nil {
		return err
	} else if ok {
		alias = a.Alias
	}
	if err := pol.check(pw, acct, alias, user); err != nil {
		return err
	}
	if pol != nil && pol.ReusePrevention > 0 && l.Hash.Alg != "" {
		prev := append([]passwordHash{l.Hash}, l.History...)
		for i := 0; i < len(prev) && i < pol.ReusePrevention; i++ {
			if prev[i].matches(pw) {
				return passwordViolation("Password should not be one of your previous %d passwords", pol.ReusePrevention)
			}
		}
	}
	h, err := hashPassword(s.rand, pw)
	if err != nil {
		return err
	}
	if l.Hash.Alg != "" {
		l.History = append([]passwordHash{l.Hash}, l.History...)
		if len(l.History) > maxPasswordHistory {
			l.History = l.History[:maxPasswordHistory]
		}
	}
	l.Hash, l.Set = h, now
	return nil
}

// CreateLoginProfile gives a user (empty name: the caller) a console password, checked
// against the account's password policy (iam:CreateLoginProfile on the user).
func (s *Service) CreateLoginProfile(ctx context.Context, c *Caller, userName, password string, resetRequired bool) (LoginProfile, error) {
	if err := checkPasswordParam("password", password); err != nil {
		return LoginProfile{}, err
	}
	var out LoginProfile
	err := s.withUser(ctx, c, "iam:CreateLoginProfile", userName, true, func(tx store.Tx, d *userDoc) error {
		key := entityKey(c.Account, d.Name)
		if _, err := tx.Get(kindLogin, key); err == nil {
			return apiErr(CodeEntityAlreadyExists, "Login Profile for user %s already exists.", d.Name)
		}
		now := s.now().UTC().Truncate(time.Second)
		l := &loginDoc{User: d.Name, Created: now, ResetRequired: resetRequired}
		if err := s.setPassword(tx, c.Account, d.Name, l, password, now); err != nil {
			return err
		}
		out = LoginProfile{UserName: d.Name, CreateDate: now, PasswordResetRequired: resetRequired}
		return putDoc(tx, kindLogin, key, l)
	})
	return out, err
}

// GetLoginProfile returns a user's login profile (iam:GetLoginProfile on the user).
func (s *Service) GetLoginProfile(ctx context.Context, c *Caller, userName string) (LoginProfile, error) {
	var out LoginProfile
	err := s.withUser(ctx, c, "iam:GetLoginProfile", userName, false, func(tx store.Tx, d *userDoc) error {
		var l loginDoc
		ok, err := getDoc(tx, kindLogin, entityKey(c.Account, d.Name), &l)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchLogin(d.Name)
		}
		out = LoginProfile{UserName: d.Name, CreateDate: l.Created, PasswordResetRequired: l.ResetRequired}
		return nil
	})
	return out, err
}

// UpdateLoginProfileInput is UpdateLoginProfile's input; nil members are left as they are.
type UpdateLoginProfileInput struct {
	UserName              string
	Password              *string
	PasswordResetRequired *bool
}

// UpdateLoginProfile sets a user's password or its reset flag (iam:UpdateLoginProfile on
// the user). An administrator's new password is checked against the policy too.
func (s *Service) UpdateLoginProfile(ctx context.Context, c *Caller, in UpdateLoginProfileInput) error {
	if in.UserName == "" {
		return validation("1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null")
	}
	if in.Password != nil {
		if err := checkPasswordParam("password", *in.Password); err != nil {
			return err
		}
	}
	return s.withUser(ctx, c, "iam:UpdateLoginProfile", in.UserName, true, func(tx store.Tx, d *userDoc) error {
		key := entityKey(c.Account, d.Name)
		var l loginDoc
		ok, err := getDoc(tx, kindLogin, key, &l)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchLogin(d.Name)
		}
		if in.Password != nil {
			if err := s.setPassword(tx, c.Account, d.Name, &l, *in.Password, s.now().UTC().Truncate(time.Second)); err != nil {
				return err
			}
		}
		if in.PasswordResetRequired != nil {
			l.ResetRequired = *in.PasswordResetRequired
		}
		return putDoc(tx, kindLogin, key, &l)
	})
}

// DeleteLoginProfile removes a user's password (iam:DeleteLoginProfile on the user); it
// leaves the user's access keys alone.
func (s *Service) DeleteLoginProfile(ctx context.Context, c *Caller, userName string) error {
	return s.withUser(ctx, c, "iam:DeleteLoginProfile", userName, true, func(tx store.Tx, d *userDoc) error {
		if err := tx.Delete(kindLogin, entityKey(c.Account, d.Name)); err != nil {
			if isNotFound(err) {
				return noSuchLogin(d.Name)
			}
			return err
		}
		return nil
	})
}

// ChangePassword changes the calling IAM user's own password. It is allowed by
// iam:ChangePassword on the user, or to every IAM user when the account's password policy
// has AllowUsersToChangePassword (unless a policy of the user explicitly denies it). A wrong old password is AccessDenied; with HardExpiry,
// an expired password cannot be changed by its user.
func (s *Service) ChangePassword(ctx context.Context, c *Caller, oldPassword, newPassword string) error {
	if err := needCaller(c); err != nil {
		return err
	}
	if err := checkPasswordParam("oldPassword", oldPassword); err != nil {
		return err
	}
	if err := checkPasswordParam("newPassword", newPassword); err != nil {
		return err
	}
	if c.Type != CallerUser {
		return apiErr(CodeInvalidUserType, "Only IAM users can change their own password.")
	}
	return s.update(ctx, func(tx store.Tx) error {
		pol, err := loadPasswordPolicy(tx, c.Account)
		if err != nil {
			return err
		}
		d, ok, err := loadUser(tx, c.Account, c.name)
		if err != nil {
			return err
		}
		if err := s.authorizeGranted(ctx, c, "iam:ChangePassword", userARN(c.Account, pathOf(ok, d.Path), c.name), entityRequest(nil, d, ok), pol != nil && pol.AllowChange); err != nil {
			return err
		}
		if !ok {
			return noSuchUser(c.name)
		}
		key := entityKey(c.Account, d.Name)
		var l loginDoc
		if ok, err := getDoc(tx, kindLogin, key, &l); err != nil {
			return err
		} else if !ok {
			return noSuchLogin(d.Name)
		}
		now := s.now().UTC().Truncate(time.Second)
		if !l.Hash.matches(oldPassword) {
			return apiErr(CodeAccessDenied, "The old password is incorrect.")
		}
		if pol != nil && pol.HardExpiry && pol.expired(l.Set, now) {
			return apiErr(CodeAccessDenied, "Your password has expired; an administrator must reset it.")
		}
		if err := s.setPassword(tx, c.Account, d.Name, &l, newPassword, now); err != nil {
			return err
		}
		l.ResetRequired = false
		return putDoc(tx, kindLogin, key, &l)
	})
}

// PasswordCheck is the outcome of VerifyPassword.
type PasswordCheck struct {
	// OK: the user exists, has a login profile and the password is its password.
	OK bool
	// Expired: the password is older than the policy's MaxPasswordAge; ResetRequired: an
	// administrator asked for a new one. Either way console sign-in must ask for a new
	// password (or, with HardExpiry, refuse: HardExpiry).
	Expired, ResetRequired, HardExpiry bool
}

// VerifyPassword checks a user's console password, for console sign-in. It is an internal
// entry point: no AWS action, no authorization. An unknown user costs a hash like a known
// one, so that timing does not tell them apart.
func (s *Service) VerifyPassword(ctx context.Context, acct, userName, password string) (PasswordCheck, error) {
	var out PasswordCheck
	if checkPasswordParam("password", password) != nil || checkName("userName", userName, maxUserName) != nil {
		return out, nil
	}
	var l loginDoc
	var pol *passwordPolicyDoc
	ok := false
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if ok, err = getDoc(tx, kindLogin, entityKey(acct, userName), &l); err != nil {
			return err
		}
		pol, err = loadPasswordPolicy(tx, acct)
		return err
	})
	if err != nil {
		return out, err
	}
	if !ok {
		dummy := passwordHash{Alg: "argon2id", Time: argonTime, Memory: argonMemory, Threads: argonThreads, Salt: make([]byte, argonSaltLen), Hash: make([]byte, argonKeyLen)}
		dummy.matches(password)
		return out, nil
	}
	if !l.Hash.matches(password) {
		return out, nil
	}
	out.OK, out.ResetRequired = true, l.ResetRequired
	out.Expired = pol.expired(l.Set, s.now())
	out.HardExpiry = out.Expired && pol.HardExpiry
	return out, nil
}

// UpdateAccountPasswordPolicy replaces the account's password policy: omitted members take
// their defaults (iam:UpdateAccountPasswordPolicy on "*").
func (s *Service) UpdateAccountPasswordPolicy(ctx context.Context, c *Caller, in PasswordPolicy) error {
	if err := needCaller(c); err != nil {
		return err
	}
	d, err := policyDocOf(in)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "iam:UpdateAccountPasswordPolicy", "*", nil); err != nil {
		return err
	}
	return s.update(ctx, func(tx store.Tx) error { return putDoc(tx, kindPasswordPolicy, c.Account, d) })
}

// GetAccountPasswordPolicy returns the account's password policy: iam:GetAccountPasswordPolicy
// on "*", or any IAM user when the policy has AllowUsersToChangePassword.
func (s *Service) GetAccountPasswordPolicy(ctx context.Context, c *Caller) (PasswordPolicy, error) {
	if err := needCaller(c); err != nil {
		return PasswordPolicy{}, err
	}
	var out PasswordPolicy
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := loadPasswordPolicy(tx, c.Account)
		if err != nil {
			return err
		}
		if err := s.authorizeGranted(ctx, c, "iam:GetAccountPasswordPolicy", "*", nil, d != nil && d.AllowChange); err != nil {
			return err
		}
		if d == nil {
			return noSuchEntity("The Password Policy with domain name %s cannot be found.", c.Account)
		}
		out = d.out()
		return nil
	})
	return out, err
}

// DeleteAccountPasswordPolicy removes the account's password policy; AWS's default applies
// again (iam:DeleteAccountPasswordPolicy on "*").
func (s *Service) DeleteAccountPasswordPolicy(ctx context.Context, c *Caller) error {
	if err := needCaller(c); err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "iam:DeleteAccountPasswordPolicy", "*", nil); err != nil {
		return err
	}
	return s.update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(kindPasswordPolicy, c.Account); err != nil {
			if isNotFound(err) {
				return noSuchEntity("The account policy with name PasswordPolicy cannot be found.")
			}
			return err
		}
		return nil
	})
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
