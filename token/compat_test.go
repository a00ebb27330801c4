package token_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"

	"github.com/iamdb/iamdb/token"
)

// The compatibility tests have every real producer of RDS auth tokens on this machine sign
// tokens at test time and the Verifier check them at the real clock:
//
//   - the AWS CLI v2 (Debian's package, /usr/bin/aws),
//   - the AWS CLI v1 (pip's awscli, run as "python3 -m awscli"),
//   - boto3 (python3),
//   - aws-sdk-go-v2's feature/rds/auth, in-process,
//   - @aws-sdk/rds-signer (JavaScript v3, testdata/jssigner, run with node).
//
// Each signs the same cases (compatCases). Build must reproduce their signatures where the
// signed host is known, and aws-sdk-go-v2's whole token. Every token is then mutated one rule
// at a time (compatMutations) and each mutation must be refused with its own reason.
//
// A missing tool skips its tests, or fails them when IAMDB_REQUIRE_TOOLS=1 (scripts/test
// sets it); the failure names the install step.

const compatRegion = "eu-central-1"

const compatHost = "mydb.c1a2b3c4d5e6.eu-central-1.rds.amazonaws.com"

// Demo credentials (the AWS documentation's example keys): nothing leaves this machine.
var (
	compatLongTerm = token.Credentials{
		AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	}
	compatTemporary = token.Credentials{
		AccessKeyID:     "ASIAQNZGKIQY56JQ7WML",
		SecretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
		// Session tokens are base64: '/', '+' and '=' must survive every producer's escaping.
		SessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaDGV1LWNlbnRyYWwtMSJHMEUCIQD+n5z/Zq+w8v3Xk2" +
			"AiBx/tS1a+Y0cQp7+Lr9/8kV2mZcKsgMIchAAGgw5OTk5OTk5OTk5OTkiDEXAMPLE+SESSION/TOKEN==",
	}
)

// compatKeys knows both demo keys.
func compatKeys() compatKeyring {
	return compatKeyring{
		compatLongTerm.AccessKeyID:  {secret: compatLongTerm.SecretAccessKey},
		compatTemporary.AccessKeyID: {secret: compatTemporary.SecretAccessKey, session: compatTemporary.SessionToken},
	}
}

type compatKey struct {
	secret     string
	session    string // the session token the key was issued with; "" for long-term keys
	inactive   bool
	expiration time.Time
}

// compatKeyring is a KeyLookup over a fixed set of keys. A key is found only with the session
// token it was issued with.
type compatKeyring map[string]compatKey

var _ token.KeyLookup[any] = compatKeyring(nil)

func (kr compatKeyring) LookupKey(_ context.Context, accessKeyID, sessionToken string) (token.Key[any], error) {
	k, ok := kr[accessKeyID]
	if !ok {
		return token.Key[any]{}, fmt.Errorf("%w: %s", token.ErrUnknownKey, accessKeyID)
	}
	if sessionToken != k.session {
		return token.Key[any]{}, fmt.Errorf("%w: not issued with %s", token.ErrInvalidSessionToken, accessKeyID)
	}
	return token.Key[any]{
		SecretAccessKey: k.secret,
		Inactive:        k.inactive,
		Expiration:      k.expiration,
		Principal:       "principal:" + accessKeyID,
	}, nil
}

// with returns a copy of kr with f applied to the key accessKeyID.
func (kr compatKeyring) with(accessKeyID string, f func(*compatKey)) compatKeyring {
	out := make(compatKeyring, len(kr))
	for id, k := range kr {
		if id == accessKeyID {
			f(&k)
		}
		out[id] = k
	}
	return out
}

type compatCase struct {
	name  string
	host  string
	port  int
	user  string
	creds token.Credentials
}

func (c compatCase) endpoint() string { return c.host + ":" + strconv.Itoa(c.port) }

var compatCases = []compatCase{
	{name: "plain", host: compatHost, port: 5432, user: "iam_user", creds: compatLongTerm},
	{name: "upper-case-host", host: strings.ToUpper(compatHost), port: 5432, user: "iam_user", creds: compatLongTerm},
	{name: "port-443", host: compatHost, port: 443, user: "iam_user", creds: compatLongTerm},
	{name: "session-token", host: compatHost, port: 3306, user: "iam_user", creds: compatTemporary},
	{name: "ipv4", host: "127.0.0.1", port: 3306, user: "iam_user", creds: compatLongTerm},
	{name: "user-with-symbols", host: compatHost, port: 5432, user: "jane.doe+ops@corp", creds: compatLongTerm},
}

