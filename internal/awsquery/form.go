package awsquery

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/iamdb/iamdb/sigv4"
)

// Bounds on what a peer can make the form parser hold.
const (
	// maxParams is the largest number of parameters a request may carry (query string and
	// body together).
	maxParams = 1000
	// maxKeyLen bounds a parameter name.
	maxKeyLen = 256
	// maxMembers bounds the members of one list parameter (Tags.member.N, …). The domain
	// enforces AWS's own, smaller limits (50 tags, 10 policy ARNs) with AWS's messages.
	maxMembers = 200
)

// form is a parsed application/x-www-form-urlencoded request: every name at most once.
type form struct {
	m map[string]string
}

// errForm is a malformed form; the message is safe to show the client.
type errForm struct{ msg string }

func (e *errForm) Error() string { return "awsquery: " + e.msg }

// parseForm parses the query string and the body of a request into one form. It is strict:
// every escape must be valid, keys and values valid UTF-8, no key empty or longer than
// maxKeyLen, no key repeated (within or across the two), at most maxParams in all. Empty
// segments ("a=1&&b=2", a trailing '&') are skipped; a key without '=' has the empty value.
func parseForm(parts ...string) (*form, error) {
	f := &form{m: make(map[string]string, 8)}
	for _, raw := range parts {
		for raw != "" {
			var seg string
			if i := strings.IndexByte(raw, '&'); i >= 0 {
				seg, raw = raw[:i], raw[i+1:]
			} else {
				seg, raw = raw, ""
			}
			if seg == "" {
				continue
			}
			if len(f.m) == maxParams {
				return nil, &errForm{fmt.Sprintf("more than %d parameters", maxParams)}
			}
			k, v, _ := strings.Cut(seg, "=")
			key, ok := unescape(k)
			if !ok {
				return nil, &errForm{"invalid escape in a parameter name"}
			}
			if key == "" || len(key) > maxKeyLen {
				return nil, &errForm{"empty or oversized parameter name"}
			}
			if !utf8.ValidString(key) {
				return nil, &errForm{"parameter name is not valid UTF-8"}
			}
			val, ok := unescape(v)
			if !ok {
				return nil, &errForm{fmt.Sprintf("invalid escape in the value of %s", clip(key))}
			}
			if !utf8.ValidString(val) {
				return nil, &errForm{fmt.Sprintf("value of %s is not valid UTF-8", clip(key))}
			}
			if _, dup := f.m[key]; dup {
				return nil, &errForm{fmt.Sprintf("parameter %s repeated", clip(key))}
			}
			f.m[key] = val
		}
	}
	return f, nil
}

// unescape decodes a form component: %XX (both hex cases) and '+' for space. It fails on an
// incomplete or non-hex escape.
func unescape(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			i += 2
		}
	}
	return sigv4.Unescape(s), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// clip shortens a client-supplied name quoted back in a message.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

// get returns the value of key and whether it was sent.
func (f *form) get(key string) (string, bool) {
	v, ok := f.m[key]
	return v, ok
}

// required returns the parameter key, which must be present (MissingParameter otherwise).
func (f *form) required(key string) (string, error) {
	v, ok := f.m[key]
	if !ok {
		return "", missingParameter(key)
	}
	return v, nil
}

// str returns the value of key, "" if absent.
func (f *form) str(key string) string { return f.m[key] }

// boolean returns the value of key as a bool ("true"/"false", case-insensitive, as
// botocore and the SDKs send), nil if absent.
func (f *form) boolean(key string) (*bool, error) {
	v, ok := f.m[key]
	if !ok {
		return nil, nil
	}
	var b bool
	switch strings.ToLower(v) {
	case "true":
		b = true
	case "false":
	default:
		return nil, invalidValue(key, "must be true or false")
	}
	return &b, nil
}

// integer returns the value of key as an int, nil if absent.
func (f *form) integer(key string) (*int, error) {
	v, ok := f.m[key]
	if !ok {
		return nil, nil
	}
	if v == "" || len(v) > 10 {
		return nil, invalidValue(key, "must be an integer")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, invalidValue(key, "must be an integer")
	}
	return &n, nil
}

// count returns the number of members of the list whose member keys start with prefix
// ("Tags.member."): the keys are prefix+N or prefix+N+"."+field, with N a decimal index
// without leading zeros. The indices must run from 1 without gaps and stay within
// maxMembers.
func (f *form) count(prefix string) (int, error) {
	var seen []int
	for k := range f.m {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx := rest
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			idx = rest[:i]
		}
		n, ok := parseIndex(idx)
		if !ok || n > maxMembers {
			return 0, invalidValue(strings.TrimSuffix(prefix, "."),
				fmt.Sprintf("list indices must run from 1 to at most %d", maxMembers))
		}
		if !slices.Contains(seen, n) {
			seen = append(seen, n)
		}
	}
	slices.Sort(seen)
	for i, n := range seen {
		if n != i+1 {
			return 0, invalidValue(strings.TrimSuffix(prefix, "."), fmt.Sprintf("member %d is missing", i+1))
		}
	}
	return len(seen), nil
}

// parseIndex parses a list index: 1-4 decimal digits, no leading zero.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// strList returns the scalar list prefix+"1", prefix+"2", … ("ActionNames.member."), nil if
// the list is absent.
func (f *form) strList(prefix string) ([]string, error) {
	n, err := f.count(prefix)
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		k := prefix + strconv.Itoa(i+1)
		v, ok := f.m[k]
		if !ok {
			return nil, invalidValue(k, "is missing")
		}
		out[i] = v
	}
	return out, nil
}

// structList reads the list of structures under prefix: it calls item with the key prefix
// of each member ("Tags.member." → "Tags.member.1.", "Tags.member.2.", …) and collects
// what it returns, nil for an empty list.
func structList[T any](f *form, prefix string, item func(p string) (T, error)) ([]T, error) {
	n, err := f.count(prefix)
	if err != nil {
		return nil, err
	}
	var out []T
	for i := 1; i <= n; i++ {
		v, err := item(prefix + strconv.Itoa(i) + ".")
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// queryError is an error of the protocol layer, before or around the domain: it carries its
// wire code, status and a message safe for the client.
type queryError struct {
	status  int
	code    string
	message string
}

func (e *queryError) Error() string { return "awsquery: " + e.code + ": " + e.message }

func invalidValue(key, what string) error {
	return &queryError{400, "ValidationError", fmt.Sprintf("Value for %s %s", clip(key), what)}
}

func missingParameter(key string) error {
	return &queryError{400, "MissingParameter", fmt.Sprintf("The request must contain the parameter %s", key)}
}
