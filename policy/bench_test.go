package policy

import (
	"fmt"
	"strings"
	"testing"
)

// Benchmarks of the gateway's hot path. Run one at a time on a shared machine:
//
//	go test -run='^$' -bench=. -benchtime=2s ./policy

// benchEvaluate checks that Evaluate(in) decides want (and, if stmt is not empty, by that
// statement), then measures it.
func benchEvaluate(b *testing.B, in *Input, want Effect, stmt string) {
	b.Helper()
	if d := Evaluate(in); d.Effect != want || stmt != "" && d.Statement != stmt {
		b.Fatalf("Evaluate() = %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

// BenchmarkEvaluateSimple: one policy, one literal Allow statement (target ≥ 1M/s/core).
func BenchmarkEvaluateSimple(b *testing.B) {
	p := mustParseDoc(b, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"`+testResource+`"}]}`)
	in := gatewayInput(b, p)
	benchEvaluate(b, in, Allowed, "")
}

// BenchmarkEvaluateTypical: a policy variable in the Resource, Bool and IpAddress
// conditions, and a Deny statement — what an rds-db:connect policy usually looks like.
func BenchmarkEvaluateTypical(b *testing.B) {
	in := gatewayInput(b, mustParseDoc(b, typicalPolicy))
	benchEvaluate(b, in, Allowed, "")
}

// manyPolicies builds n policies of m statements each: a mix of services, wildcard and
// literal resources, conditions, and one Deny per policy (so no policy can be skipped).
// Only the last statement of the last policy allows the request.
func manyPolicies(b testing.TB, n, m int) []*Policy {
	var out []*Policy
	for i := 0; i < n; i++ {
		var stmts []string
		for j := 0; j < m; j++ {
			var s string
			switch j % 5 {
			case 0:
				s = fmt.Sprintf(`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-%d-%d/*"}`, i, j)
			case 1:
				s = fmt.Sprintf(`{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:us-east-1:111122223333:dbuser:db-P%03dS%02d/*"}`, i, j)
			case 2:
				s = fmt.Sprintf(`{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/user%d%d"}`, i, j)
			case 3:
				s = fmt.Sprintf(`{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-%d"}}}`, j)
			case 4:
				s = fmt.Sprintf(`{"Effect":"Deny","Action":"rds-db:connect","Resource":"arn:aws:rds-db:*:*:dbuser:db-DENY%03d%02d/*"}`, i, j)
			}
			if i == n-1 && j == m-1 {
				s = `{"Sid":"Last","Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/${aws:username}","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`
			}
			stmts = append(stmts, s)
		}
		doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
		out = append(out, mustParseDoc(b, doc, WithMaxSize(-1), WithName(fmt.Sprintf("p%d", i))))
	}
	return out
}

// BenchmarkEvaluate100x20: a principal with 100 attached policies of 20 statements each
// (target < 20 µs per decision).
func BenchmarkEvaluate100x20(b *testing.B) {
	in := gatewayInput(b, manyPolicies(b, 100, 20)...)
	benchEvaluate(b, in, Allowed, "Last")
}

// BenchmarkEvaluate100x20Denied: the same principal asking for a database no statement
// names: every statement is examined and the answer is an implicit deny.
func BenchmarkEvaluate100x20Denied(b *testing.B) {
	in := gatewayInput(b, manyPolicies(b, 100, 20)...)
	in.Resource = "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-OTHERXXXXXXX/alice"
	benchEvaluate(b, in, ImplicitDeny, "")
}

func BenchmarkParseTypical(b *testing.B) {
	doc := []byte(typicalPolicy)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEvaluate100x20NoAlloc pins the zero-allocation property for the large case too.
func TestEvaluate100x20NoAlloc(t *testing.T) {
	in := gatewayInput(t, manyPolicies(t, 100, 20)...)
	if n := testing.AllocsPerRun(20, func() { Evaluate(in) }); n != 0 {
		t.Fatalf("Evaluate allocated %v times", n)
	}
}
