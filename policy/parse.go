package policy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/iamdb/iamdb/arn"
)

// Versions of the policy language. Policy variables are substituted only in Version2012.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Default document-size limits, in characters not counting white space, as IAM counts them
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
const (
	MaxManagedPolicySize  = 6144  // customer managed policy (also permissions boundaries)
	MaxUserInlineSize     = 2048  // all inline policies of a user together
	MaxRoleInlineSize     = 10240 // all inline policies of a role together
	MaxGroupInlineSize    = 5120  // all inline policies of a group together
	MaxTrustPolicySize    = 2048  // role trust policy, default quota (can be raised to 4096)
	MaxSessionPolicySize  = 2048  // inline session policy passed to AssumeRole*
	MaxResourcePolicySize = 20480 // resource-based policies (S3's bucket-policy limit)
)

// maxDocumentBytes bounds the raw document, white space included, whatever the limit.
const maxDocumentBytes = 1 << 20

// maxDepth bounds JSON nesting; no valid policy nests deeper than 5.
const maxDepth = 16

// Errors. Every error Parse returns wraps one of them; errors.Is tells them apart.
var (
	// ErrMalformed is IAM's MalformedPolicyDocument: the document is not a valid policy.
	ErrMalformed = errors.New("policy: malformed policy document")
	// ErrTooLarge is IAM's LimitExceeded for policy size.
	ErrTooLarge = errors.New("policy: policy document too large")
)

// SyntaxError says what is wrong with a document and where. It wraps ErrMalformed.
type SyntaxError struct {
	Statement int    // index of the statement in the Statement array (0-based), -1 for the document
	Sid       string // the statement's Sid, if it has one
	Field     string // "Action", "Condition", …; empty when the error is about the whole statement or document
	Msg       string
}

