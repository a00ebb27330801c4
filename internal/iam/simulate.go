package iam

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

// simPolicies are the policies of one simulation, with where each came from.
type simPolicies struct {
	identity []*policy.Policy
	boundary *policy.Policy
	sources  map[string]simSource // compiled name → source
	spans    map[[2]string][2]Position
}

// simSource is where a compiled policy came from, with its document as stored (the
// author's text, which GetPolicyVersion and Get*Policy return).
type simSource struct {
	id, typ, doc string
}

// matched names the deciding statement label of the compiled policy name, with its
// positions in the document (computed once per statement, only for deciding ones).
func (sp *simPolicies) matched(name, label string) (MatchedStatement, bool) {
	src, ok := sp.sources[name]
	if !ok {
		return MatchedStatement{}, false
	}
	m := MatchedStatement{SourcePolicyID: src.id, SourcePolicyType: src.typ, StatementID: label}
	k := [2]string{name, label}
	span, ok := sp.spans[k]
	if !ok {
		if start, end, found := statementSpan(src.doc, label); found {
			span = [2]Position{start, end}
		}
		if sp.spans == nil {
			sp.spans = map[[2]string][2]Position{}
		}
		sp.spans[k] = span
	}
	m.StartPosition, m.EndPosition = span[0], span[1]
	return m, true
}

func (sp *simPolicies) add(doc string, kind policy.Kind, id, typ string) error {
	name := strconv.Itoa(len(sp.sources))
	p, err := policy.Parse([]byte(doc), policy.WithKind(kind), policy.WithMaxSize(-1), policy.WithName(name))
	if err != nil {
		if typ == SourceInput || typ == SourceBoundary {
			return apiErr(CodeMalformedPolicyDocument, "%s: %v", id, strings.TrimPrefix(err.Error(), "policy: "))
		}
		return nil
	}
	sp.sources[name] = simSource{id: id, typ: typ, doc: doc}
	if kind == policy.KindBoundary {
		sp.boundary = p
	} else {
		sp.identity = append(sp.identity, p)
	}
	return nil
}

func (sp *simPolicies) addHolder(tx store.Tx, acct string, h *holder, typ string) error {
	for _, n := range sortedKeys(h.Inline) {
		if err := sp.add(h.Inline[n], policy.KindIdentity, n, typ); err != nil {
			return err
		}
	}
	for _, a := range h.Attached {
		if err := sp.addManaged(tx, acct, a, policy.KindIdentity); err != nil {
			return err
		}
	}
	return nil
}

func (sp *simPolicies) addManaged(tx store.Tx, acct, a string, kind policy.Kind) error {
	ref, ok, err := lookupPolicy(tx, acct, a)
	if err != nil || !ok {
		return err
	}
	typ := SourceUserManaged
	if ref.builtin != nil {
		typ = SourceAWSManaged
	}
	if kind == policy.KindBoundary {
		typ = SourceBoundary
	}
	for _, v := range ref.versions() {
		if v.ID == ref.defaultVersion() {
			return sp.add(v.Document, kind, a, typ)
		}
	}
	return nil
}

