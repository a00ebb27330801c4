package sigv4

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors of verification. None of them quotes a secret, a signature or a session token; the
// detail added with %w names only the field at fault.
var (
	ErrMissingAuth       = errors.New("sigv4: missing authentication")
	ErrMalformedAuth     = errors.New("sigv4: malformed authentication")
	ErrAlgorithm         = errors.New("sigv4: unsupported algorithm")
	ErrCredentialScope   = errors.New("sigv4: invalid credential scope")
	ErrBadExpires        = errors.New("sigv4: invalid X-Amz-Expires")
	ErrHostNotSigned     = errors.New("sigv4: host header not signed")
	ErrPayloadHash       = errors.New("sigv4: bad payload hash")
	ErrNotYetValid       = errors.New("sigv4: signature not yet valid")
	ErrExpired           = errors.New("sigv4: signature expired")
	ErrSecretLookup      = errors.New("sigv4: no secret for access key")
	ErrSignatureMismatch = errors.New("sigv4: signature mismatch")
)

// Limits on what a peer can make a verifier parse.
const (
	// MaxAuthorizationLen is the longest Authorization header VerifyHeader accepts.
	MaxAuthorizationLen = 8 << 10
	// MaxSignedHeaders is the largest number of signed headers a verifier accepts.
	MaxSignedHeaders = 64
)

// Verified describes a valid signature. The caller must still check that Region and Service
// are the ones it serves, and that SessionToken (if any) belongs to AccessKeyID. String
// redacts the session token.
type Verified struct {
	AccessKeyID  string
	Region       string
	Service      string
	Date         time.Time     // X-Amz-Date (or Date)
	Expires      time.Duration // X-Amz-Expires of a presigned request; 0 in header mode
	SessionToken string        // X-Amz-Security-Token, if any
}

// String returns v with the session token redacted.
func (v Verified) String() string {
	return fmt.Sprintf("sigv4.Verified{AccessKeyID: %q, Region: %q, Service: %q, Date: %s, Expires: %s, SessionToken: %s}",
		v.AccessKeyID, v.Region, v.Service, v.Date.Format(time.RFC3339), v.Expires, redact(v.SessionToken))
}

// GoString is String, so that %#v redacts too.
func (v Verified) GoString() string { return v.String() }

type verifyState struct {
	q   Query
	buf []byte
}

var verifyPool = sync.Pool{New: func() any { return &verifyState{buf: make([]byte, 0, 1024)} }}

func getState() *verifyState { return verifyPool.Get().(*verifyState) }

func putState(st *verifyState) {
	if cap(st.buf) > 64<<10 {
		st.buf = make([]byte, 0, 1024)
	}
	if cap(st.q.scratch) > 64<<10 {
		st.q.scratch = nil
	}
	verifyPool.Put(st)
}

