package iam

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// Labels of the keys derived from the master key.
const (
	labelSecret  = "iamdb secret v1"
	labelSession = "iamdb sts session v1"
)

// deriveAEAD returns AES-256-GCM under HMAC-SHA256(master, label).
func deriveAEAD(master []byte, label string) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext with a fresh random nonce: nonce || ciphertext || tag.
func seal(aead cipher.AEAD, rand io.Reader, plaintext, ad []byte) ([]byte, error) {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, fmt.Errorf("iam: random nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, ad), nil
}

var errOpen = errors.New("iam: cannot decrypt")

// open reverses seal.
func open(aead cipher.AEAD, box, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(box) < n+aead.Overhead() {
		return nil, errOpen
	}
	pt, err := aead.Open(nil, box[:n], box[n:], ad)
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

const (
	base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	upperAlnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// randomString returns n characters of alphabet drawn uniformly from rand.
func randomString(rand io.Reader, alphabet string, n int) (string, error) {
	out := make([]byte, 0, n)
	// Rejection sampling keeps the draw uniform for alphabets that do not divide 256.
	limit := 256 - 256%len(alphabet)
	buf := make([]byte, n+8)
	for len(out) < n {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return "", fmt.Errorf("iam: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// newID returns prefix and 17 characters [A-Z2-7], the shape of IAM's unique IDs.
func newID(rand io.Reader, prefix string) (string, error) {
	s, err := randomString(rand, base32Alphabet, 17)
	return prefix + s, err
}

// newKeyID returns prefix and 16 characters [A-Z2-7]: a 20-character access key ID.
func newKeyID(rand io.Reader, prefix string) (string, error) {
	s, err := randomString(rand, base32Alphabet, 16)
	return prefix + s, err
}

// newSecret returns a 40-character secret access key.
func newSecret(rand io.Reader) (string, error) {
	return randomString(rand, secretAlphabet, 40)
}

// newSessionKey returns the access key ID (ASIA…) and secret of a new session.
func newSessionKey(rand io.Reader) (akid, secret string, err error) {
	if akid, err = newKeyID(rand, "ASIA"); err != nil {
		return "", "", err
	}
	if secret, err = newSecret(rand); err != nil {
		return "", "", err
	}
	return akid, secret, nil
}