// Detail is the message without the package prefix, in the shape of IAM's
// MalformedPolicyDocument messages: "Statement[1] (Sid \"X\"): Action: …".
func (e *SyntaxError) Detail() string {
	var b strings.Builder
	if e.Statement >= 0 {
		fmt.Fprintf(&b, "Statement[%d]", e.Statement)
		if e.Sid != "" {
			fmt.Fprintf(&b, " (Sid %q)", e.Sid)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *SyntaxError) Error() string { return ErrMalformed.Error() + ": " + e.Detail() }

// Unwrap returns ErrMalformed.
func (e *SyntaxError) Unwrap() error { return ErrMalformed }

// SizeError says that a document is larger than its limit. It wraps ErrTooLarge.
type SizeError struct {
	Size, Limit int // characters without white space
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%v: %d characters without white space, quota %d", ErrTooLarge, e.Size, e.Limit)
}

// Unwrap returns ErrTooLarge.
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// Kind is what a policy is attached to; it decides which elements are required or
// forbidden and the default size limit.
type Kind uint8

// Kinds of policies.
const (
	KindIdentity Kind = iota // attached to a user, group or role: no Principal; Action and Resource required
	KindResource             // attached to a resource: Principal required; Resource optional
	KindTrust                // a role's trust policy: Principal required; no Resource
	KindBoundary             // a permissions boundary: like KindIdentity
	KindSession              // a session policy: like KindIdentity
)

var kindNames = [...]string{"identity-based policy", "resource-based policy", "role trust policy", "permissions boundary", "session policy"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

func (k Kind) defaultLimit() int {
	switch k {
	case KindResource:
		return MaxResourcePolicySize
	case KindTrust:
		return MaxTrustPolicySize
	case KindSession:
		return MaxSessionPolicySize
	}
	return MaxManagedPolicySize
}

// Option changes how Parse reads a document.
type Option func(*options)

type options struct {
	kind    Kind
	limit   int
	name    string
	limitOK bool
}

// WithKind says what the policy is attached to (default KindIdentity).
func WithKind(k Kind) Option { return func(o *options) { o.kind = k } }

// WithMaxSize sets the size limit in characters without white space. Zero means the
// kind's default (MaxManagedPolicySize for identity policies and boundaries,
// MaxTrustPolicySize, MaxSessionPolicySize, MaxResourcePolicySize); a negative limit
// turns the check off (the raw document is still bounded at 1 MiB).
func WithMaxSize(n int) Option { return func(o *options) { o.limit, o.limitOK = n, true } }

// WithName names the policy (its ARN or its inline name); decisions report it.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// Policy is a parsed, compiled policy document. It is immutable and safe for concurrent use.
type Policy struct {
	name string
	// The compiled document, which Named shares between the policies it names.
	*body
}

// body is a compiled document.
type body struct {
	version string
	id      string
	stmts   []statement
	// index is nil in policies of at most indexMin statements: evaluation tries every
	// statement, which costs less than the lookup and saves the index's memory.
	*index
	// quick holds, per statement, a cheap test that rejects most resources the statement
	// cannot match without touching the statement itself (see quickFilter).
	quick []quickFilter

	size     int32 // at most maxDocumentBytes
	kind     Kind
	hasDeny  bool
	hasAllow bool
}

// index says which statements of a policy can match an action.
type index struct {
	// byAction indexes the statements whose Action lists only literal actions by each
	// lower-cased "service:name"; wild lists the others (wildcards, NotAction). Both hold
	// statement indices in ascending order.
	byAction map[string][]int32
	wild     []int32
}

// quickFilter rejects a request resource that cannot match a statement's only Resource
// pattern: every match starts with the pattern's literal prefix of length n (and is exactly
// n long when exact), so its 8 bytes before n must be tail. A zero filter rejects nothing.
// The filters of a policy sit in one dense array, so a scan over many statements reads
// 16 bytes per statement instead of the statement and its patterns.
type quickFilter struct {
	n     uint32
	exact bool
	tail  uint64
}

func (q *quickFilter) reject(v string) bool {
	n := int(q.n)
	if n == 0 {
		return false
	}
	if len(v) < n || (q.exact && len(v) != n) {
		return true
	}
	return binary.LittleEndian.Uint64([]byte(v[n-8:n])) != q.tail
}

// Named returns the policy named name (as with WithName), sharing p's compiled document.
func (p *Policy) Named(name string) *Policy { return &Policy{name: name, body: p.body} }

// Name is the name given with WithName, or the kind's name if none was.
func (p *Policy) Name() string {
	if p.name == "" {
		return p.kind.String()
	}
	return p.name
}

// Kind is the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Version is the document's Version ("2008-10-17" when it had none).
func (p *Policy) Version() string { return p.version }

// ID is the document's Id element.
func (p *Policy) ID() string { return p.id }

// Size is the document's size in characters without white space, as IAM counts it.
func (p *Policy) Size() int { return int(p.size) }

// NumStatements is the number of statements.
func (p *Policy) NumStatements() int { return len(p.stmts) }

// statement is a compiled statement.
// The flags sit together at the end, so that the struct packs without padding.
type statement struct {
	sid string

	actions    []actionPattern
	resources  []arnPattern
	principals *principalSet
	conds      []cond

	allow        bool
	notAction    bool
	hasResource  bool
	notResource  bool
	hasPrincipal bool
	notPrincipal bool
	idx          int32 // in the policy
}

// label is the Sid of the statement, or "Statement[i]".
func (st *statement) label() string {
	if st.sid != "" {
		return st.sid
	}
	return stmtLabel(int(st.idx))
}

// actionPattern is one compiled Action entry, lower-cased.
type actionPattern struct {
	any     bool   // "*"
	service string // "rds-db"
	name    string // "connect", or a wildcard pattern
	literal bool   // name has no wildcard
}

// Parse reads and compiles a policy document. It is strict, like IAM: unknown or
// duplicated keys, wrong types, missing required elements and invalid values are errors
// wrapping ErrMalformed (as *SyntaxError); a document over the size limit is an error
// wrapping ErrTooLarge (as *SizeError).
func Parse(doc []byte, opts ...Option) (*Policy, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	limit := o.limit
	if !o.limitOK || limit == 0 {
		limit = o.kind.defaultLimit()
	}
	if len(doc) > maxDocumentBytes {
		return nil, &SizeError{Size: len(doc), Limit: limit}
	}
	if !utf8.Valid(doc) {
		return nil, docErr("", "document is not valid UTF-8")
	}
	for i := 0; i < len(doc); {
		r, n := utf8.DecodeRune(doc[i:])
		if !allowedRune(r) {
			return nil, docErr("", fmt.Sprintf("character %U is not allowed (only tab, line feed, carriage return and U+0020 to U+00FF)", r))
		}
		i += n
	}
	size := countSize(doc)
	if limit > 0 && size > limit {
		return nil, &SizeError{Size: size, Limit: limit}
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	p, err := compile(root, o)
	if err != nil {
		return nil, err
	}
	p.size = int32(size)
	return p, nil
}

// allowedRune reports whether IAM allows r in a policy document.
func allowedRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xff)
}

// countSize counts characters outside white space that is outside strings.
func countSize(doc []byte) int {
	n, inStr, esc := 0, false, false
	for i := 0; i < len(doc); {
		r, w := utf8.DecodeRune(doc[i:])
		i += w
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case r == '\\':
				esc = true
			case r == '"':
				inStr = false
			}
		case r == '"':
			inStr = true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			continue
		}
		n++
	}
	return n
}

