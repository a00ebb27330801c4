package iam

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The convention of MatchedStatements' positions. AWS's API reference says only that
// Position holds "the line" and "the column in the line" of the start and end of the
// Statement. The aws-cli example of simulate-custom-policy (awscli/examples/iam/
// simulate-custom-policy.rst) pins it down: for the one-line document awsCLIExample,
// whose statement object's "{" is its 37th character and "}" its 166th, AWS answers
// StartPosition {1, 38} and EndPosition {1, 167}. Lines and columns are 1-based and both
// positions are just after the brace (what a streaming parser's "current location" is
// after reading it). The docs are silent on what a column counts; iamdb counts
// characters (runes), which equals Java's UTF-16 count below U+10000, and treats "\n",
// "\r\n" and a lone "\r" as line breaks.
const awsCLIExample = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}`

// cut returns the statement text that start and end delimit: from the character before
// start (the opening brace) up to end.
func cut(t testing.TB, doc string, start, end Position) string {
	t.Helper()
	s, e := offsetOf(doc, start), offsetOf(doc, end)
	if s < 1 || e < s || e > len(doc) {
		t.Fatalf("positions %v-%v out of the document (offsets %d-%d of %d)", start, end, s, e, len(doc))
	}
	return doc[s-1 : e]
}

// offsetOf is the byte offset of p in doc, the inverse of positionAt; -1 if p is not in doc.
func offsetOf(doc string, p Position) int {
	o := 0
	for line := 1; line < p.Line; line++ {
		i := strings.IndexAny(doc[o:], "\r\n")
		if i < 0 {
			return -1
		}
		o += i + 1
		if doc[o-1] == '\r' && o < len(doc) && doc[o] == '\n' {
			o++
		}
	}
	for col := 1; col < p.Column; col++ {
		if o >= len(doc) || doc[o] == '\n' || doc[o] == '\r' {
			return -1
		}
		_, n := utf8.DecodeRuneInString(doc[o:])
		o += n
	}
	return o
}

func TestStatementSpan(t *testing.T) {
	t.Parallel()
	twoSids := "{\n" +
		"    \"Version\": \"2012-10-17\",\n" +
		"    \"Statement\": [\n" +
		"        {\n" +
		"            \"Sid\": \"Read\",\n" +
		"            \"Effect\": \"Allow\",\n" +
		"            \"Action\": \"s3:GetObject\",\n" +
		"            \"Resource\": \"*\"\n" +
		"        },\n" +
		"        {\"Sid\": \"NoDelete\", \"Effect\": \"Deny\",\n" +
		"         \"Action\": \"s3:DeleteObject\", \"Resource\": \"*\",\n" +
		"         \"Condition\": {\"StringEquals\": {\"aws:PrincipalTag/team\": \"café\"}}}\n" +
		"    ]\n" +
		"}\n"
	noSids := "{\r\n\t\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"},\r\n" +
		"\t\t{\r\n\t\t\t\"Effect\": \"Deny\",\r\n\t\t\t\"Action\": \"s3:DeleteObject\",\r\n\t\t\t\"Resource\": \"*\"\r\n\t\t}\r\n\t],\r\n" +
		"\t\"Version\": \"2012-10-17\"\r\n}"
	single := "{\"Version\": \"2012-10-17\",\n \"Statement\":\n  {\"Sid\": \"\", \"Effect\": \"Allow\",\n   \"Action\": \"*\", \"Resource\": \"*\"}\n}"
	tests := []struct {
		name, doc, label string
		start, end       Position
		text             string // the statement's text, "" when not found
	}{
		{name: "aws-cli example", doc: awsCLIExample, label: "Statement[0]", start: Position{1, 38}, end: Position{1, 167},
			text: `{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}`},
		{name: "first by sid", doc: twoSids, label: "Read", start: Position{4, 10}, end: Position{9, 10},
			text: "{\n            \"Sid\": \"Read\",\n            \"Effect\": \"Allow\",\n            \"Action\": \"s3:GetObject\",\n            \"Resource\": \"*\"\n        }"},
		{name: "second by sid", doc: twoSids, label: "NoDelete", start: Position{10, 10}, end: Position{12, 75},
			text: "{\"Sid\": \"NoDelete\", \"Effect\": \"Deny\",\n         \"Action\": \"s3:DeleteObject\", \"Resource\": \"*\",\n         \"Condition\": {\"StringEquals\": {\"aws:PrincipalTag/team\": \"café\"}}}"},
		{name: "a sid is not an index", doc: twoSids, label: "Statement[1]"},
		{name: "second by index", doc: noSids, label: "Statement[1]", start: Position{3, 4}, end: Position{7, 4},
			text: "{\r\n\t\t\t\"Effect\": \"Deny\",\r\n\t\t\t\"Action\": \"s3:DeleteObject\",\r\n\t\t\t\"Resource\": \"*\"\r\n\t\t}"},
		{name: "first by index", doc: noSids, label: "Statement[0]", start: Position{2, 17}, end: Position{2, 70},
			text: `{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}`},
		{name: "no such index", doc: noSids, label: "Statement[2]"},
		{name: "single object, empty sid", doc: single, label: "Statement[0]", start: Position{3, 4}, end: Position{4, 35},
			text: "{\"Sid\": \"\", \"Effect\": \"Allow\",\n   \"Action\": \"*\", \"Resource\": \"*\"}"},
		{name: "not json", doc: `{"Statement": [{"Sid": "A"`, label: "A"},
		{name: "no statement", doc: `{"Version": "2012-10-17"}`, label: "Statement[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, end, ok := statementSpan(tt.doc, tt.label)
			if ok != (tt.text != "") || start != tt.start || end != tt.end {
				t.Fatalf("statementSpan(%q) = %v, %v, %v, want %v, %v", tt.label, start, end, ok, tt.start, tt.end)
			}
			if ok {
				if got := cut(t, tt.doc, start, end); got != tt.text {
					t.Errorf("cut at %v-%v = %q, want %q", start, end, got, tt.text)
				}
			}
		})
	}
}

// TestSimulatePositions checks that the positions the simulator reports cut the deciding
// statement out of the document GetUserPolicy and GetPolicyVersion return.
func TestSimulatePositions(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	inline := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"ReadAll\",\n      \"Effect\": \"Allow\",\n" +
		"      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"*\"\n    },\n    {\n      \"Sid\": \"NoSecrets\",\n" +
		"      \"Effect\": \"Deny\",\n      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"arn:aws:s3:::secrets/*\"\n    }\n  ]\n}"
	e.user(a, "carol", inline)
	managed := "{\"Version\": \"2012-10-17\",\n \"Statement\": [\n  {\"Effect\": \"Allow\", \"Action\": \"s3:ListBucket\", \"Resource\": \"*\"},\n" +
		"  {\"Effect\": \"Allow\", \"Action\": \"s3:PutObject\",\n   \"Resource\": \"*\"}]}"
	p, err := e.s.CreatePolicy(e.ctx, a, CreatePolicyInput{PolicyName: "writer", PolicyDocument: managed})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.AttachUserPolicy(e.ctx, a, "carol", p.ARN); err != nil {
		t.Fatal(err)
	}
	out, err := e.s.SimulatePrincipalPolicy(e.ctx, a, SimulatePrincipalPolicyInput{
		PolicySourceARN: "arn:aws:iam::" + acctA + ":user/carol",
		ActionNames:     []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
		ResourceARNs:    []string{"arn:aws:s3:::secrets/key"},
	})
	if err != nil || len(out.EvaluationResults) != 3 {
		t.Fatalf("SimulatePrincipalPolicy = %+v, %v", out, err)
	}
	gu, err := e.s.GetUserPolicy(e.ctx, a, "carol", "p")
	if err != nil {
		t.Fatal(err)
	}
	gv, err := e.s.GetPolicyVersion(e.ctx, a, p.ARN, "v1")
	if err != nil {
		t.Fatal(err)
	}
	deny, put := out.EvaluationResults[0], out.EvaluationResults[1]
	if len(deny.MatchedStatements) != 1 || len(put.MatchedStatements) != 1 || len(out.EvaluationResults[2].MatchedStatements) != 0 {
		t.Fatalf("results = %+v", out.EvaluationResults)
	}
	m := deny.MatchedStatements[0]
	if m.StatementID != "NoSecrets" || m.StartPosition != (Position{10, 6}) || m.EndPosition != (Position{15, 6}) {
		t.Errorf("deny matched = %+v", m)
	}
	want := "{\n      \"Sid\": \"NoSecrets\",\n      \"Effect\": \"Deny\",\n      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"arn:aws:s3:::secrets/*\"\n    }"
	if got := cut(t, gu.PolicyDocument, m.StartPosition, m.EndPosition); got != want {
		t.Errorf("GetUserPolicy's document cut at %v-%v = %q, want %q", m.StartPosition, m.EndPosition, got, want)
	}
	m = put.MatchedStatements[0]
	if m.StatementID != "Statement[1]" || m.SourcePolicyID != p.ARN || m.StartPosition != (Position{4, 4}) || m.EndPosition != (Position{5, 20}) {
		t.Errorf("put matched = %+v", m)
	}
	want = "{\"Effect\": \"Allow\", \"Action\": \"s3:PutObject\",\n   \"Resource\": \"*\"}"
	if got := cut(t, gv.Document, m.StartPosition, m.EndPosition); got != want {
		t.Errorf("GetPolicyVersion's document cut at %v-%v = %q, want %q", m.StartPosition, m.EndPosition, got, want)
	}

	cu, err := e.s.SimulateCustomPolicy(e.ctx, a, SimulateCustomPolicyInput{PolicyInputList: []string{awsCLIExample},
		ActionNames: []string{"dynamodb:CreateBackup"}, ContextEntries: []ContextEntry{{Key: "aws:CurrentTime", Type: "date", Values: []string{"2019-04-25T11:00:00Z"}}}})
	if err != nil || len(cu.EvaluationResults) != 1 || len(cu.EvaluationResults[0].MatchedStatements) != 1 {
		t.Fatalf("SimulateCustomPolicy = %+v, %v", cu, err)
	}
	if m := cu.EvaluationResults[0].MatchedStatements[0]; m.StartPosition != (Position{1, 38}) || m.EndPosition != (Position{1, 167}) {
		t.Errorf("SimulateCustomPolicy(aws-cli example) matched = %+v, want 1:38-1:167 as AWS", m)
	}
}

func FuzzStatementSpan(f *testing.F) {
	f.Add(awsCLIExample, "Statement[0]")
	f.Add("{\n \"Statement\": [\n  {\"Sid\": \"A\"},\r\n  {\"Sid\": \"B\", \"Effect\": \"Deny\"}\r]}", "B")
	f.Add("{\"Statement\": [{}, {\"Sid\": 1}, {\"Sid\": \"\"}]}", "Statement[2]")
	f.Add("{\"Statement\": {\"Sid\": \"é\\u00e9\"}}", "éé")
	f.Add("{\"Statement\": [[], {}]}", "Statement[1]")
	f.Fuzz(func(t *testing.T, doc, label string) {
		if len(doc) > 4096 || len(label) > 64 {
			return
		}
		start, end, ok := statementSpan(doc, label)
		if !ok {
			if start != (Position{}) || end != (Position{}) {
				t.Fatalf("statementSpan(%q, %q) = %v, %v, not found", doc, label, start, end)
			}
			return
		}
		if start.Line < 1 || start.Column < 2 || end.Line < start.Line || end.Line == start.Line && end.Column <= start.Column {
			t.Fatalf("statementSpan(%q, %q) = %v, %v", doc, label, start, end)
		}
		s, e := offsetOf(doc, start), offsetOf(doc, end)
		if s < 1 || e <= s || e > len(doc) || doc[s-1] != '{' || doc[e-1] != '}' {
			t.Fatalf("statementSpan(%q, %q) = %v, %v: offsets %d, %d", doc, label, start, end, s, e)
		}
	})
}
