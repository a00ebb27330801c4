package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// PopulateSpec says what Populate writes.
type PopulateSpec struct {
	Account     string // must exist
	Prefix      string // of the names: Prefix+"u000001", Prefix+"r000001"
	Users       int    // each with an inline policy and KeysPerUser access keys
	KeysPerUser int    // at most 2, AWS's limit
	Roles       int    // each with an inline policy, trusting the account
	Batch       int    // entities per transaction; 1000 if zero
}

// Populate writes users, access keys and roles straight to st, as the API would but many
// to a transaction and without the snapshot, for benchmarks that need a large store
// quickly (bench/scale.sh). masterKey is the store's. Run it while no Service uses st, or
// on a store whose Services follow its change log.
func Populate(ctx context.Context, st store.Store, masterKey []byte, spec PopulateSpec) error {
	if spec.KeysPerUser < 0 || spec.KeysPerUser > maxKeysPerUser {
		return fmt.Errorf("iam: populate: %d keys per user, at most %d", spec.KeysPerUser, maxKeysPerUser)
	}
	if spec.Batch <= 0 {
		spec.Batch = 1000
	}
	aead, err := deriveAEAD(masterKey, labelSecret)
	if err != nil {
		return err
	}
	s := &Service{secrets: aead, rand: rand.Reader}
	now := time.Now().UTC()
	acct := spec.Account
	if err := st.View(ctx, func(tx store.Tx) error {
		if ok, err := getDoc(tx, kindAccount, acct, &accountDoc{}); err != nil || !ok {
			return errors.Join(err, fmt.Errorf("iam: populate: no account %s", acct))
		}
		return nil
	}); err != nil {
		return err
	}
	batches := func(n int, one func(tx store.Tx, i int) error) error {
		for lo := 0; lo < n; lo += spec.Batch {
			err := st.Update(ctx, func(tx store.Tx) error {
				for i := lo; i < min(n, lo+spec.Batch); i++ {
					if err := one(tx, i); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	err = batches(spec.Users, func(tx store.Tx, i int) error {
		name := fmt.Sprintf("%su%06d", spec.Prefix, i)
		d := &userDoc{Name: name, Path: "/", Created: now, holder: holder{Inline: map[string]string{
			"connect": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:*:` + acct + `:dbuser:*/` + name + `"}]}`,
		}}}
		var err error
		if d.ID, err = s.createID(tx, "AIDA", kindUser, acct, name); err != nil {
			return err
		}
		if err := putDoc(tx, kindUser, entityKey(acct, name), d); err != nil {
			return err
		}
		for range spec.KeysPerUser {
			if _, err := s.createAccessKeyTx(tx, acct, d, now); err != nil { // saves d
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return batches(spec.Roles, func(tx store.Tx, i int) error {
		name := fmt.Sprintf("%sr%06d", spec.Prefix, i)
		d := &roleDoc{Name: name, Path: "/", Created: now, MaxSession: 3600,
			Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`,
			holder: holder{Inline: map[string]string{
				"connect": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:*:` + acct + `:dbuser:*/` + name + `"}]}`,
			}}}
		var err error
		if d.ID, err = s.createID(tx, "AROA", kindRole, acct, name); err != nil {
			return err
		}
		return putDoc(tx, kindRole, entityKey(acct, name), d)
	})
}
