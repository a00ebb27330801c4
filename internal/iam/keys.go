package iam

import (
	"context"
	"encoding/json"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

const maxKeysPerUser = 2

func noSuchKey(akid string) *Error {
	return noSuchEntity("The Access Key with id %s cannot be found.", akid)
}

// createAccessKeyTx creates an access key for a user whose document is d, and saves d.
// The secret is stored encrypted, with the key ID as additional data.
func (s *Service) createAccessKeyTx(tx store.Tx, acct string, d *userDoc, now time.Time) (AccessKey, error) {
	if len(d.Keys) >= maxKeysPerUser {
		return AccessKey{}, limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", maxKeysPerUser)
	}
	secret, err := newSecret(s.rand)
	if err != nil {
		return AccessKey{}, err
	}
	var akid string
	for range 8 {
		if akid, err = newKeyID(s.rand, "AKIA"); err != nil {
			return AccessKey{}, err
		}
		if _, err = tx.Get(kindKey, akid); err != nil {
			break
		}
	}
	box, err := seal(s.secrets, s.rand, []byte(secret), []byte(akid))
	if err != nil {
		return AccessKey{}, err
	}
	k := keyDoc{ID: akid, Account: acct, User: lower(d.Name), Secret: box, Status: StatusActive, Created: now}
	if b, err := json.Marshal(k); err != nil {
		return AccessKey{}, err
	} else if err := tx.Create(kindKey, akid, b); err != nil {
		return AccessKey{}, err
	}
	d.Keys = append(d.Keys, akid)
	if err := putDoc(tx, kindUser, entityKey(acct, d.Name), d); err != nil {
		return AccessKey{}, err
	}
	return AccessKey{UserName: d.Name, AccessKeyID: akid, Status: StatusActive, SecretAccessKey: secret, CreateDate: now}, nil
}

// withUserKeys runs fn on a user (empty name: the caller) after authorizing action on it.
func (s *Service) withUser(ctx context.Context, c *Caller, action, name string, write bool, fn func(tx store.Tx, d *userDoc) error) error {
	if err := needCaller(c); err != nil {
		return err
	}
	name, err := userName(c, name)
	if err != nil {
		return err
	}
	run := s.st.View
	if write {
		run = s.update
	}
	return s.updateOrView(ctx, run, c, users, action, name, nil, func(tx store.Tx, d entity) error {
		return fn(tx, d.(*userDoc))
	})
}

func (s *Service) updateOrView(ctx context.Context, run func(context.Context, func(store.Tx) error) error, c *Caller, ek *entityKind, action, name string, req *Request, fn func(tx store.Tx, d entity) error) error {
	if err := checkName(ek.field, name, ek.maxName); err != nil {
		return err
	}
	return run(ctx, func(tx store.Tx) error {
		d, ok, err := ek.load(tx, c.Account, name)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, c, action, ek.arn(c.Account, pathOf(ok, d.entityPath()), nameOf(ok, d.entityName(), name)), entityRequest(req, d, ok)); err != nil {
			return err
		}
		if !ok {
			return ek.notFound(name)
		}
		return fn(tx, d)
	})
}

// CreateAccessKey creates an access key for a user (empty name: the calling user); at
// most two per user (LimitExceeded). The secret is returned here and never again.
func (s *Service) CreateAccessKey(ctx context.Context, c *Caller, userName string) (AccessKey, error) {
	var out AccessKey
	err := s.withUser(ctx, c, "iam:CreateAccessKey", userName, true, func(tx store.Tx, d *userDoc) error {
		var err error
		out, err = s.createAccessKeyTx(tx, c.Account, d, s.now().UTC())
		return err
	})
	return out, err
}

func loadKey(tx store.Tx, akid string) (*keyDoc, bool, error) {
	var k keyDoc
	ok, err := getDoc(tx, kindKey, akid, &k)
	return &k, ok, err
}

// ListAccessKeys lists a user's access keys (in.Name empty: the calling user), without
// secrets.
func (s *Service) ListAccessKeys(ctx context.Context, c *Caller, in ListNamedInput) (ListAccessKeysOutput, error) {
	var all []AccessKey
	err := s.withUser(ctx, c, "iam:ListAccessKeys", in.Name, false, func(tx store.Tx, d *userDoc) error {
		for _, akid := range d.Keys {
			k, ok, err := loadKey(tx, akid)
			if err != nil {
				return err
			}
			if ok {
				all = append(all, AccessKey{UserName: d.Name, AccessKeyID: k.ID, Status: k.Status, CreateDate: k.Created})
			}
		}
		return nil
	})
	if err != nil {
		return ListAccessKeysOutput{}, err
	}
	key := func(k *AccessKey) string { return k.AccessKeyID }
	var out ListAccessKeysOutput
	out.AccessKeys, out.IsTruncated, out.Marker, err = sortedPage(all, key, in.Marker, in.MaxItems)
	return out, err
}

