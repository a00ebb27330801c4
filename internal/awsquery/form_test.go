package awsquery

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		parts []string
		want  map[string]string
		err   bool
	}{
		{name: "empty", parts: []string{""}, want: map[string]string{}},
		{name: "simple", parts: []string{"Action=GetUser&Version=2010-05-08"},
			want: map[string]string{"Action": "GetUser", "Version": "2010-05-08"}},
		{name: "escapes", parts: []string{"PolicyDocument=%7B%22a%22%3A+1%7d&X=a%2Bb"},
			want: map[string]string{"PolicyDocument": `{"a": 1}`, "X": "a+b"}},
		{name: "query and body", parts: []string{"Action=GetUser", "Version=2010-05-08"},
			want: map[string]string{"Action": "GetUser", "Version": "2010-05-08"}},
		{name: "empty segments", parts: []string{"&a=1&&b=2&"}, want: map[string]string{"a": "1", "b": "2"}},
		{name: "no equals", parts: []string{"Flag&a=1"}, want: map[string]string{"Flag": "", "a": "1"}},
		{name: "empty value", parts: []string{"Tags="}, want: map[string]string{"Tags": ""}},
		{name: "value with equals", parts: []string{"a=b=c"}, want: map[string]string{"a": "b=c"}},
		{name: "utf8", parts: []string{"UserName=%E6%97%A5%E6%9C%AC"}, want: map[string]string{"UserName": "日本"}},
		{name: "repeated", parts: []string{"a=1&a=2"}, err: true},
		{name: "repeated across query and body", parts: []string{"a=1", "a=2"}, err: true},
		{name: "repeated after decoding", parts: []string{"a=1&%61=2"}, err: true},
		{name: "bad escape", parts: []string{"a=%zz"}, err: true},
		{name: "short escape", parts: []string{"a=%4"}, err: true},
		{name: "bad escape in key", parts: []string{"%g1=1"}, err: true},
		{name: "empty key", parts: []string{"=1"}, err: true},
		{name: "long key", parts: []string{strings.Repeat("k", maxKeyLen+1) + "=1"}, err: true},
		{name: "invalid utf8 value", parts: []string{"a=%ff"}, err: true},
		{name: "invalid utf8 key", parts: []string{"%ff=1"}, err: true},
		{name: "too many", parts: []string{manyParams(maxParams + 1)}, err: true},
		{name: "just enough", parts: []string{manyParams(maxParams)}, want: func() map[string]string {
			m := map[string]string{}
			for i := range maxParams {
				m[fmt.Sprintf("p%d", i)] = "v"
			}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := parseForm(tt.parts...)
			if tt.err {
				var fe *errForm
				if !errors.As(err, &fe) {
					t.Fatalf("parseForm(%q) = %v, want an *errForm", tt.parts, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseForm(%q) = %v", tt.parts, err)
			}
			if diff := cmp.Diff(tt.want, f.m); diff != "" {
				t.Errorf("parseForm(%q) mismatch (-want +got):\n%s", tt.parts, diff)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "p%d=v", i)
	}
	return b.String()
}

func mustForm(t *testing.T, s string) *form {
	t.Helper()
	f, err := parseForm(s)
	if err != nil {
		t.Fatalf("parseForm(%q) = %v", s, err)
	}
	return f
}

func TestLists(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		form   string
		prefix string
		want   []string
		err    bool
	}{
		{name: "absent", form: "Action=X", prefix: "ActionNames.member.", want: nil},
		{name: "in order", form: "ActionNames.member.1=a&ActionNames.member.2=b", prefix: "ActionNames.member.", want: []string{"a", "b"}},
		{name: "out of order", form: "ActionNames.member.2=b&ActionNames.member.1=a", prefix: "ActionNames.member.", want: []string{"a", "b"}},
		{name: "gap", form: "ActionNames.member.1=a&ActionNames.member.3=c", prefix: "ActionNames.member.", err: true},
		{name: "starts at 2", form: "ActionNames.member.2=b", prefix: "ActionNames.member.", err: true},
		{name: "zero", form: "ActionNames.member.0=a", prefix: "ActionNames.member.", err: true},
		{name: "leading zero", form: "ActionNames.member.01=a", prefix: "ActionNames.member.", err: true},
		{name: "not a number", form: "ActionNames.member.x=a", prefix: "ActionNames.member.", err: true},
		{name: "empty index", form: "ActionNames.member.=a", prefix: "ActionNames.member.", err: true},
		{name: "beyond bound", form: fmt.Sprintf("ActionNames.member.%d=a", maxMembers+1), prefix: "ActionNames.member.", err: true},
		{name: "huge index", form: "ActionNames.member.99999999999999999999=a", prefix: "ActionNames.member.", err: true},
		{name: "at bound", form: listForm("ActionNames.member.", maxMembers), prefix: "ActionNames.member.",
			want: func() []string {
				var out []string
				for i := range maxMembers {
					out = append(out, fmt.Sprint(i+1))
				}
				return out
			}()},
		{name: "scalar with a field", form: "ActionNames.member.1.x=a", prefix: "ActionNames.member.", err: true},
		{name: "empty list marker", form: "ActionNames=", prefix: "ActionNames.member.", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mustForm(t, tt.form).strList(tt.prefix)
			if tt.err {
				var qe *queryError
				if !errors.As(err, &qe) || qe.code != "ValidationError" {
					t.Fatalf("strList(%q) = %v, want ValidationError", tt.form, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("strList(%q) = %v", tt.form, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("strList(%q) mismatch (-want +got):\n%s", tt.form, diff)
			}
		})
	}
}

func listForm(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "%s%d=%d", prefix, i, i)
	}
	return b.String()
}

func TestStructuredParams(t *testing.T) {
	t.Parallel()
	c := &call{f: mustForm(t, "Tags.member.1.Key=team&Tags.member.1.Value=db&Tags.member.2.Key=env"+
		"&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FX"+
		"&ContextEntries.member.1.ContextKeyName=aws%3ASourceIp&ContextEntries.member.1.ContextKeyType=ip"+
		"&ContextEntries.member.1.ContextKeyValues.member.1=10.0.0.1&ContextEntries.member.1.ContextKeyValues.member.2=10.0.0.2"+
		"&ContextEntries.member.2.ContextKeyName=k&ContextEntries.member.2.ContextKeyType=string"+
		"&Filters.Filter.1.Name=engine&Filters.Filter.1.Values.Value.1=postgres&Filters.Filter.1.Values.Value.2=mysql"+
		"&MaxItems=10&Flag=TRUE&Count=42")}
	tags, err := c.tags()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(tags); got != "[{team db} {env }]" {
		t.Errorf("tags() = %s", got)
	}
	arns, err := c.policyARNs()
	if err != nil || fmt.Sprint(arns) != "[arn:aws:iam::aws:policy/X]" {
		t.Errorf("policyARNs() = %v, %v", arns, err)
	}
	ces, err := c.contextEntries()
	if err != nil || fmt.Sprint(ces) != "[{aws:SourceIp ip [10.0.0.1 10.0.0.2]} {k string []}]" {
		t.Errorf("contextEntries() = %v, %v", ces, err)
	}
	fs, err := c.filters()
	if err != nil || fmt.Sprint(fs) != "[{engine [postgres mysql]}]" {
		t.Errorf("filters() = %v, %v", fs, err)
	}
	if n, err := c.maxItems("MaxItems", 1, 1000); n != 10 || err != nil {
		t.Errorf("maxItems() = %d, %v", n, err)
	}
	if b, err := c.boolParam("Flag"); !b || err != nil {
		t.Errorf("boolParam(Flag) = %v, %v", b, err)
	}
	if n, err := c.intParam("Count"); n != 42 || err != nil {
		t.Errorf("intParam(Count) = %d, %v", n, err)
	}

	bad := []struct{ form, what string }{
		{"Tags.member.1.Value=x", "tag without key"},
		{"PolicyArns.member.1.x=y", "policy arn without arn"},
		{"Filters.Filter.1.Values.Value.1=x", "filter without name"},
		{"MaxItems=0", "max items 0"},
		{"MaxItems=1001", "max items 1001"},
		{"MaxItems=ten", "max items not a number"},
		{"MaxItems=99999999999", "max items huge"},
		{"Flag=yes", "bool"},
	}
	for _, b := range bad {
		c := &call{f: mustForm(t, b.form)}
		var errs []error
		_, e1 := c.tags()
		_, e2 := c.policyARNs()
		_, e3 := c.filters()
		_, e4 := c.maxItems("MaxItems", 1, 1000)
		_, e5 := c.boolParam("Flag")
		errs = append(errs, e1, e2, e3, e4, e5)
		if errors.Join(errs...) == nil {
			t.Errorf("%s (%q): no error", b.what, b.form)
		}
	}
}

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"", "Action=GetUser&Version=2010-05-08", "a=%zz", "a=1&a=2", "&&", "=", "%", "a=%e6%97%a5",
		"Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.2.Key=c",
		"ActionNames.member.1=a&ActionNames.member.3=c", "ActionNames.member.01=a",
		"Filters.Filter.1.Name=engine&Filters.Filter.1.Values.Value.1=postgres",
		"ContextEntries.member.1.ContextKeyName=k&ContextEntries.member.1.ContextKeyValues.member.1=v",
		"PolicyArns.member.1.arn=x&MaxItems=5&Flag=true",
	} {
		f.Add(s, "")
	}
	f.Add("Action=GetUser", "Version=2010-05-08")
	f.Fuzz(func(t *testing.T, query, body string) {
		fm, err := parseForm(query, body)
		if err != nil {
			var fe *errForm
			if !errors.As(err, &fe) {
				t.Fatalf("parseForm error %T, want *errForm", err)
			}
			return
		}
		if len(fm.m) > maxParams {
			t.Fatalf("%d parameters, more than %d", len(fm.m), maxParams)
		}
		c := &call{f: fm}
		// None of the decoders may panic, and lists stay bounded.
		for _, p := range []string{"ActionNames.member.", "Tags.member.", "TagKeys.member."} {
			if l, err := fm.strList(p); err == nil && len(l) > maxMembers {
				t.Fatalf("strList(%q) has %d members", p, len(l))
			}
		}
		c.tags()
		c.policyARNs()
		c.contextEntries()
		c.filters()
		c.maxItems("MaxItems", 1, 1000)
		c.boolParam("Flag")
		c.intParam("DurationSeconds")
	})
}
