package policy

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/iamdb/iamdb/arn"
)

// A pattern is a compiled string from a policy: a Resource, a string or ARN condition
// value. Without policy variables it is the text itself (raw); with them it is a sequence of
// tokens resolved against the request Context at evaluation time, without allocating.
type pattern struct {
	raw  string // the text when toks is nil
	toks []tok  // nil unless the text uses ${…}
	// For raw patterns: star is "*"; wild says raw has '*' or '?'; raw[:litN] is the
	// literal text before the first wildcard, which every match starts with.
	litN uint32
	star bool
	wild bool
	part uint8 // in arnPattern.parts: the ARN part the pattern is for
}

type tokKind uint8

const (
	tLit   tokKind = iota // literal text (never wildcards, even '*' from ${*})
	tStar                 // '*'
	tQuest                // '?'
	tVar                  // ${key} or ${key, 'default'}
)

type tok struct {
	kind   tokKind
	s      string // literal text, or the lower-cased context key of a variable
	def    string // default of a variable
	hasDef bool
}

// maxInlineToks is how many tokens a pattern may have before matching it allocates.
const maxInlineToks = 16

// compilePattern compiles s. With vars false (policy Version 2008-10-17, or an element where
// IAM does not substitute variables) "${" is ordinary text.
func compilePattern(s string, vars bool) pattern {
	if !vars || !strings.Contains(s, "${") {
		p := pattern{raw: s, star: s == "*", litN: uint32(len(s))}
		if k := strings.IndexAny(s, "*?"); k >= 0 {
			p.wild, p.litN = true, uint32(k)
		}
		return p
	}
	var toks []tok
	lit := func(text string) {
		// Split literal text at wildcards so that '*' and '?' written in the policy keep
		// their meaning while those produced by ${*} and ${?} do not.
		start := 0
		for i := 0; i < len(text); i++ {
			if c := text[i]; c == '*' || c == '?' {
				if i > start {
					toks = append(toks, tok{kind: tLit, s: text[start:i]})
				}
				k := tStar
				if c == '?' {
					k = tQuest
				}
				toks = append(toks, tok{kind: k})
				start = i + 1
			}
		}
		if start < len(text) {
			toks = append(toks, tok{kind: tLit, s: text[start:]})
		}
	}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			lit(s)
			break
		}
		lit(s[:i])
		body := s[i+2 : i+j]
		t, ok := parseVar(body)
		if !ok {
			// Not a variable IAM would recognise: keep the text as it is.
			lit(s[i : i+j+1])
		} else {
			toks = append(toks, t)
		}
		s = s[i+j+1:]
	}
	return pattern{toks: toks}
}

// parseVar parses the inside of ${…}: one of the escapes *, ?, $, or a context key with an
// optional default in single quotes (” inside the quotes is one quote).
func parseVar(body string) (tok, bool) {
	switch body {
	case "*":
		return tok{kind: tLit, s: "*"}, true
	case "?":
		return tok{kind: tLit, s: "?"}, true
	case "$":
		return tok{kind: tLit, s: "$"}, true
	}
	key, def, hasDef := body, "", false
	if c := strings.IndexByte(body, ','); c >= 0 {
		key = body[:c]
		d := strings.TrimSpace(body[c+1:])
		if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
			return tok{}, false
		}
		d = d[1 : len(d)-1]
		if strings.Contains(strings.ReplaceAll(d, "''", ""), "'") {
			return tok{}, false
		}
		def, hasDef = strings.ReplaceAll(d, "''", "'"), true
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t'${}*?") {
		return tok{}, false
	}
	return tok{kind: tVar, s: strings.ToLower(key), def: def, hasDef: hasDef}, true
}

// isAny reports whether the pattern is exactly "*".
func (p *pattern) isAny() bool { return p.toks == nil && p.raw == "*" }

// resolve fills vals[i] for every variable token i. It reports false when a variable has
// no single value in ctx and no default: the pattern then matches nothing.
func (p *pattern) resolve(ctx *Context, vals []string) bool {
	for i := range p.toks {
		t := &p.toks[i]
		if t.kind != tVar {
			continue
		}
		v, ok := ctx.single(t.s)
		if !ok {
			if !t.hasDef {
				return false
			}
			v = t.def
		}
		vals[i] = v
	}
	return true
}

type matchMode uint8

const (
	modeGlob      matchMode = iota // '*' and '?' are wildcards, case-sensitive
	modeGlobFold                   // wildcards, ASCII case-insensitive (actions)
	modeEqual                      // exact, case-sensitive
	modeEqualFold                  // exact, Unicode case folding
)

// match reports whether s matches the pattern in the given mode.
func (p *pattern) match(s string, ctx *Context, mode matchMode) bool {
	if p.toks == nil {
		switch mode {
		case modeGlob:
			switch {
			case p.star:
				return true
			case !p.wild:
				return p.raw == s
			}
			lit := p.raw[:p.litN]
			return strings.HasPrefix(s, lit) && arn.Glob(p.raw[len(lit):], s[len(lit):])
		case modeGlobFold:
			return arn.GlobFold(p.raw, s)
		case modeEqual:
			return p.raw == s
		default:
			return strings.EqualFold(p.raw, s)
		}
	}
	var buf [maxInlineToks]string
	vals := buf[:]
	if len(p.toks) > maxInlineToks {
		vals = make([]string, len(p.toks))
	}
	if !p.resolve(ctx, vals) {
		return false
	}
	switch mode {
	case modeGlob, modeGlobFold:
		return globToks(p.toks, vals, s)
	default:
		return equalToks(p.toks, vals, s, mode == modeEqualFold)
	}
}

