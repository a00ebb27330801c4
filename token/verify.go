package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/iamdb/iamdb/sigv4"
)

// DefaultMaxLen is the longest token a Verifier accepts unless configured otherwise. Real
// tokens are 0.8–2 KiB (a session token adds up to a few KiB); RDS accepts at least 8 KiB.
const DefaultMaxLen = 16 << 10

// DefaultSkew is the clock skew a Verifier allows unless configured otherwise: a token dated
// up to five minutes in the future is accepted. AWS does not document its allowance.
const DefaultSkew = 5 * time.Minute

// Key is what a KeyLookup knows about an access key.
type Key[P any] struct {
	// SecretAccessKey signs the token.
	SecretAccessKey string
	// Inactive keys are refused with ErrInactiveKey.
	Inactive bool
	// Expiration is when temporary credentials stop being valid; zero for long-term keys.
	// A token signed with temporary credentials is refused once they have expired, even if
	// the token itself is younger than 15 minutes.
	Expiration time.Time
	// Principal is whatever the caller wants back in Result (the IAM user or role session),
	// typed by the Verifier's P.
	Principal P
}

// KeyLookup finds the key a token was signed with.
type KeyLookup[P any] interface {
	// LookupKey returns the key for accessKeyID. sessionToken is the token's
	// X-Amz-Security-Token, "" if it has none; for temporary credentials the lookup must check
	// that it belongs to accessKeyID (and may take the secret from it). Errors should wrap
	// ErrUnknownKey or ErrInvalidSessionToken; any other error is passed through. LookupKey
	// is called concurrently and on the hot path: it should not block on I/O.
	LookupKey(ctx context.Context, accessKeyID, sessionToken string) (Key[P], error)
}

// KeyLookupFunc adapts a function to KeyLookup.
type KeyLookupFunc[P any] func(ctx context.Context, accessKeyID, sessionToken string) (Key[P], error)

// LookupKey calls f.
func (f KeyLookupFunc[P]) LookupKey(ctx context.Context, accessKeyID, sessionToken string) (Key[P], error) {
	return f(ctx, accessKeyID, sessionToken)
}

// Config configures a Verifier for one database.
type Config[P any] struct {
	// Region is the database's region; the token's credential scope must name it.
	Region string
	// Endpoints are the host names (or IP addresses) the database answers to, without port;
	// the token's host must be one of them, compared case-insensitively. IPv6 addresses may be
	// given with or without brackets.
	Endpoints []string
	// Port is the database's port; the token's port must equal it.
	Port int
	// Keys finds signing keys. Required.
	Keys KeyLookup[P]
	// Skew is how far in the future a token's date may be. If zero, DefaultSkew; if
	// negative, none.
	Skew time.Duration
	// MaxLen bounds the token's length. If zero, DefaultMaxLen.
	MaxLen int
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
	// KeyCache caches derived signing keys; share one among verifiers. If nil, the Verifier
	// makes its own.
	KeyCache *sigv4.KeyCache
}

// Verifier verifies tokens for one database. It is safe for concurrent use.
type Verifier[P any] struct {
	region    string
	endpoints []string
	port      int
	keys      KeyLookup[P]
	skew      time.Duration
	maxLen    int
	now       func() time.Time
	cache     *sigv4.KeyCache
}

// NewVerifier validates cfg and returns a Verifier.
func NewVerifier[P any](cfg Config[P]) (*Verifier[P], error) {
	if cfg.Region == "" {
		return nil, errors.New("token: config: region is required")
	}
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("token: config: at least one endpoint is required")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("token: config: port %d out of range", cfg.Port)
	}
	if cfg.Keys == nil {
		return nil, errors.New("token: config: a key lookup is required")
	}
	v := &Verifier[P]{
		region: cfg.Region,
		port:   cfg.Port,
		keys:   cfg.Keys,
		skew:   cfg.Skew,
		maxLen: cfg.MaxLen,
		now:    cfg.Now,
		cache:  cfg.KeyCache,
	}
	for _, e := range cfg.Endpoints {
		e = strings.TrimSuffix(strings.TrimPrefix(e, "["), "]")
		if e == "" {
			return nil, errors.New("token: config: empty endpoint")
		}
		v.endpoints = append(v.endpoints, e)
	}
	switch {
	case v.skew == 0:
		v.skew = DefaultSkew
	case v.skew < 0:
		v.skew = 0
	}
	if v.maxLen <= 0 {
		v.maxLen = DefaultMaxLen
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.cache == nil {
		v.cache = sigv4.NewKeyCache(0)
	}
	return v, nil
}

// Result describes a verified token. Its strings may share memory with the token.
type Result[P any] struct {
	AccessKeyID string
	Host        string // as written in the token
	Port        int
	Region      string
	IssuedAt    time.Time     // X-Amz-Date
	Expires     time.Duration // X-Amz-Expires
	Principal   P             // from the Key
}