func docErr(field, msg string) error {
	return &SyntaxError{Statement: -1, Field: field, Msg: msg}
}

// jnode is a JSON value with object keys in document order.
type jnode struct {
	kind byte // 's' string, 'n' number, 'b' bool, 'z' null, 'a' array, 'o' object
	str  string
	b    bool
	arr  []*jnode
	keys []string
	vals []*jnode
}

func (n *jnode) typeName() string {
	switch n.kind {
	case 's':
		return "a string"
	case 'n':
		return "a number"
	case 'b':
		return "a boolean"
	case 'z':
		return "null"
	case 'a':
		return "an array"
	}
	return "an object"
}

// decodeJSON decodes a document into a tree of jnodes. Errors are syntax errors, duplicate
// keys, nesting deeper than maxDepth and characters that policies do not allow in strings.
func decodeJSON(doc []byte) (*jnode, error) {
	if n, ok := scanJSON(doc); ok {
		return n, nil
	}
	return decodeJSONStd(doc)
}

// decodeJSONStd is decodeJSON with encoding/json: the reference, and the path that says
// what is wrong with a document scanJSON does not take.
func decodeJSONStd(doc []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, docErr("", "unexpected data after the policy document")
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, docErr("", "document nested too deeply")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(err)
	}
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &jnode{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, syntaxErr(err)
				}
				k, _ := kt.(string)
				for _, prev := range n.keys {
					if prev == k {
						return nil, docErr("", fmt.Sprintf("duplicate key %q", k))
					}
				}
				val, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(err)
			}
			return n, nil
		case '[':
			n := &jnode{kind: 'a'}
			for dec.More() {
				val, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(err)
			}
			return n, nil
		}
		return nil, docErr("", "syntax error")
	case string:
		// Escapes such as \u0100 must not smuggle in characters the raw check refuses.
		for _, r := range v {
			if !allowedRune(r) {
				return nil, docErr("", fmt.Sprintf("character %U is not allowed (only tab, line feed, carriage return and U+0020 to U+00FF)", r))
			}
		}
		return &jnode{kind: 's', str: v}, nil
	case json.Number:
		return &jnode{kind: 'n', str: v.String()}, nil
	case bool:
		return &jnode{kind: 'b', b: v}, nil
	case nil:
		return &jnode{kind: 'z'}, nil
	}
	return nil, docErr("", "syntax error")
}

