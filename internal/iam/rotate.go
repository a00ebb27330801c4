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

// RotateMasterKey re-encrypts every access key secret in st from oldKey to newKey in one
// transaction and returns how many it re-encrypted. Secrets already under newKey are left
// as they are, so an interrupted or repeated rotation is safe. No Service may run on st
// meanwhile (it would keep sealing under the old key): stop the authority, rotate, and
// start it with MasterKey newKey and PreviousMasterKeys [oldKey], so that session tokens
// sealed before the rotation keep working until they expire. rand is the source of
// nonces (nil: crypto/rand).
func RotateMasterKey(ctx context.Context, st store.Store, oldKey, newKey []byte, rand io.Reader) (int, error) {
	if len(oldKey) != 32 || len(newKey) != 32 {
		return 0, errors.New("iam: master keys are 32 bytes")
	}
	if string(oldKey) == string(newKey) {
		return 0, errors.New("iam: the new master key is the old one")
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	oldAEAD, err := deriveAEAD(oldKey, labelSecret)
	if err != nil {
		return 0, err
	}
	newAEAD, err := deriveAEAD(newKey, labelSecret)
	if err != nil {
		return 0, err
	}
	var n int
	err = st.Update(ctx, func(tx store.Tx) error {
		n = 0
		for after := ""; ; {
			items, err := tx.List(kindKey, "", after, 500)
			if err != nil {
				return err
			}
			if len(items) == 0 {
				return nil
			}
			for _, it := range items {
				after = it.Key
				changed, err := reseal(tx, it, oldAEAD, newAEAD, rand)
				if err != nil {
					return err
				}
				if changed {
					n++
				}
			}
		}
	})
	return n, err
}

// reseal re-encrypts one access key document's secret; false if it is already under new.
func reseal(tx store.Tx, it store.Item, oldAEAD, newAEAD cipher.AEAD, rand io.Reader) (bool, error) {
	var d keyDoc
	if err := json.Unmarshal(it.Value, &d); err != nil {
		return false, fmt.Errorf("iam: access key %q: %w", it.Key, err)
	}
	if _, err := open(newAEAD, d.Secret, []byte(d.ID)); err == nil {
		return false, nil
	}
	secret, err := open(oldAEAD, d.Secret, []byte(d.ID))
	if err != nil {
		return false, fmt.Errorf("iam: access key %s is encrypted under neither master key", d.ID)
	}
	box, err := seal(newAEAD, rand, secret, []byte(d.ID))
	clear(secret)
	if err != nil {
		return false, err
	}
	d.Secret = box
	return true, putDoc(tx, kindKey, it.Key, &d)
}