// VerifyPresigned verifies a presigned (query-mode) request at time now. secretFor returns the
// secret access key of an access key ID; its error is returned wrapped in ErrSecretLookup. The
// request is valid iff date-skew <= now <= date+expires. It checks, in order: the query
// (bounded by MaxQueryLen and MaxParams; each X-Amz-* parameter of the signature at most once),
// the algorithm, the credential scope and its day against X-Amz-Date, X-Amz-Expires
// (1..604800), the signed headers (must include host), the validity window, and the signature
// in constant time.
func (s *Signer) VerifyPresigned(r *Request, secretFor func(accessKeyID string) (string, error), now time.Time, skew time.Duration) (Verified, error) {
	st := getState()
	defer putState(st)
	q := &st.q
	if err := q.Parse(r.Query); err != nil {
		return Verified{}, err
	}
	for _, p := range presignParams {
		if q.Count(p) > 1 {
			return Verified{}, fmt.Errorf("%w: repeated %s", ErrMalformedAuth, p)
		}
	}
	sigRaw, ok := q.Raw("X-Amz-Signature")
	if !ok {
		return Verified{}, ErrMissingAuth
	}
	var sig [sha256.Size]byte
	if !decodeHex(sig[:], sigRaw, true) {
		return Verified{}, fmt.Errorf("%w: X-Amz-Signature", ErrMalformedAuth)
	}
	alg, _ := q.Raw("X-Amz-Algorithm")
	if !equalDecoded(alg, Algorithm) {
		return Verified{}, ErrAlgorithm
	}
	credRaw, ok := q.Raw("X-Amz-Credential")
	if !ok {
		return Verified{}, fmt.Errorf("%w: missing X-Amz-Credential", ErrMalformedAuth)
	}
	cred, ok := parseCredential(credRaw, true)
	if !ok {
		return Verified{}, fmt.Errorf("%w: X-Amz-Credential", ErrCredentialScope)
	}
	dateRaw, _ := q.Raw("X-Amz-Date")
	date, ok := parseAmzDate(dateRaw)
	if !ok {
		return Verified{}, fmt.Errorf("%w: X-Amz-Date", ErrMalformedAuth)
	}
	if dateRaw[:8] != cred.day {
		return Verified{}, fmt.Errorf("%w: day differs from X-Amz-Date", ErrCredentialScope)
	}
	expRaw, _ := q.Raw("X-Amz-Expires")
	expires, ok := parseExpires(expRaw)
	if !ok {
		return Verified{}, ErrBadExpires
	}
	shRaw, _ := q.Raw("X-Amz-SignedHeaders")
	st.buf = AppendUnescape(st.buf[:0], shRaw)
	if err := checkSignedHeaders(st.buf); err != nil {
		return Verified{}, err
	}
	if now.Before(date.Add(-skew)) {
		return Verified{}, ErrNotYetValid
	}
	if now.After(date.Add(expires)) {
		return Verified{}, ErrExpired
	}
	token, _ := q.Get("X-Amz-Security-Token")

	secret, err := secretFor(cred.akid)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrSecretLookup, err)
	}
	signed := st.buf
	cn := canon{
		method: r.Method, path: r.Path, host: r.Host, query: q, exclude: "X-Amz-Signature",
		header: r.Header, signed: signed, payload: r.PayloadHash,
	}
	if !s.check(&cn, sig[:], secret, dateRaw, cred) {
		return Verified{}, ErrSignatureMismatch
	}
	return Verified{
		AccessKeyID: cred.akid, Region: cred.region, Service: cred.service,
		Date: date, Expires: expires, SessionToken: token,
	}, nil
}

// check computes the signature of cn and compares it with sig in constant time.
func (s *Signer) check(cn *canon, sig []byte, secret, amzDate string, cred credential) bool {
	var buf [2048]byte
	cr := s.appendCanonicalRequest(buf[:0], cn)
	sts := appendStringToSign(cr[len(cr):], sha256.Sum256(cr), amzDate, cred.day, cred.region, cred.service)
	k := s.key(secret, cred.day, cred.region, cred.service)
	mac := k.Sign(sts)
	return Equal(mac[:], sig)
}

// VerifyHeader verifies the Authorization header of a request received by a server, at time
// now. payloadHash is the hex SHA-256 of the body the server read; if empty, the request's
// X-Amz-Content-Sha256 is trusted instead (the caller then checks the body, or accepts
// UNSIGNED-PAYLOAD). If both are present they must be equal. The time is X-Amz-Date, or Date
// without it, and must be signed; the request is valid iff |now-time| <= skew. The signed
// headers must include host, and X-Amz-Security-Token if sent. Multi-value headers are joined
// with ','. The Authorization header is bounded by MaxAuthorizationLen, the signed headers by
// MaxSignedHeaders, the query by MaxQueryLen and MaxParams.
func (s *Signer) VerifyHeader(r *http.Request, payloadHash string, secretFor func(accessKeyID string) (string, error), now time.Time, skew time.Duration) (Verified, error) {
	credStr, shStr, sigStr, err := parseAuthorization(r.Header)
	if err != nil {
		return Verified{}, err
	}
	var sig [sha256.Size]byte
	if !decodeHex(sig[:], sigStr, true) {
		return Verified{}, fmt.Errorf("%w: Signature", ErrMalformedAuth)
	}
	cred, ok := parseCredential(credStr, false)
	if !ok {
		return Verified{}, fmt.Errorf("%w: Credential", ErrCredentialScope)
	}
	signed := []byte(shStr)
	if err := checkSignedHeaders(signed); err != nil {
		return Verified{}, err
	}
	date, amzDate, err := requestDate(r.Header, signed, cred.day)
	if err != nil {
		return Verified{}, err
	}
	token, err := headerSessionToken(r.Header, signed)
	if err != nil {
		return Verified{}, err
	}
	payload, err := headerPayloadHash(r.Header, payloadHash)
	if err != nil {
		return Verified{}, err
	}
	if now.Before(date.Add(-skew)) {
		return Verified{}, ErrNotYetValid
	}
	if now.After(date.Add(skew)) {
		return Verified{}, ErrExpired
	}

	st := getState()
	defer putState(st)
	if err := st.q.Parse(r.URL.RawQuery); err != nil {
		return Verified{}, err
	}
	secret, err := secretFor(cred.akid)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrSecretLookup, err)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	cn := canon{
		method: r.Method, path: r.URL.EscapedPath(), host: host, query: &st.q,
		header: r.Header, signed: signed, payload: payload,
	}
	if !s.check(&cn, sig[:], secret, amzDate, cred) {
		return Verified{}, ErrSignatureMismatch
	}
	return Verified{
		AccessKeyID: cred.akid, Region: cred.region, Service: cred.service,
		Date: date, SessionToken: token,
	}, nil
}

