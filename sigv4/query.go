package sigv4

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits on what a peer can make the query parser hold.
const (
	// MaxQueryLen is the longest raw query Parse accepts.
	MaxQueryLen = 64 << 10
	// MaxParams is the largest number of parameters Parse accepts.
	MaxParams = 64
)

// Errors of Parse. They never quote the query: it may carry a signature or a session token.
var (
	ErrQueryTooLong   = errors.New("sigv4: query too long")
	ErrTooManyParams  = errors.New("sigv4: too many query parameters")
	ErrMalformedQuery = errors.New("sigv4: malformed query")
)

// Param is one query parameter as it appears on the wire: Key and Value are still
// percent-encoded.
type Param struct {
	Key, Value string
}

// Query is a parsed query string. Parse fills it with spans of the raw string, so a Query is
// valid only as long as that string, and parsing allocates nothing. A Query may be reused:
// each Parse starts afresh. It is not safe for concurrent use.
type Query struct {
	params  [MaxParams]Param
	plain   [MaxParams]bool // the key has nothing to decode
	n       int
	order   [MaxParams]uint8
	scratch []byte
	spans   [MaxParams][3]int // start, key end, end of each canonical "key=value" in scratch
}

// Parse parses raw (the part after '?', without it) as a query string: parameters separated by
// '&', each "key=value" or "key". Empty parameters, empty keys and bad escapes are refused.
func (q *Query) Parse(raw string) error {
	q.n = 0
	if len(raw) > MaxQueryLen {
		return ErrQueryTooLong
	}
	if raw == "" {
		return nil
	}
	// One pass: split on '&', find each '=', check each escape.
	start, eq, plainKey := 0, -1, true
	for i := 0; i <= len(raw); i++ {
		c := byte('&')
		if i < len(raw) {
			c = raw[i]
		}
		switch c {
		case '=':
			if eq < 0 {
				eq = i
			}
			continue
		case '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return fmt.Errorf("%w: bad percent-escape in parameter %d", ErrMalformedQuery, q.n+1)
			}
			if eq < 0 {
				plainKey = false
			}
			i += 2
			continue
		case '+':
			if eq < 0 {
				plainKey = false
			}
			continue
		default:
			continue
		case '&':
		}
		if q.n == MaxParams {
			return ErrTooManyParams
		}
		if i == start {
			return fmt.Errorf("%w: empty parameter %d", ErrMalformedQuery, q.n+1)
		}
		k, v := raw[start:i], ""
		if eq >= 0 {
			k, v = raw[start:eq], raw[eq+1:i]
		}
		if k == "" {
			return fmt.Errorf("%w: empty key in parameter %d", ErrMalformedQuery, q.n+1)
		}
		q.params[q.n] = Param{Key: k, Value: v}
		q.plain[q.n] = plainKey
		q.n++
		start, eq, plainKey = i+1, -1, true
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Len returns the number of parameters.
func (q *Query) Len() int { return q.n }

// Param returns the i-th parameter in wire order.
func (q *Query) Param(i int) Param { return q.params[i] }

// Raw returns the still-encoded value of the first parameter whose decoded key is name.
func (q *Query) Raw(name string) (string, bool) {
	for i := 0; i < q.n; i++ {
		if q.keyIs(i, name) {
			return q.params[i].Value, true
		}
	}
	return "", false
}

// Get returns the decoded value of the first parameter whose decoded key is name. It
// allocates only when the value has something to decode.
func (q *Query) Get(name string) (string, bool) {
	raw, ok := q.Raw(name)
	if !ok {
		return "", false
	}
	return Unescape(raw), true
}

// Count returns how many parameters have the decoded key name.
func (q *Query) Count(name string) int {
	c := 0
	for i := 0; i < q.n; i++ {
		if q.keyIs(i, name) {
			c++
		}
	}
	return c
}

// DuplicateKey reports whether two parameters share a decoded key.
func (q *Query) DuplicateKey() bool {
	for i := 0; i < q.n; i++ {
		for j := i + 1; j < q.n; j++ {
			if q.params[j].Key == q.params[i].Key {
				return true
			}
			if (!q.plain[i] || !q.plain[j]) && equalRaw(q.params[i].Key, q.params[j].Key) {
				return true
			}
		}
	}
	return false
}

// keyIs reports whether the i-th key decodes to name.
func (q *Query) keyIs(i int, name string) bool {
	if q.plain[i] {
		return q.params[i].Key == name
	}
	return equalDecoded(q.params[i].Key, name)
}

// equalRaw reports whether two raw components decode to the same bytes.
func equalRaw(a, b string) bool {
	var ab, bb [128]byte
	if len(a) > len(ab) || len(b) > len(bb) {
		return bytes.Equal(AppendUnescape(nil, a), AppendUnescape(nil, b))
	}
	return bytes.Equal(AppendUnescape(ab[:0], a), AppendUnescape(bb[:0], b))
}

// AppendCanonical appends the canonical query string of SigV4 to dst: every parameter but
// those whose decoded key is exclude (pass "X-Amz-Signature" for a presigned request, "" for
// none), keys and values decoded and re-escaped, sorted by key and then by value, joined by '&'.
// It allocates only to grow the Query's reusable scratch buffer.
func (q *Query) AppendCanonical(dst []byte, exclude string) []byte {
	s := q.scratch[:0]
	m := 0
	for i := 0; i < q.n; i++ {
		p := q.params[i]
		if exclude != "" && q.keyIs(i, exclude) {
			continue
		}
		start := len(s)
		s = appendCanonical(s, p.Key)
		keyEnd := len(s)
		s = append(s, '=')
		s = appendCanonical(s, p.Value)
		q.spans[m] = [3]int{start, keyEnd, len(s)}
		q.order[m] = uint8(m)
		m++
	}
	q.scratch = s
	// Insertion sort: at most MaxParams entries, usually fewer than ten, no allocation.
	for i := 1; i < m; i++ {
		for j := i; j > 0 && q.less(q.order[j], q.order[j-1]); j-- {
			q.order[j], q.order[j-1] = q.order[j-1], q.order[j]
		}
	}
	for i := 0; i < m; i++ {
		if i > 0 {
			dst = append(dst, '&')
		}
		sp := q.spans[q.order[i]]
		dst = append(dst, s[sp[0]:sp[2]]...)
	}
	return dst
}

func (q *Query) less(a, b uint8) bool {
	sa, sb := q.spans[a], q.spans[b]
	ka, kb := q.scratch[sa[0]:sa[1]], q.scratch[sb[0]:sb[1]]
	if c := bytes.Compare(ka, kb); c != 0 {
		return c < 0
	}
	return bytes.Compare(q.scratch[sa[1]:sa[2]], q.scratch[sb[1]:sb[2]]) < 0
}
