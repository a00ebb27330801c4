package policy

import (
	"encoding/base64"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

type family uint8

const (
	famString family = iota
	famStringFold
	famStringLike
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type opInfo struct {
	fam family
	neg bool
	cmp cmpOp
}

// operators lists the base condition operators of
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html.
// Names are matched exactly (case-sensitively).
var operators = map[string]opInfo{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, neg: true},
	"StringEqualsIgnoreCase":    {fam: famStringFold},
	"StringNotEqualsIgnoreCase": {fam: famStringFold, neg: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, neg: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, neg: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, neg: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, neg: true},
	"ArnEquals":                 {fam: famARN},
	"ArnLike":                   {fam: famARN},
	"ArnNotEquals":              {fam: famARN, neg: true},
	"ArnNotLike":                {fam: famARN, neg: true},
	"Null":                      {fam: famNull},
}

type setOp uint8

const (
	setNone setOp = iota
	setAnyValue
	setAllValues
)

// cond is one (operator, key, values) triple of a Condition element.
type cond struct {
	opInfo
	ifExists bool
	set      setOp
	key      string // lower case

	strs  []pattern
	arns  []arnPattern
	nums  []float64
	times []int64 // Unix nanoseconds
	bools []bool
	bins  []string
	nets  []netip.Prefix
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
func parseOperator(name string) (info opInfo, set setOp, ifExists bool, ok bool) {
	base := name
	switch {
	case strings.HasPrefix(base, "ForAnyValue:"):
		set, base = setAnyValue, base[len("ForAnyValue:"):]
	case strings.HasPrefix(base, "ForAllValues:"):
		set, base = setAllValues, base[len("ForAllValues:"):]
	}
	if info, ok = operators[base]; ok {
		if info.fam == famNull && set != setNone {
			return opInfo{}, 0, false, false
		}
		return info, set, false, true
	}
	if b, found := strings.CutSuffix(base, "IfExists"); found {
		if info, ok = operators[b]; ok && info.fam != famNull {
			return info, set, true, true
		}
	}
	return opInfo{}, 0, false, false
}

// addValue compiles one policy value for c; it returns a description of the problem when
// the value does not fit the operator.
func (c *cond) addValue(v string, vars bool) string {
	switch c.fam {
	case famString, famStringFold, famStringLike:
		c.strs = append(c.strs, compilePattern(v, vars))
	case famARN:
		p, ok := compileARNPattern(v, vars)
		if !ok {
			return "value " + strconv.Quote(v) + " is not an ARN"
		}
		c.arns = append(c.arns, p)
	case famNumeric:
		f, ok := parseNumber(v)
		if !ok {
			return "value " + strconv.Quote(v) + " is not a number"
		}
		c.nums = append(c.nums, f)
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return "value " + strconv.Quote(v) + " is not a date (ISO 8601 or epoch seconds)"
		}
		c.times = append(c.times, t)
	case famBool, famNull:
		switch strings.ToLower(v) {
		case "true":
			c.bools = append(c.bools, true)
		case "false":
			c.bools = append(c.bools, false)
		default:
			return "value " + strconv.Quote(v) + " is not true or false"
		}
	case famBinary:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "value " + strconv.Quote(v) + " is not base64"
		}
		c.bins = append(c.bins, string(b))
	case famIP:
		p, ok := parsePrefix(v)
		if !ok {
			return "value " + strconv.Quote(v) + " is not an IP address or CIDR block"
		}
		c.nets = append(c.nets, p)
	}
	return ""
}