func checkAccessKeyID(akid string) error {
	if len(akid) < 16 || len(akid) > 128 {
		return validation("1 validation error detected: Value '%s' at 'accessKeyId' failed to satisfy constraint: Member must have length greater than or equal to 16", akid)
	}
	for _, r := range akid {
		if r > 0x7f || !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return validation("1 validation error detected: Value '%s' at 'accessKeyId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+", akid)
		}
	}
	return nil
}

// UpdateAccessKey activates or deactivates an access key. An inactive key is refused by
// LookupKey's users (Key.Inactive).
func (s *Service) UpdateAccessKey(ctx context.Context, c *Caller, in UpdateAccessKeyInput) error {
	if in.Status != StatusActive && in.Status != StatusInactive {
		return validation("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", in.Status)
	}
	if err := checkAccessKeyID(in.AccessKeyID); err != nil {
		return err
	}
	return s.withUser(ctx, c, "iam:UpdateAccessKey", in.UserName, true, func(tx store.Tx, d *userDoc) error {
		if !containsString(d.Keys, in.AccessKeyID) {
			return noSuchKey(in.AccessKeyID)
		}
		k, ok, err := loadKey(tx, in.AccessKeyID)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchKey(in.AccessKeyID)
		}
		k.Status = in.Status
		return putDoc(tx, kindKey, k.ID, k)
	})
}

// DeleteAccessKey deletes an access key (empty user name: the calling user).
func (s *Service) DeleteAccessKey(ctx context.Context, c *Caller, userName, accessKeyID string) error {
	if err := checkAccessKeyID(accessKeyID); err != nil {
		return err
	}
	return s.withUser(ctx, c, "iam:DeleteAccessKey", userName, true, func(tx store.Tx, d *userDoc) error {
		var ok bool
		if d.Keys, ok = removeString(d.Keys, accessKeyID); !ok {
			return noSuchKey(accessKeyID)
		}
		if err := deleteIfExists(tx, kindKey, accessKeyID); err != nil {
			return err
		}
		if err := deleteIfExists(tx, kindLastUsed, lastUsedKeyKey(accessKeyID)); err != nil {
			return err
		}
		return putDoc(tx, kindUser, entityKey(c.Account, d.Name), d)
	})
}

// GetAccessKeyLastUsed says when an access key was last used to sign a request that was
// authorized (or a database connection), for which service and in which region. Records
// are written in batches; pending ones are included.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, c *Caller, accessKeyID string) (AccessKeyLastUsed, error) {
	if err := needCaller(c); err != nil {
		return AccessKeyLastUsed{}, err
	}
	if err := checkAccessKeyID(accessKeyID); err != nil {
		return AccessKeyLastUsed{}, err
	}
	var out AccessKeyLastUsed
	err := s.st.View(ctx, func(tx store.Tx) error {
		k, ok, err := loadKey(tx, accessKeyID)
		if err != nil {
			return err
		}
		if !ok || k.Account != c.Account {
			// AWS answers AccessDenied for keys it does not know.
			return apiErr(CodeAccessDenied, "User: %s is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key %s", c.ARN, accessKeyID)
		}
		u, uok, err := loadUser(tx, c.Account, k.User)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, c, "iam:GetAccessKeyLastUsed", userARN(c.Account, pathOf(uok, u.Path), u.Name), entityRequest(nil, u, uok)); err != nil {
			return err
		}
		out = AccessKeyLastUsed{UserName: u.Name, ServiceName: "N/A", Region: "N/A"}
		var lu lastUsedDoc
		if ok, err := getDoc(tx, kindLastUsed, lastUsedKeyKey(accessKeyID), &lu); err != nil {
			return err
		} else if ok {
			out.LastUsedDate, out.ServiceName, out.Region = lu.Date, lu.Service, lu.Region
		}
		if p, ok := pending(&s.usage.keys, accessKeyID); ok && p.Date.After(out.LastUsedDate) {
			out.LastUsedDate, out.ServiceName, out.Region = p.Date, p.Service, p.Region
		}
		if out.ServiceName == "" {
			out.ServiceName = "N/A"
		}
		if out.Region == "" {
			out.Region = "N/A"
		}
		return nil
	})
	return out, err
}
