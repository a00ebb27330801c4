package policy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The golden cases in testdata/*.json are written by hand from AWS's documentation: each
// names the rule it encodes (quoted or paraphrased from the IAM User Guide) and states the
// expected decision. They are never generated from this package's output.

type goldenFile struct {
	Topic    string       `json:"topic"`
	Doc      string       `json:"doc"`
	Defaults goldenCase   `json:"defaults"`
	Cases    []goldenCase `json:"cases"`
}

type namedDoc struct {
	Name     string          `json:"name"`
	Document json.RawMessage `json:"document"`
}

type goldenCase struct {
	Name string `json:"name"`
	Rule string `json:"rule"`

	// Evaluation cases.
	Policy          json.RawMessage            `json:"policy"`   // one identity policy named "policy"
	Identity        []namedDoc                 `json:"identity"` // or several, named
	Boundary        json.RawMessage            `json:"boundary"`
	Session         []json.RawMessage          `json:"session"`
	ResourcePolicy  json.RawMessage            `json:"resourcePolicy"`
	Trust           bool                       `json:"trust"`
	Action          string                     `json:"action"`
	Resource        string                     `json:"resource"`
	ResourceAccount string                     `json:"resourceAccount"`
	Principal       json.RawMessage            `json:"principal"`
	Context         map[string]json.RawMessage `json:"context"`
	Want            string                     `json:"want"`
	WantPolicy      string                     `json:"wantPolicy"`
	WantStatement   string                     `json:"wantStatement"`

	// Parse cases.
	Kind         string          `json:"kind"`
	MaxSize      int             `json:"maxSize"`
	Document     json.RawMessage `json:"document"`
	WantError    string          `json:"wantError"`
	WantTooLarge bool            `json:"wantTooLarge"`
}

func loadGolden(t testing.TB) map[string]goldenFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	files := map[string]goldenFile{}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var f goldenFile
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		files[filepath.Base(path)] = f
	}
	return files
}

// docBytes turns a case's document, a JSON object or a JSON string holding the document's
// text (for documents that are not valid JSON objects), into bytes.
func docBytes(raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return []byte(s)
		}
	}
	return raw
}

var kinds = map[string]Kind{"": KindIdentity, "identity": KindIdentity, "resource": KindResource, "trust": KindTrust, "boundary": KindBoundary, "session": KindSession}

func TestGolden(t *testing.T) {
	files := loadGolden(t)
	total := 0
	for name, f := range files {
		seen := map[string]bool{}
		for _, c := range f.Cases {
			total++
			if c.Name == "" || c.Rule == "" {
				t.Errorf("%s: every case needs a name and a rule: %+v", name, c.Name)
			}
			if seen[c.Name] {
				t.Errorf("%s: duplicate case name %q", name, c.Name)
			}
			seen[c.Name] = true
			c := mergeDefaults(c, f.Defaults)
			t.Run(strings.TrimSuffix(name, ".json")+"/"+c.Name, func(t *testing.T) {
				// Not parallel: runEvalCase checks allocations with testing.AllocsPerRun.
				if c.Document != nil {
					runParseCase(t, c)
				} else {
					runEvalCase(t, c)
				}
			})
		}
	}
	if total < 200 {
		t.Errorf("only %d golden cases, want at least 200", total)
	}
	t.Logf("%d golden cases in %d files", total, len(files))
}

func mergeDefaults(c, d goldenCase) goldenCase {
	if c.Document != nil {
		if c.Kind == "" {
			c.Kind = d.Kind
		}
		return c
	}
	if c.Policy == nil && c.Identity == nil {
		c.Policy = d.Policy
	}
	if c.Boundary == nil {
		c.Boundary = d.Boundary
	}
	if c.ResourcePolicy == nil {
		c.ResourcePolicy = d.ResourcePolicy
		c.Trust = c.Trust || d.Trust
	}
	if c.Action == "" {
		c.Action = d.Action
	}
	if c.Resource == "" {
		c.Resource = d.Resource
	}
	if c.Principal == nil {
		c.Principal = d.Principal
	}
	if len(d.Context) > 0 {
		ctx := map[string]json.RawMessage{}
		for k, v := range d.Context {
			ctx[k] = v
		}
		for k, v := range c.Context {
			ctx[k] = v
		}
		c.Context = ctx
	}
	return c
}

func runParseCase(t *testing.T, c goldenCase) {
	kind, ok := kinds[c.Kind]
	if !ok {
		t.Fatalf("unknown kind %q", c.Kind)
	}
	opts := []Option{WithKind(kind)}
	if c.MaxSize != 0 {
		opts = append(opts, WithMaxSize(c.MaxSize))
	}
	_, err := Parse(docBytes(c.Document), opts...)
	switch {
	case c.WantTooLarge:
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Parse() error = %v, want ErrTooLarge", err)
		}
	case c.WantError == "":
		if err != nil {
			t.Fatalf("Parse() error = %v, want none", err)
		}
	default:
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Parse() error = %v, want ErrMalformed containing %q", err, c.WantError)
		}
		if !strings.Contains(err.Error(), c.WantError) {
			t.Fatalf("Parse() error = %q, want it to contain %q", err, c.WantError)
		}
	}
}

func mustParse(t *testing.T, raw json.RawMessage, name string, kind Kind) *Policy {
	t.Helper()
	p, err := Parse(docBytes(raw), WithName(name), WithKind(kind), WithMaxSize(-1))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return p
}

func runEvalCase(t *testing.T, c goldenCase) {
	in := &Input{Action: c.Action, Resource: c.Resource, ResourceAccount: c.ResourceAccount, TrustPolicy: c.Trust}
	if c.Policy != nil {
		in.Identity = append(in.Identity, mustParse(t, c.Policy, "policy", KindIdentity))
	}
	for _, d := range c.Identity {
		in.Identity = append(in.Identity, mustParse(t, d.Document, d.Name, KindIdentity))
	}
	if c.Boundary != nil {
		in.Boundary = mustParse(t, c.Boundary, "boundary", KindBoundary)
	}
	for i, s := range c.Session {
		in.Session = append(in.Session, mustParse(t, s, fmt.Sprintf("session%d", i), KindSession))
	}
	if c.ResourcePolicy != nil {
		kind := KindResource
		if c.Trust {
			kind = KindTrust
		}
		in.ResourcePolicy = mustParse(t, c.ResourcePolicy, "resource", kind)
	}
	ctx := &Context{}
	if c.Principal != nil {
		p, err := goldenPrincipal(c.Principal)
		if err != nil {
			t.Fatal(err)
		}
		in.Principal = p
		ctx.SetPrincipal(p)
	}
	for k, raw := range c.Context {
		vals, err := goldenValues(raw)
		if err != nil {
			t.Fatalf("context %s: %v", k, err)
		}
		ctx.Set(k, vals...)
	}
	in.Context = ctx
	d := Evaluate(in)
	if got := d.Effect.String(); got != c.Want {
		t.Fatalf("Evaluate() = %s (%s; %s %s), want %s\nrule: %s", got, d.Reason, d.Policy, d.Statement, c.Want, c.Rule)
	}
	if c.WantPolicy != "" && d.Policy != c.WantPolicy {
		t.Errorf("Evaluate().Policy = %q, want %q", d.Policy, c.WantPolicy)
	}
	if c.WantStatement != "" && d.Statement != c.WantStatement {
		t.Errorf("Evaluate().Statement = %q, want %q", d.Statement, c.WantStatement)
	}
	if n := testing.AllocsPerRun(5, func() { Evaluate(in) }); n != 0 {
		t.Errorf("Evaluate allocated %v times, want 0", n)
	}
}

func goldenPrincipal(raw json.RawMessage) (Principal, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return PrincipalFromARN(s)
	}
	var o struct {
		ARN, Session, Account, Type, UserID, Service, Federated string
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return Principal{}, err
	}
	var p Principal
	if o.Session != "" {
		var err error
		if p, err = PrincipalFromARN(o.Session); err != nil {
			return p, err
		}
	} else if o.ARN != "" {
		var err error
		if p, err = PrincipalFromARN(o.ARN); err != nil {
			return p, err
		}
	}
	if o.ARN != "" {
		p.ARN = o.ARN // a role ARN with its path, for a session
	}
	if o.Account != "" {
		p.Account = o.Account
	}
	if o.Type != "" {
		p.Type = o.Type
	}
	p.UserID, p.Service, p.Federated = o.UserID, o.Service, o.Federated
	return p, nil
}

// goldenValues reads a context value: "text", ["a","b"], {"ip":"10.0.0.1"}, [{"number":1}],
// or null (the key is absent).
func goldenValues(raw json.RawMessage) ([]Value, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var out []Value
		for _, it := range items {
			v, err := goldenValues(it)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
		}
		return out, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []Value{String(s)}, nil
	}
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil || len(o) != 1 {
		return nil, fmt.Errorf("bad context value %s", raw)
	}
	for typ, v := range o {
		switch typ {
		case "string":
			return []Value{String(fmt.Sprint(v))}, nil
		case "number":
			f, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("number %v", v)
			}
			return []Value{Number(f)}, nil
		case "bool":
			b, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("bool %v", v)
			}
			return []Value{Bool(b)}, nil
		case "date":
			tm, err := time.Parse(time.RFC3339, fmt.Sprint(v))
			if err != nil {
				return nil, err
			}
			return []Value{Date(tm)}, nil
		case "ip":
			a, err := netip.ParseAddr(fmt.Sprint(v))
			if err != nil {
				return nil, err
			}
			return []Value{IP(a)}, nil
		case "binary":
			b, err := base64.StdEncoding.DecodeString(fmt.Sprint(v))
			if err != nil {
				return nil, err
			}
			return []Value{Binary(b)}, nil
		}
		return nil, fmt.Errorf("unknown type %q", typ)
	}
	return nil, nil
}

// goldenDocuments returns every policy document in the golden files, to seed FuzzParse.
func goldenDocuments(t testing.TB) [][]byte {
	var docs [][]byte
	add := func(raw json.RawMessage) {
		if raw != nil {
			docs = append(docs, docBytes(raw))
		}
	}
	for _, f := range loadGolden(t) {
		for _, c := range append(f.Cases, f.Defaults) {
			add(c.Policy)
			add(c.Boundary)
			add(c.ResourcePolicy)
			add(c.Document)
			for _, d := range c.Identity {
				add(d.Document)
			}
			for _, s := range c.Session {
				add(s)
			}
		}
	}
	return docs
}