// compatVerifier returns a Verifier for the database of c. Endpoints are configured in lower
// case; Now is the real clock unless now is set.
func compatVerifier(t *testing.T, c compatCase, now func() time.Time) *token.Verifier[any] {
	t.Helper()
	v, err := token.NewVerifier(token.Config[any]{
		Region:    compatRegion,
		Endpoints: []string{strings.ToLower(c.host)},
		Port:      c.port,
		Keys:      compatKeys(),
		Now:       now,
	})
	if err != nil {
		t.Fatalf("NewVerifier() = %v", err)
	}
	return v
}

// A signer makes a token for c; prepare returns nil after t.Skip or t.Fatal when its tool is
// missing.
type producer struct {
	name    string
	prepare func(t *testing.T) func(t *testing.T, c compatCase) string
	// buildEndpoint is the host:port Build must be given to sign what the producer signs, ""
	// when Build cannot (the producer signs something Build does not).
	buildEndpoint func(c compatCase) string
	// wholeToken: Build's token equals the producer's byte for byte (but for the "/"
	// before "?": withSlash).
	wholeToken bool
}

var producers = []producer{
	{
		name:    "aws-cli-v2",
		prepare: prepareCLIv2,
		// botocore signs the host lower-cased and without ":443", as Build does at 443.
		buildEndpoint: botocoreEndpoint,
	},
	{name: "aws-cli-v1", prepare: prepareCLIv1, buildEndpoint: botocoreEndpoint},
	{name: "boto3", prepare: prepareBoto3, buildEndpoint: botocoreEndpoint},
	{
		name:          "aws-sdk-go-v2",
		prepare:       prepareGoV2,
		buildEndpoint: func(c compatCase) string { return c.endpoint() },
		wholeToken:    true,
	},
	{
		name:    "js-rds-signer",
		prepare: prepareJS,
		// The JavaScript signer signs the host as typed and keeps ":443"; Build drops it.
		buildEndpoint: func(c compatCase) string {
			if c.port == 443 {
				return ""
			}
			return c.endpoint()
		},
	},
}

func botocoreEndpoint(c compatCase) string {
	return strings.ToLower(c.host) + ":" + strconv.Itoa(c.port)
}

func TestCompatProducers(t *testing.T) {
	t.Parallel()
	for _, p := range producers {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			sign := p.prepare(t)
			for _, c := range compatCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					tok := sign(t, c)
					checkProducerToken(t, p, c, tok)
				})
			}
		})
	}
}

// checkProducerToken verifies tok at the real clock, compares it with Build and, for the
// case with temporary credentials, runs every single-rule mutation on it.
func checkProducerToken(t *testing.T, p producer, c compatCase, tok string) {
	t.Helper()
	issued, err := amzDate(tok)
	if err != nil {
		t.Fatalf("%s token %s: %v", p.name, redact(tok), err)
	}
	res, err := compatVerifier(t, c, nil).Verify(t.Context(), tok, c.user)
	if err != nil {
		t.Fatalf("Verify(%s, %q) = %v (reason %q), want nil", redact(tok), c.user, err, token.Reason(err))
	}
	checkResult(t, res, c, issued)

	if ep := p.buildEndpoint(c); ep != "" {
		built, err := token.Build(ep, compatRegion, c.user, c.creds, issued)
		if err != nil {
			t.Fatalf("Build(%q) = %v", ep, err)
		}
		if p.wholeToken {
			if want := withSlash(tok); built != want {
				t.Errorf("Build(%q, %s) = %s, want %s's %s", ep, issued.Format(time.RFC3339), redact(built), p.name, redact(want))
			}
		} else if got, want := signatureOf(built), signatureOf(tok); got != want {
			t.Errorf("Build(%q, %s) signature = %.12s…, want %s's %.12s…", ep, issued.Format(time.RFC3339), got, p.name, want)
		}
	}

	if c.creds.SessionToken != "" {
		runMutations(t, c, tok)
	}
}