// text is the literal text of token i (its resolved value for a variable).
func tokText(toks []tok, vals []string, i int) string {
	switch toks[i].kind {
	case tLit:
		return toks[i].s
	case tVar:
		return vals[i]
	case tStar:
		return "*"
	default:
		return "?"
	}
}

func equalToks(toks []tok, vals []string, s string, fold bool) bool {
	for i := range toks {
		t := tokText(toks, vals, i)
		if fold {
			// Folding may change byte lengths; compare rune-wise on a prefix.
			n, ok := foldPrefix(s, t)
			if !ok {
				return false
			}
			s = s[n:]
			continue
		}
		if !strings.HasPrefix(s, t) {
			return false
		}
		s = s[len(t):]
	}
	return s == ""
}

// foldPrefix reports whether s starts with prefix under simple Unicode case folding, and
// how many bytes of s the prefix covered.
func foldPrefix(s, prefix string) (int, bool) {
	n := 0
	for prefix != "" {
		if s == "" {
			return 0, false
		}
		r1, w1 := utf8.DecodeRuneInString(s)
		r2, w2 := utf8.DecodeRuneInString(prefix)
		if !strings.EqualFold(s[:w1], prefix[:w2]) && r1 != r2 {
			return 0, false
		}
		s, prefix, n = s[w1:], prefix[w2:], n+w1
	}
	return n, true
}

// globToks is arn.Glob over a token sequence: the pattern position is (token, offset).
// Like arn.Glob it keeps a single backtrack point, so it cannot blow up.
func globToks(toks []tok, vals []string, s string) bool {
	ti, off, i := 0, 0, 0
	starT, starI := -1, 0
	for {
		for ti < len(toks) && (toks[ti].kind == tLit || toks[ti].kind == tVar) && off >= len(tokText(toks, vals, ti)) {
			ti, off = ti+1, 0
		}
		if i >= len(s) {
			break
		}
		if ti < len(toks) {
			switch toks[ti].kind {
			case tStar:
				starT, starI = ti+1, i
				ti, off = ti+1, 0
				continue
			case tQuest:
				i += runeLen(s, i)
				ti, off = ti+1, 0
				continue
			default:
				if t := tokText(toks, vals, ti); t[off] == s[i] {
					off++
					i++
					continue
				}
			}
		}
		if starT < 0 {
			return false
		}
		starI++
		ti, off, i = starT, 0, starI
	}
	for ti < len(toks) {
		switch toks[ti].kind {
		case tStar:
		case tLit, tVar:
			if off < len(tokText(toks, vals, ti)) {
				return false
			}
		default:
			return false
		}
		ti, off = ti+1, 0
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII compares a with b, which must be lower case, folding ASCII letters of a.
func equalFoldASCII(a, lowerB string) bool {
	if len(a) != len(lowerB) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lowerB[i] {
			return false
		}
	}
	return true
}

func runeLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

// splitPattern cuts an ARN pattern into its six parts like arn.Split, but does not cut
// inside ${…} when vars is true (a variable such as ${aws:username} contains a colon).
func splitPattern(s string, vars bool) (parts [6]string, ok bool) {
	n, start := 0, 0
	for i := 0; i < len(s) && n < 5; i++ {
		if vars && s[i] == '$' && i+1 < len(s) && s[i+1] == '{' {
			if j := strings.IndexByte(s[i:], '}'); j >= 0 {
				i += j
				continue
			}
		}
		if s[i] == ':' {
			parts[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	if n < 5 {
		return parts, false
	}
	parts[5] = s[start:]
	return parts, true
}

// arnPattern is a compiled ARN pattern for Resource/NotResource and the Arn operators.
type arnPattern struct {
	prefix string // literal text every matching ARN starts with; the whole pattern when isLit
	// parts are the patterns of the ARN parts that must be matched (not "*", not inside
	// prefix), in part order; none when isLit.
	parts []pattern
	any   bool // "*"
	isLit bool // the pattern has no wildcard and no variable
}

func compileARNPattern(s string, vars bool) (arnPattern, bool) {
	if s == "*" {
		return arnPattern{any: true}, true
	}
	raw, ok := splitPattern(s, vars)
	if !ok {
		return arnPattern{}, false
	}
	var a arnPattern
	cut := len(s)
	stop := "*?"
	if vars {
		stop = "*?$"
	}
	if k := strings.IndexAny(s, stop); k >= 0 {
		cut = k
	}
	a.prefix = s[:cut]
	if cut == len(s) {
		a.isLit = true
		return a, true
	}
	// Parts that lie wholly inside the literal prefix are checked by the prefix test.
	for i := min(strings.Count(a.prefix, ":"), 5); i < len(raw); i++ {
		if p := compilePattern(raw[i], vars); !p.star {
			p.part = uint8(i)
			a.parts = append(a.parts, p)
		}
	}
	a.parts = slices.Clip(a.parts)
	return a, true
}

// match reports whether the ARN value (already split into parts) matches.
func (a *arnPattern) match(value string, parts *[6]string, partsOK bool, ctx *Context) bool {
	if a.any {
		return true
	}
	if a.isLit {
		// Policies of one account share long prefixes and differ near the end: look at the
		// last byte before comparing everything.
		n := len(a.prefix)
		return len(value) == n && (n == 0 || value[n-1] == a.prefix[n-1]) && value == a.prefix
	}
	n := len(a.prefix)
	if !partsOK || len(value) < n || (n > 0 && value[n-1] != a.prefix[n-1]) || value[:n] != a.prefix {
		return false
	}
	for k := range a.parts {
		pp := &a.parts[k]
		if !pp.match(parts[pp.part], ctx, modeGlob) {
			return false
		}
	}
	return true
}
