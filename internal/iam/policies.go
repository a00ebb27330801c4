package iam

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

const maxPolicyVersions = 5

func noSuchPolicy(a string) *Error {
	return noSuchEntity("Policy %s does not exist or is not attachable.", a)
}

// managedRef is a managed policy found by ARN: a customer managed policy (doc) or an AWS
// managed one (builtin).
type managedRef struct {
	arn     string
	acct    string // the policy's account, "aws" for AWS managed
	key     string // store key of doc
	doc     *policyDoc
	builtin *builtinPolicy
}

// parsePolicyARN checks the shape of a managed policy ARN.
func parsePolicyARN(a string) (acct, name string, err error) {
	p, perr := arn.Parse(a)
	if perr != nil || p.Partition != "aws" || p.Service != "iam" || p.Region != "" ||
		!strings.HasPrefix(p.Resource, "policy/") || (p.AccountID != "aws" && !arn.IsAccountID(p.AccountID)) {
		return "", "", invalidInput("ARN %s is not valid.", a)
	}
	return p.AccountID, lastSegment(p.Resource), nil
}

// lookupPolicy finds a managed policy that acct may use. ok is false if there is none.
func lookupPolicy(tx store.Tx, acct, a string) (managedRef, bool, error) {
	pacct, name, err := parsePolicyARN(a)
	if err != nil {
		return managedRef{}, false, err
	}
	ref := managedRef{arn: a, acct: pacct}
	if pacct == "aws" {
		ref.builtin = builtinPolicies[a]
		return ref, ref.builtin != nil, nil
	}
	if pacct != acct {
		return ref, false, nil
	}
	ref.key = entityKey(pacct, name)
	var d policyDoc
	ok, err := getDoc(tx, kindPolicy, ref.key, &d)
	if err != nil || !ok {
		return ref, false, err
	}
	if policyARN(pacct, d.Path, d.Name) != a {
		return ref, false, nil
	}
	ref.doc = &d
	return ref, true, nil
}

// uses counts the attachments and boundary uses of a policy in acct.
func uses(tx store.Tx, policyARN, acct string) (attached, boundaries int, err error) {
	its, err := listAll(tx, kindAttach, policyUsePrefix(policyARN, acct))
	if err != nil {
		return 0, 0, err
	}
	bs, err := listAll(tx, kindBoundary, policyUsePrefix(policyARN, acct))
	if err != nil {
		return 0, 0, err
	}
	return len(its), len(bs), nil
}

func (r *managedRef) info(tx store.Tx, acct string) (Policy, error) {
	n, b, err := uses(tx, r.arn, acct)
	if err != nil {
		return Policy{}, err
	}
	if r.builtin != nil {
		return r.builtin.info(r.arn, n, b), nil
	}
	d := r.doc
	return Policy{
		PolicyName: d.Name, PolicyID: d.ID, ARN: r.arn, Path: d.Path, DefaultVersionID: d.Default,
		AttachmentCount: n, PermissionsBoundaryUsageCount: b, IsAttachable: true, Description: d.Description,
		CreateDate: d.Created, UpdateDate: d.Updated, Tags: d.Tags,
	}, nil
}

func (r *managedRef) versions() []versionDoc {
	if r.builtin != nil {
		return []versionDoc{{ID: "v1", Document: r.builtin.document, Created: r.builtin.created}}
	}
	return r.doc.Versions
}

func (r *managedRef) defaultVersion() string {
	if r.builtin != nil {
		return "v1"
	}
	return r.doc.Default
}