// SimulatePrincipalPolicy evaluates the policies of a user (with its groups), group or
// role of the caller's account, plus PolicyInputList, for each action and resource, as
// IAM's policy simulator does. Identity-based policies and the permissions boundary are
// evaluated; there are no resource-based policies. MissingContextValues is always empty.
func (s *Service) SimulatePrincipalPolicy(ctx context.Context, c *Caller, in SimulatePrincipalPolicyInput) (SimulateOutput, error) {
	if err := needCaller(c); err != nil {
		return SimulateOutput{}, err
	}
	a, err := arn.Parse(in.PolicySourceARN)
	if err != nil || a.Service != "iam" {
		return SimulateOutput{}, invalidInput("Invalid ARN: %s", in.PolicySourceARN)
	}
	typ, _, _ := strings.Cut(a.Resource, "/")
	if typ != kindUser && typ != kindGroup && typ != kindRole {
		return SimulateOutput{}, invalidInput("Invalid ARN: %s: the policy source must be a user, group or role.", in.PolicySourceARN)
	}
	if err := s.authorize(ctx, c, "iam:SimulatePrincipalPolicy", in.PolicySourceARN, nil); err != nil {
		return SimulateOutput{}, err
	}
	if a.AccountID != c.Account {
		return SimulateOutput{}, noSuchEntity("The %s with ARN %s cannot be found.", typ, in.PolicySourceARN)
	}
	ek := entityKindOf(typ)
	name := lastSegment(a.Resource)
	sp := &simPolicies{sources: map[string]simSource{}}
	var pr policy.Principal
	var tags map[string]string
	err = s.st.View(ctx, func(tx store.Tx) error {
		e, ok, err := ek.load(tx, c.Account, name)
		if err != nil {
			return err
		}
		if !ok || ek.arn(c.Account, e.entityPath(), e.entityName()) != in.PolicySourceARN {
			return ek.notFound(name)
		}
		if err := sp.addHolder(tx, c.Account, e.hold(), typ); err != nil {
			return err
		}
		switch d := e.(type) {
		case *userDoc:
			for _, g := range d.Groups {
				ge, ok, err := groups.load(tx, c.Account, g)
				if err != nil {
					return err
				}
				if ok {
					if err := sp.addHolder(tx, c.Account, ge.hold(), SourceGroup); err != nil {
						return err
					}
				}
			}
			if d.Boundary != "" {
				if err := sp.addManaged(tx, c.Account, d.Boundary, policy.KindBoundary); err != nil {
					return err
				}
			}
			pr = policy.Principal{ARN: in.PolicySourceARN, Account: c.Account, Type: policy.PrincipalUser, UserID: d.ID}
			tags = tagMap(d.Tags)
		case *roleDoc:
			if d.Boundary != "" {
				if err := sp.addManaged(tx, c.Account, d.Boundary, policy.KindBoundary); err != nil {
					return err
				}
			}
			pr = policy.Principal{ARN: in.PolicySourceARN, Account: c.Account, Type: policy.PrincipalAssumedRole, UserID: d.ID}
			tags = tagMap(d.Tags)
		case *groupDoc:
			pr = policy.Principal{Account: c.Account}
		}
		return nil
	})
	if err != nil {
		return SimulateOutput{}, err
	}
	for i, doc := range in.PolicyInputList {
		if err := sp.add(doc, policy.KindIdentity, "PolicyInputList."+strconv.Itoa(i+1), SourceInput); err != nil {
			return SimulateOutput{}, err
		}
	}
	return s.simulate(ctx, c.Account, sp, pr, tags, in.ActionNames, in.ResourceARNs, in.ContextEntries, in.Marker, in.MaxItems)
}

// SimulateCustomPolicy evaluates the given identity policies (and at most one permissions
// boundary) for each action and resource. CallerARN, if given, sets the principal keys.
func (s *Service) SimulateCustomPolicy(ctx context.Context, c *Caller, in SimulateCustomPolicyInput) (SimulateOutput, error) {
	if err := needCaller(c); err != nil {
		return SimulateOutput{}, err
	}
	if err := s.authorize(ctx, c, "iam:SimulateCustomPolicy", "*", nil); err != nil {
		return SimulateOutput{}, err
	}
	if len(in.PolicyInputList) == 0 {
		return SimulateOutput{}, validation("1 validation error detected: Value at 'policyInputList' failed to satisfy constraint: Member must not be null")
	}
	if len(in.PermissionsBoundaryPolicyInputList) > 1 {
		return SimulateOutput{}, invalidInput("Only one permissions boundary policy can be simulated.")
	}
	sp := &simPolicies{sources: map[string]simSource{}}
	for i, doc := range in.PolicyInputList {
		if err := sp.add(doc, policy.KindIdentity, "PolicyInputList."+strconv.Itoa(i+1), SourceInput); err != nil {
			return SimulateOutput{}, err
		}
	}
	for i, doc := range in.PermissionsBoundaryPolicyInputList {
		if err := sp.add(doc, policy.KindBoundary, "PermissionsBoundaryPolicyInputList."+strconv.Itoa(i+1), SourceBoundary); err != nil {
			return SimulateOutput{}, err
		}
	}
	var pr policy.Principal
	if in.CallerARN != "" {
		p, err := policy.PrincipalFromARN(in.CallerARN)
		if err != nil {
			return SimulateOutput{}, invalidInput("Invalid ARN: %s", in.CallerARN)
		}
		pr = p
	}
	return s.simulate(ctx, c.Account, sp, pr, nil, in.ActionNames, in.ResourceARNs, in.ContextEntries, in.Marker, in.MaxItems)
}

