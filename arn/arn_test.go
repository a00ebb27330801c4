package arn

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want ARN
		err  bool
	}{
		{name: "rds-db", in: "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/alice",
			want: ARN{Partition: "aws", Service: "rds-db", Region: "us-east-1", AccountID: "123456789012", Resource: "dbuser:db-ABCDEFGHIJKL/alice"}},
		{name: "iam user with path", in: "arn:aws:iam::123456789012:user/division/alice",
			want: ARN{Partition: "aws", Service: "iam", AccountID: "123456789012", Resource: "user/division/alice"}},
		{name: "s3 without region or account", in: "arn:aws:s3:::bucket/key:with:colons",
			want: ARN{Partition: "aws", Service: "s3", Resource: "bucket/key:with:colons"}},
		{name: "china partition", in: "arn:aws-cn:sts::123456789012:assumed-role/r/s",
			want: ARN{Partition: "aws-cn", Service: "sts", AccountID: "123456789012", Resource: "assumed-role/r/s"}},
		{name: "wildcards are text", in: "arn:*:rds-db:*:*:dbuser:*/*",
			want: ARN{Partition: "*", Service: "rds-db", Region: "*", AccountID: "*", Resource: "dbuser:*/*"}},
		{name: "empty", in: "", err: true},
		{name: "too few parts", in: "arn:aws:iam::123456789012", err: true},
		{name: "not arn prefix", in: "urn:aws:iam::123456789012:root", err: true},
		{name: "upper-case prefix", in: "ARN:aws:iam::123456789012:root", err: true},
		{name: "empty partition", in: "arn::iam::123456789012:root", err: true},
		{name: "empty service", in: "arn:aws:::123456789012:root", err: true},
		{name: "empty resource", in: "arn:aws:iam::123456789012:", err: true},
		{name: "control character", in: "arn:aws:iam::123456789012:user/a\nb", err: true},
		{name: "too long", in: "arn:aws:s3:::" + strings.Repeat("a", MaxLen), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(%q) error = %v, want ErrMalformed", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Fatalf("Parse(%q).String() = %q", tt.in, s)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	const v = "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/alice"
	checkMatches(t, "Match", Match, []matchCase{
		{"*", v, true},
		{"*", "not an arn", true},
		{v, v, true},
		{"arn:aws:rds-db:us-east-1:123456789012:dbuser:*", v, true},          // * spans ':' and '/' in the resource part
		{"arn:aws:rds-db:*:123456789012:dbuser:*/alice", v, true},            // per segment
		{"arn:aws:rds-db:us-east-?:123456789012:dbuser:db-*/alic?", v, true}, // ?
		{"arn:aws:rds-db:*:dbuser:db-ABCDEFGHIJKL/alice", v, false},          // * does not span segments
		{"arn:aws:RDS-DB:us-east-1:123456789012:dbuser:*", v, false},         // case-sensitive
		{"arn:aws:rds-db:us-east-1:123456789012:dbuser:*/bob", v, false},
		{"arn:aws:rds-db:us-east-1:123456789012", v, false},
		{"arn:aws:rds-db:*:*:*", "garbage", false},
	})
}

func TestGlob(t *testing.T) {
	t.Parallel()
	cases := []matchCase{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"**", "abc", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"?", "é", true}, // one character, two bytes
		{"??", "é", false},
		{"*a*b", "xxaxxb", true},
		{"*a*b", "xxaxxbx", false},
		{"a*b*c", "abbbbc", true},
		{"a*C", "abbbC", true}, // case-sensitive
		{"a*c", "abbbC", false},
	}
	checkMatches(t, "Glob", Glob, cases)
	// GlobFold agrees wherever s is lower case, and folds the ASCII letters of s.
	checkMatches(t, "GlobFold", GlobFold, append(cases[:len(cases)-2:len(cases)-2],
		matchCase{"a*c", "abbbC", true},
		matchCase{"iam:create*", "iam:CreateUser", true},
		matchCase{"iam:createuser", "IAM:CREATEUSER", true},
		matchCase{"iam:?reateuser", "iam:CreateUser", true},
		matchCase{"iam:get*", "iam:CreateUser", false},
		matchCase{"iam:Create*", "iam:CreateUser", false}, // the pattern must be lower case
		matchCase{"?", "É", true},                         // folding is ASCII only, but ? still takes one character
		matchCase{"é", "É", false},
	))
}

type matchCase struct {
	pattern, s string
	want       bool
}

// checkMatches checks match, which is called name, on the cases.
func checkMatches(t *testing.T, name string, match func(pattern, s string) bool, cases []matchCase) {
	t.Helper()
	for _, tt := range cases {
		if got := match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("%s(%q, %q) = %v, want %v", name, tt.pattern, tt.s, got, tt.want)
		}
	}
}

// TestGlobPathological proves the matcher cannot blow up: a*a*a*…b against a long run of
// a's is exponential for naive backtracking and quadratic at worst here.
func TestGlobPathological(t *testing.T) {
	t.Parallel()
	pattern := strings.Repeat("a*", 50) + "b"
	input := strings.Repeat("a", 20000)
	start := time.Now()
	for i := 0; i < 10; i++ {
		if Glob(pattern, input) {
			t.Fatal("Glob matched")
		}
		if GlobFold(pattern, strings.ToUpper(input)) {
			t.Fatal("GlobFold matched")
		}
		if Match("arn:aws:s3:::"+pattern, "arn:aws:s3:::"+input) {
			t.Fatal("Match matched")
		}
	}
	// 30 calls of ≤ 50·20000 steps each; generous bound for a loaded 2-core machine.
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("pathological glob took %v", d)
	}
}

func TestIsAccountID(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"123456789012": true, "12345678901": false, "12345678901a": false, "": false, "1234567890123": false} {
		if got := IsAccountID(s); got != want {
			t.Errorf("IsAccountID(%q) = %v, want %v", s, got, want)
		}
	}
	a, _ := Parse("arn:aws:iam::123456789012:root")
	if !a.IsRoot() {
		t.Errorf("IsRoot(%v) = false", a)
	}
	a, _ = Parse("arn:aws:iam::123456789012:user/root")
	if a.IsRoot() {
		t.Errorf("IsRoot(%v) = true", a)
	}
}

func TestSplitNoAlloc(t *testing.T) {
	const v = "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/alice"
	if n := testing.AllocsPerRun(100, func() {
		Split(v)
		Match("arn:aws:rds-db:*:123456789012:dbuser:*/alice", v)
	}); n != 0 {
		t.Fatalf("Split/Match allocated %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/alice",
		"arn:aws:iam::123456789012:root",
		"arn:aws:sts::123456789012:assumed-role/app/session",
		"arn:aws:s3:::bucket/key:with:colons",
		"arn:*:rds-db:*:*:dbuser:*/*",
		"arn:aws:iam::123456789012",
		"",
	} {
		f.Add(s, "arn:aws:rds-db:*:*:dbuser:*/*")
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		a, err := Parse(s)
		if err == nil {
			if got := a.String(); got != s {
				t.Fatalf("Parse(%q).String() = %q", s, got)
			}
			b, err := Parse(a.String())
			if err != nil || b != a {
				t.Fatalf("round trip of %q: %+v, %v", s, b, err)
			}
			if !Match(s, s) && !strings.ContainsAny(s, "*?") {
				t.Fatalf("Match(%q, itself) = false", s)
			}
		}
		if len(pattern) <= 256 && len(s) <= 4096 {
			Match(pattern, s)
			Glob(pattern, s)
			GlobFold(strings.ToLower(pattern), s)
		}
	})
}