// unmodifiable is the error for changing an AWS managed policy.
func unmodifiable(c *Caller, action, a string) *Error {
	return apiErr(CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: policy %s", c.ARN, action, a)
}

func parseManaged(doc string) (*policy.Policy, error) {
	return parseDoc(doc, policy.KindIdentity, policy.MaxManagedPolicySize, "PolicySize")
}

// CreatePolicy creates a customer managed policy with version v1.
func (s *Service) CreatePolicy(ctx context.Context, c *Caller, in CreatePolicyInput) (Policy, error) {
	path, err := checkCreate(c, "policyName", in.PolicyName, maxPolicyName, in.Path)
	if err != nil {
		return Policy{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return Policy{}, err
	}
	if _, err := parseManaged(in.PolicyDocument); err != nil {
		return Policy{}, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return Policy{}, err
	}
	a := policyARN(c.Account, path, in.PolicyName)
	if err := s.authorizeCreate(ctx, c, "iam:CreatePolicy", "iam:TagPolicy", a, &Request{RequestTags: tags}); err != nil {
		return Policy{}, err
	}
	var out Policy
	err = s.update(ctx, func(tx store.Tx) error {
		key := entityKey(c.Account, in.PolicyName)
		if ok, err := getDoc(tx, kindPolicy, key, &policyDoc{}); err != nil {
			return err
		} else if ok {
			return apiErr(CodeEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", in.PolicyName)
		}
		now := s.now().UTC()
		d := &policyDoc{
			Name: in.PolicyName, Path: path, Description: in.Description, Created: now, Updated: now,
			Default: "v1", Versions: []versionDoc{{ID: "v1", Document: in.PolicyDocument, Created: now}},
			NextVersion: 2, Tags: tags,
		}
		var err error
		if d.ID, err = s.createID(tx, "ANPA", kindPolicy, c.Account, in.PolicyName); err != nil {
			return err
		}
		if err := putDoc(tx, kindPolicy, key, d); err != nil {
			return err
		}
		ref := managedRef{arn: a, acct: c.Account, key: key, doc: d}
		out, err = ref.info(tx, c.Account)
		return err
	})
	return out, err
}

// withPolicy loads a managed policy for a read, after authorizing action on it.
func (s *Service) withPolicy(ctx context.Context, c *Caller, action, a string, fn func(tx store.Tx, ref *managedRef) error) error {
	if err := needCaller(c); err != nil {
		return err
	}
	if _, _, err := parsePolicyARN(a); err != nil {
		return err
	}
	return s.st.View(ctx, s.policyTx(ctx, c, action, a, nil, fn))
}

// updatePolicy loads a customer managed policy for a change, after authorizing action on
// it (req, if not nil, adds the request's own keys to the policy's tags), and stores it if
// fn succeeds.
func (s *Service) updatePolicy(ctx context.Context, c *Caller, action, a string, req *Request, fn func(tx store.Tx, ref *managedRef) error) error {
	if err := needCaller(c); err != nil {
		return err
	}
	pacct, _, err := parsePolicyARN(a)
	if err != nil {
		return err
	}
	if pacct == "aws" {
		if err := s.authorize(ctx, c, action, a, req); err != nil {
			return err
		}
		if _, ok := builtinPolicies[a]; ok {
			return unmodifiable(c, action, a)
		}
		return noSuchPolicy(a)
	}
	return s.update(ctx, s.policyTx(ctx, c, action, a, req, fn))
}

// policyTx is the transaction of withPolicy and updatePolicy: it loads the policy at a,
// authorizes action on it, and calls fn.
func (s *Service) policyTx(ctx context.Context, c *Caller, action, a string, req *Request, fn func(tx store.Tx, ref *managedRef) error) func(store.Tx) error {
	return func(tx store.Tx) error {
		ref, ok, err := lookupPolicy(tx, c.Account, a)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, c, action, a, ref.request(ok, req)); err != nil {
			return err
		}
		if !ok {
			return noSuchPolicy(a)
		}
		return fn(tx, &ref)
	}
}

// request returns req (or a new Request) with the policy's tags as resource tags, when
// it exists and is a customer managed policy.
func (ref *managedRef) request(ok bool, req *Request) *Request {
	if !ok || ref.doc == nil || len(ref.doc.Tags) == 0 {
		return req
	}
	r := Request{}
	if req != nil {
		r = *req
	}
	r.ResourceTags = ref.doc.Tags
	return &r
}

// GetPolicy returns a managed policy (customer or AWS managed) by ARN.
func (s *Service) GetPolicy(ctx context.Context, c *Caller, policyARN string) (Policy, error) {
	var out Policy
	err := s.withPolicy(ctx, c, "iam:GetPolicy", policyARN, func(tx store.Tx, ref *managedRef) error {
		var err error
		out, err = ref.info(tx, c.Account)
		return err
	})
	return out, err
}

// ListPolicies lists managed policies, by name.
func (s *Service) ListPolicies(ctx context.Context, c *Caller, in ListPoliciesInput) (ListPoliciesOutput, error) {
	if err := needCaller(c); err != nil {
		return ListPoliciesOutput{}, err
	}
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return ListPoliciesOutput{}, err
	}
	scope := in.Scope
	switch scope {
	case "":
		scope = ScopeAll
	case ScopeAll, ScopeAWS, ScopeLocal:
	default:
		return ListPoliciesOutput{}, validation("1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", in.Scope)
	}
	switch in.PolicyUsageFilter {
	case "", UsagePermissionsPolicy, UsagePermissionsBoundary:
	default:
		return ListPoliciesOutput{}, validation("1 validation error detected: Value '%s' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]", in.PolicyUsageFilter)
	}
	if err := s.authorize(ctx, c, "iam:ListPolicies", policyARN(c.Account, "/", ""), nil); err != nil {
		return ListPoliciesOutput{}, err
	}
	var all []Policy
	err = s.st.View(ctx, func(tx store.Tx) error {
		var refs []managedRef
		if scope != ScopeLocal {
			for _, a := range sortedKeys(builtinPolicies) {
				refs = append(refs, managedRef{arn: a, acct: "aws", builtin: builtinPolicies[a]})
			}
		}
		if scope != ScopeAWS {
			err := eachDoc(tx, kindPolicy, accountPrefix(c.Account), func(key string, d *policyDoc) error {
				refs = append(refs, managedRef{arn: policyARN(c.Account, d.Path, d.Name), acct: c.Account, key: key, doc: d})
				return nil
			})
			if err != nil {
				return err
			}
		}
		for i := range refs {
			p, err := refs[i].info(tx, c.Account)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(p.Path, prefix) {
				continue
			}
			if in.OnlyAttached {
				switch in.PolicyUsageFilter {
				case UsagePermissionsPolicy:
					if p.AttachmentCount == 0 {
						continue
					}
				case UsagePermissionsBoundary:
					if p.PermissionsBoundaryUsageCount == 0 {
						continue
					}
				default:
					if p.AttachmentCount == 0 && p.PermissionsBoundaryUsageCount == 0 {
						continue
					}
				}
			}
			all = append(all, p)
		}
		return nil
	})
	if err != nil {
		return ListPoliciesOutput{}, err
	}
	key := func(p *Policy) string { return lower(p.PolicyName) + " " + p.ARN }
	var out ListPoliciesOutput
	out.Policies, out.IsTruncated, out.Marker, err = sortedPage(all, key, in.Marker, in.MaxItems)
	return out, err
}

// DeletePolicy deletes a customer managed policy that is attached to nothing, is no
// permissions boundary, and has only its default version (DeleteConflict otherwise).
func (s *Service) DeletePolicy(ctx context.Context, c *Caller, policyARN string) error {
	return s.updatePolicy(ctx, c, "iam:DeletePolicy", policyARN, nil, func(tx store.Tx, ref *managedRef) error {
		n, b, err := uses(tx, ref.arn, c.Account)
		if err != nil {
			return err
		}
		if n > 0 || b > 0 {
			return deleteConflict("Cannot delete a policy attached to entities.")
		}
		if len(ref.doc.Versions) > 1 {
			return deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		return deleteWithID(tx, kindPolicy, ref.key, ref.doc.ID)
	})
}

// checkVersionID validates a policy version ID (v1, v2, …).
func checkVersionID(v string) error {
	n, err := strconv.Atoi(strings.TrimPrefix(v, "v"))
	if !strings.HasPrefix(v, "v") || err != nil || n < 1 || strconv.Itoa(n) != v[1:] {
		return validation("1 validation error detected: Value '%s' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?", v)
	}
	return nil
}

func noSuchVersion(a, v string) *Error {
	return noSuchEntity("Policy %s version %s does not exist or is not attachable.", a, v)
}

// CreatePolicyVersion adds a version to a customer managed policy (at most 5:
// LimitExceeded), optionally making it the default.
func (s *Service) CreatePolicyVersion(ctx context.Context, c *Caller, in CreatePolicyVersionInput) (PolicyVersion, error) {
	if _, err := parseManaged(in.PolicyDocument); err != nil {
		return PolicyVersion{}, err
	}
	var out PolicyVersion
	err := s.updatePolicy(ctx, c, "iam:CreatePolicyVersion", in.PolicyARN, nil, func(tx store.Tx, ref *managedRef) error {
		d := ref.doc
		if len(d.Versions) >= maxPolicyVersions {
			return limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		now := s.now().UTC()
		v := versionDoc{ID: "v" + strconv.Itoa(d.NextVersion), Document: in.PolicyDocument, Created: now}
		d.NextVersion++
		d.Versions = append(d.Versions, v)
		if in.SetAsDefault {
			d.Default, d.Updated = v.ID, now
		}
		out = PolicyVersion{Document: v.Document, VersionID: v.ID, IsDefaultVersion: d.Default == v.ID, CreateDate: now}
		return putDoc(tx, kindPolicy, ref.key, d)
	})
	return out, err
}

// GetPolicyVersion returns one version of a managed policy.
func (s *Service) GetPolicyVersion(ctx context.Context, c *Caller, policyARN, versionID string) (PolicyVersion, error) {
	if err := checkVersionID(versionID); err != nil {
		return PolicyVersion{}, err
	}
	var out PolicyVersion
	err := s.withPolicy(ctx, c, "iam:GetPolicyVersion", policyARN, func(tx store.Tx, ref *managedRef) error {
		for _, v := range ref.versions() {
			if v.ID == versionID {
				out = PolicyVersion{Document: v.Document, VersionID: v.ID, IsDefaultVersion: v.ID == ref.defaultVersion(), CreateDate: v.Created}
				return nil
			}
		}
		return noSuchVersion(policyARN, versionID)
	})
	return out, err
}

// ListPolicyVersions lists a managed policy's versions, newest first (in.Name is the
// policy ARN).
func (s *Service) ListPolicyVersions(ctx context.Context, c *Caller, in ListNamedInput) (ListPolicyVersionsOutput, error) {
	var all []PolicyVersion
	err := s.withPolicy(ctx, c, "iam:ListPolicyVersions", in.Name, func(tx store.Tx, ref *managedRef) error {
		vs := ref.versions()
		for i := len(vs) - 1; i >= 0; i-- {
			v := vs[i]
			all = append(all, PolicyVersion{Document: v.Document, VersionID: v.ID, IsDefaultVersion: v.ID == ref.defaultVersion(), CreateDate: v.Created})
		}
		return nil
	})
	if err != nil {
		return ListPolicyVersionsOutput{}, err
	}
	key := func(v *PolicyVersion) string {
		n, _ := strconv.Atoi(v.VersionID[1:])
		return fmt.Sprintf("%010d", 1<<30-n)
	}
	var out ListPolicyVersionsOutput
	out.Versions, out.IsTruncated, out.Marker, err = page(all, key, in.Marker, in.MaxItems)
	return out, err
}

// DeletePolicyVersion deletes a version that is not the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, c *Caller, policyARN, versionID string) error {
	return s.updateVersion(ctx, c, "iam:DeletePolicyVersion", policyARN, versionID, func(d *policyDoc) error {
		if d.Default == versionID {
			return deleteConflict("Cannot delete the default version of a policy.")
		}
		for i := range d.Versions {
			if d.Versions[i].ID == versionID {
				d.Versions = append(d.Versions[:i], d.Versions[i+1:]...)
				break
			}
		}
		return nil
	})
}

// SetDefaultPolicyVersion makes a version the default: the one that is in effect.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, c *Caller, policyARN, versionID string) error {
	return s.updateVersion(ctx, c, "iam:SetDefaultPolicyVersion", policyARN, versionID, func(d *policyDoc) error {
		d.Default, d.Updated = versionID, s.now().UTC()
		return nil
	})
}

// updateVersion is updatePolicy for an action on the version versionID of a policy, which
// must exist: fn changes the policy's document, which is then stored.
func (s *Service) updateVersion(ctx context.Context, c *Caller, action, policyARN, versionID string, fn func(d *policyDoc) error) error {
	if err := checkVersionID(versionID); err != nil {
		return err
	}
	return s.updatePolicy(ctx, c, action, policyARN, nil, func(tx store.Tx, ref *managedRef) error {
		d := ref.doc
		if d.version(versionID) == nil {
			return noSuchVersion(policyARN, versionID)
		}
		if err := fn(d); err != nil {
			return err
		}
		return putDoc(tx, kindPolicy, ref.key, d)
	})
}
