package policy

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testUser     = "arn:aws:iam::111122223333:user/alice"
	testResource = "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/alice"
)

func mustParseDoc(t testing.TB, doc string, opts ...Option) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), opts...)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

// gatewayInput builds the rds-db:connect evaluation a gateway makes.
func gatewayInput(t testing.TB, policies ...*Policy) *Input {
	t.Helper()
	p, err := PrincipalFromARN(testUser)
	if err != nil {
		t.Fatal(err)
	}
	p.UserID = "AIDAJQABLZS4A3QDU576Q"
	ctx := &Context{}
	ctx.SetPrincipal(p)
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	ctx.Set(KeyPrincipalTagPrefix+"team", String("eng"))
	ctx.Set(KeyCurrentTime, Date(now))
	ctx.Set(KeyEpochTime, Number(float64(now.Unix())))
	ctx.Set(KeySecureTransport, Bool(true))
	ctx.Set(KeySourceIP, IP(netip.MustParseAddr("10.1.2.3")))
	return &Input{Action: "rds-db:connect", Resource: testResource, Principal: p, Context: ctx, Identity: policies}
}

const typicalPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Connect", "Effect": "Allow", "Action": "rds-db:connect",
     "Resource": "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/${aws:username}",
     "Condition": {"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    {"Sid": "NoProd", "Effect": "Deny", "Action": "rds-db:*",
     "Resource": "arn:aws:rds-db:*:*:dbuser:db-PROD*/*"}
  ]
}`

func TestEvaluateTypicalNoAlloc(t *testing.T) {
	in := gatewayInput(t, mustParseDoc(t, typicalPolicy, WithName("arn:aws:iam::111122223333:policy/db")))
	d := Evaluate(in)
	want := Decision{Effect: Allowed, Policy: "arn:aws:iam::111122223333:policy/db", Statement: "Connect", Reason: reasonAllowIdentity}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("Evaluate() mismatch (-want +got):\n%s", diff)
	}
	if n := testing.AllocsPerRun(1000, func() { Evaluate(in) }); n != 0 {
		t.Fatalf("Evaluate allocated %v times per run, want 0", n)
	}
	// Refilling a reused Context does not allocate either once it has grown.
	ctx := in.Context
	p := in.Principal
	if n := testing.AllocsPerRun(1000, func() {
		ctx.Reset()
		ctx.SetPrincipal(p)
		ctx.Set(KeySecureTransport, Bool(true))
		ctx.Set(KeySourceIP, IP(netip.MustParseAddr("10.1.2.3")))
	}); n != 0 {
		t.Fatalf("Context refill allocated %v times per run, want 0", n)
	}
}

func TestEvaluateNilContext(t *testing.T) {
	t.Parallel()
	p := mustParseDoc(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"rds-db:connect","Resource":"*","Condition":{"StringNotEquals":{"aws:username":"x"}}}}`)
	in := &Input{Action: "rds-db:connect", Resource: testResource, Principal: Principal{ARN: testUser}, Identity: []*Policy{p}}
	if d := Evaluate(in); d.Effect != Allowed {
		t.Fatalf("Evaluate() = %v, want allowed", d)
	}
}

func TestEffectString(t *testing.T) {
	t.Parallel()
	for e, want := range map[Effect]string{Allowed: "allowed", ExplicitDeny: "explicitDeny", ImplicitDeny: "implicitDeny"} {
		if got := e.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", e, got, want)
		}
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	var c Context
	c.Set("AWS:PrincipalTag/Team", String("eng"))
	c.Add("aws:TagKeys", String("a"))
	c.Add("aws:tagkeys", String("b"))
	if got := c.Get("aws:principaltag/team"); len(got) != 1 || got[0].Text() != "eng" {
		t.Fatalf("Get(team) = %v", got)
	}
	if got := c.Get("AWS:TAGKEYS"); len(got) != 2 || got[1].Text() != "b" {
		t.Fatalf("Get(tagkeys) = %v", got)
	}
	if diff := cmp.Diff([]string{"aws:principaltag/team", "aws:tagkeys"}, c.Keys()); diff != "" {
		t.Fatalf("Keys() mismatch (-want +got):\n%s", diff)
	}
	c.Set("aws:tagkeys")
	if c.Get("aws:tagkeys") != nil || c.Len() != 1 {
		t.Fatalf("Set with no values did not delete: %v", c.Keys())
	}
	c.Reset()
	if c.Len() != 0 {
		t.Fatalf("Reset left %d keys", c.Len())
	}
	if v := Number(1717243200); v.Text() != "1717243200" || v.Type() != TypeNumber {
		t.Fatalf("Number text = %q", v.Text())
	}
	if v := IP(netip.MustParseAddr("::ffff:10.0.0.1")); v.Text() != "10.0.0.1" {
		t.Fatalf("IP text = %q", v.Text())
	}
}

