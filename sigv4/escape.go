package sigv4

import "strings"

const upperhex = "0123456789ABCDEF"

// unreserved reports whether b is one of RFC 3986's unreserved characters, which SigV4 never
// escapes: A-Z a-z 0-9 - _ . ~
func unreserved(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '-' || b == '_' || b == '.' || b == '~'
}

// AppendEscape appends s escaped as SigV4 requires: every byte but the unreserved ones as %XX
// with upper-case hex. If keepSlash, '/' is kept (for paths).
func AppendEscape(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if unreserved(b) || keepSlash && b == '/' {
			dst = append(dst, b)
			continue
		}
		dst = append(dst, '%', upperhex[b>>4], upperhex[b&15])
	}
	return dst
}

// Escape returns s escaped as by AppendEscape with keepSlash false.
func Escape(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return string(AppendEscape(make([]byte, 0, len(s)+16), s, false))
		}
	}
	return s
}

// DecodeSignature decodes a signature's 64 hex digits (either case) into dst, without
// allocating; it reports false, leaving dst partly written, for anything else.
func DecodeSignature(dst *[32]byte, s string) bool { return decodeHex(dst[:], s, false) }

// decodeHex decodes 2*len(dst) hex digits into dst; lowerOnly refuses 'A'-'F' (the
// signatures this package verifies itself are lower-case, as AWS writes them).
func decodeHex(dst []byte, s string, lowerOnly bool) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		c1, c2 := s[2*i], s[2*i+1]
		if lowerOnly && ('A' <= c1 && c1 <= 'F' || 'A' <= c2 && c2 <= 'F') {
			return false
		}
		hi, ok1 := unhex(c1)
		lo, ok2 := unhex(c2)
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validEscapes reports whether every '%' in s starts a two-digit hex escape.
func validEscapes(s string) bool {
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			return true
		}
		if i+2 >= len(s) {
			return false
		}
		if _, ok := unhex(s[i+1]); !ok {
			return false
		}
		if _, ok := unhex(s[i+2]); !ok {
			return false
		}
		s = s[i+3:]
	}
}

// AppendUnescape appends the query-decoded form of raw: %XX becomes the byte, '+' becomes a
// space (as in application/x-www-form-urlencoded and Go's url.QueryUnescape). raw must have
// passed validEscapes; an invalid escape is copied through.
func AppendUnescape(dst []byte, raw string) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '%':
			if i+2 < len(raw) {
				hi, ok1 := unhex(raw[i+1])
				lo, ok2 := unhex(raw[i+2])
				if ok1 && ok2 {
					dst = append(dst, hi<<4|lo)
					i += 2
					continue
				}
			}
			dst = append(dst, c)
		case '+':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Unescape returns the query-decoded form of raw. It does not allocate when raw has nothing
// to decode.
func Unescape(raw string) string {
	if strings.IndexByte(raw, '%') < 0 && strings.IndexByte(raw, '+') < 0 {
		return raw
	}
	return string(AppendUnescape(make([]byte, 0, len(raw)), raw))
}

// appendCanonical appends the canonical (SigV4) encoding of a raw query component: decoded,
// then escaped with AppendEscape. Runs that are already canonical (unreserved bytes and
// upper-case escapes of reserved ones) are copied as they are.
func appendCanonical(dst []byte, raw string) []byte {
	run := 0 // start of the pending canonical run
	for i := 0; i < len(raw); {
		c := raw[i]
		if unreserved(c) {
			i++
			continue
		}
		if c == '%' && i+2 < len(raw) {
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if ok1 && ok2 {
				b := hi<<4 | lo
				if !unreserved(b) && isUpperHex(raw[i+1]) && isUpperHex(raw[i+2]) {
					i += 3 // already canonical
					continue
				}
				dst = append(dst, raw[run:i]...)
				if unreserved(b) {
					dst = append(dst, b)
				} else {
					dst = append(dst, '%', upperhex[b>>4], upperhex[b&15])
				}
				i += 3
				run = i
				continue
			}
		}
		if c == '+' {
			c = ' '
		}
		dst = append(dst, raw[run:i]...)
		dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
		i++
		run = i
	}
	return append(dst, raw[run:]...)
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// equalDecoded reports whether raw decodes to s, without allocating.
func equalDecoded(raw, s string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%' && i+2 < len(raw):
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		case c == '+':
			c = ' '
		}
		if j >= len(s) || s[j] != c {
			return false
		}
		j++
	}
	return j == len(s)
}
