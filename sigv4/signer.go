package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Credentials are the AWS credentials a request is signed with. Their String and GoString
// methods redact the secret access key and the session token, so that a Credentials value
// printed by mistake leaks neither.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// String returns the credentials with the secret and the session token redacted.
func (c Credentials) String() string {
	return "sigv4.Credentials{AccessKeyID: " + strconv.Quote(c.AccessKeyID) +
		", SecretAccessKey: " + redact(c.SecretAccessKey) +
		", SessionToken: " + redact(c.SessionToken) + "}"
}

// GoString is String, so that %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// Signer signs and verifies requests with Signature Version 4. The zero value is ready to use
// and fits every AWS service but S3. A Signer is safe for concurrent use if its fields are not
// changed after first use.
//
// The same Signer verifies ([Signer.VerifyPresigned], [Signer.VerifyHeader]): the fields that
// shape the canonical request must match the service the signatures were made for.
type Signer struct {
	// Keys caches derived signing keys. If nil, every signature derives its key (four
	// HMACs).
	Keys *KeyCache

	// DisableDoubleEscape selects S3's canonical path: the path is decoded and escaped once,
	// and never normalised. By default (every other service) the escaped path as sent is
	// normalised (see DisablePathNormalization) and escaped again.
	DisableDoubleEscape bool

	// DisablePathNormalization keeps dot segments and duplicate slashes in the canonical
	// path while still escaping it twice. By default they are removed, as AWS services and
	// botocore do (aws-sdk-go-v2 does not normalise; for the paths it sends the results are
	// the same).
	DisablePathNormalization bool
}

// Request is the part of an HTTP request that a signature covers, as a verifier receives it.
type Request struct {
	// Method is the HTTP method; if empty, GET.
	Method string
	// Host is the value of the Host header (host, or host:port).
	Host string
	// Path is the escaped path as sent on the wire (URL.EscapedPath), without the query;
	// if empty, "/".
	Path string
	// Query is the raw query as sent, without '?'. For a presigned request it carries the
	// X-Amz-* parameters; X-Amz-Signature is left out of the canonical query.
	Query string
	// Header holds the request's headers; only the signed ones other than host are read.
	// Keys are matched case-insensitively.
	Header http.Header
	// PayloadHash is the hex SHA-256 of the body, or a service's stand-in such as
	// "UNSIGNED-PAYLOAD"; if empty, EmptyPayloadHash.
	PayloadHash string
}

// Errors of signing.
var (
	ErrMissingCredentials = errors.New("sigv4: missing credentials")
	ErrMissingScope       = errors.New("sigv4: missing region or service")
)

// ignoredHeaders are never signed: hop-by-hop or rewritten by proxies (the same list as
// aws-sdk-go-v2's).
var ignoredHeaders = []string{"authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding"}

// presignParams are the query parameters PresignHTTP owns; any already in the URL are
// replaced.
var presignParams = []string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
}

// MaxExpires is the longest validity of a presigned request that SigV4 allows.
const MaxExpires = 7 * 24 * time.Hour