// parseAuthorization splits the one Authorization header of h, bounded by
// MaxAuthorizationLen, into its Credential, SignedHeaders and Signature, each given exactly
// once and nothing else.
func parseAuthorization(h http.Header) (cred, signedHeaders, sig string, err error) {
	auths := h.Values("Authorization")
	switch {
	case len(auths) == 0:
		return "", "", "", ErrMissingAuth
	case len(auths) > 1:
		return "", "", "", fmt.Errorf("%w: repeated Authorization", ErrMalformedAuth)
	case len(auths[0]) > MaxAuthorizationLen:
		return "", "", "", fmt.Errorf("%w: Authorization too long", ErrMalformedAuth)
	}
	auth := strings.TrimSpace(auths[0])
	alg, rest, ok := strings.Cut(auth, " ")
	if !ok {
		return "", "", "", fmt.Errorf("%w: Authorization", ErrMalformedAuth)
	}
	if alg != Algorithm {
		return "", "", "", ErrAlgorithm
	}
	var seen [3]bool
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", "", "", fmt.Errorf("%w: Authorization", ErrMalformedAuth)
		}
		var i int
		switch k {
		case "Credential":
			i, cred = 0, v
		case "SignedHeaders":
			i, signedHeaders = 1, v
		case "Signature":
			i, sig = 2, v
		default:
			return "", "", "", fmt.Errorf("%w: Authorization", ErrMalformedAuth)
		}
		if seen[i] {
			return "", "", "", fmt.Errorf("%w: Authorization", ErrMalformedAuth)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return "", "", "", fmt.Errorf("%w: Authorization", ErrMalformedAuth)
	}
	return cred, signedHeaders, sig, nil
}

// requestDate returns the time of the request: X-Amz-Date, or Date without it, which must
// be signed and fall on the credential scope's day. amzDate is the time in TimeFormat.
func requestDate(h http.Header, signed []byte, day string) (date time.Time, amzDate string, err error) {
	var dateHeader string
	if vs := h.Values("X-Amz-Date"); len(vs) > 0 {
		if len(vs) > 1 {
			return time.Time{}, "", fmt.Errorf("%w: repeated X-Amz-Date", ErrMalformedAuth)
		}
		var ok bool
		amzDate, dateHeader = vs[0], "x-amz-date"
		if date, ok = parseAmzDate(amzDate); !ok {
			return time.Time{}, "", fmt.Errorf("%w: X-Amz-Date", ErrMalformedAuth)
		}
	} else if vs := h.Values("Date"); len(vs) == 1 {
		d, err := http.ParseTime(vs[0])
		if err != nil {
			return time.Time{}, "", fmt.Errorf("%w: Date", ErrMalformedAuth)
		}
		date, dateHeader = d.UTC(), "date"
		amzDate = date.Format(TimeFormat)
	} else {
		return time.Time{}, "", fmt.Errorf("%w: no X-Amz-Date or Date", ErrMalformedAuth)
	}
	if !hasName(signed, dateHeader) {
		return time.Time{}, "", fmt.Errorf("%w: %s not signed", ErrMalformedAuth, dateHeader)
	}
	if amzDate[:8] != day {
		return time.Time{}, "", fmt.Errorf("%w: day differs from the request date", ErrCredentialScope)
	}
	return date, amzDate, nil
}

// headerSessionToken returns the X-Amz-Security-Token header, if any, which must be given
// at most once and be signed.
func headerSessionToken(h http.Header, signed []byte) (string, error) {
	tokens := h.Values("X-Amz-Security-Token")
	if len(tokens) > 1 {
		return "", fmt.Errorf("%w: repeated X-Amz-Security-Token", ErrMalformedAuth)
	}
	if len(tokens) == 0 {
		return "", nil
	}
	if !hasName(signed, "x-amz-security-token") {
		return "", fmt.Errorf("%w: X-Amz-Security-Token not signed", ErrMalformedAuth)
	}
	return tokens[0], nil
}

