package arn

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen bounds the length of an ARN that Parse accepts. IAM's own ARN-typed API fields
// (PolicyArn, RoleArn) are at most 2048 characters.
const MaxLen = 2048

// ErrMalformed is the category of every error Parse returns.
var ErrMalformed = errors.New("arn: malformed")

// ARN is a parsed Amazon Resource Name. The zero value is not a valid ARN.
type ARN struct {
	Partition string // "aws", "aws-cn", "aws-us-gov", …
	Service   string // "iam", "sts", "rds-db", …
	Region    string // empty for global services such as IAM
	AccountID string // 12 digits; empty for some services (S3 buckets)
	Resource  string // everything after the fifth colon; may contain ':' and '/'
}

// Parse splits s into its six parts. It checks the shape only: the literal prefix "arn",
// six parts, a non-empty partition, service and resource, no control characters, and a
// length of at most MaxLen. Wildcards are ordinary characters here, so policy patterns such
// as "arn:aws:rds-db:*:*:dbuser:*/alice" parse too.
func Parse(s string) (ARN, error) {
	if len(s) > MaxLen {
		return ARN{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return ARN{}, fmt.Errorf("%w: control character at offset %d", ErrMalformed, i)
		}
	}
	parts, ok := Split(s)
	if !ok {
		return ARN{}, fmt.Errorf("%w: %q does not have the form arn:partition:service:region:account-id:resource", ErrMalformed, s)
	}
	if parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%w: %q does not start with \"arn:\"", ErrMalformed, s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], AccountID: parts[4], Resource: parts[5]}
	switch {
	case a.Partition == "":
		return ARN{}, fmt.Errorf("%w: %q has an empty partition", ErrMalformed, s)
	case a.Service == "":
		return ARN{}, fmt.Errorf("%w: %q has an empty service", ErrMalformed, s)
	case a.Resource == "":
		return ARN{}, fmt.Errorf("%w: %q has an empty resource", ErrMalformed, s)
	}
	return a, nil
}

// String formats a as "arn:partition:service:region:account-id:resource".
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

// Split cuts s at its first five colons into the six parts of an ARN without allocating.
// It reports false when s has fewer than five colons. It checks nothing else.
func Split(s string) (parts [6]string, ok bool) {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return parts, false
		}
		parts[i] = s[:j]
		s = s[j+1:]
	}
	parts[5] = s
	return parts, true
}

// Match reports whether value, an ARN, matches pattern part by part. Each of the six parts
// is compared separately and case-sensitively; '*' matches any run of characters within a
// part (so in the resource part it spans '/' and ':') and '?' matches exactly one
// character. A pattern of exactly "*" matches any value, ARN or not. Match never allocates
// and runs in time proportional to len(pattern)·len(value) at worst.
func Match(pattern, value string) bool {
	if pattern == "*" {
		return true
	}
	p, ok := Split(pattern)
	if !ok {
		return false
	}
	v, ok := Split(value)
	if !ok {
		return false
	}
	for i := range p {
		if !Glob(p[i], v[i]) {
			return false
		}
	}
	return true
}

// Glob reports whether s matches pattern, where '*' matches any run of bytes (including
// none) and '?' matches exactly one character (one UTF-8 sequence). Everything else
// matches itself, case-sensitively. Glob remembers only the most recent star, so it runs
// in O(len(pattern)·len(s)) time at worst and never backtracks exponentially.
func Glob(pattern, s string) bool { return glob(pattern, s, false) }

// GlobFold is Glob with ASCII case folding of s: pattern must already be lower case (IAM
// action names, for example, match case-insensitively).
func GlobFold(lowerPattern, s string) bool { return glob(lowerPattern, s, true) }

func glob(pattern, s string, fold bool) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starI = p+1, i
				p++
				continue
			case '?':
				i += runeLen(s, i)
				p++
				continue
			default:
				b := s[i]
				if fold && 'A' <= b && b <= 'Z' {
					b += 'a' - 'A'
				}
				if c == b {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// runeLen is the length of the UTF-8 sequence starting at s[i], 1 for invalid bytes.
func runeLen(s string, i int) int {
	c := s[i]
	n := 1
	switch {
	case c >= 0xf0:
		n = 4
	case c >= 0xe0:
		n = 3
	case c >= 0xc0:
		n = 2
	}
	if i+n > len(s) {
		return 1
	}
	for k := 1; k < n; k++ {
		if s[i+k]&0xc0 != 0x80 {
			return 1
		}
	}
	return n
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsRoot reports whether a is an account's root principal, "arn:<partition>:iam::<acct>:root".
func (a ARN) IsRoot() bool {
	return a.Service == "iam" && a.Region == "" && a.Resource == "root" && IsAccountID(a.AccountID)
}
