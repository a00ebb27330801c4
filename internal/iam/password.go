package iam

import (
	"crypto/subtle"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with Argon2id (RFC 9106), a memory-hard function, with a random
// salt per password; the parameters are stored with each hash, so that stronger ones apply
// to passwords set after a change without invalidating older ones.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB: OWASP's minimum for Argon2id with t=2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
	// maxArgonMemory and maxArgonTime bound the parameters a stored hash may ask for.
	maxArgonMemory = 1 << 20
	maxArgonTime   = 16
)

// passwordHash is a stored password hash.
type passwordHash struct {
	Alg     string `json:"alg"` // "argon2id"
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"` // KiB
	Threads uint8  `json:"p"`
	Salt    []byte `json:"salt"`
	Hash    []byte `json:"hash"`
}

func hashPassword(rand io.Reader, password string) (passwordHash, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return passwordHash{}, fmt.Errorf("iam: random salt: %w", err)
	}
	return passwordHash{
		Alg: "argon2id", Time: argonTime, Memory: argonMemory, Threads: argonThreads, Salt: salt,
		Hash: argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen),
	}, nil
}

// matches reports whether password is the one h was made from. A hash with parameters out
// of bounds (a damaged document) matches nothing.
func (h *passwordHash) matches(password string) bool {
	if h.Alg != "argon2id" || h.Time == 0 || h.Time > maxArgonTime || h.Memory < 8 || h.Memory > maxArgonMemory ||
		h.Threads == 0 || len(h.Salt) < 8 || len(h.Hash) < 16 || len(h.Hash) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), h.Salt, h.Time, h.Memory, h.Threads, uint32(len(h.Hash)))
	return subtle.ConstantTimeCompare(got, h.Hash) == 1
}

// Bounds of passwords and of the password policy, as AWS's.
const (
	minPasswordParam      = 1
	maxPasswordParam      = 128
	defaultMinPasswordLen = 6
	minPolicyLength       = 6
	maxPolicyLength       = 128
	maxPasswordAgeDays    = 1095
	maxReusePrevention    = 24
	// passwordSymbols are the characters RequireSymbols asks for one of.
	passwordSymbols = "!@#$%^&*()_+-=[]{}|'"
)

// passwordPolicyDoc is an account's password policy (kind "pwpolicy", key the account).
type passwordPolicyDoc struct {
	MinLength       int  `json:"minLength"`
	RequireSymbols  bool `json:"symbols,omitempty"`
	RequireNumbers  bool `json:"numbers,omitempty"`
	RequireUpper    bool `json:"upper,omitempty"`
	RequireLower    bool `json:"lower,omitempty"`
	AllowChange     bool `json:"allowChange,omitempty"`
	MaxAge          int  `json:"maxAge,omitempty"` // days; 0: never expire
	ReusePrevention int  `json:"reuse,omitempty"`
	HardExpiry      bool `json:"hardExpiry,omitempty"`
}

// checkPasswordParam validates a password parameter as the model does: 1–128 characters
// of [\u0009\u000A\u000D\u0020-\u00FF]. The message never contains the password.
func checkPasswordParam(field, pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < minPasswordParam || n > maxPasswordParam || !utf8.ValidString(pw) {
		return validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between %d and %d", field, minPasswordParam, maxPasswordParam)
	}
	for _, r := range pw {
		if !(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xff) {
			return validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+", field)
		}
	}
	return nil
}

func passwordViolation(format string, args ...any) *Error {
	return apiErr(CodePasswordPolicyViolation, format, args...)
}

