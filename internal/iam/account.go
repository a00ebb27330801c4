package iam

import (
	"context"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
)

// CreateAccount creates an account with a 12-digit id (and an optional alias). It fails
// with EntityAlreadyExists if the account exists. It is for trusted configuration: there
// is no caller.
func (s *Service) CreateAccount(ctx context.Context, id, alias string) error {
	if !arn.IsAccountID(id) {
		return validation("The account ID %q must be 12 digits.", id)
	}
	return s.update(ctx, func(tx store.Tx) error {
		ok, err := getDoc(tx, kindAccount, id, &accountDoc{})
		if err != nil {
			return err
		}
		if ok {
			return apiErr(CodeEntityAlreadyExists, "Account %s already exists.", id)
		}
		return putDoc(tx, kindAccount, id, accountDoc{ID: id, Alias: alias, Created: s.now().UTC()})
	})
}

// Bootstrap makes sure the account exists with an admin user that has
// arn:aws:iam::aws:policy/AdministratorAccess attached and an access key. If it created the
// user (created is true), the key is returned with its secret — the only time it is; when
// the user exists already it returns created false and a zero AccessKey. All of it is one
// transaction.
func (s *Service) Bootstrap(ctx context.Context, in BootstrapInput) (key AccessKey, created bool, err error) {
	if !arn.IsAccountID(in.AccountID) {
		return AccessKey{}, false, validation("The account ID %q must be 12 digits.", in.AccountID)
	}
	if err := checkName("userName", in.AdminUserName, maxUserName); err != nil {
		return AccessKey{}, false, err
	}
	err = s.update(ctx, func(tx store.Tx) error {
		key, created = AccessKey{}, false
		now := s.now().UTC()
		ok, err := getDoc(tx, kindAccount, in.AccountID, &accountDoc{})
		if err != nil {
			return err
		}
		if !ok {
			if err := putDoc(tx, kindAccount, in.AccountID, accountDoc{ID: in.AccountID, Alias: in.AccountAlias, Created: now}); err != nil {
				return err
			}
		}
		if _, ok, err := loadUser(tx, in.AccountID, in.AdminUserName); err != nil || ok {
			return err
		}
		u, err := s.createUserTx(tx, in.AccountID, CreateUserInput{UserName: in.AdminUserName}, now)
		if err != nil {
			return err
		}
		if err := attachTx(tx, in.AccountID, kindUser, u, adminPolicyARN); err != nil {
			return err
		}
		key, err = s.createAccessKeyTx(tx, in.AccountID, u, now)
		if err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return AccessKey{}, false, err
	}
	return key, created, nil
}

// Accounts returns the IDs of the accounts, from the snapshot.
func (s *Service) Accounts() []string {
	return sortedKeys(s.snap.Load().accounts)
}