func checkResult(t *testing.T, res token.Result[any], c compatCase, issued time.Time) {
	t.Helper()
	if res.AccessKeyID != c.creds.AccessKeyID {
		t.Errorf("Result.AccessKeyID = %q, want %q", res.AccessKeyID, c.creds.AccessKeyID)
	}
	if !strings.EqualFold(res.Host, c.host) {
		t.Errorf("Result.Host = %q, want %q", res.Host, c.host)
	}
	if res.Port != c.port {
		t.Errorf("Result.Port = %d, want %d", res.Port, c.port)
	}
	if res.Region != compatRegion {
		t.Errorf("Result.Region = %q, want %q", res.Region, compatRegion)
	}
	if !res.IssuedAt.Equal(issued) {
		t.Errorf("Result.IssuedAt = %v, want %v", res.IssuedAt, issued)
	}
	if res.Expires != 15*time.Minute {
		t.Errorf("Result.Expires = %v, want 15m", res.Expires)
	}
	if want := "principal:" + c.creds.AccessKeyID; res.Principal != want {
		t.Errorf("Result.Principal = %v, want %v", res.Principal, want)
	}
}

// TestCompatMutations runs the mutations on tokens from Build, so that every rule is tested
// even where no external producer is installed: one in Build's shape and one in botocore's
// (parameters in insertion order, "/" before "?").
func TestCompatMutations(t *testing.T) {
	t.Parallel()
	c := compatCases[3] // session-token
	if c.creds.SessionToken == "" {
		t.Fatal("compatCases[3] must use temporary credentials")
	}
	now := time.Now().UTC().Truncate(time.Second)
	built, err := token.Build(c.endpoint(), compatRegion, c.user, c.creds, now)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	botocoreOrder := []string{"Action", "DBUser", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
		"X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"}
	r := parseRaw(t, built)
	r.slash = true
	r.reorder(botocoreOrder)
	for _, tc := range []struct {
		name string
		tok  string
	}{
		{name: "build", tok: built},
		{name: "botocore-shape", tok: r.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runMutations(t, c, tc.tok)
		})
	}
}

// reasonWords are the Verifier's refusals and their words, as specified.
var reasonWords = []struct {
	err  error
	word string
}{
	{token.ErrOversized, "oversized"},
	{token.ErrMalformed, "malformed"},
	{token.ErrAction, "wrong-action"},
	{token.ErrAlgorithm, "wrong-algorithm"},
	{token.ErrSignedHeaders, "signed-headers"},
	{token.ErrScopeService, "wrong-scope-service"},
	{token.ErrScopeRegion, "wrong-scope-region"},
	{token.ErrScopeDay, "wrong-scope-day"},
	{token.ErrExpiresTooLong, "expiry-too-long"},
	{token.ErrExpired, "expired"},
	{token.ErrNotYetValid, "not-yet-valid"},
	{token.ErrUserMismatch, "user-mismatch"},
	{token.ErrHostNotAllowed, "host-not-allowed"},
	{token.ErrPortNotAllowed, "port-not-allowed"},
	{token.ErrUnknownKey, "unknown-key"},
	{token.ErrInactiveKey, "inactive-key"},
	{token.ErrMissingSessionToken, "missing-session-token"},
	{token.ErrInvalidSessionToken, "invalid-session-token"},
	{token.ErrSessionExpired, "session-expired"},
	{token.ErrSignatureMismatch, "signature-mismatch"},
}

func reasonWord(err error) string {
	for _, r := range reasonWords {
		if r.err == err {
			return r.word
		}
	}
	return "?"
}

// A mutation changes one thing about a valid token, or about the Verifier's view of it.
type mutation struct {
	name string
	mut  func(m *mutant)
	want error // nil: still accepted
}

// mutant is what a mutation edits: the token (raw), the user it is presented for, and the
// Verifier's configuration and clock.
type mutant struct {
	t      *testing.T
	c      compatCase
	raw    rawToken
	text   func(string) string // a final edit of the token's text, if set
	user   string
	cfg    token.Config[any]
	issued time.Time
	now    time.Time
	akid   string
}

func (m *mutant) editCredential(f func(akid, day, region, service, term string) string) {
	parts := strings.Split(m.raw.get(m.t, "X-Amz-Credential"), "%2F")
	if len(parts) != 5 {
		m.t.Fatalf("X-Amz-Credential has %d parts, want 5", len(parts))
	}
	m.raw.set(m.t, "X-Amz-Credential", f(parts[0], parts[1], parts[2], parts[3], parts[4]))
}