// headerPayloadHash returns the payload hash to sign: payloadHash, else the request's
// X-Amz-Content-Sha256; if both are present they must be equal.
func headerPayloadHash(h http.Header, payloadHash string) (string, error) {
	payload := payloadHash
	if vs := h.Values("X-Amz-Content-Sha256"); len(vs) > 1 {
		return "", fmt.Errorf("%w: repeated X-Amz-Content-Sha256", ErrPayloadHash)
	} else if len(vs) == 1 {
		if payload == "" {
			payload = vs[0]
		} else if vs[0] != payload {
			return "", ErrPayloadHash
		}
	}
	if payload == "" {
		return "", ErrPayloadHash
	}
	return payload, nil
}

type credential struct{ akid, day, region, service string }

// parseCredential splits "AKID/yyyymmdd/region/service/aws4_request". If escaped (a query
// value), the separators may be %2F and the parts are decoded; parts without escapes are
// substrings of s.
func parseCredential(s string, escaped bool) (credential, bool) {
	var parts [5]string
	n := 0
	start := 0
	for i := 0; i <= len(s); {
		sepLen := 0
		switch {
		case i == len(s):
			sepLen = -1
		case s[i] == '/':
			sepLen = 1
		case escaped && s[i] == '%' && i+2 < len(s) && s[i+1] == '2' && (s[i+2] == 'F' || s[i+2] == 'f'):
			sepLen = 3
		}
		if sepLen == 0 {
			i++
			continue
		}
		if n == len(parts) {
			return credential{}, false
		}
		parts[n] = s[start:i]
		if escaped {
			parts[n] = Unescape(parts[n])
		}
		n++
		if sepLen < 0 {
			break
		}
		i += sepLen
		start = i
	}
	if n != 5 || parts[4] != "aws4_request" {
		return credential{}, false
	}
	c := credential{akid: parts[0], day: parts[1], region: parts[2], service: parts[3]}
	if c.akid == "" || c.region == "" || c.service == "" || !validDay(c.day) ||
		strings.ContainsRune(c.akid, '/') || strings.ContainsRune(c.region, '/') || strings.ContainsRune(c.service, '/') {
		return credential{}, false
	}
	return c, true
}

func validDay(d string) bool {
	if len(d) != 8 {
		return false
	}
	_, err := time.Parse(DayFormat, d)
	return err == nil
}

// parseAmzDate parses yyyymmddThhmmssZ strictly.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(TimeFormat) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	for i := 0; i < 15; i++ {
		if i != 8 && (s[i] < '0' || s[i] > '9') {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// parseExpires parses X-Amz-Expires: decimal digits only, 1..604800 seconds.
func parseExpires(s string) (time.Duration, bool) {
	if s == "" || len(s) > 7 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || time.Duration(n)*time.Second > MaxExpires {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// checkSignedHeaders checks a ';'-separated list of signed headers: lower-case tokens, no
// duplicates, at most MaxSignedHeaders, host among them.
func checkSignedHeaders(list []byte) error {
	n := 0
	host := false
	for rest := list; ; {
		name := rest
		i := indexByte(rest, ';')
		if i >= 0 {
			name, rest = rest[:i], rest[i+1:]
		}
		if n++; n > MaxSignedHeaders {
			return fmt.Errorf("%w: too many signed headers", ErrMalformedAuth)
		}
		if !validHeaderName(string(name)) {
			return fmt.Errorf("%w: signed headers", ErrMalformedAuth)
		}
		if string(name) == "host" {
			host = true
		}
		// A duplicate would sign one header twice.
		if dupName(list, name, n) {
			return fmt.Errorf("%w: repeated signed header", ErrMalformedAuth)
		}
		if i < 0 {
			break
		}
	}
	if !host {
		return ErrHostNotSigned
	}
	return nil
}

// dupName reports whether name occurs among the first n-1 names of list.
func dupName(list, name []byte, n int) bool {
	k := 1
	for rest := list; k < n; k++ {
		cur := rest
		if i := indexByte(rest, ';'); i >= 0 {
			cur, rest = rest[:i], rest[i+1:]
		}
		if string(cur) == string(name) {
			return true
		}
	}
	return false
}

// hasName reports whether the ';'-separated list holds name.
func hasName(list []byte, name string) bool {
	for rest := list; ; {
		cur := rest
		i := indexByte(rest, ';')
		if i >= 0 {
			cur, rest = rest[:i], rest[i+1:]
		}
		if string(cur) == name {
			return true
		}
		if i < 0 {
			return false
		}
	}
}