func TestPrincipalFromARN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Principal
		err  bool
	}{
		{in: testUser, want: Principal{ARN: testUser, Account: "111122223333", Type: PrincipalUser}},
		{in: "arn:aws:sts::111122223333:assumed-role/app/s1", want: Principal{ARN: "arn:aws:iam::111122223333:role/app", SessionARN: "arn:aws:sts::111122223333:assumed-role/app/s1", Account: "111122223333", Type: PrincipalAssumedRole}},
		{in: "arn:aws:iam::111122223333:root", want: Principal{ARN: "arn:aws:iam::111122223333:root", Account: "111122223333", Type: PrincipalAccount}},
		{in: "arn:aws:sts::111122223333:federated-user/bob", want: Principal{ARN: "arn:aws:sts::111122223333:federated-user/bob", Account: "111122223333", Type: PrincipalFederatedUser}},
		{in: "arn:aws:iam::111122223333:role/app", want: Principal{ARN: "arn:aws:iam::111122223333:role/app", Account: "111122223333", Type: PrincipalAssumedRole}},
		{in: "arn:aws:sts::111122223333:assumed-role/app", err: true},
		{in: "arn:aws:s3:::bucket", err: true},
		{in: "alice", err: true},
	}
	for _, tt := range tests {
		got, err := PrincipalFromARN(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("PrincipalFromARN(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("PrincipalFromARN(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSetPrincipal(t *testing.T) {
	t.Parallel()
	p, _ := PrincipalFromARN("arn:aws:iam::111122223333:user/path/alice")
	p.UserID = "AIDAEXAMPLE"
	var c Context
	c.SetPrincipal(p)
	got := map[string]string{}
	for _, k := range c.Keys() {
		got[k] = c.Get(k)[0].Text()
	}
	want := map[string]string{
		KeyPrincipalARN: "arn:aws:iam::111122223333:user/path/alice", KeyPrincipalAccount: "111122223333",
		KeyPrincipalType: "User", KeyUserID: "AIDAEXAMPLE", KeyUsername: "alice",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("SetPrincipal mismatch (-want +got):\n%s", diff)
	}
}

func TestSyntaxError(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"},{"Sid":"Bad","Effect":"Allow","Action":"x","Resource":"*"}]}`))
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse() error = %v, want *SyntaxError", err)
	}
	if se.Statement != 1 || se.Sid != "Bad" || se.Field != "Action" {
		t.Fatalf("SyntaxError = %+v", se)
	}
	if !strings.HasPrefix(se.Detail(), `Statement[1] (Sid "Bad"): Action: `) {
		t.Fatalf("Detail() = %q", se.Detail())
	}
	_, err = Parse([]byte(typicalPolicy), WithMaxSize(10))
	var ze *SizeError
	if !errors.As(err, &ze) || !errors.Is(err, ErrTooLarge) || ze.Limit != 10 {
		t.Fatalf("Parse() error = %v, want *SizeError", err)
	}
	if _, err := Parse([]byte(typicalPolicy), WithMaxSize(-1)); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
}

func TestPolicyAccessors(t *testing.T) {
	t.Parallel()
	p := mustParseDoc(t, `{"Id":"x","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, WithKind(KindBoundary))
	if p.Version() != Version2008 || p.ID() != "x" || p.Kind() != KindBoundary || p.Name() != "permissions boundary" || p.NumStatements() != 1 || p.Size() == 0 {
		t.Fatalf("accessors: %q %q %v %q %d %d", p.Version(), p.ID(), p.Kind(), p.Name(), p.NumStatements(), p.Size())
	}
}

func TestPatternMatch(t *testing.T) {
	t.Parallel()
	var ctx Context
	ctx.Set("aws:username", String("alice"))
	ctx.Set("aws:principaltag/team", String("a*b"))
	tests := []struct {
		pattern string
		vars    bool
		mode    matchMode
		s       string
		want    bool
	}{
		{"${aws:username}", true, modeEqual, "alice", true},
		{"${aws:username}", false, modeEqual, "${aws:username}", true},
		{"x-${aws:username}-*", true, modeGlob, "x-alice-1", true},
		{"x-${aws:username}-*", true, modeGlob, "x-bob-1", false},
		{"${aws:principaltag/team}", true, modeGlob, "axxb", false}, // literal star
		{"${aws:principaltag/team}", true, modeGlob, "a*b", true},
		{"${aws:missing}", true, modeGlob, "", false},
		{"${aws:missing, ''}", true, modeEqual, "", true},
		{"${ aws:missing , 'd' }", true, modeEqual, "d", true},
		{"${aws:missing, 'unterminated}", true, modeEqual, "${aws:missing, 'unterminated}", true},
		{"${*}${?}${$}", true, modeEqual, "*?$", true},
		{"A${aws:username}", true, modeEqualFold, "aALICE", true},
		{"É${aws:username}", true, modeEqualFold, "éalice", true},
		{"*${aws:username}", true, modeGlob, "xxalice", true},
		{"*${aws:username}*", true, modeGlob, "alice", true},
		{"?${aws:username}", true, modeGlob, "éalice", true},
	}
	for _, tt := range tests {
		p := compilePattern(tt.pattern, tt.vars)
		if got := p.match(tt.s, &ctx, tt.mode); got != tt.want {
			t.Errorf("compilePattern(%q, %v).match(%q, mode %d) = %v, want %v", tt.pattern, tt.vars, tt.s, tt.mode, got, tt.want)
		}
	}
}

// TestPatternPathological proves the token matcher (patterns with variables) cannot blow
// up; arn's TestGlobPathological covers the plain and case-folding matchers.
func TestPatternPathological(t *testing.T) {
	t.Parallel()
	var ctx Context
	ctx.Set("aws:username", String("a"))
	p := compilePattern(strings.Repeat("a*${aws:username}*", 30)+"b", true)
	input := strings.Repeat("a", 20000)
	start := time.Now()
	for i := 0; i < 5; i++ {
		if p.match(input, &ctx, modeGlob) {
			t.Fatal("matched")
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("pathological patterns took %v", d)
	}
}

func TestResourcePolicyWithoutPrincipalAccount(t *testing.T) {
	t.Parallel()
	// An anonymous caller: only "*" can grant.
	rp := mustParseDoc(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`, WithKind(KindResource))
	in := &Input{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourcePolicy: rp}
	if d := Evaluate(in); d.Effect != Allowed {
		t.Fatalf("Evaluate() = %+v, want allowed", d)
	}
	in.ResourcePolicy = nil
	if d := Evaluate(in); d.Effect != ImplicitDeny {
		t.Fatalf("Evaluate() = %+v, want implicitDeny", d)
	}
}

// TestEvaluateConcurrent shares compiled policies and one read-only Context between
// goroutines; run with -race.
func TestEvaluateConcurrent(t *testing.T) {
	t.Parallel()
	in := gatewayInput(t, mustParseDoc(t, typicalPolicy))
	done := make(chan Decision)
	for i := 0; i < 8; i++ {
		go func() {
			var d Decision
			for j := 0; j < 200; j++ {
				local := *in
				d = Evaluate(&local)
			}
			done <- d
		}()
	}
	for i := 0; i < 8; i++ {
		if d := <-done; d.Effect != Allowed {
			t.Errorf("Evaluate() = %+v", d)
		}
	}
}

// A trust policy's user and role entries, once bound to unique IDs, name whoever has the
// ID (a renamed user still) and not whoever now has the ARN (a user deleted and created
// again under the same name), as AWS's trust policies, which store unique IDs.
func TestBindPrincipalIDs(t *testing.T) {
	const (
		userARN = "arn:aws:iam::111122223333:user/alice"
		roleARN = "arn:aws:iam::111122223333:role/hop"
	)
	trust := mustParseDoc(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["`+userARN+`","`+roleARN+`"]},"Action":"sts:AssumeRole"}]}`,
		WithKind(KindTrust))
	if got := trust.PrincipalARNs(); !slices.Equal(got, []string{userARN, roleARN}) {
		t.Errorf("PrincipalARNs = %q", got)
	}
	if trust.BindPrincipalIDs(map[string]string{"arn:aws:iam::111122223333:user/bob": "AIDABOB"}) != trust {
		t.Error("binding no entry made a new policy")
	}
	bound := trust.BindPrincipalIDs(map[string]string{userARN: "AIDAALICE", roleARN: "AROAHOP"})
	user := func(a, id string) Principal {
		return Principal{ARN: a, Account: "111122223333", Type: PrincipalUser, UserID: id}
	}
	session := func(id string) Principal {
		return Principal{ARN: roleARN, SessionARN: "arn:aws:sts::111122223333:assumed-role/hop/s", Account: "111122223333",
			Type: PrincipalAssumedRole, UserID: id + ":s"}
	}
	hopAllows := mustParseDoc(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	for _, tt := range []struct {
		name   string
		policy *Policy
		p      Principal
		want   Effect
	}{
		{"unbound, the ARN", trust, user(userARN, "AIDANEW"), Allowed},
		{"bound, the same user", bound, user(userARN, "AIDAALICE"), Allowed},
		{"bound, the same user renamed", bound, user("arn:aws:iam::111122223333:user/alicia", "AIDAALICE"), Allowed},
		{"bound, a new user of that name", bound, user(userARN, "AIDANEW"), ImplicitDeny},
		{"bound, a principal without an ID", bound, user(userARN, ""), ImplicitDeny},
		{"bound, a session of the role", bound, session("AROAHOP"), Allowed},
		{"bound, a session of a new role of that name", bound, session("AROANEW"), ImplicitDeny},
	} {
		in := &Input{Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/target", Principal: tt.p,
			ResourcePolicy: tt.policy, TrustPolicy: true, Context: &Context{}}
		if tt.p.SessionARN != "" {
			in.Identity = []*Policy{hopAllows}
		}
		if d := Evaluate(in); d.Effect != tt.want {
			t.Errorf("%s: %v (%s), want %v", tt.name, d.Effect, d.Reason, tt.want)
		}
	}
}