func joinScope(parts ...string) string { return strings.Join(parts, "%2F") }

var compatMutations = []mutation{
	// Still valid: reordering the parameters, with or without "/", clock within the window.
	{name: "accepted/as-is", mut: func(m *mutant) {}},
	{name: "accepted/reversed-order", mut: func(m *mutant) { m.raw.reverse() }},
	{name: "accepted/slash-toggled", mut: func(m *mutant) { m.raw.slash = !m.raw.slash }},
	{name: "accepted/within-skew", mut: func(m *mutant) { m.now = m.issued.Add(-4 * time.Minute) }},
	{name: "accepted/last-second", mut: func(m *mutant) { m.now = m.issued.Add(15*time.Minute - time.Second) }},
	{name: "accepted/upper-case-endpoint-config", mut: func(m *mutant) {
		m.cfg.Endpoints = []string{strings.ToUpper(m.c.host)}
	}},

	{name: "oversized/default-limit", want: token.ErrOversized, mut: func(m *mutant) {
		m.raw.add("X-Amz-Pad", strings.Repeat("A", 17<<10))
	}},
	{name: "oversized/configured-limit", want: token.ErrOversized, mut: func(m *mutant) { m.cfg.MaxLen = 256 }},

	{name: "malformed/empty", want: token.ErrMalformed, mut: func(m *mutant) {
		m.text = func(string) string { return "" }
	}},
	{name: "malformed/not-a-token", want: token.ErrMalformed, mut: func(m *mutant) {
		m.text = func(string) string { return "hunter2" }
	}},
	{name: "malformed/no-question-mark", want: token.ErrMalformed, mut: func(m *mutant) {
		m.text = func(s string) string { return strings.Replace(s, "?", "", 1) }
	}},
	{name: "malformed/no-port", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.endpoint = m.raw.host() }},
	{name: "malformed/bad-port", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.endpoint = m.raw.host() + ":54x2" }},
	{name: "malformed/duplicate-key", want: token.ErrMalformed, mut: func(m *mutant) {
		m.raw.add("X-Amz-Date", m.raw.get(m.t, "X-Amz-Date"))
	}},
	{name: "malformed/duplicate-dbuser", want: token.ErrMalformed, mut: func(m *mutant) {
		m.raw.add("DBUser", m.raw.get(m.t, "DBUser"))
	}},
	{name: "malformed/bad-escape", want: token.ErrMalformed, mut: func(m *mutant) {
		m.raw.set(m.t, "DBUser", m.raw.get(m.t, "DBUser")+"%G1")
	}},
	{name: "malformed/truncated-escape", want: token.ErrMalformed, mut: func(m *mutant) {
		m.raw.set(m.t, "DBUser", m.raw.get(m.t, "DBUser")+"%2")
	}},
	{name: "malformed/missing-dbuser", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.del(m.t, "DBUser") }},
	{name: "malformed/missing-credential", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.del(m.t, "X-Amz-Credential") }},
	{name: "malformed/missing-date", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.del(m.t, "X-Amz-Date") }},
	{name: "malformed/missing-expires", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.del(m.t, "X-Amz-Expires") }},
	{name: "malformed/missing-signature", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.del(m.t, "X-Amz-Signature") }},
	{name: "malformed/bad-date", want: token.ErrMalformed, mut: func(m *mutant) {
		m.raw.set(m.t, "X-Amz-Date", m.issued.Format("2006-01-02T15:04:05Z"))
	}},
	{name: "malformed/bad-expires", want: token.ErrMalformed, mut: func(m *mutant) { m.raw.set(m.t, "X-Amz-Expires", "15m") }},

	{name: "wrong-action", want: token.ErrAction, mut: func(m *mutant) { m.raw.set(m.t, "Action", "DbConnectAdmin") }},
	{name: "wrong-algorithm", want: token.ErrAlgorithm, mut: func(m *mutant) {
		m.raw.set(m.t, "X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256")
	}},
	{name: "signed-headers", want: token.ErrSignedHeaders, mut: func(m *mutant) {
		m.raw.set(m.t, "X-Amz-SignedHeaders", "host%3Bx-amz-date")
	}},
	{name: "wrong-scope-service", want: token.ErrScopeService, mut: func(m *mutant) {
		m.editCredential(func(akid, day, region, _, term string) string { return joinScope(akid, day, region, "rds", term) })
	}},
	{name: "wrong-scope-region", want: token.ErrScopeRegion, mut: func(m *mutant) {
		m.editCredential(func(akid, day, _, service, term string) string {
			return joinScope(akid, day, "us-west-1", service, term)
		})
	}},
	{name: "wrong-scope-day", want: token.ErrScopeDay, mut: func(m *mutant) {
		m.editCredential(func(akid, _, region, service, term string) string {
			return joinScope(akid, m.issued.AddDate(0, 0, -1).Format("20060102"), region, service, term)
		})
	}},
	{name: "expiry-too-long", want: token.ErrExpiresTooLong, mut: func(m *mutant) { m.raw.set(m.t, "X-Amz-Expires", "901") }},
	{name: "expired", want: token.ErrExpired, mut: func(m *mutant) { m.now = m.issued.Add(16 * time.Minute) }},
	{name: "not-yet-valid", want: token.ErrNotYetValid, mut: func(m *mutant) { m.now = m.issued.Add(-10 * time.Minute) }},
	{name: "not-yet-valid/no-skew", want: token.ErrNotYetValid, mut: func(m *mutant) {
		m.cfg.Skew = -1
		m.now = m.issued.Add(-time.Second)
	}},
	{name: "user-mismatch/other-user", want: token.ErrUserMismatch, mut: func(m *mutant) { m.user = "someone_else" }},
	{name: "user-mismatch/case", want: token.ErrUserMismatch, mut: func(m *mutant) { m.user = strings.ToUpper(m.user) }},
	{name: "user-mismatch/token-edited", want: token.ErrUserMismatch, mut: func(m *mutant) { m.raw.set(m.t, "DBUser", "admin") }},
	{name: "host-not-allowed", want: token.ErrHostNotAllowed, mut: func(m *mutant) {
		m.raw.endpoint = "evil.example.com:" + m.raw.port()
	}},
	{name: "port-not-allowed", want: token.ErrPortNotAllowed, mut: func(m *mutant) {
		m.raw.endpoint = m.raw.host() + ":" + strconv.Itoa(m.c.port+1)
	}},
	{name: "missing-session-token", want: token.ErrMissingSessionToken, mut: func(m *mutant) {
		m.raw.del(m.t, "X-Amz-Security-Token")
	}},
	{name: "unknown-key", want: token.ErrUnknownKey, mut: func(m *mutant) {
		m.editCredential(func(_, day, region, service, term string) string {
			return joinScope("ASIAZZZZZZZZZZZZZZZZ", day, region, service, term)
		})
	}},
	{name: "invalid-session-token", want: token.ErrInvalidSessionToken, mut: func(m *mutant) {
		m.raw.set(m.t, "X-Amz-Security-Token", m.raw.get(m.t, "X-Amz-Security-Token")+"A")
	}},
	{name: "inactive-key", want: token.ErrInactiveKey, mut: func(m *mutant) {
		m.cfg.Keys = compatKeys().with(m.akid, func(k *compatKey) { k.inactive = true })
	}},
	{name: "session-expired", want: token.ErrSessionExpired, mut: func(m *mutant) {
		m.now = m.issued.Add(time.Minute)
		m.cfg.Keys = compatKeys().with(m.akid, func(k *compatKey) { k.expiration = m.issued.Add(30 * time.Second) })
	}},
	{name: "signature-mismatch/flipped-digit", want: token.ErrSignatureMismatch, mut: func(m *mutant) {
		sig := []byte(m.raw.get(m.t, "X-Amz-Signature"))
		if sig[10] == '0' {
			sig[10] = '1'
		} else {
			sig[10] = '0'
		}
		m.raw.set(m.t, "X-Amz-Signature", string(sig))
	}},
	{name: "signature-mismatch/claimed-user", want: token.ErrSignatureMismatch, mut: func(m *mutant) {
		m.raw.set(m.t, "DBUser", "admin")
		m.user = "admin"
	}},
	{name: "signature-mismatch/other-allowed-host", want: token.ErrSignatureMismatch, mut: func(m *mutant) {
		m.cfg.Endpoints = append(m.cfg.Endpoints, "replica.example.com")
		m.raw.endpoint = "replica.example.com:" + m.raw.port()
	}},
	{name: "signature-mismatch/other-secret", want: token.ErrSignatureMismatch, mut: func(m *mutant) {
		m.cfg.Keys = compatKeys().with(m.akid, func(k *compatKey) { k.secret = "x" + k.secret[1:] })
	}},
	{name: "signature-mismatch/other-second", want: token.ErrSignatureMismatch, mut: func(m *mutant) {
		d := m.issued.Add(-time.Second)
		if d.Day() != m.issued.Day() {
			d = m.issued.Add(time.Second) // same day, so that the scope still matches
		}
		m.raw.set(m.t, "X-Amz-Date", d.Format("20060102T150405Z"))
	}},
}