func parseNumber(s string) (float64, bool) {
	if !isDecimal(s) {
		return 0, false // checked first: a strconv error would allocate
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// isDecimal reports whether s is [+-]digits[.digits][(e|E)[+-]digits].
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// dateLayouts are the ISO 8601 forms IAM accepts in Date conditions.
var dateLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDate parses an ISO 8601 date or epoch seconds into Unix nanoseconds (times without
// a zone are UTC).
func parseDate(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		f, ok := parseNumber(s)
		if !ok || math.Abs(f) > 1e11 {
			return 0, false
		}
		return int64(f * 1e9), true
	}
	if len(s) < 10 || strings.Trim(s, "0123456789-:.TZ+") != "" {
		return 0, false // checked first: a time.Parse error would allocate
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// eval evaluates the condition against ctx, following "Condition operators" and
// "Single-valued vs. multivalued context keys" in the IAM User Guide.
func (c *cond) eval(ctx *Context) bool {
	vals := ctx.lookup(c.key)
	if c.fam == famNull {
		// "true": the key must be absent or null; "false": present with a value. Values
		// are OR-ed.
		return slices.Contains(c.bools, nullDataset(vals))
	}
	if len(vals) == 0 || c.set != setNone && nullDataset(vals) {
		switch {
		case c.set == setAllValues:
			return true // ForAllValues is true when the key is absent or empty.
		case c.ifExists:
			return true
		case c.set == setAnyValue:
			return false
		default:
			return c.neg // positive operators fail, negated ones hold
		}
	}
	switch c.set {
	case setAnyValue:
		for i := range vals {
			if c.matchOne(&vals[i], ctx) != c.neg {
				return true
			}
		}
		return false
	case setAllValues:
		for i := range vals {
			if c.matchOne(&vals[i], ctx) == c.neg {
				return false
			}
		}
		return true
	default:
		// No set operator: true if any request value matches any policy value; a negated
		// operator holds when no request value matches any policy value.
		for i := range vals {
			if c.matchOne(&vals[i], ctx) {
				return !c.neg
			}
		}
		return c.neg
	}
}

// nullDataset reports whether a key's values are what AWS calls a null dataset: none, or
// only empty strings (a tag may have an empty value). Null and the set operators treat it
// as absent; the plain operators compare the empty string like any other value.
func nullDataset(vals []Value) bool {
	for i := range vals {
		if vals[i].typ != TypeString || vals[i].text != "" {
			return false
		}
	}
	return true
}

// matchOne reports whether one request value matches any policy value under the base
// (non-negated) operator.
func (c *cond) matchOne(v *Value, ctx *Context) bool {
	switch c.fam {
	case famString:
		return c.matchText(v.Text(), ctx, modeEqual)
	case famStringFold:
		return c.matchText(v.Text(), ctx, modeEqualFold)
	case famStringLike:
		return c.matchText(v.Text(), ctx, modeGlob)
	case famARN:
		text := v.Text()
		parts, ok := splitValue(text)
		if !ok {
			return false
		}
		for i := range c.arns {
			if c.arns[i].match(text, &parts, true, ctx) {
				return true
			}
		}
	case famNumeric:
		f, ok := v.number()
		return ok && compareAny(c.cmp, f, c.nums)
	case famDate:
		t, ok := v.date()
		return ok && compareAny(c.cmp, t, c.times)
	case famBool:
		b, ok := v.boolean()
		return ok && slices.Contains(c.bools, b)
	case famBinary:
		return slices.Contains(c.bins, v.text)
	case famIP:
		a, ok := v.addr()
		if !ok {
			return false
		}
		for _, p := range c.nets {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// matchText reports whether s matches any of the policy's string values under mode.
func (c *cond) matchText(s string, ctx *Context, mode matchMode) bool {
	for i := range c.strs {
		if c.strs[i].match(s, ctx, mode) {
			return true
		}
	}
	return false
}

// compareAny reports whether a compares true under op with any of ps.
func compareAny[T float64 | int64](op cmpOp, a T, ps []T) bool {
	for _, p := range ps {
		if compare(op, a, p) {
			return true
		}
	}
	return false
}

func compare[T float64 | int64](op cmpOp, a, b T) bool {
	switch op {
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return a == b
}

func (v *Value) number() (float64, bool) {
	switch v.typ {
	case TypeNumber:
		return v.num, true
	case TypeDate:
		return float64(v.t.Unix()), true
	}
	return parseNumber(v.text)
}

func (v *Value) date() (int64, bool) {
	switch v.typ {
	case TypeDate:
		return v.t.UnixNano(), true
	case TypeNumber:
		return int64(v.num * 1e9), true
	}
	return parseDate(v.text)
}

func (v *Value) boolean() (bool, bool) {
	if v.typ == TypeBool {
		return v.b, true
	}
	switch {
	case strings.EqualFold(v.text, "true"):
		return true, true
	case strings.EqualFold(v.text, "false"):
		return false, true
	}
	return false, false
}

func (v *Value) addr() (netip.Addr, bool) {
	if v.typ == TypeIP {
		return v.ip, v.ip.IsValid()
	}
	if v.text == "" || strings.Trim(v.text, "0123456789abcdefABCDEF:.") != "" {
		return netip.Addr{}, false // checked first: a parse error would allocate
	}
	a, err := netip.ParseAddr(v.text)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// splitValue splits a request ARN into its parts; it must start with "arn".
func splitValue(s string) ([6]string, bool) {
	var parts [6]string
	n, start := 0, 0
	for i := 0; i < len(s) && n < 5; i++ {
		if s[i] == ':' {
			parts[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	if n < 5 || parts[0] != "arn" {
		return parts, false
	}
	parts[5] = s[start:]
	return parts, true
}
