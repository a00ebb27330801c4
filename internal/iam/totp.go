package iam

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strings"
	"time"
)

// TOTP as RFC 6238 with the otpauth defaults AWS's virtual MFA devices use: HMAC-SHA-1,
// 30-second steps from the Unix epoch, 6 digits.
const (
	totpStep      = 30 * time.Second
	totpDigits    = 6
	totpSeedBytes = 40 // 64 base32 characters, as AWS's seeds
	// totpWindow is how many steps a code may be off the device's clock when it is used
	// (GetSessionToken): one either way.
	totpWindow = 1
	// totpSyncWindow is how far EnableMFADevice and ResyncMFADevice look for two
	// consecutive codes, in steps either way: codes submitted late still enable the device
	// (AWS), and the offset found is kept as the device's drift.
	totpSyncWindow = 20
)

// seedEncoding is RFC 4648 base32 without padding, as authenticator apps read it.
var seedEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// totpCounter is the RFC 6238 time step of t.
func totpCounter(t time.Time) int64 { return t.Unix() / int64(totpStep/time.Second) }

// totpCode is the 6-digit HOTP value (RFC 4226) of seed at counter.
func totpCode(seed []byte, counter int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, seed)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	v %= 1000000
	var out [totpDigits]byte
	for i := totpDigits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out[:])
}

// parseTOTPCode checks that a code from a peer is exactly six ASCII digits.
func parseTOTPCode(code string) bool {
	if len(code) != totpDigits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// totpMatch returns the counter in [from, to] at which seed yields code, comparing in
// constant time per counter; ok is false if none does.
func totpMatch(seed []byte, code string, from, to int64) (counter int64, ok bool) {
	if !parseTOTPCode(code) {
		return 0, false
	}
	for c := from; c <= to; c++ {
		if hmac.Equal([]byte(totpCode(seed, c)), []byte(code)) {
			return c, true
		}
	}
	return 0, false
}

// totpConsecutive returns the counter of code2 when code1 and code2 are the codes of two
// consecutive steps within window steps of now.
func totpConsecutive(seed []byte, code1, code2 string, now int64, window int64) (int64, bool) {
	if !parseTOTPCode(code1) || !parseTOTPCode(code2) {
		return 0, false
	}
	for c := now - window; c <= now+window; c++ {
		if hmac.Equal([]byte(totpCode(seed, c)), []byte(code1)) && hmac.Equal([]byte(totpCode(seed, c+1)), []byte(code2)) {
			return c + 1, true
		}
	}
	return 0, false
}

// otpauthURI is what the QR code of a virtual MFA device encodes:
// otpauth://totp/NAME@ACCOUNT?secret=SEED (AWS's form; no algorithm, digits or period, so
// apps use the defaults above).
func otpauthURI(deviceName, accountName, seedB32 string) string {
	label := url.PathEscape(deviceName + "@" + accountName)
	return "otpauth://totp/" + label + "?secret=" + seedB32
}

// maxOTPAuthURI bounds the URIs parseOTPAuthURI reads.
const maxOTPAuthURI = 2048

// parseOTPAuthURI reads an otpauth://totp URI as authenticator apps do: the label and the
// base32 secret (case-insensitive, spaces and padding ignored). Tests use it to read the
// QR code's text back; it is also a check that what otpauthURI writes parses.
func parseOTPAuthURI(s string) (label string, seed []byte, ok bool) {
	if len(s) > maxOTPAuthURI {
		return "", nil, false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		return "", nil, false
	}
	label = strings.TrimPrefix(u.Path, "/")
	if label == "" {
		return "", nil, false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", nil, false
	}
	sec := strings.ToUpper(strings.ReplaceAll(q.Get("secret"), " ", ""))
	sec = strings.TrimRight(sec, "=")
	if sec == "" {
		return "", nil, false
	}
	seed, err = seedEncoding.DecodeString(sec)
	if err != nil || len(seed) == 0 {
		return "", nil, false
	}
	return label, seed, true
}