// TestCompatMutationsCoverEveryReason checks that the mutation table refuses a token for
// every reason at least once.
func TestCompatMutationsCoverEveryReason(t *testing.T) {
	t.Parallel()
	covered := map[error]bool{}
	for _, m := range compatMutations {
		if m.want != nil {
			covered[m.want] = true
		}
	}
	for _, r := range reasonWords {
		if !covered[r.err] {
			t.Errorf("no mutation is refused as %q", r.word)
		}
	}
}

// runMutations applies every mutation to tok, a valid token for c signed with temporary
// credentials.
func runMutations(t *testing.T, c compatCase, tok string) {
	t.Helper()
	issued, err := amzDate(tok)
	if err != nil {
		t.Fatalf("token %s: %v", redact(tok), err)
	}
	for _, mu := range compatMutations {
		t.Run("mutation/"+mu.name, func(t *testing.T) {
			m := &mutant{
				t:      t,
				c:      c,
				raw:    parseRaw(t, tok),
				user:   c.user,
				issued: issued,
				now:    issued.Add(time.Minute),
				akid:   c.creds.AccessKeyID,
				cfg: token.Config[any]{
					Region:    compatRegion,
					Endpoints: []string{strings.ToLower(c.host)},
					Port:      c.port,
					Keys:      compatKeys(),
				},
			}
			mu.mut(m)
			mutated := m.raw.String()
			if m.text != nil {
				mutated = m.text(mutated)
			}
			now := m.now
			m.cfg.Now = func() time.Time { return now }
			v, err := token.NewVerifier(m.cfg)
			if err != nil {
				t.Fatalf("NewVerifier() = %v", err)
			}
			_, err = v.Verify(t.Context(), mutated, m.user)
			switch {
			case mu.want == nil && err != nil:
				t.Errorf("Verify(%s, %q) = %v (reason %q), want nil", redact(mutated), m.user, err, token.Reason(err))
			case mu.want != nil && (!errors.Is(err, mu.want) || token.Reason(err) != reasonWord(mu.want)):
				t.Errorf("Verify(%s, %q) = %v (reason %q), want %v (reason %q)",
					redact(mutated), m.user, err, token.Reason(err), mu.want, reasonWord(mu.want))
			}
		})
	}
}