// SignHTTP signs r in header mode at time t. It sets X-Amz-Date, X-Amz-Security-Token (if c has
// a session token) and Authorization. The signed headers are host, content-length (if
// r.ContentLength > 0) and every header in r.Header except Authorization, User-Agent,
// X-Amzn-Trace-Id, Expect, Transfer-Encoding and Content-Length. If r's host carries the
// scheme's default port, the port is dropped from r.Host and from the signature, as the SDKs
// do. payloadHash is the hex SHA-256 of the body; if empty, EmptyPayloadHash. The path signed is
// r.URL.EscapedPath(): it must be what the client sends.
func (s *Signer) SignHTTP(r *http.Request, c Credentials, payloadHash, service, region string, t time.Time) error {
	if err := checkSign(c, service, region); err != nil {
		return err
	}
	t = t.UTC()
	host, stripped := signingHost(r)
	if stripped {
		r.Host = host
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	amzDate := t.Format(TimeFormat)
	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", amzDate)
	if c.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	signed := signedHeaderList(r)
	var q Query
	if err := q.Parse(r.URL.RawQuery); err != nil {
		return err
	}
	cn := canon{
		method: r.Method, path: r.URL.EscapedPath(), host: host, query: &q,
		header: r.Header, contentLength: contentLength(r), signed: signed, payload: payloadHash,
	}
	sig := s.sign(&cn, c.SecretAccessKey, amzDate, region, service)
	day := amzDate[:8]
	r.Header.Set("Authorization", Algorithm+" Credential="+c.AccessKeyID+"/"+day+"/"+region+"/"+service+
		"/aws4_request, SignedHeaders="+string(signed)+", Signature="+sig)
	return nil
}

// PresignHTTP returns r's URL signed in query mode at time t, valid for expires (1s to 7 days,
// whole seconds). It does not modify r. The signed headers are chosen as by SignHTTP, and must
// be sent with the URL; X-Amz-* query parameters of the signature already in the URL are
// replaced. payloadHash is as for SignHTTP (S3 uses "UNSIGNED-PAYLOAD").
func (s *Signer) PresignHTTP(r *http.Request, c Credentials, payloadHash, service, region string, t time.Time, expires time.Duration) (string, error) {
	if err := checkSign(c, service, region); err != nil {
		return "", err
	}
	if expires < time.Second || expires > MaxExpires || expires%time.Second != 0 {
		return "", ErrBadExpires
	}
	t = t.UTC()
	host, _ := signingHost(r)
	amzDate := t.Format(TimeFormat)
	signed := signedHeaderList(r)

	var b strings.Builder
	for seg := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if seg == "" || ownedParam(seg) {
			continue
		}
		b.WriteString(seg)
		b.WriteByte('&')
	}
	b.WriteString("X-Amz-Algorithm=" + Algorithm)
	b.WriteString("&X-Amz-Credential=" + Escape(c.AccessKeyID+"/"+amzDate[:8]+"/"+region+"/"+service+"/aws4_request"))
	b.WriteString("&X-Amz-Date=" + amzDate)
	b.WriteString("&X-Amz-Expires=" + strconv.FormatInt(int64(expires/time.Second), 10))
	b.WriteString("&X-Amz-SignedHeaders=" + Escape(string(signed)))
	if c.SessionToken != "" {
		b.WriteString("&X-Amz-Security-Token=" + Escape(c.SessionToken))
	}
	raw := b.String()
	var q Query
	if err := q.Parse(raw); err != nil {
		return "", err
	}
	cn := canon{
		method: r.Method, path: r.URL.EscapedPath(), host: host, query: &q,
		header: r.Header, contentLength: contentLength(r), signed: signed, payload: payloadHash,
	}
	sig := s.sign(&cn, c.SecretAccessKey, amzDate, region, service)
	u := *r.URL
	u.RawQuery = raw + "&X-Amz-Signature=" + sig
	if r.Host == "" {
		u.Host = host
	}
	return u.String(), nil
}

// CanonicalRequest returns the canonical request of r with the given signed headers
// (lower-case names; they are written in the order given, which must be sorted for a valid
// signature). The query is canonicalised whole: for a presigned request, pass it without
// X-Amz-Signature.
func (s *Signer) CanonicalRequest(r *Request, signedHeaders []string) (string, error) {
	var q Query
	if err := q.Parse(r.Query); err != nil {
		return "", err
	}
	cn := canon{
		method: r.Method, path: r.Path, host: r.Host, query: &q, header: r.Header,
		signed: []byte(strings.Join(signedHeaders, ";")), payload: r.PayloadHash,
	}
	return string(s.appendCanonicalRequest(nil, &cn)), nil
}

// StringToSign returns the string to sign for a canonical request made at time t for region
// and service.
func StringToSign(canonicalRequest string, t time.Time, region, service string) string {
	amzDate := t.UTC().Format(TimeFormat)
	return string(appendStringToSign(nil, sha256.Sum256([]byte(canonicalRequest)), amzDate, amzDate[:8], region, service))
}

func checkSign(c Credentials, service, region string) error {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return ErrMissingCredentials
	}
	if service == "" || region == "" {
		return ErrMissingScope
	}
	return nil
}

// ownedParam reports whether a raw query segment is one of the parameters PresignHTTP sets.
func ownedParam(seg string) bool {
	k, _, _ := strings.Cut(seg, "=")
	for _, p := range presignParams {
		if equalDecoded(k, p) {
			return true
		}
	}
	return false
}

// signingHost returns the host to sign: r.Host or r.URL.Host, without the scheme's default
// port (reporting whether one was dropped).
func signingHost(r *http.Request) (string, bool) {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return host, false
	}
	port := host[i+1:]
	scheme := strings.ToLower(r.URL.Scheme)
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return host[:i], true
	}
	return host, false
}

func contentLength(r *http.Request) string {
	if r.ContentLength > 0 {
		return strconv.FormatInt(r.ContentLength, 10)
	}
	return ""
}

