package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition keys of the request context, lower-cased as Context stores them. Condition key
// names are case-insensitive in IAM; Context normalises every key it is given, and passing
// these constants avoids even that work. See
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html.
const (
	KeyCurrentTime            = "aws:currenttime"            // date, single
	KeyEpochTime              = "aws:epochtime"              // numeric (seconds), single
	KeyPrincipalARN           = "aws:principalarn"           // ARN, single
	KeyPrincipalAccount       = "aws:principalaccount"       // string, single
	KeyPrincipalType          = "aws:principaltype"          // string: Account, User, FederatedUser, AssumedRole, Anonymous
	KeyUserID                 = "aws:userid"                 // string, single
	KeyUsername               = "aws:username"               // string, IAM users only
	KeyPrincipalTagPrefix     = "aws:principaltag/"          // + tag key: string, single
	KeySecureTransport        = "aws:securetransport"        // bool
	KeyRequestedRegion        = "aws:requestedregion"        // string
	KeyTokenIssueTime         = "aws:tokenissuetime"         // date, temporary credentials only
	KeyMultiFactorAuthPresent = "aws:multifactorauthpresent" // bool, temporary credentials only
	KeyMultiFactorAuthAge     = "aws:multifactorauthage"     // numeric (seconds), MFA sessions only
	KeySourceIdentity         = "aws:sourceidentity"         // string
	KeySourceIP               = "aws:sourceip"               // IP address
	KeyPrincipalIsAWSService  = "aws:principalisawsservice"  // bool: false for every signed request iamdb sees
	KeyFederatedProvider      = "aws:federatedprovider"      // string: the OIDC provider's ARN, web identity sessions
	KeyResourceTagPrefix      = "aws:resourcetag/"           // + tag key: string, single
	KeyRequestTagPrefix       = "aws:requesttag/"            // + tag key: string, single
	KeyTagKeys                = "aws:tagkeys"                // string, multivalued
	KeySTSExternalID          = "sts:externalid"             // string
	KeySTSRoleSessionName     = "sts:rolesessionname"        // string
	KeySTSSourceIdentity      = "sts:sourceidentity"         // string
	KeySTSTransitiveTagKeys   = "sts:transitivetagkeys"      // string, multivalued
)

// Type is the type a Value was given when it was made. Condition operators convert where
// IAM does: a numeric operator parses a String value, a string operator reads any value's
// text.
type Type uint8

// The types of Value.
const (
	TypeString Type = iota
	TypeNumber
	TypeBool
	TypeDate
	TypeIP
	TypeBinary
)

// Value is one value of a condition key in a request Context. Every Value has a text form
// (what string operators and policy variables see); typed constructors keep the parsed
// form so that evaluation does not parse it again, and make the text only when it is
// needed, so that filling a Context with typed values does not allocate.
type Value struct {
	typ  Type
	text string
	num  float64
	t    time.Time
	b    bool
	ip   netip.Addr
}

// String makes a string value.
func String(s string) Value { return Value{typ: TypeString, text: s} }

// Number makes a numeric value.
func Number(f float64) Value { return Value{typ: TypeNumber, num: f} }

// Bool makes a boolean value; its text is "true" or "false".
func Bool(b bool) Value { return Value{typ: TypeBool, b: b} }

// Date makes a date value; its text is RFC 3339 in UTC.
func Date(t time.Time) Value { return Value{typ: TypeDate, t: t} }

// IP makes an IP address value (aws:SourceIp). IPv4-mapped IPv6 addresses are unmapped.
func IP(a netip.Addr) Value { return Value{typ: TypeIP, ip: a.Unmap()} }

// Binary makes a binary value, compared by BinaryEquals with the base64-decoded policy value.
func Binary(b []byte) Value { return Value{typ: TypeBinary, text: string(b)} }

// Type is the type the value was made with.
func (v Value) Type() Type { return v.typ }

// Text is the value as string operators and policy variables see it. For typed values
// other than strings and binaries it is formatted on each call (and allocates).
func (v Value) Text() string {
	switch v.typ {
	case TypeNumber:
		return strconv.FormatFloat(v.num, 'f', -1, 64)
	case TypeBool:
		return strconv.FormatBool(v.b)
	case TypeDate:
		return v.t.UTC().Format(time.RFC3339)
	case TypeIP:
		return v.ip.String()
	}
	return v.text
}