// rawToken is a token split into its parts, values kept as escaped in the token, order kept.
type rawToken struct {
	endpoint string // host:port
	slash    bool   // "/" before "?"
	params   []rawParam
}

type rawParam struct{ key, value string }

func parseRaw(t testing.TB, tok string) rawToken {
	t.Helper()
	ep, query, ok := strings.Cut(tok, "?")
	if !ok {
		t.Fatalf("token %s has no '?'", redact(tok))
	}
	r := rawToken{endpoint: strings.TrimSuffix(ep, "/"), slash: strings.HasSuffix(ep, "/")}
	for kv := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		r.params = append(r.params, rawParam{k, v})
	}
	return r
}

func (r rawToken) String() string {
	var b strings.Builder
	b.WriteString(r.endpoint)
	if r.slash {
		b.WriteByte('/')
	}
	b.WriteByte('?')
	for i, p := range r.params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key + "=" + p.value)
	}
	return b.String()
}

func (r *rawToken) host() string { return r.endpoint[:strings.LastIndexByte(r.endpoint, ':')] }
func (r *rawToken) port() string { return r.endpoint[strings.LastIndexByte(r.endpoint, ':')+1:] }

func (r *rawToken) index(t testing.TB, key string) int {
	t.Helper()
	for i, p := range r.params {
		if p.key == key {
			return i
		}
	}
	t.Fatalf("token has no %s", key)
	return -1
}