// signedHeaderList returns the ';'-joined, sorted, lower-case names of the headers SignHTTP
// and PresignHTTP sign.
func signedHeaderList(r *http.Request) []byte {
	names := []string{"host"}
	if r.ContentLength > 0 {
		names = append(names, "content-length")
	}
	for k := range r.Header {
		n := strings.ToLower(k)
		if n == "host" || n == "content-length" || slices.Contains(ignoredHeaders, n) || !validHeaderName(n) {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return []byte(strings.Join(names, ";"))
}

// validHeaderName reports whether n is a non-empty lower-case HTTP token.
func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// canon is everything a canonical request is made of.
type canon struct {
	method, path, host string
	query              *Query
	exclude            string // query parameter left out (X-Amz-Signature when verifying)
	header             http.Header
	contentLength      string // if not "", the value of content-length (kept out of client headers)
	signed             []byte // ';'-separated lower-case header names
	payload            string
}

func (s *Signer) key(secret, day, region, service string) Key {
	if s.Keys != nil {
		return s.Keys.Key(secret, day, region, service)
	}
	return DeriveKey(secret, day, region, service)
}

// sign returns the hex signature of cn.
func (s *Signer) sign(cn *canon, secret, amzDate, region, service string) string {
	cr := s.appendCanonicalRequest(make([]byte, 0, 512), cn)
	sts := appendStringToSign(cr[len(cr):], sha256.Sum256(cr), amzDate, amzDate[:8], region, service)
	k := s.key(secret, amzDate[:8], region, service)
	mac := k.Sign(sts)
	return hex.EncodeToString(mac[:])
}

func (s *Signer) appendCanonicalRequest(dst []byte, cn *canon) []byte {
	if cn.method == "" {
		dst = append(dst, "GET"...)
	} else {
		dst = append(dst, cn.method...)
	}
	dst = append(dst, '\n')
	dst = s.appendCanonicalPath(dst, cn.path)
	dst = append(dst, '\n')
	dst = cn.query.AppendCanonical(dst, cn.exclude)
	dst = append(dst, '\n')
	for rest := cn.signed; len(rest) > 0; {
		name := rest
		if i := indexByte(rest, ';'); i >= 0 {
			name, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		dst = append(dst, name...)
		dst = append(dst, ':')
		switch {
		case string(name) == "host":
			dst = appendHeaderValue(dst, cn.host)
		case string(name) == "content-length" && cn.contentLength != "":
			dst = append(dst, cn.contentLength...)
		default:
			dst = appendHeaderValues(dst, cn.header, name)
		}
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, cn.signed...)
	dst = append(dst, '\n')
	if cn.payload == "" {
		return append(dst, EmptyPayloadHash...)
	}
	return append(dst, cn.payload...)
}

func appendStringToSign(dst []byte, crHash [sha256.Size]byte, amzDate, day, region, service string) []byte {
	dst = append(dst, Algorithm+"\n"...)
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, day...)
	dst = append(dst, '/')
	dst = append(dst, region...)
	dst = append(dst, '/')
	dst = append(dst, service...)
	dst = append(dst, "/aws4_request\n"...)
	return hex.AppendEncode(dst, crHash[:])
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// appendHeaderValues appends the values of the header name (lower case) joined by ',', each
// canonicalised. Values under the key in canonical form come first, then those under other
// spellings of the key, by key.
func appendHeaderValues(dst []byte, h http.Header, name []byte) []byte {
	first := true
	var other []string
	for k, vs := range h {
		if !equalFoldLower(k, name) {
			continue
		}
		if !isCanonicalKey(k) {
			other = append(other, k)
			continue
		}
		for _, v := range vs {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendHeaderValue(dst, v)
		}
	}
	slices.Sort(other)
	for _, k := range other {
		for _, v := range h[k] {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendHeaderValue(dst, v)
		}
	}
	return dst
}

// appendHeaderValue appends v trimmed of spaces and tabs, with inner runs of them collapsed
// to one space.
func appendHeaderValue(dst []byte, v string) []byte {
	space := false
	wrote := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space && wrote {
			dst = append(dst, ' ')
		}
		space = false
		wrote = true
		dst = append(dst, c)
	}
	return dst
}

// equalFoldLower reports whether k equals the lower-case name, ignoring ASCII case.
func equalFoldLower(k string, name []byte) bool {
	if len(k) != len(name) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// isCanonicalKey reports whether k is in textproto's canonical form.
func isCanonicalKey(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// appendCanonicalPath appends the canonical URI of an escaped path.
func (s *Signer) appendCanonicalPath(dst []byte, path string) []byte {
	if path == "" {
		return append(dst, '/')
	}
	if s.DisableDoubleEscape {
		return appendPathOnce(dst, path)
	}
	if !s.DisablePathNormalization && needsNormalization(path) {
		path = normalizePath(path)
	}
	return AppendEscape(dst, path, true)
}

// appendPathOnce decodes the escapes of path ('+' stays '+') and escapes it once, keeping '/'
// but not an escaped "%2F".
func appendPathOnce(dst []byte, path string) []byte {
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '/' {
			dst = append(dst, c)
			continue
		}
		if c == '%' && i+2 < len(path) {
			hi, ok1 := unhex(path[i+1])
			lo, ok2 := unhex(path[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		if unreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return dst
}

func needsNormalization(p string) bool {
	return strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") || p == "." || p == ".." ||
		strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../")
}

// normalizePath removes dot segments (RFC 3986 5.2.4) and empty segments, keeping a leading
// and a trailing slash, as AWS services and botocore do.
func normalizePath(p string) string {
	var out []string
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	var b strings.Builder
	if strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(out, "/"))
	if strings.HasSuffix(p, "/") && len(out) > 0 {
		b.WriteByte('/')
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}
