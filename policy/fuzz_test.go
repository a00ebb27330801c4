package policy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary documents to Parse under every kind: it must never panic, must
// return either a policy or an error of a known category, and a parsed policy must evaluate
// without panicking.
func FuzzParse(f *testing.F) {
	for _, d := range goldenDocuments(f) {
		f.Add(d, uint8(0))
	}
	f.Add([]byte(typicalPolicy), uint8(1))
	f.Fuzz(func(t *testing.T, doc []byte, k uint8) {
		kind := Kind(k % 5)
		p, err := Parse(doc, WithKind(kind), WithMaxSize(-1))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Parse() error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			if p != nil {
				t.Fatal("Parse() returned a policy and an error")
			}
			return
		}
		if p.NumStatements() == 0 {
			t.Fatal("parsed policy without statements")
		}
		in := fuzzInput
		in.Context = fuzzContext()
		switch kind {
		case KindResource, KindTrust:
			in.ResourcePolicy, in.TrustPolicy = p, kind == KindTrust
		case KindBoundary:
			in.Boundary = p
		case KindSession:
			in.Session = []*Policy{p}
		default:
			in.Identity = []*Policy{p}
		}
		d := Evaluate(&in)
		if d.Effect > ExplicitDeny {
			t.Fatalf("Evaluate() = %v", d)
		}
	})
}

var fuzzInput = Input{
	Action:    "rds-db:connect",
	Resource:  "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/alice",
	Principal: Principal{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333", Type: PrincipalUser},
}

func fuzzContext() *Context {
	c := &Context{}
	p, _ := PrincipalFromARN("arn:aws:iam::111122223333:user/alice")
	c.SetPrincipal(p)
	c.Set("aws:sourceip", String("10.0.0.1"))
	c.Set("aws:currenttime", String("2024-06-01T12:00:00Z"))
	c.Set("aws:tagkeys", String("a"), String("b"))
	c.Set("aws:multifactorauthage", String("30"))
	return c
}

// FuzzScanJSON checks scanJSON against decodeJSONStd (encoding/json): on every document
// Parse would decode, scanJSON either gives up or makes the same tree, and it never takes
// a document that decodeJSONStd refuses.
func FuzzScanJSON(f *testing.F) {
	for _, d := range goldenDocuments(f) {
		f.Add(d)
	}
	for _, d := range scanCases {
		f.Add([]byte(d.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !utf8.Valid(doc) || len(doc) > maxDocumentBytes {
			return
		}
		for _, r := range string(doc) {
			if !allowedRune(r) {
				return // Parse refuses it before decoding
			}
		}
		got, ok := scanJSON(doc)
		want, err := decodeJSONStd(doc)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("scanJSON(%q) took a document that encoding/json refuses: %v", doc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scanJSON(%q) = %s, want %s", doc, dumpJSON(got), dumpJSON(want))
		}
	})
}

// dumpJSON renders a tree for failure messages.
func dumpJSON(n *jnode) string {
	switch n.kind {
	case 'o':
		var b strings.Builder
		b.WriteString("{")
		for i, k := range n.keys {
			fmt.Fprintf(&b, "%q:%s,", k, dumpJSON(n.vals[i]))
		}
		return b.String() + "}"
	case 'a':
		var b strings.Builder
		b.WriteString("[")
		for _, e := range n.arr {
			b.WriteString(dumpJSON(e) + ",")
		}
		return b.String() + "]"
	}
	return fmt.Sprintf("%c(%q,%v)", n.kind, n.str, n.b)
}