// simulate evaluates each action on each resource with the request context enforcement
// would build: the principal's keys and tags, the time, and the keys of the action
// (Request.fill) from what the store says of each resource of acct named (its tags, its
// permissions boundary); then the caller's context entries, which replace keys of the
// same name. Keys that depend on the request itself (iam:PolicyARN, aws:RequestTag/…)
// come only from the entries, as in AWS's simulator.
func (s *Service) simulate(ctx context.Context, acct string, sp *simPolicies, pr policy.Principal, tags map[string]string, actions, resources []string, entries []ContextEntry, marker string, maxItems int) (SimulateOutput, error) {
	if len(actions) == 0 {
		return SimulateOutput{}, validation("1 validation error detected: Value at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	given := make([]ContextKey, 0, len(entries))
	for _, ce := range entries {
		vals, err := contextValues(ce)
		if err != nil {
			return SimulateOutput{}, err
		}
		given = append(given, ContextKey{Key: ce.Key, Values: vals})
	}
	reqs := make([]*Request, len(resources))
	err := s.st.View(ctx, func(tx store.Tx) error {
		for i, res := range resources {
			r, err := resourceRequest(tx, acct, res)
			if err != nil {
				return err
			}
			reqs[i] = r
		}
		return nil
	})
	if err != nil {
		return SimulateOutput{}, err
	}
	now := s.now()
	var pc policy.Context
	var results []EvaluationResult
	for _, act := range actions {
		for ri, res := range resources {
			pc.Reset()
			pc.SetPrincipal(pr)
			for k, v := range tags {
				pc.Set(policy.KeyPrincipalTagPrefix+k, policy.String(v))
			}
			pc.Set(policy.KeyCurrentTime, policy.Date(now))
			pc.Set(policy.KeyEpochTime, policy.Number(float64(now.Unix())))
			reqs[ri].fill(&pc, act)
			for _, g := range given {
				pc.Set(g.Key, g.Values...)
			}
			in := policy.Input{Action: act, Resource: res, Principal: pr, Context: &pc, Identity: sp.identity, Boundary: sp.boundary}
			in.Principal, in.ResourceAccount = policy.CallerOrResourceAccount(in.Principal, res, "")
			d := policy.Evaluate(&in)
			r := EvaluationResult{EvalActionName: act, EvalResourceName: res, EvalDecision: d.Effect.String(), MatchedStatements: []MatchedStatement{}, MissingContextValues: []string{}}
			if m, ok := sp.matched(d.Policy, d.Statement); ok {
				r.MatchedStatements = append(r.MatchedStatements, m)
			}
			results = append(results, r)
		}
	}
	idx := make([]int, len(results))
	for i := range idx {
		idx[i] = i
	}
	pg, trunc, next, err := page(idx, func(i *int) string { return fmt.Sprintf("%08d", *i) }, marker, maxItems)
	if err != nil {
		return SimulateOutput{}, err
	}
	out := SimulateOutput{IsTruncated: trunc, Marker: next}
	for _, i := range pg {
		out.EvaluationResults = append(out.EvaluationResults, results[i])
	}
	return out, nil
}

// contextValues converts a simulator context entry.
func contextValues(ce ContextEntry) ([]policy.Value, error) {
	bad := func(v string) error {
		return invalidInput("Invalid value %q for context key %s of type %s.", v, ce.Key, ce.Type)
	}
	typ, list := strings.CutSuffix(ce.Type, "List")
	if !list && len(ce.Values) > 1 {
		return nil, invalidInput("Context key %s of type %s takes one value.", ce.Key, ce.Type)
	}
	var out []policy.Value
	for _, v := range ce.Values {
		switch typ {
		case "string":
			out = append(out, policy.String(v))
		case "numeric":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, bad(v)
			}
			out = append(out, policy.Number(f))
		case "boolean":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad(v)
			}
			out = append(out, policy.Bool(b))
		case "ip":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return nil, bad(v)
			}
			out = append(out, policy.IP(a))
		case "date":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, bad(v)
			}
			out = append(out, policy.Date(t))
		case "binary":
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, bad(v)
			}
			out = append(out, policy.Binary(b))
		default:
			return nil, invalidInput("Invalid context key type %s.", ce.Type)
		}
	}
	return out, nil
}

// resourceRequest returns what the store says of resource, an ARN of acct, for its
// request context: the tags (and for a user or role the permissions boundary) of the
// user, role, customer managed policy or instance profile it names; nil for anything else.
func resourceRequest(tx store.Tx, acct, resource string) (*Request, error) {
	parts, ok := arn.Split(resource)
	if !ok || parts[2] != "iam" || parts[4] != acct {
		return nil, nil
	}
	typ, _, _ := strings.Cut(parts[5], "/")
	name := lastSegment(parts[5])
	switch typ {
	case kindUser, kindRole:
		ek := entityKindOf(typ)
		d, ok, err := ek.load(tx, acct, name)
		if err != nil || !ok || ek.arn(acct, d.entityPath(), d.entityName()) != resource {
			return nil, err
		}
		return entityRequest(nil, d, true), nil
	case "policy":
		ref, ok, err := lookupPolicy(tx, acct, resource)
		if err != nil {
			return nil, err
		}
		return ref.request(ok, nil), nil
	case "instance-profile":
		d, ok, err := loadProfile(tx, acct, name)
		if err != nil || !ok || profileARN(acct, d.Path, d.Name) != resource {
			return nil, err
		}
		return &Request{ResourceTags: d.Tags}, nil
	}
	return nil, nil
}
