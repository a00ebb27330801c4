package iam

import (
	"context"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

func noSuchUser(name string) *Error {
	return noSuchEntity("The user with name %s cannot be found.", name)
}

func loadUser(tx store.Tx, acct, name string) (*userDoc, bool, error) {
	var d userDoc
	ok, err := getDoc(tx, kindUser, entityKey(acct, name), &d)
	return &d, ok, err
}

func (d *userDoc) user(acct string) User {
	u := User{UserName: d.Name, UserID: d.ID, ARN: userARN(acct, d.Path, d.Name), Path: d.Path, CreateDate: d.Created, Tags: d.Tags}
	if d.Boundary != "" {
		u.PermissionsBoundary = &PermissionsBoundary{Type: "PermissionsBoundaryPolicy", ARN: d.Boundary}
	}
	return u
}

// pathOf returns the path of an entity that may not exist, for its ARN in authorization.
func pathOf(ok bool, path string) string {
	if ok {
		return path
	}
	return "/"
}

// nameOf is the name to authorize a request for an entity by: the stored one if the entity
// exists, else the one requested. Names are case-insensitive in IAM but ARNs in policies
// are matched case-sensitively, so a Deny naming user/Boss must hold for a request that
// says "boss".
func nameOf(ok bool, stored, requested string) string {
	if ok {
		return stored
	}
	return requested
}

// userName resolves an optional user name: empty means the calling IAM user.
func userName(c *Caller, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if c.Type != CallerUser {
		return "", validation("Must specify userName when calling with non-User credentials")
	}
	return c.name, nil
}

// CreateUser creates an IAM user (iam:CreateUser on the new user's ARN).
func (s *Service) CreateUser(ctx context.Context, c *Caller, in CreateUserInput) (User, error) {
	path, err := checkCreate(c, "userName", in.UserName, maxUserName, in.Path)
	if err != nil {
		return User{}, err
	}
	in.Path = path
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return User{}, err
	}
	req := &Request{RequestTags: tags, PermissionsBoundary: in.PermissionsBoundary}
	if err := s.authorizeCreate(ctx, c, "iam:CreateUser", "iam:TagUser", userARN(c.Account, path, in.UserName), req); err != nil {
		return User{}, err
	}
	var out User
	err = s.update(ctx, func(tx store.Tx) error {
		d, err := s.createUserTx(tx, c.Account, in, s.now().UTC())
		if err != nil {
			return err
		}
		out = d.user(c.Account)
		return nil
	})
	return out, err
}

func (s *Service) createUserTx(tx store.Tx, acct string, in CreateUserInput, now time.Time) (*userDoc, error) {
	path, err := checkPath("path", in.Path)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	if _, ok, err := loadUser(tx, acct, in.UserName); err != nil {
		return nil, err
	} else if ok {
		return nil, apiErr(CodeEntityAlreadyExists, "User with name %s already exists.", in.UserName)
	}
	d := &userDoc{Name: in.UserName, Path: path, Created: now, Tags: tags}
	if in.PermissionsBoundary != "" {
		if err := setBoundaryTx(tx, acct, kindUser, in.UserName, &d.Boundary, in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	if d.ID, err = s.createID(tx, "AIDA", kindUser, acct, in.UserName); err != nil {
		return nil, err
	}
	return d, putDoc(tx, kindUser, entityKey(acct, d.Name), d)
}

// GetUser returns a user; an empty name means the calling user (iam:GetUser on it, as in
// AWS).
func (s *Service) GetUser(ctx context.Context, c *Caller, name string) (User, error) {
	if err := needCaller(c); err != nil {
		return User{}, err
	}
	name, err := userName(c, name)
	if err != nil {
		return User{}, err
	}
	if err := checkName("userName", name, maxUserName); err != nil {
		return User{}, err
	}
	var out User
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, ok, err := loadUser(tx, c.Account, name)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, c, "iam:GetUser", userARN(c.Account, pathOf(ok, d.Path), nameOf(ok, d.Name, name)), entityRequest(nil, d, ok)); err != nil {
			return err
		}
		if !ok {
			return noSuchUser(name)
		}
		out = d.user(c.Account)
		var l loginDoc
		if ok, err := getDoc(tx, kindLogin, entityKey(c.Account, d.Name), &l); err != nil {
			return err
		} else if ok {
			out.PasswordLastUsed = l.Used
		}
		return nil
	})
	return out, err
}

// ListUsers lists the account's users under a path prefix, by name.
func (s *Service) ListUsers(ctx context.Context, c *Caller, in ListInput) (ListUsersOutput, error) {
	var out ListUsersOutput
	var err error
	out.Users, out.IsTruncated, out.Marker, err = listByPath(ctx, s, c, in, &pathList[userDoc, User]{
		action: "iam:ListUsers", kind: kindUser, arn: userARN,
		path: func(d *userDoc) string { return d.Path },
		conv: func(_ store.Tx, acct string, d *userDoc) (User, error) { return d.user(acct), nil },
		key:  func(u *User) string { return strings.ToLower(u.UserName) },
	})
	return out, err
}

// DeleteUser deletes a user that has no access keys, policies or group memberships
// (DeleteConflict otherwise, as AWS).
func (s *Service) DeleteUser(ctx context.Context, c *Caller, name string) error {
	if err := needCaller(c); err != nil {
		return err
	}
	if err := checkName("userName", name, maxUserName); err != nil {
		return err
	}
	return s.update(ctx, func(tx store.Tx) error {
		d, ok, err := loadUser(tx, c.Account, name)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, c, "iam:DeleteUser", userARN(c.Account, pathOf(ok, d.Path), nameOf(ok, d.Name, name)), entityRequest(nil, d, ok)); err != nil {
			return err
		}
		switch {
		case !ok:
			return noSuchUser(name)
		case len(d.Keys) > 0:
			return deleteConflict("Cannot delete entity, must delete access keys first.")
		}
		if err := d.policyConflict(); err != nil {
			return err
		}
		if len(d.Groups) > 0 {
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		}
		if _, err := tx.Get(kindLogin, entityKey(c.Account, d.Name)); err == nil {
			return deleteConflict("Cannot delete entity, must delete login profile first.")
		} else if !isNotFound(err) {
			return err
		}
		if ds, err := userDevices(tx, c.Account, d.Name); err != nil {
			return err
		} else if len(ds) > 0 {
			return deleteConflict("Cannot delete entity, must remove MFA devices first.")
		}
		if d.Boundary != "" {
			if err := deleteIfExists(tx, kindBoundary, attachKey(d.Boundary, c.Account, kindUser, strings.ToLower(d.Name))); err != nil {
				return err
			}
		}
		if err := deleteAdvisorRecords(tx, "user/"+entityKey(c.Account, d.Name)); err != nil {
			return err
		}
		return deleteWithID(tx, kindUser, entityKey(c.Account, d.Name), d.ID)
	})
}
