package policy

import "unicode/utf8"

// scanJSON decodes doc into the tree decodeJSON makes, without encoding/json and with a
// few allocations instead of several per token: the nodes come from one array, object
// keys and the words policies repeat are constants, and children are copied once into
// slices of their exact size. A service that loads many stored policies at start-up
// keeps their compiled forms; whatever else parsing allocates is garbage between them.
//
// It understands only what is common in policies and gives up (ok false) on anything
// else: any syntax error, a duplicate key, nesting deeper than maxDepth, and escapes other
// than \" \\ \/ \n \r \t and \u00XX of a character policies allow. The caller then decodes
// with decodeJSON, which accepts or rejects exactly as before and says why. When scanJSON
// succeeds, its tree is the one decodeJSON would have made (FuzzScanJSON checks this).
// doc must be valid UTF-8 and hold only characters that policies allow, as Parse checks
// first.
func scanJSON(doc []byte) (root *jnode, ok bool) {
	s := scanner{doc: doc}
	root, ok = s.value(0)
	if !ok {
		return nil, false
	}
	s.space()
	return root, s.pos == len(doc)
}

type scanner struct {
	doc   []byte
	pos   int
	nodes []jnode  // the current block of nodes
	vals  []*jnode // children of the objects and arrays being read
	keys  []string // keys of the objects being read
}

func (s *scanner) space() {
	for s.pos < len(s.doc) {
		switch s.doc[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) node(kind byte) *jnode {
	if len(s.nodes) == cap(s.nodes) {
		s.nodes = make([]jnode, 0, max(16, len(s.doc)/16))
	}
	s.nodes = s.nodes[:len(s.nodes)+1]
	n := &s.nodes[len(s.nodes)-1]
	n.kind = kind
	return n
}

// value reads the value at s.pos, at nesting depth depth.
func (s *scanner) value(depth int) (*jnode, bool) {
	if depth > maxDepth {
		return nil, false
	}
	s.space()
	if s.pos >= len(s.doc) {
		return nil, false
	}
	switch c := s.doc[s.pos]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		str, ok := s.str()
		if !ok {
			return nil, false
		}
		n := s.node('s')
		n.str = str
		return n, true
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	for _, lit := range [...]struct {
		text string
		kind byte
		b    bool
	}{{"true", 'b', true}, {"false", 'b', false}, {"null", 'z', false}} {
		if len(s.doc)-s.pos >= len(lit.text) && string(s.doc[s.pos:s.pos+len(lit.text)]) == lit.text {
			s.pos += len(lit.text)
			n := s.node(lit.kind)
			n.b = lit.b
			return n, true
		}
	}
	return nil, false
}

func (s *scanner) object(depth int) (*jnode, bool) {
	s.pos++ // {
	mark, kmark := len(s.vals), len(s.keys)
	defer func() { s.vals, s.keys = s.vals[:mark], s.keys[:kmark] }()
	s.space()
	if s.pos < len(s.doc) && s.doc[s.pos] == '}' {
		s.pos++
		return s.node('o'), true
	}
	for {
		s.space()
		if s.pos >= len(s.doc) || s.doc[s.pos] != '"' {
			return nil, false
		}
		k, ok := s.str()
		if !ok {
			return nil, false
		}
		for _, prev := range s.keys[kmark:] {
			if prev == k {
				return nil, false
			}
		}
		s.space()
		if s.pos >= len(s.doc) || s.doc[s.pos] != ':' {
			return nil, false
		}
		s.pos++
		v, ok := s.value(depth + 1)
		if !ok {
			return nil, false
		}
		s.keys, s.vals = append(s.keys, k), append(s.vals, v)
		if !s.next('}') {
			return nil, false
		}
		if s.doc[s.pos-1] == '}' {
			n := s.node('o')
			n.keys, n.vals = clip(s.keys[kmark:]), clip(s.vals[mark:])
			return n, true
		}
	}
}

func (s *scanner) array(depth int) (*jnode, bool) {
	s.pos++ // [
	mark := len(s.vals)
	defer func() { s.vals = s.vals[:mark] }()
	s.space()
	if s.pos < len(s.doc) && s.doc[s.pos] == ']' {
		s.pos++
		return s.node('a'), true
	}
	for {
		v, ok := s.value(depth + 1)
		if !ok {
			return nil, false
		}
		s.vals = append(s.vals, v)
		if !s.next(']') {
			return nil, false
		}
		if s.doc[s.pos-1] == ']' {
			n := s.node('a')
			n.arr = clip(s.vals[mark:])
			return n, true
		}
	}
}

// next reads the comma or the closing delimiter after a member of a container.
func (s *scanner) next(closing byte) bool {
	s.space()
	if s.pos >= len(s.doc) {
		return false
	}
	c := s.doc[s.pos]
	s.pos++
	return c == ',' || c == closing
}

// clip returns a copy of l in a slice of its own length.
func clip[T any](l []T) []T {
	return append(make([]T, 0, len(l)), l...)
}

func (s *scanner) number() (*jnode, bool) {
	d, i := s.doc, s.pos
	digits := func() bool {
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > j
	}
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	n := s.node('n')
	n.str = string(d[s.pos:i])
	s.pos = i
	return n, true
}

// str reads the string at s.pos. It gives up on escapes of characters that policies do
// not allow (allowedRune), which decodeJSON refuses in values and accepts in keys.
func (s *scanner) str() (string, bool) {
	d := s.doc
	start := s.pos + 1
	i := start
	for i < len(d) && d[i] != '"' && d[i] != '\\' {
		if d[i] < 0x20 {
			return "", false
		}
		i++
	}
	if i >= len(d) {
		return "", false
	}
	if d[i] == '"' {
		s.pos = i + 1
		return word(d[start:i]), true
	}
	// Escapes: decode into a new buffer.
	buf := append(make([]byte, 0, i-start+16), d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(d) {
			return "", false
		}
		switch d[i+1] {
		case '"', '\\', '/':
			buf = append(buf, d[i+1])
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d[i+2:])
			if !ok || !allowedRune(r) {
				return "", false
			}
			buf = utf8.AppendRune(buf, r)
			i += 4
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// word returns b as a string: a constant for the keys and values policies repeat, a copy
// otherwise.
func word(b []byte) string {
	switch string(b) {
	case "Version":
		return "Version"
	case "Statement":
		return "Statement"
	case "Sid":
		return "Sid"
	case "Effect":
		return "Effect"
	case "Action":
		return "Action"
	case "NotAction":
		return "NotAction"
	case "Resource":
		return "Resource"
	case "NotResource":
		return "NotResource"
	case "Principal":
		return "Principal"
	case "NotPrincipal":
		return "NotPrincipal"
	case "Condition":
		return "Condition"
	case "AWS":
		return "AWS"
	case "Service":
		return "Service"
	case "Federated":
		return "Federated"
	case Version2012:
		return Version2012
	case Version2008:
		return Version2008
	case "Allow":
		return "Allow"
	case "Deny":
		return "Deny"
	case "*":
		return "*"
	case "rds-db:connect":
		return "rds-db:connect"
	case "sts:AssumeRole":
		return "sts:AssumeRole"
	}
	return string(b)
}
