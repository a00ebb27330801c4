package iam

import (
	"context"
	"crypto/cipher"
	cryptorand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/iamdb/iamdb/internal/store"
)

// RotateMasterKey re-encrypts every secret in st sealed under a master key — access key
// secrets and MFA seeds — from oldKey (or one of previous, for what an earlier rotation left
// behind) to newKey in one transaction, and returns how many it re-encrypted. Secrets
// already under newKey are left as they are, so an interrupted or repeated rotation is
// safe. No Service may run on st meanwhile (it would keep sealing under the old key): stop
// the authority, rotate, and start it with MasterKey newKey and PreviousMasterKeys
// [oldKey], so that session tokens sealed before the rotation keep working until they
// expire. rand is the source of nonces (nil: crypto/rand).
func RotateMasterKey(ctx context.Context, st store.Store, oldKey, newKey []byte, rand io.Reader, previous ...[]byte) (int, error) {
	if len(oldKey) != 32 || len(newKey) != 32 {
		return 0, errors.New("iam: master keys are 32 bytes")
	}
	if string(oldKey) == string(newKey) {
		return 0, errors.New("iam: the new master key is the old one")
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	newAEAD, err := deriveAEAD(newKey, labelSecret)
	if err != nil {
		return 0, err
	}
	var olds []cipher.AEAD
	for _, k := range append([][]byte{oldKey}, previous...) {
		if len(k) != 32 {
			return 0, errors.New("iam: master keys are 32 bytes")
		}
		a, err := deriveAEAD(k, labelSecret)
		if err != nil {
			return 0, err
		}
		olds = append(olds, a)
	}
	r := &resealer{olds: olds, new: newAEAD, rand: rand}
	var n int
	err = st.Update(ctx, func(tx store.Tx) error {
		n = 0
		for _, kind := range []string{kindKey, kindMFA} {
			for after := ""; ; {
				items, err := tx.List(kind, "", after, 500)
				if err != nil {
					return err
				}
				if len(items) == 0 {
					break
				}
				for _, it := range items {
					after = it.Key
					changed, err := r.item(tx, kind, it)
					if err != nil {
						return err
					}
					if changed {
						n++
					}
				}
			}
		}
		return nil
	})
	return n, err
}

// resealer re-encrypts sealed secrets under new from the first of olds that opens them.
type resealer struct {
	olds []cipher.AEAD
	new  cipher.AEAD
	rand io.Reader
}

// item re-encrypts the secret of one access key or MFA device document; false if it is
// already under new.
func (r *resealer) item(tx store.Tx, kind string, it store.Item) (bool, error) {
	if kind == kindKey {
		var d keyDoc
		if err := json.Unmarshal(it.Value, &d); err != nil {
			return false, fmt.Errorf("iam: access key %q: %w", it.Key, err)
		}
		changed, err := r.box(&d.Secret, []byte(d.ID), "access key "+d.ID)
		if err != nil || !changed {
			return false, err
		}
		return true, putDoc(tx, kind, it.Key, &d)
	}
	var d mfaDoc
	if err := json.Unmarshal(it.Value, &d); err != nil {
		return false, fmt.Errorf("iam: MFA device %q: %w", it.Key, err)
	}
	serial := d.serial(keyAccount(it.Key))
	changed, err := r.box(&d.Seed, []byte(mfaSeedADPrefix+serial), "the seed of MFA device "+serial)
	if err != nil || !changed {
		return false, err
	}
	return true, putDoc(tx, kind, it.Key, &d)
}

// box re-encrypts *sealed (additional data ad) under new; false if it is already.
func (r *resealer) box(sealed *[]byte, ad []byte, what string) (bool, error) {
	if _, err := open(r.new, *sealed, ad); err == nil {
		return false, nil
	}
	for _, old := range r.olds {
		secret, err := open(old, *sealed, ad)
		if err != nil {
			continue
		}
		b, err := seal(r.new, r.rand, secret, ad)
		clear(secret)
		if err != nil {
			return false, err
		}
		*sealed = b
		return true, nil
	}
	return false, fmt.Errorf("iam: %s is encrypted under none of the master keys given", what)
}
