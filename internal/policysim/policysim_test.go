package policysim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/policy"
)

func TestParseContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		key     string
		n       int    // values
		wantErr string // a substring of the error, "" for none
	}{
		{"aws:SourceIp=ip:10.1.2.3", "aws:SourceIp", 1, ""},
		{"aws:PrincipalTag/team=string:eng", "aws:PrincipalTag/team", 1, ""},
		{"k=stringList:a,b,c", "k", 3, ""},
		{"k=numeric:1.5", "k", 1, ""},
		{"k=bool:true", "k", 1, ""},
		{"k=date:2024-06-01T12:00:00Z", "k", 1, ""},
		{"k=date:1717243200", "k", 1, ""},
		{"k=binary:aGk=", "k", 1, ""},
		{"k=arn:arn:aws:iam::111122223333:role/x", "k", 1, ""},
		{"k=string:", "k", 1, ""},
		{"novalue", "", 0, "want KEY=TYPE:VALUE"},
		{"=string:x", "", 0, "want KEY=TYPE:VALUE"},
		{"k=untyped", "", 0, "with TYPE string"},
		{"k=numeric:x", "", 0, "not a number"},
		{"k=bool:maybe", "", 0, "not true or false"},
		{"k=date:yesterday", "", 0, "not an RFC 3339 date"},
		{"k=ip:10.1.2", "", 0, "not an IP address"},
		{"k=binary:%%", "", 0, "not base64"},
		{"k=color:red", "", 0, `unknown type "color"`},
		{"k=string:" + strings.Repeat("x", maxContextValue+1), "", 0, "longer than"},
	}
	for _, tt := range tests {
		key, vals, err := ParseContext(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseContext(%.40q) = %v, want an error with %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || key != tt.key || len(vals) != tt.n {
			t.Errorf("ParseContext(%q) = %q, %d values, %v; want %q, %d", tt.in, key, len(vals), err, tt.key, tt.n)
		}
	}
}

// FuzzParseContext: no panic; a value it accepts has a key before its '='.
func FuzzParseContext(f *testing.F) {
	for _, s := range []string{"aws:SourceIp=ip:10.1.2.3", "k=stringList:a,b", "k=date:1717243200", "k=binary:aGk=", "=x:y", "k=numeric:NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, vals, err := ParseContext(s)
		if err != nil {
			return
		}
		if key == "" || !strings.HasPrefix(s, key+"=") || len(vals) == 0 {
			t.Errorf("ParseContext(%q) = %q, %d values", s, key, len(vals))
		}
	})
}

func writePolicy(t *testing.T, dir, name, doc string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const resource = "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABC/alice"
	allow := writePolicy(t, dir, "allow.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Self","Effect":"Allow","Action":"rds-db:connect","Resource":"`+resource+`",
		"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)
	bad := writePolicy(t, dir, "bad.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"connect","Resource":"*"}]}`)

	r := Request{Policies: []string{allow}, Action: "rds-db:connect", Resource: resource, Context: []string{"aws:SourceIp=ip:10.1.2.3"}}
	in, err := r.Input()
	if err != nil {
		t.Fatal(err)
	}
	if d := policy.Evaluate(in); !d.Allowed() || d.Policy != allow || d.Statement != "Self" {
		t.Errorf("Evaluate(%+v) = %+v, want allowed by %s Self", r, d, allow)
	}
	r.Context = []string{"aws:SourceIp=ip:192.0.2.1"}
	if in, err := r.Input(); err != nil || policy.Evaluate(in).Allowed() {
		t.Errorf("from outside the network: %v, want implicitDeny", err)
	}

	for _, tt := range []struct {
		name string
		r    Request
		want string
		cat  bool // ErrRequest
	}{
		{"malformed", Request{Policies: []string{bad}}, bad + ": MalformedPolicyDocument: ", false},
		{"missing", Request{Boundary: filepath.Join(dir, "none.json")}, "no such file", false},
		{"principal", Request{Principal: "arn:aws:s3:::bucket"}, "policysim: --principal: ", true},
		{"context", Request{Context: []string{"k"}}, `policysim: --context "k": want KEY=TYPE:VALUE`, true},
	} {
		_, err := tt.r.Input()
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrRequest) != tt.cat {
			t.Errorf("%s: Input() = %v, want %q (ErrRequest %v)", tt.name, err, tt.want, tt.cat)
		}
	}
}

func TestMessage(t *testing.T) {
	t.Parallel()
	_, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"}]}`), policy.WithMaxSize(10))
	if got := Message(err); !strings.HasPrefix(got, "LimitExceeded: Cannot exceed quota for PolicySize: 10 (") {
		t.Errorf("Message(size error) = %q", got)
	}
	_, err = policy.Parse([]byte(`{`))
	if got := Message(err); !strings.HasPrefix(got, "MalformedPolicyDocument: ") {
		t.Errorf("Message(syntax error) = %q", got)
	}
	if got := Message(errors.New("other")); got != "other" {
		t.Errorf("Message(other) = %q", got)
	}
}