// check enforces the policy's length and character rules on a new password; p nil is
// AWS's default policy: 8–128 characters, at least three of upper case, lower case,
// digits and symbols, and not the account's name (alias or ID) or the user's name.
func (p *passwordPolicyDoc) check(pw, acct, alias, user string) error {
	n := utf8.RuneCountInString(pw)
	var upper, lowerc, digit, symbol bool
	for _, r := range pw {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lowerc = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(passwordSymbols, r):
			symbol = true
		}
	}
	if p == nil {
		classes := 0
		for _, b := range []bool{upper, lowerc, digit, symbol} {
			if b {
				classes++
			}
		}
		switch {
		case n < 8:
			return passwordViolation("Password should have at least 8 characters")
		case classes < 3:
			return passwordViolation("Password should have at least three of the following: uppercase letters, lowercase letters, numbers and symbols")
		case strings.EqualFold(pw, acct) || alias != "" && strings.EqualFold(pw, alias) || strings.EqualFold(pw, user):
			return passwordViolation("Password should not be your account or user name")
		}
		return nil
	}
	var missing []string
	if n < p.MinLength {
		missing = append(missing, fmt.Sprintf("Password should have at least %d characters", p.MinLength))
	}
	if p.RequireUpper && !upper {
		missing = append(missing, "Password should have at least one uppercase letter")
	}
	if p.RequireLower && !lowerc {
		missing = append(missing, "Password should have at least one lowercase letter")
	}
	if p.RequireNumbers && !digit {
		missing = append(missing, "Password should have at least one number")
	}
	if p.RequireSymbols && !symbol {
		missing = append(missing, "Password should have at least one symbol")
	}
	if len(missing) > 0 {
		return passwordViolation("%s", strings.Join(missing, "\n"))
	}
	return nil
}

// expired reports whether a password set at set has expired under the policy at now; the
// policy's current MaxPasswordAge applies to existing passwords at once (AWS).
func (p *passwordPolicyDoc) expired(set, now time.Time) bool {
	return p != nil && p.MaxAge > 0 && !now.Before(set.Add(time.Duration(p.MaxAge)*24*time.Hour))
}

// PasswordPolicy is the output of GetAccountPasswordPolicy and the input of
// UpdateAccountPasswordPolicy (zero members: AWS's defaults; ExpirePasswords is output
// only).
type PasswordPolicy struct {
	MinimumPasswordLength      int
	RequireSymbols             bool
	RequireNumbers             bool
	RequireUppercaseCharacters bool
	RequireLowercaseCharacters bool
	AllowUsersToChangePassword bool
	ExpirePasswords            bool
	MaxPasswordAge             int
	PasswordReusePrevention    int
	HardExpiry                 bool
}

func (p *passwordPolicyDoc) out() PasswordPolicy {
	return PasswordPolicy{
		MinimumPasswordLength: p.MinLength, RequireSymbols: p.RequireSymbols, RequireNumbers: p.RequireNumbers,
		RequireUppercaseCharacters: p.RequireUpper, RequireLowercaseCharacters: p.RequireLower,
		AllowUsersToChangePassword: p.AllowChange, ExpirePasswords: p.MaxAge > 0, MaxPasswordAge: p.MaxAge,
		PasswordReusePrevention: p.ReusePrevention, HardExpiry: p.HardExpiry,
	}
}

// policyDocOf validates UpdateAccountPasswordPolicy's input: omitted (zero) members take
// their defaults; 0 cannot be sent for MaxPasswordAge or PasswordReusePrevention (the
// protocol layer passes -1 for an explicit 0 or negative value).
func policyDocOf(in PasswordPolicy) (*passwordPolicyDoc, error) {
	d := &passwordPolicyDoc{
		MinLength: in.MinimumPasswordLength, RequireSymbols: in.RequireSymbols, RequireNumbers: in.RequireNumbers,
		RequireUpper: in.RequireUppercaseCharacters, RequireLower: in.RequireLowercaseCharacters,
		AllowChange: in.AllowUsersToChangePassword, MaxAge: in.MaxPasswordAge, ReusePrevention: in.PasswordReusePrevention,
		HardExpiry: in.HardExpiry,
	}
	if d.MinLength == 0 {
		d.MinLength = defaultMinPasswordLen
	}
	if d.MinLength < minPolicyLength || d.MinLength > maxPolicyLength {
		return nil, validation("1 validation error detected: Value '%d' at 'minimumPasswordLength' failed to satisfy constraint: Member must have value between %d and %d", d.MinLength, minPolicyLength, maxPolicyLength)
	}
	if d.MaxAge < 0 || d.MaxAge > maxPasswordAgeDays {
		return nil, validation("1 validation error detected: Value '%d' at 'maxPasswordAge' failed to satisfy constraint: Member must have value between 1 and %d", max(d.MaxAge, 0), maxPasswordAgeDays)
	}
	if d.ReusePrevention < 0 || d.ReusePrevention > maxReusePrevention {
		return nil, validation("1 validation error detected: Value '%d' at 'passwordReusePrevention' failed to satisfy constraint: Member must have value between 1 and %d", max(d.ReusePrevention, 0), maxReusePrevention)
	}
	return d, nil
}