func (r *rawToken) get(t testing.TB, key string) string { return r.params[r.index(t, key)].value }
func (r *rawToken) set(t testing.TB, key, value string) { r.params[r.index(t, key)].value = value }
func (r *rawToken) add(key, value string)               { r.params = append(r.params, rawParam{key, value}) }

func (r *rawToken) del(t testing.TB, key string) {
	i := r.index(t, key)
	r.params = append(r.params[:i:i], r.params[i+1:]...)
}

func (r *rawToken) reverse() {
	p := make([]rawParam, len(r.params))
	for i, x := range r.params {
		p[len(p)-1-i] = x
	}
	r.params = p
}

// reorder puts the parameters in the order of keys; others keep their places at the end.
func (r *rawToken) reorder(keys []string) {
	var out, rest []rawParam
	for _, k := range keys {
		for _, p := range r.params {
			if p.key == k {
				out = append(out, p)
			}
		}
	}
	for _, p := range r.params {
		if !slices.Contains(keys, p.key) {
			rest = append(rest, p)
		}
	}
	r.params = append(out, rest...)
}

// amzDate returns a token's X-Amz-Date.
func amzDate(tok string) (time.Time, error) {
	_, query, _ := strings.Cut(tok, "?")
	for kv := range strings.SplitSeq(query, "&") {
		if v, ok := strings.CutPrefix(kv, "X-Amz-Date="); ok {
			return time.Parse("20060102T150405Z", v)
		}
	}
	return time.Time{}, errors.New("no X-Amz-Date")
}

// signatureOf returns a token's X-Amz-Signature, "" if none.
func signatureOf(tok string) string {
	_, query, _ := strings.Cut(tok, "?")
	for kv := range strings.SplitSeq(query, "&") {
		if v, ok := strings.CutPrefix(kv, "X-Amz-Signature="); ok {
			return v
		}
	}
	return ""
}

// redact returns tok for a test message: the signature cut to 8 digits, the session token
// replaced by its length, and the whole clipped.
func redact(tok string) string {
	ep, query, ok := strings.Cut(tok, "?")
	if !ok {
		return clipString(strconv.Quote(tok))
	}
	parts := strings.Split(query, "&")
	for i, kv := range parts {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "X-Amz-Signature":
			if len(v) > 8 {
				parts[i] = k + "=" + v[:8] + "…"
			}
		case "X-Amz-Security-Token":
			parts[i] = k + "=<" + strconv.Itoa(len(v)) + " bytes>"
		}
	}
	return clipString(strconv.Quote(ep + "?" + strings.Join(parts, "&")))
}

func clipString(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// Tools.

// toolMissing skips the test, or fails it when IAMDB_REQUIRE_TOOLS=1, naming the install step.
func toolMissing(t *testing.T, what, install string) {
	t.Helper()
	if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s (IAMDB_REQUIRE_TOOLS=1); install: %s", what, install)
	}
	t.Skipf("%s; install: %s (IAMDB_REQUIRE_TOOLS=1 makes this a failure)", what, install)
}

// lookTool returns the path of the executable name, or ends the test through toolMissing.
func lookTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		toolMissing(t, name+" is not on PATH", install)
	}
	return p
}

// toolEnv is the environment of a producer's process: the machine's, less every AWS_ variable
// and proxy, plus creds, empty config files, no instance metadata and no usable network.
func toolEnv(t *testing.T, creds token.Credentials) []string {
	t.Helper()
	dir := t.TempDir()
	config, shared := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, f := range []string{config, shared} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.EqualFold(k, "http_proxy"), strings.EqualFold(k, "https_proxy"),
			strings.EqualFold(k, "all_proxy"), strings.EqualFold(k, "no_proxy"):
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+shared,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		// Signing needs no network: anything that tries goes to a closed port.
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
	)
	if creds.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+creds.SessionToken)
	}
	return env
}

// runTool runs a producer and returns the token it prints.
func runTool(t *testing.T, c compatCase, dir string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = toolEnv(t, c.creds)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstderr: %s", strings.Join(argv, " "), err, clipString(stderr.String()))
	}
	tok := strings.TrimSpace(stdout.String())
	if tok == "" || strings.ContainsAny(tok, " \n") {
		t.Fatalf("%s printed %s, want one token", strings.Join(argv, " "), redact(tok))
	}
	return tok
}

