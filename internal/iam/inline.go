package iam

import (
	"context"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

func noSuchInline(ek *entityKind, name string) *Error {
	return noSuchEntity("The %s policy with name %s cannot be found.", ek.kind, name)
}

func (s *Service) putInline(ctx context.Context, c *Caller, ek *entityKind, name, policyName, document string) error {
	if err := checkName("policyName", policyName, maxPolicyName); err != nil {
		return err
	}
	p, err := parseDoc(document, policy.KindIdentity, ek.inlineLimit, ek.inlineQuota)
	if err != nil {
		return err
	}
	return s.updateEntity(ctx, c, ek, "iam:Put"+ek.title+"Policy", name, nil, func(tx store.Tx, d entity) error {
		h := d.hold()
		total := p.Size()
		for n, doc := range h.Inline {
			if n == policyName {
				continue
			}
			if q, err := policy.Parse([]byte(doc), policy.WithMaxSize(-1)); err == nil {
				total += q.Size()
			}
		}
		if total > ek.inlineLimit {
			return limitExceeded("Maximum policy size of %d bytes exceeded for %s %s", ek.inlineLimit, ek.kind, name)
		}
		if h.Inline == nil {
			h.Inline = map[string]string{}
		}
		h.Inline[policyName] = document
		return ek.save(tx, c.Account, d)
	})
}

func (s *Service) getInline(ctx context.Context, c *Caller, ek *entityKind, name, policyName string) (InlinePolicy, error) {
	if err := checkName("policyName", policyName, maxPolicyName); err != nil {
		return InlinePolicy{}, err
	}
	var out InlinePolicy
	err := s.viewEntity(ctx, c, ek, "iam:Get"+ek.title+"Policy", name, func(tx store.Tx, d entity) error {
		doc, ok := d.hold().Inline[policyName]
		if !ok {
			return noSuchInline(ek, policyName)
		}
		out = InlinePolicy{EntityName: d.entityName(), PolicyName: policyName, PolicyDocument: doc}
		return nil
	})
	return out, err
}

func (s *Service) deleteInline(ctx context.Context, c *Caller, ek *entityKind, name, policyName string) error {
	if err := checkName("policyName", policyName, maxPolicyName); err != nil {
		return err
	}
	return s.updateEntity(ctx, c, ek, "iam:Delete"+ek.title+"Policy", name, nil, func(tx store.Tx, d entity) error {
		h := d.hold()
		if _, ok := h.Inline[policyName]; !ok {
			return noSuchInline(ek, policyName)
		}
		delete(h.Inline, policyName)
		return ek.save(tx, c.Account, d)
	})
}

func (s *Service) listInline(ctx context.Context, c *Caller, ek *entityKind, in ListNamedInput) (ListInlinePoliciesOutput, error) {
	var names []string
	err := s.viewEntity(ctx, c, ek, "iam:List"+ek.title+"Policies", in.Name, func(tx store.Tx, d entity) error {
		names = sortedKeys(d.hold().Inline)
		return nil
	})
	if err != nil {
		return ListInlinePoliciesOutput{}, err
	}
	var out ListInlinePoliciesOutput
	out.PolicyNames, out.IsTruncated, out.Marker, err = page(names, func(s *string) string { return *s }, in.Marker, in.MaxItems)
	return out, err
}

// PutUserPolicy creates or replaces a user's inline policy (all of a user's inline
// policies together: at most 2048 characters without white space).
func (s *Service) PutUserPolicy(ctx context.Context, c *Caller, userName, policyName, document string) error {
	return s.putInline(ctx, c, users, userName, policyName, document)
}

// PutGroupPolicy creates or replaces a group's inline policy (5120 characters in all).
func (s *Service) PutGroupPolicy(ctx context.Context, c *Caller, groupName, policyName, document string) error {
	return s.putInline(ctx, c, groups, groupName, policyName, document)
}

// PutRolePolicy creates or replaces a role's inline policy (10240 characters in all).
func (s *Service) PutRolePolicy(ctx context.Context, c *Caller, roleName, policyName, document string) error {
	return s.putInline(ctx, c, roles, roleName, policyName, document)
}

// GetUserPolicy returns a user's inline policy, its document as it was given.
func (s *Service) GetUserPolicy(ctx context.Context, c *Caller, userName, policyName string) (InlinePolicy, error) {
	return s.getInline(ctx, c, users, userName, policyName)
}

// GetGroupPolicy returns a group's inline policy.
func (s *Service) GetGroupPolicy(ctx context.Context, c *Caller, groupName, policyName string) (InlinePolicy, error) {
	return s.getInline(ctx, c, groups, groupName, policyName)
}

// GetRolePolicy returns a role's inline policy.
func (s *Service) GetRolePolicy(ctx context.Context, c *Caller, roleName, policyName string) (InlinePolicy, error) {
	return s.getInline(ctx, c, roles, roleName, policyName)
}

// DeleteUserPolicy deletes a user's inline policy.
func (s *Service) DeleteUserPolicy(ctx context.Context, c *Caller, userName, policyName string) error {
	return s.deleteInline(ctx, c, users, userName, policyName)
}

// DeleteGroupPolicy deletes a group's inline policy.
func (s *Service) DeleteGroupPolicy(ctx context.Context, c *Caller, groupName, policyName string) error {
	return s.deleteInline(ctx, c, groups, groupName, policyName)
}

// DeleteRolePolicy deletes a role's inline policy.
func (s *Service) DeleteRolePolicy(ctx context.Context, c *Caller, roleName, policyName string) error {
	return s.deleteInline(ctx, c, roles, roleName, policyName)
}

// ListUserPolicies lists the names of a user's inline policies (in.Name is the user).
func (s *Service) ListUserPolicies(ctx context.Context, c *Caller, in ListNamedInput) (ListInlinePoliciesOutput, error) {
	return s.listInline(ctx, c, users, in)
}

// ListGroupPolicies lists the names of a group's inline policies.
func (s *Service) ListGroupPolicies(ctx context.Context, c *Caller, in ListNamedInput) (ListInlinePoliciesOutput, error) {
	return s.listInline(ctx, c, groups, in)
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, c *Caller, in ListNamedInput) (ListInlinePoliciesOutput, error) {
	return s.listInline(ctx, c, roles, in)
}
