package workload

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// IMDS token bounds.
const (
	minTokenTTL    = 1
	maxTokenTTL    = 21600 // six hours, as EC2
	maxTokenLen    = 128
	maxTTLHeader   = 16
	tokenPrefix    = "v1."
	tokenMACLen    = 16
	tokenRawLen    = 8 + tokenMACLen
	tokenTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	tokenHeader    = "X-Aws-Ec2-Metadata-Token"
)

// Token errors.
var (
	errTokenMalformed = errors.New("workload: malformed metadata token")
	errTokenForged    = errors.New("workload: metadata token does not authenticate")
	errTokenExpired   = errors.New("workload: metadata token expired")
	errTTLInvalid     = errors.New("workload: X-aws-ec2-metadata-token-ttl-seconds must be an integer from 1 to 21600")
)

// parseTokenTTL parses the value of X-aws-ec2-metadata-token-ttl-seconds: decimal digits
// only, 1 to 21600.
func parseTokenTTL(v string) (time.Duration, error) {
	if v == "" || len(v) > maxTTLHeader {
		return 0, errTTLInvalid
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, errTTLInvalid
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minTokenTTL || n > maxTokenTTL {
		return 0, errTTLInvalid
	}
	return time.Duration(n) * time.Second, nil
}

// tokenKey mints and checks metadata tokens.
type tokenKey [32]byte

func (k *tokenKey) mac(exp []byte) []byte {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(tokenPrefix))
	m.Write(exp)
	return m.Sum(nil)[:tokenMACLen]
}

// mint returns a token valid until exp.
func (k *tokenKey) mint(exp time.Time) string {
	var raw [tokenRawLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(exp.Unix()))
	copy(raw[8:], k.mac(raw[:8]))
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
}

// check verifies a token at now.
func (k *tokenKey) check(tok string, now time.Time) error {
	if len(tok) > maxTokenLen {
		return errTokenMalformed
	}
	// The exact length, not DecodedLen: the decoder skips '\r' and '\n' even in Strict mode,
	// so a token with line breaks added would otherwise pass as an alias of the real one.
	b64, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || len(b64) != base64.RawURLEncoding.EncodedLen(tokenRawLen) {
		return errTokenMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != tokenRawLen {
		return errTokenMalformed
	}
	if !hmac.Equal(raw[8:], k.mac(raw[:8])) {
		return errTokenForged
	}
	exp := int64(binary.BigEndian.Uint64(raw[:8]))
	if now.Unix() >= exp {
		return errTokenExpired
	}
	return nil
}