func syntaxErr(err error) error {
	if err == io.EOF {
		return docErr("", "syntax error: unexpected end of document")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return docErr("", fmt.Sprintf("syntax error at offset %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "invalid character ")))
	}
	return docErr("", "syntax error: "+err.Error())
}

// compile turns the JSON tree into a Policy.
func compile(root *jnode, o options) (*Policy, error) {
	if root.kind != 'o' {
		return nil, docErr("", "the policy document must be a JSON object, not "+root.typeName())
	}
	p := &Policy{name: o.name, body: &body{kind: o.kind, version: Version2008}}
	var stmtNode *jnode
	for i, k := range root.keys {
		v := root.vals[i]
		switch k {
		case "Version":
			if v.kind != 's' || (v.str != Version2012 && v.str != Version2008) {
				return nil, docErr("Version", fmt.Sprintf("must be %q or %q", Version2012, Version2008))
			}
			p.version = Version2008
			if v.str == Version2012 {
				p.version = Version2012 // not v.str: a copy of the constant in every policy
			}
		case "Id":
			if v.kind != 's' {
				return nil, docErr("Id", "must be a string, not "+v.typeName())
			}
			p.id = v.str
		case "Statement":
			stmtNode = v
		default:
			return nil, docErr("", fmt.Sprintf("unknown top-level element %q (want Version, Id, Statement)", k))
		}
	}
	if stmtNode == nil {
		return nil, docErr("Statement", "missing required element")
	}
	var list []*jnode
	switch stmtNode.kind {
	case 'o':
		list = []*jnode{stmtNode}
	case 'a':
		list = stmtNode.arr
	default:
		return nil, docErr("Statement", "must be an object or an array of objects, not "+stmtNode.typeName())
	}
	if len(list) == 0 {
		return nil, docErr("Statement", "must contain at least one statement")
	}
	vars := p.version == Version2012
	sids := map[string]bool{}
	for i, n := range list {
		st, err := compileStatement(i, n, o.kind, vars)
		if err != nil {
			return nil, err
		}
		if sid := st.sid; sid != "" {
			if sids[sid] {
				return nil, &SyntaxError{Statement: i, Sid: sid, Field: "Sid", Msg: "statement IDs (SID) in a single policy must be unique"}
			}
			sids[sid] = true
		}
		if st.allow {
			p.hasAllow = true
		} else {
			p.hasDeny = true
		}
		p.stmts = append(p.stmts, st)
	}
	p.buildIndex()
	return p, nil
}

// indexMin is the number of statements up to which a policy has no action index.
const indexMin = 4

func (p *Policy) buildIndex() {
	p.quick = make([]quickFilter, len(p.stmts))
	if len(p.stmts) > indexMin {
		p.index = &index{byAction: map[string][]int32{}}
	}
	for i := range p.stmts {
		st := &p.stmts[i]
		if st.hasResource && !st.notResource && len(st.resources) == 1 {
			r := &st.resources[0]
			pre, exact := r.prefix, r.isLit
			if !r.any && len(pre) >= 8 {
				p.quick[i] = quickFilter{n: uint32(len(pre)), exact: exact, tail: binary.LittleEndian.Uint64([]byte(pre[len(pre)-8:]))}
			}
		}
		if p.index == nil {
			continue
		}
		literal := !st.notAction
		for _, a := range st.actions {
			if a.any || !a.literal {
				literal = false
			}
		}
		if !literal {
			p.wild = append(p.wild, int32(i))
			continue
		}
		for _, a := range st.actions {
			k := a.service + ":" + a.name
			if l := p.byAction[k]; len(l) == 0 || l[len(l)-1] != int32(i) {
				p.byAction[k] = append(l, int32(i))
			}
		}
	}
}

// stmtLabels are the labels of the first statements, shared by every policy.
var stmtLabels = func() (l [32]string) {
	for i := range l {
		l[i] = "Statement[" + strconv.Itoa(i) + "]"
	}
	return l
}()

// stmtLabel is the label of statement idx when it has no Sid: "Statement[idx]".
func stmtLabel(idx int) string {
	if idx < len(stmtLabels) {
		return stmtLabels[idx]
	}
	return "Statement[" + strconv.Itoa(idx) + "]"
}

func compileStatement(idx int, n *jnode, kind Kind, vars bool) (statement, error) {
	st := statement{idx: int32(idx)}
	sid := ""
	fail := func(field, msg string) (statement, error) {
		return statement{}, &SyntaxError{Statement: idx, Sid: sid, Field: field, Msg: msg}
	}
	if n.kind != 'o' {
		return fail("", "a statement must be an object, not "+n.typeName())
	}
	// The Sid first, so that every later error can name it.
	if field, msg := st.setSid(n, kind, &sid); msg != "" {
		return fail(field, msg)
	}
	var e elements
	if msg := e.collect(n); msg != "" {
		return fail("", msg)
	}
	switch {
	case e.effect == nil:
		return fail("Effect", "missing required element")
	case e.effect.kind != 's' || (e.effect.str != "Allow" && e.effect.str != "Deny"):
		return fail("Effect", `must be "Allow" or "Deny"`)
	}
	st.allow = e.effect.str == "Allow"
	if field, msg := st.setActions(&e); msg != "" {
		return fail(field, msg)
	}
	if field, msg := st.setResources(&e, kind, vars); msg != "" {
		return fail(field, msg)
	}
	if field, msg := st.setPrincipals(&e, kind); msg != "" {
		return fail(field, msg)
	}
	if e.condition != nil {
		conds, msg := compileConditions(e.condition, vars)
		if msg != "" {
			return fail("Condition", msg)
		}
		st.conds = conds
	}
	return st, nil
}

// setSid reads the Sid of statement n into *sid (as soon as it is a string, so that
// its own error can name it) and labels st with it. On failure msg says why and field is
// the element at fault.
func (st *statement) setSid(n *jnode, kind Kind, sid *string) (field, msg string) {
	for i, k := range n.keys {
		if k != "Sid" {
			continue
		}
		v := n.vals[i]
		if v.kind != 's' {
			return "Sid", "must be a string, not " + v.typeName()
		}
		*sid = v.str
		if kind != KindResource {
			for _, r := range *sid {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					return "Sid", "statement IDs (SID) must be alpha-numeric"
				}
			}
		}
		st.sid = *sid
	}
	return "", ""
}

// elements are the elements of a statement object but its Sid, nil when absent.
type elements struct {
	effect, action, notAction, resource, notResource, principal, notPrincipal, condition *jnode
}

// collect picks the elements of statement n; msg names an element a statement cannot have.
func (e *elements) collect(n *jnode) (msg string) {
	for i, k := range n.keys {
		v := n.vals[i]
		switch k {
		case "Sid":
		case "Effect":
			e.effect = v
		case "Action":
			e.action = v
		case "NotAction":
			e.notAction = v
		case "Resource":
			e.resource = v
		case "NotResource":
			e.notResource = v
		case "Principal":
			e.principal = v
		case "NotPrincipal":
			e.notPrincipal = v
		case "Condition":
			e.condition = v
		default:
			return fmt.Sprintf("unknown element %q", k)
		}
	}
	return ""
}

// setActions compiles the Action or NotAction of a statement into st.
func (st *statement) setActions(e *elements) (field, msg string) {
	switch {
	case e.action != nil && e.notAction != nil:
		return "Action", "a statement cannot have both Action and NotAction"
	case e.action == nil && e.notAction == nil:
		return "Action", "policy statement must contain actions"
	}
	field, an := "Action", e.action
	if e.notAction != nil {
		field, an, st.notAction = "NotAction", e.notAction, true
	}
	strs, msg := stringList(an)
	if msg != "" {
		return field, msg
	}
	for _, a := range strs {
		ap, msg := compileAction(a)
		if msg != "" {
			return field, msg
		}
		st.actions = append(st.actions, ap)
	}
	return "", ""
}

// setResources compiles the Resource or NotResource of a statement into st: required
// but in role trust and resource-based policies, and prohibited in role trust policies.
func (st *statement) setResources(e *elements, kind Kind, vars bool) (field, msg string) {
	if e.resource != nil && e.notResource != nil {
		return "Resource", "a statement cannot have both Resource and NotResource"
	}
	field, rn := "Resource", e.resource
	if e.notResource != nil {
		field, rn, st.notResource = "NotResource", e.notResource, true
	}
	switch {
	case rn != nil && kind == KindTrust:
		return field, "has prohibited field " + field + " (a role trust policy applies to the role itself)"
	case rn == nil && kind != KindTrust && kind != KindResource:
		return "Resource", "policy statement must contain resources"
	}
	if rn == nil {
		return "", ""
	}
	st.hasResource = true
	strs, msg := stringList(rn)
	if msg != "" {
		return field, msg
	}
	for _, r := range strs {
		if msg := checkResource(r, vars); msg != "" {
			return field, msg
		}
		ap, _ := compileARNPattern(r, vars)
		st.resources = append(st.resources, ap)
	}
	return "", ""
}

// setPrincipals compiles the Principal or NotPrincipal of a statement into st:
// prohibited in identity-based, boundary and session policies, required in the others.
func (st *statement) setPrincipals(e *elements, kind Kind) (field, msg string) {
	if e.principal != nil && e.notPrincipal != nil {
		return "Principal", "a statement cannot have both Principal and NotPrincipal"
	}
	field, pn := "Principal", e.principal
	if e.notPrincipal != nil {
		field, pn, st.notPrincipal = "NotPrincipal", e.notPrincipal, true
	}
	switch kind {
	case KindIdentity, KindBoundary, KindSession:
		if pn != nil {
			return field, "policy document should not specify a principal"
		}
		return "", ""
	}
	if pn == nil {
		return "Principal", "missing required element Principal"
	}
	if st.notPrincipal && kind == KindTrust {
		return "NotPrincipal", "NotPrincipal is not supported in role trust policies"
	}
	st.hasPrincipal = true
	ps, msg := compilePrincipals(pn)
	if msg != "" {
		return field, msg
	}
	st.principals = &ps
	return "", ""
}

// stringList reads a string or a non-empty array of strings.
func stringList(n *jnode) ([]string, string) {
	switch n.kind {
	case 's':
		return []string{n.str}, ""
	case 'a':
		if len(n.arr) == 0 {
			return nil, "must not be an empty array"
		}
		out := make([]string, len(n.arr))
		for i, e := range n.arr {
			if e.kind != 's' {
				return nil, fmt.Sprintf("entry %d must be a string, not %s", i, e.typeName())
			}
			out[i] = e.str
		}
		return out, ""
	}
	return nil, "must be a string or an array of strings, not " + n.typeName()
}

func compileAction(a string) (actionPattern, string) {
	if a == "*" {
		return actionPattern{any: true}, ""
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return actionPattern{}, fmt.Sprintf("action %q must be \"*\" or service:action, prefaced by a vendor such as rds-db", a)
	}
	for i := 0; i < len(svc); i++ {
		c := svc[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return actionPattern{}, fmt.Sprintf("action %q: vendor must be letters, digits and hyphens, without wildcards", a)
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*' || c == '?' || c == '.') {
			return actionPattern{}, fmt.Sprintf("action %q: invalid character %q in the action name", a, c)
		}
	}
	name = strings.ToLower(name)
	return actionPattern{service: strings.ToLower(svc), name: name, literal: !strings.ContainsAny(name, "*?")}, ""
}

func checkResource(r string, vars bool) string {
	if r == "*" {
		return ""
	}
	parts, ok := splitPattern(r, vars)
	if !ok || parts[0] != "arn" {
		return fmt.Sprintf("resource %q must be in ARN format or \"*\"", r)
	}
	if parts[1] == "" || parts[2] == "" {
		return fmt.Sprintf("resource %q: partition and service must not be empty", r)
	}
	if strings.ContainsAny(parts[2], "*?$") {
		return fmt.Sprintf("resource %q: vendor must be fully qualified and cannot contain wildcards", r)
	}
	if len(r) > arn.MaxLen {
		return fmt.Sprintf("resource longer than %d characters", arn.MaxLen)
	}
	return ""
}

func compilePrincipals(n *jnode) (principalSet, string) {
	var ps principalSet
	if n.kind == 's' {
		if n.str != "*" {
			return ps, `must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:root"}`
		}
		ps.any = true
		return ps, ""
	}
	if n.kind != 'o' {
		return ps, "must be \"*\" or an object, not " + n.typeName()
	}
	if len(n.keys) == 0 {
		return ps, "must name at least one principal"
	}
	for i, k := range n.keys {
		vals, msg := stringList(n.vals[i])
		if msg != "" {
			return ps, k + ": " + msg
		}
		for _, v := range vals {
			switch k {
			case "AWS":
				if msg := addAWSPrincipal(&ps, v); msg != "" {
					return ps, msg
				}
			case "Service":
				if v == "" || strings.ContainsAny(v, "*? ") {
					return ps, fmt.Sprintf("invalid service principal %q", v)
				}
				ps.services = append(ps.services, strings.ToLower(v))
			case "Federated":
				if v == "" || strings.ContainsAny(v, "*?") {
					return ps, fmt.Sprintf("invalid federated principal %q", v)
				}
				ps.federated = append(ps.federated, v)
			case "CanonicalUser":
				ps.canonical++
			default:
				return ps, fmt.Sprintf("unknown principal type %q (want AWS, Service, Federated or CanonicalUser)", k)
			}
		}
	}
	return ps, ""
}

func addAWSPrincipal(ps *principalSet, v string) string {
	switch {
	case v == "*":
		ps.awsAny = true
		return ""
	case arn.IsAccountID(v):
		ps.accounts = append(ps.accounts, v)
		return ""
	}
	a, err := arn.Parse(v)
	if err != nil {
		return fmt.Sprintf("invalid principal %q: want \"*\", a 12-digit account ID or an IAM ARN", v)
	}
	if strings.ContainsAny(v, "*?") {
		return fmt.Sprintf("invalid principal %q: wildcards are not allowed in principal ARNs", v)
	}
	if (a.Service != "iam" && a.Service != "sts") || !arn.IsAccountID(a.AccountID) || a.Region != "" {
		return fmt.Sprintf("invalid principal %q: want an IAM or STS ARN with a 12-digit account", v)
	}
	if a.IsRoot() {
		ps.accounts = append(ps.accounts, a.AccountID)
		return ""
	}
	ps.arns = append(ps.arns, v)
	return ""
}

func compileConditions(n *jnode, vars bool) ([]cond, string) {
	if n.kind != 'o' {
		return nil, "must be an object, not " + n.typeName()
	}
	var out []cond
	for i, opName := range n.keys {
		info, set, ifExists, ok := parseOperator(opName)
		if !ok {
			return nil, fmt.Sprintf("invalid condition type %q", opName)
		}
		block := n.vals[i]
		if block.kind != 'o' {
			return nil, fmt.Sprintf("%s must be an object of condition keys, not %s", opName, block.typeName())
		}
		if len(block.keys) == 0 {
			return nil, fmt.Sprintf("%s must name at least one condition key", opName)
		}
		for j, key := range block.keys {
			if !validKey(key) {
				return nil, fmt.Sprintf("%s: invalid condition key %q", opName, key)
			}
			c := cond{opInfo: info, set: set, ifExists: ifExists, key: strings.ToLower(key)}
			vals, msg := scalarList(block.vals[j])
			if msg != "" {
				return nil, fmt.Sprintf("%s: %s: %s", opName, key, msg)
			}
			// Policy variables apply to string and ARN operators only.
			v := vars && (info.fam == famString || info.fam == famStringFold || info.fam == famStringLike || info.fam == famARN)
			for _, s := range vals {
				if msg := c.addValue(s, v); msg != "" {
					return nil, fmt.Sprintf("%s: %s: %s", opName, key, msg)
				}
			}
			out = append(out, c)
		}
	}
	return out, ""
}

// validKey accepts "prefix:name" condition keys (the name may contain '/', '-', …).
func validKey(k string) bool {
	i := strings.IndexByte(k, ':')
	if i <= 0 || i == len(k)-1 || len(k) > 256 {
		return false
	}
	for j := 0; j < len(k); j++ {
		if c := k[j]; c < 0x21 || c == '"' || c == '*' || c == '?' {
			return false
		}
	}
	return true
}

// scalarList reads a condition value: a string, number or boolean, or a non-empty array of them.
func scalarList(n *jnode) ([]string, string) {
	scalar := func(e *jnode) (string, bool) {
		switch e.kind {
		case 's', 'n':
			return e.str, true
		case 'b':
			return strconv.FormatBool(e.b), true
		}
		return "", false
	}
	if n.kind == 'a' {
		if len(n.arr) == 0 {
			return nil, "must not be an empty array"
		}
		out := make([]string, len(n.arr))
		for i, e := range n.arr {
			s, ok := scalar(e)
			if !ok {
				return nil, fmt.Sprintf("value %d must be a string, number or boolean, not %s", i, e.typeName())
			}
			out[i] = s
		}
		return out, ""
	}
	s, ok := scalar(n)
	if !ok {
		return nil, "must be a string, number, boolean or an array of them, not " + n.typeName()
	}
	return []string{s}, ""
}