// scratch is the per-call working memory of Verify, pooled so that verification does not
// allocate.
type scratch struct {
	q  sigv4.Query
	cr []byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{cr: make([]byte, 0, 1024)} }}

// Verify checks that tok is a valid auth token for user on this database at this moment. On
// success the Result says which key signed it. On failure the error wraps exactly one of the
// package's reasons, or is the lookup's own error.
//
// Verification allocates nothing for a valid token whose values need no unescaping beyond
// the credential scope's slashes (every token but those with escaped session tokens).
func (v *Verifier[P]) Verify(ctx context.Context, tok, user string) (Result[P], error) {
	if len(tok) > v.maxLen {
		return Result[P]{}, fmt.Errorf("%w: %d bytes, limit %d", ErrOversized, len(tok), v.maxLen)
	}
	qm := strings.IndexByte(tok, '?')
	if qm < 0 {
		return Result[P]{}, fmt.Errorf("%w: no query", ErrMalformed)
	}
	hostport := tok[:qm]
	hostport = strings.TrimSuffix(hostport, "/")
	host, portStr, ok := splitEndpoint(hostport)
	if !ok {
		return Result[P]{}, fmt.Errorf("%w: address must be host:port", ErrMalformed)
	}
	port := atoi(portStr)

	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	q := &s.q
	if err := q.Parse(tok[qm+1:]); err != nil {
		return Result[P]{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var p params
	if err := p.collect(q); err != nil {
		return Result[P]{}, err
	}
	if err := p.check(); err != nil {
		return Result[P]{}, err
	}
	var c claims
	if err := v.parseClaims(&p, &c); err != nil {
		return Result[P]{}, err
	}
	now := v.now()
	if err := v.checkValidity(now, &c); err != nil {
		return Result[P]{}, err
	}
	if !equalUnescaped(p.dbUser, user) {
		return Result[P]{}, fmt.Errorf("%w: token is for another user", ErrUserMismatch)
	}
	if !v.hostAllowed(host) {
		return Result[P]{}, fmt.Errorf("%w: %q", ErrHostNotAllowed, clip(host))
	}
	if port != v.port {
		return Result[P]{}, fmt.Errorf("%w: %d, want %d", ErrPortNotAllowed, port, v.port)
	}
	var want [32]byte
	if !sigv4.DecodeSignature(&want, p.sig) {
		return Result[P]{}, fmt.Errorf("%w: X-Amz-Signature must be 64 hex digits", ErrMalformed)
	}
	key, err := v.lookupKey(ctx, &p, c.akid, now)
	if err != nil {
		return Result[P]{}, err
	}
	dk := v.cache.Key(key.SecretAccessKey, c.day, c.region, Service)
	if !signatureMatches(s, &dk, &want, host, portStr, port, p.date, &c) {
		return Result[P]{}, ErrSignatureMismatch
	}
	return Result[P]{
		AccessKeyID: c.akid,
		Host:        host,
		Port:        port,
		Region:      c.region,
		IssuedAt:    c.issued,
		Expires:     c.expires,
		Principal:   key.Principal,
	}, nil
}

// params are the parameters of a token that Verify knows, as written (still escaped).
type params struct {
	action, dbUser, alg, cred, date, exp, sh, sig, stok string
	// seen has the seen… bit of each known parameter present.
	seen uint16
}

// The bits of params.seen.
const (
	seenAction uint16 = 1 << iota
	seenDBUser
	seenAlgorithm
	seenCredential
	seenDate
	seenExpires
	seenSignedHeaders
	seenSignature
	seenSecurityToken
)

// collect picks out the known parameters of q in one pass and refuses a repeated one.
func (p *params) collect(q *sigv4.Query) error {
	others := 0
	for i := 0; i < q.Len(); i++ {
		qp := q.Param(i)
		k := qp.Key
		if strings.IndexByte(k, '%') >= 0 || strings.IndexByte(k, '+') >= 0 {
			k = sigv4.Unescape(k)
		}
		var bit uint16
		switch k {
		case "Action":
			bit, p.action = seenAction, qp.Value
		case "DBUser":
			bit, p.dbUser = seenDBUser, qp.Value
		case "X-Amz-Algorithm":
			bit, p.alg = seenAlgorithm, qp.Value
		case "X-Amz-Credential":
			bit, p.cred = seenCredential, qp.Value
		case "X-Amz-Date":
			bit, p.date = seenDate, qp.Value
		case "X-Amz-Expires":
			bit, p.exp = seenExpires, qp.Value
		case "X-Amz-SignedHeaders":
			bit, p.sh = seenSignedHeaders, qp.Value
		case "X-Amz-Signature":
			bit, p.sig = seenSignature, qp.Value
		case "X-Amz-Security-Token":
			bit, p.stok = seenSecurityToken, qp.Value
		default:
			others++
			continue
		}
		if p.seen&bit != 0 {
			return fmt.Errorf("%w: duplicate parameter %s", ErrMalformed, k)
		}
		p.seen |= bit
	}
	if others > 0 && q.DuplicateKey() {
		return fmt.Errorf("%w: duplicate parameter", ErrMalformed)
	}
	return nil
}

// check refuses a token that lacks a required parameter or whose action, algorithm or
// signed headers are not those of an auth token.
func (p *params) check() error {
	switch {
	case p.seen&seenDBUser == 0:
		return fmt.Errorf("%w: missing DBUser", ErrMalformed)
	case p.seen&seenAlgorithm == 0:
		return fmt.Errorf("%w: missing X-Amz-Algorithm", ErrMalformed)
	case p.seen&seenCredential == 0:
		return fmt.Errorf("%w: missing X-Amz-Credential", ErrMalformed)
	case p.seen&seenDate == 0:
		return fmt.Errorf("%w: missing X-Amz-Date", ErrMalformed)
	case p.seen&seenExpires == 0:
		return fmt.Errorf("%w: missing X-Amz-Expires", ErrMalformed)
	case p.seen&seenSignedHeaders == 0:
		return fmt.Errorf("%w: missing X-Amz-SignedHeaders", ErrMalformed)
	case p.seen&seenSignature == 0:
		return fmt.Errorf("%w: missing X-Amz-Signature", ErrMalformed)
	}
	if p.action != "connect" {
		return fmt.Errorf("%w: Action must be connect", ErrAction)
	}
	if p.alg != sigv4.Algorithm {
		return fmt.Errorf("%w: X-Amz-Algorithm must be %s", ErrAlgorithm, sigv4.Algorithm)
	}
	if p.sh != "host" {
		return fmt.Errorf("%w: X-Amz-SignedHeaders is not host", ErrSignedHeaders)
	}
	return nil
}

// claims are what a token's credential scope, date and lifetime say.
type claims struct {
	akid, day, region string
	issued            time.Time
	expires           time.Duration
}

// parseClaims reads the credential scope (AKID/day/region/service/aws4_request, '/'
// escaped or not), the date and the lifetime of p into c, and checks the scope against
// the verifier's service and region.
func (v *Verifier[P]) parseClaims(p *params, c *claims) error {
	var scope [5]string
	if !splitScope(p.cred, &scope) {
		return fmt.Errorf("%w: X-Amz-Credential must be key/day/region/service/aws4_request", ErrMalformed)
	}
	akid, day, region, service := scope[0], scope[1], scope[2], scope[3]
	if akid == "" || len(akid) > 128 || len(day) != 8 || !isDigits(day) {
		return fmt.Errorf("%w: bad X-Amz-Credential", ErrMalformed)
	}
	if service != Service {
		return fmt.Errorf("%w: %q, want %s", ErrScopeService, clip(service), Service)
	}
	if region != v.region {
		return fmt.Errorf("%w: %q, want %q", ErrScopeRegion, clip(region), v.region)
	}
	issued, ok := parseAmzDate(p.date)
	if !ok {
		return fmt.Errorf("%w: bad X-Amz-Date", ErrMalformed)
	}
	if day != p.date[:8] {
		return fmt.Errorf("%w: scope %s, date %s", ErrScopeDay, day, p.date[:8])
	}
	expires, ok := parseExpires(p.exp)
	if !ok {
		return fmt.Errorf("%w: X-Amz-Expires must be a positive number of seconds", ErrMalformed)
	}
	if expires > MaxExpires {
		return fmt.Errorf("%w: %v, limit %v", ErrExpiresTooLong, expires, MaxExpires)
	}
	c.akid, c.day, c.region, c.issued, c.expires = akid, day, region, issued, expires
	return nil
}

// checkValidity refuses a token that is not valid at now, allowing the verifier's skew
// before its date.
func (v *Verifier[P]) checkValidity(now time.Time, c *claims) error {
	if now.Before(c.issued.Add(-v.skew)) {
		return fmt.Errorf("%w: dated %s, %v ahead of the server's clock", ErrNotYetValid, c.issued.Format(time.RFC3339), c.issued.Sub(now).Round(time.Second))
	}
	if now.After(c.issued.Add(c.expires)) {
		return fmt.Errorf("%w: %v ago", ErrExpired, now.Sub(c.issued.Add(c.expires)).Round(time.Second))
	}
	return nil
}

// lookupKey finds the key of akid and the token's session token, and refuses a key that is
// inactive or a session that has expired at now.
func (v *Verifier[P]) lookupKey(ctx context.Context, p *params, akid string, now time.Time) (Key[P], error) {
	sessionToken := ""
	if p.seen&seenSecurityToken != 0 {
		sessionToken = sigv4.Unescape(p.stok)
	}
	if strings.HasPrefix(akid, "ASIA") && sessionToken == "" {
		return Key[P]{}, ErrMissingSessionToken
	}
	key, err := v.keys.LookupKey(ctx, akid, sessionToken)
	if err != nil {
		return Key[P]{}, err
	}
	if key.Inactive {
		return Key[P]{}, ErrInactiveKey
	}
	if !key.Expiration.IsZero() && now.After(key.Expiration) {
		return Key[P]{}, fmt.Errorf("%w: at %s", ErrSessionExpired, key.Expiration.UTC().Format(time.RFC3339))
	}
	return key, nil
}

// signatureMatches reports whether want signs the canonical request of the token in s.q
// with the derived key dk. Everything but the host line is fixed by the token; producers
// sign the host as typed (Go, Java, JS) or lower-cased (botocore), and at port 443 with the
// port (JS) or without (the others), so each variant that applies is tried.
func signatureMatches(s *scratch, dk *sigv4.Key, want *[32]byte, host, portStr string, port int, date string, c *claims) bool {
	cr := append(s.cr[:0], "GET\n/\n"...)
	cr = s.q.AppendCanonical(cr, "X-Amz-Signature")
	cr = append(cr, "\nhost:"...)
	prefix := len(cr)
	match := false
	for variant := 0; variant < 4 && !match; variant++ {
		lower, noPort := variant&1 == 1, variant&2 == 2
		if lower && !hasUpper(host) || noPort && port != 443 {
			continue
		}
		cr = cr[:prefix]
		if lower {
			cr = appendLower(cr, host)
		} else {
			cr = append(cr, host...)
		}
		if !noPort {
			cr = append(cr, ':')
			cr = append(cr, portStr...)
		}
		cr = append(cr, "\n\nhost\n"+sigv4.EmptyPayloadHash...)
		got := signCanonical(dk, cr, []byte(date), []byte(c.day), c.region)
		match = sigv4.Equal(got[:], want[:])
	}
	s.cr = cr
	return match
}

func (v *Verifier[P]) hostAllowed(host string) bool {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	for _, e := range v.endpoints {
		if strings.EqualFold(e, h) {
			return true
		}
	}
	return false
}

// splitScope splits a raw X-Amz-Credential value on '/' or "%2F" into five parts, each
// unescaped (which allocates only if a part has escapes of its own).
func splitScope(raw string, out *[5]string) bool {
	for n := 0; n < 5; n++ {
		i, sep := nextScopeSep(raw)
		if n == 4 {
			if i >= 0 {
				return false
			}
			out[4] = sigv4.Unescape(raw)
			break
		}
		if i < 0 {
			return false
		}
		out[n] = sigv4.Unescape(raw[:i])
		raw = raw[i+sep:]
	}
	return out[4] == "aws4_request"
}

// nextScopeSep finds the first '/' or "%2F" (either case) in s: its index and length, or -1.
func nextScopeSep(s string) (int, int) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '/':
			return i, 1
		case '%':
			if i+2 < len(s) && s[i+1] == '2' && (s[i+2] == 'F' || s[i+2] == 'f') {
				return i, 3
			}
		}
	}
	return -1, 0
}

// parseAmzDate parses yyyymmddTHHMMSSZ without allocating.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != 16 || s[8] != 'T' || s[15] != 'Z' || !isDigits(s[:8]) || !isDigits(s[9:15]) {
		return time.Time{}, false
	}
	y, mo, d := atoi(s[0:4]), atoi(s[4:6]), atoi(s[6:8])
	h, mi, se := atoi(s[9:11]), atoi(s[11:13]), atoi(s[13:15])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d { // 20260231
		return time.Time{}, false
	}
	return t, true
}

// parseExpires parses X-Amz-Expires: 1 to 6 digits, at least one second.
func parseExpires(s string) (time.Duration, bool) {
	if s == "" || len(s) > 6 || !isDigits(s) {
		return 0, false
	}
	n := atoi(s)
	if n < 1 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi parses a short run of digits already checked by the caller; -1 if it is not one.
func atoi(s string) int {
	if s == "" || len(s) > 9 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// equalUnescaped reports whether the raw query value decodes to s.
func equalUnescaped(raw, s string) bool {
	if !strings.ContainsAny(raw, "%+") {
		return raw == s
	}
	var b [256]byte
	return string(sigv4.AppendUnescape(b[:0], raw)) == s
}

// clip bounds a peer-supplied string quoted in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