// Context holds the condition keys of one request. Keys are case-insensitive: they are
// lower-cased when set. A Context is reusable: Reset empties it but keeps its memory, so a
// server can keep one per connection and fill it for each request without allocating once
// it has grown. Lookups never allocate. The zero value is an empty Context, ready to use.
//
// A Context may be read by many evaluations at once, but must not be modified while any
// evaluation is reading it.
type Context struct {
	entries []entry
}

type entry struct {
	key  string
	vals []Value
}

// Reset removes every key, keeping the memory for reuse.
func (c *Context) Reset() {
	for i := range c.entries {
		c.entries[i].vals = c.entries[i].vals[:0]
	}
	c.entries = c.entries[:0]
}

// Set gives key the values vals, replacing any it had. A key with no values is absent:
// Set(key) with no values deletes it.
func (c *Context) Set(key string, vals ...Value) {
	key = lowerKey(key)
	for i := range c.entries {
		if c.entries[i].key == key {
			if len(vals) == 0 {
				c.entries[i].vals = c.entries[i].vals[:0]
				c.entries[i], c.entries[len(c.entries)-1] = c.entries[len(c.entries)-1], c.entries[i]
				c.entries = c.entries[:len(c.entries)-1]
				return
			}
			c.entries[i].vals = append(c.entries[i].vals[:0], vals...)
			return
		}
	}
	if len(vals) == 0 {
		return
	}
	if len(c.entries) < cap(c.entries) {
		c.entries = c.entries[:len(c.entries)+1]
		e := &c.entries[len(c.entries)-1]
		e.key = key
		e.vals = append(e.vals[:0], vals...)
		return
	}
	c.entries = append(c.entries, entry{key: key, vals: append([]Value(nil), vals...)})
}

// Add appends v to the values of key.
func (c *Context) Add(key string, v Value) {
	key = lowerKey(key)
	for i := range c.entries {
		if c.entries[i].key == key {
			c.entries[i].vals = append(c.entries[i].vals, v)
			return
		}
	}
	c.Set(key, v)
}

// SetString is Set(key, String(s)).
func (c *Context) SetString(key, s string) { c.Set(key, String(s)) }

// Get returns the values of key (any case), nil if it is absent. The slice belongs to the
// Context and is valid until the next change.
func (c *Context) Get(key string) []Value {
	if c == nil {
		return nil
	}
	for i := range c.entries {
		if strings.EqualFold(c.entries[i].key, key) {
			return c.entries[i].vals
		}
	}
	return nil
}

// Len is the number of keys present.
func (c *Context) Len() int {
	if c == nil {
		return 0
	}
	return len(c.entries)
}

// Keys returns the keys present, lower-cased, in the order they were set.
func (c *Context) Keys() []string {
	if c == nil {
		return nil
	}
	keys := make([]string, len(c.entries))
	for i := range c.entries {
		keys[i] = c.entries[i].key
	}
	return keys
}

// lookup finds a key that is already lower case.
func (c *Context) lookup(key string) []Value {
	if c == nil {
		return nil
	}
	for i := range c.entries {
		if c.entries[i].key == key {
			return c.entries[i].vals
		}
	}
	return nil
}

// single returns the text of a single-valued key, for policy variables. Multivalued keys
// cannot be policy variables.
func (c *Context) single(key string) (string, bool) {
	vals := c.lookup(key)
	if len(vals) != 1 {
		return "", false
	}
	return vals[0].Text(), true
}

func lowerKey(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(k)
		}
	}
	return k
}

// SetPrincipal sets the principal keys IAM puts in every request context from p:
// aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid (when p.UserID is
// set) and aws:username (IAM users only, as in AWS). Tags are the caller's to set with
// KeyPrincipalTagPrefix+key.
func (c *Context) SetPrincipal(p Principal) {
	if p.ARN != "" {
		c.Set(KeyPrincipalARN, String(p.ARN))
	}
	if acct := p.account(); acct != "" {
		c.Set(KeyPrincipalAccount, String(acct))
	}
	if p.Type != "" {
		c.Set(KeyPrincipalType, String(p.Type))
	}
	if p.UserID != "" {
		c.Set(KeyUserID, String(p.UserID))
	}
	if p.Type == PrincipalUser {
		if i := strings.LastIndexByte(p.ARN, '/'); i >= 0 {
			c.Set(KeyUsername, String(p.ARN[i+1:]))
		}
	}
}