// toolVersion runs argv (a --version command) and returns what it prints, "" on failure.
func toolVersion(argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func cliArgs(c compatCase) []string {
	return []string{"rds", "generate-db-auth-token", "--hostname", c.host, "--port", strconv.Itoa(c.port),
		"--username", c.user, "--region", compatRegion, "--output", "text"}
}

const cliV2 = "/usr/bin/aws"

func prepareCLIv2(t *testing.T) func(*testing.T, compatCase) string {
	const install = "apt-get install -y awscli (Debian's AWS CLI v2 at /usr/bin/aws)"
	if _, err := os.Stat(cliV2); err != nil {
		toolMissing(t, "AWS CLI v2 is not at "+cliV2, install)
		return nil
	}
	if v := toolVersion(cliV2, "--version"); !strings.HasPrefix(v, "aws-cli/2.") {
		toolMissing(t, fmt.Sprintf("%s --version = %q, want aws-cli/2.x", cliV2, v), install)
		return nil
	}
	return func(t *testing.T, c compatCase) string {
		return runTool(t, c, "", append([]string{cliV2}, cliArgs(c)...)...)
	}
}

func prepareCLIv1(t *testing.T) func(*testing.T, compatCase) string {
	const install = "python3 -m pip install awscli (AWS CLI v1, into the python3 on PATH)"
	py := lookTool(t, "python3", install)
	if v := toolVersion(py, "-m", "awscli", "--version"); !strings.HasPrefix(v, "aws-cli/1.") {
		// Optional even under IAMDB_REQUIRE_TOOLS: Debian has no AWS CLI v1 package and PyPI
		// may be out of reach, so it is tested where installed (the machine image has it).
		t.Skipf("python3 -m awscli --version = %q, want aws-cli/1.x; install: %s", v, install)
		return nil
	}
	return func(t *testing.T, c compatCase) string {
		return runTool(t, c, "", append([]string{py, "-m", "awscli"}, cliArgs(c)...)...)
	}
}

const boto3Script = `import sys
import boto3
host, port, user, region = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rds = boto3.client("rds", region_name=region)
print(rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region))
`

func prepareBoto3(t *testing.T) func(*testing.T, compatCase) string {
	const install = "apt-get install -y python3-boto3 (or python3 -m pip install boto3)"
	// The python3 on PATH first (pyenv's, with pip's boto3), then Debian's.
	var py string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import boto3").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		toolMissing(t, "no python3 can import boto3", install)
		return nil
	}
	return func(t *testing.T, c compatCase) string {
		return runTool(t, c, "", py, "-c", boto3Script, c.host, strconv.Itoa(c.port), c.user, compatRegion)
	}
}

func prepareGoV2(t *testing.T) func(*testing.T, compatCase) string {
	return func(t *testing.T, c compatCase) string {
		t.Helper()
		creds := credentials.NewStaticCredentialsProvider(c.creds.AccessKeyID, c.creds.SecretAccessKey, c.creds.SessionToken)
		tok, err := auth.BuildAuthToken(t.Context(), c.endpoint(), compatRegion, c.user, creds)
		if err != nil {
			t.Fatalf("auth.BuildAuthToken(%q) = %v", c.endpoint(), err)
		}
		return tok
	}
}

// jsSignerSetup installs testdata/jssigner's node_modules once per test binary.
var jsSignerSetup = sync.OnceValue(func() error {
	dir := filepath.Join("testdata", "jssigner")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "rds-signer", "package.json")); err == nil {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("node_modules is missing and npm is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, clipString(string(out)))
	}
	return nil
})

func prepareJS(t *testing.T) func(*testing.T, compatCase) string {
	const install = "apt-get install -y nodejs npm; (cd token/testdata/jssigner && npm ci --no-audit --no-fund)"
	node := lookTool(t, "node", install)
	if err := jsSignerSetup(); err != nil {
		toolMissing(t, "@aws-sdk/rds-signer is not installed: "+err.Error(), install)
		return nil
	}
	dir := filepath.Join("testdata", "jssigner")
	return func(t *testing.T, c compatCase) string {
		return runTool(t, c, dir, node, "sign.mjs", c.host, strconv.Itoa(c.port), c.user, compatRegion)
	}
}
