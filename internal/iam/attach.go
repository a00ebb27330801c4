package iam

import (
	"context"
	"strings"

	"github.com/iamdb/iamdb/internal/store"
)

// attachTx attaches a managed policy to an entity and saves the entity.
func attachTx(tx store.Tx, acct, kind string, d entity, policyARN string) error {
	ref, ok, err := lookupPolicy(tx, acct, policyARN)
	if err != nil {
		return err
	}
	if !ok {
		return noSuchPolicy(policyARN)
	}
	h := d.hold()
	if containsString(h.Attached, ref.arn) {
		return nil
	}
	ek := entityKindOf(kind)
	if len(h.Attached) >= ek.maxAttached {
		return limitExceeded("Cannot exceed quota for PoliciesPer%s: %d", ek.title, ek.maxAttached)
	}
	h.Attached = append(h.Attached, ref.arn)
	if err := tx.Put(kindAttach, attachKey(ref.arn, acct, kind, lower(d.entityName())), nil); err != nil {
		return err
	}
	return ek.save(tx, acct, d)
}

func detachTx(tx store.Tx, acct, kind string, d entity, policyARN string) error {
	if _, _, err := parsePolicyARN(policyARN); err != nil {
		return err
	}
	h := d.hold()
	var ok bool
	if h.Attached, ok = removeString(h.Attached, policyARN); !ok {
		return noSuchEntity("Policy %s was not found.", policyARN)
	}
	if err := deleteIfExists(tx, kindAttach, attachKey(policyARN, acct, kind, lower(d.entityName()))); err != nil {
		return err
	}
	return entityKindOf(kind).save(tx, acct, d)
}

// updateEntity loads a user, group or role, authorizes action on its ARN (with the path
// "/" when it does not exist, so that an unauthorized caller learns nothing), and runs fn
// in the same transaction; fn saves what it changes.
func (s *Service) updateEntity(ctx context.Context, c *Caller, ek *entityKind, action, name string, req *Request, fn func(tx store.Tx, d entity) error) error {
	if err := needCaller(c); err != nil {
		return err
	}
	return s.updateOrView(ctx, s.update, c, ek, action, name, req, fn)
}

// viewEntity is updateEntity for reads.
func (s *Service) viewEntity(ctx context.Context, c *Caller, ek *entityKind, action, name string, fn func(tx store.Tx, d entity) error) error {
	if err := needCaller(c); err != nil {
		return err
	}
	return s.updateOrView(ctx, s.st.View, c, ek, action, name, nil, fn)
}

func (s *Service) attach(ctx context.Context, c *Caller, ek *entityKind, name, policyARN string) error {
	return s.updateEntity(ctx, c, ek, "iam:Attach"+ek.title+"Policy", name, &Request{PolicyARN: policyARN}, func(tx store.Tx, d entity) error {
		return attachTx(tx, c.Account, ek.kind, d, policyARN)
	})
}

func (s *Service) detach(ctx context.Context, c *Caller, ek *entityKind, name, policyARN string) error {
	return s.updateEntity(ctx, c, ek, "iam:Detach"+ek.title+"Policy", name, &Request{PolicyARN: policyARN}, func(tx store.Tx, d entity) error {
		return detachTx(tx, c.Account, ek.kind, d, policyARN)
	})
}

// AttachUserPolicy attaches a managed policy to a user (at most 10).
func (s *Service) AttachUserPolicy(ctx context.Context, c *Caller, userName, policyARN string) error {
	return s.attach(ctx, c, users, userName, policyARN)
}

// AttachGroupPolicy attaches a managed policy to a group (at most 10).
func (s *Service) AttachGroupPolicy(ctx context.Context, c *Caller, groupName, policyARN string) error {
	return s.attach(ctx, c, groups, groupName, policyARN)
}

// AttachRolePolicy attaches a managed policy to a role (at most 10).
func (s *Service) AttachRolePolicy(ctx context.Context, c *Caller, roleName, policyARN string) error {
	return s.attach(ctx, c, roles, roleName, policyARN)
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Service) DetachUserPolicy(ctx context.Context, c *Caller, userName, policyARN string) error {
	return s.detach(ctx, c, users, userName, policyARN)
}

// DetachGroupPolicy detaches a managed policy from a group.
func (s *Service) DetachGroupPolicy(ctx context.Context, c *Caller, groupName, policyARN string) error {
	return s.detach(ctx, c, groups, groupName, policyARN)
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, c *Caller, roleName, policyARN string) error {
	return s.detach(ctx, c, roles, roleName, policyARN)
}

func (s *Service) listAttached(ctx context.Context, c *Caller, ek *entityKind, in ListAttachedPoliciesInput) (ListAttachedPoliciesOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return ListAttachedPoliciesOutput{}, err
	}
	var all []AttachedPolicy
	err = s.viewEntity(ctx, c, ek, "iam:ListAttached"+ek.title+"Policies", in.Name, func(tx store.Tx, d entity) error {
		for _, a := range d.hold().Attached {
			ref, ok, err := lookupPolicy(tx, c.Account, a)
			if err != nil || !ok {
				continue
			}
			name, path := "", "/"
			if ref.builtin != nil {
				name, path = ref.builtin.name, ref.builtin.path
			} else {
				name, path = ref.doc.Name, ref.doc.Path
			}
			if strings.HasPrefix(path, prefix) {
				all = append(all, AttachedPolicy{PolicyName: name, PolicyARN: a})
			}
		}
		return nil
	})
	if err != nil {
		return ListAttachedPoliciesOutput{}, err
	}
	key := func(p *AttachedPolicy) string { return lower(p.PolicyName) + " " + p.PolicyARN }
	var out ListAttachedPoliciesOutput
	out.AttachedPolicies, out.IsTruncated, out.Marker, err = sortedPage(all, key, in.Marker, in.MaxItems)
	return out, err
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (s *Service) ListAttachedUserPolicies(ctx context.Context, c *Caller, in ListAttachedPoliciesInput) (ListAttachedPoliciesOutput, error) {
	return s.listAttached(ctx, c, users, in)
}

// ListAttachedGroupPolicies lists the managed policies attached to a group.
func (s *Service) ListAttachedGroupPolicies(ctx context.Context, c *Caller, in ListAttachedPoliciesInput) (ListAttachedPoliciesOutput, error) {
	return s.listAttached(ctx, c, groups, in)
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, c *Caller, in ListAttachedPoliciesInput) (ListAttachedPoliciesOutput, error) {
	return s.listAttached(ctx, c, roles, in)
}

// ListEntitiesForPolicy lists the users, groups and roles of the caller's account that a
// managed policy is attached to, or is the permissions boundary of (PolicyUsageFilter
// PermissionsBoundary); without a filter, both.
func (s *Service) ListEntitiesForPolicy(ctx context.Context, c *Caller, in ListEntitiesForPolicyInput) (ListEntitiesForPolicyOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return ListEntitiesForPolicyOutput{}, err
	}
	var want string
	switch in.EntityFilter {
	case "":
	case EntityUser, EntityGroup, EntityRole:
		want = lower(in.EntityFilter)
	default:
		return ListEntitiesForPolicyOutput{}, validation("1 validation error detected: Value '%s' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: [User, Role, Group]", in.EntityFilter)
	}
	var idx []string
	switch in.PolicyUsageFilter {
	case "":
		idx = []string{kindAttach, kindBoundary}
	case UsagePermissionsPolicy:
		idx = []string{kindAttach}
	case UsagePermissionsBoundary:
		idx = []string{kindBoundary}
	default:
		return ListEntitiesForPolicyOutput{}, validation("1 validation error detected: Value '%s' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]", in.PolicyUsageFilter)
	}
	type ent struct {
		key, kind string
		e         PolicyEntity
	}
	var all []ent
	err = s.withPolicy(ctx, c, "iam:ListEntitiesForPolicy", in.PolicyARN, func(tx store.Tx, ref *managedRef) error {
		seen := map[string]bool{}
		for _, k := range idx {
			its, err := listAll(tx, k, policyUsePrefix(ref.arn, c.Account))
			if err != nil {
				return err
			}
			for _, it := range its {
				rest := strings.TrimPrefix(it.Key, policyUsePrefix(ref.arn, c.Account))
				kind, name, _ := strings.Cut(rest, " ")
				if (want != "" && kind != want) || seen[rest] {
					continue
				}
				seen[rest] = true
				d, ok, err := entityKindOf(kind).load(tx, c.Account, name)
				if err != nil {
					return err
				}
				if !ok || !strings.HasPrefix(d.entityPath(), prefix) {
					continue
				}
				var id string
				switch d := d.(type) {
				case *userDoc:
					id = d.ID
				case *groupDoc:
					id = d.ID
				case *roleDoc:
					id = d.ID
				}
				all = append(all, ent{key: rest, kind: kind, e: PolicyEntity{Name: d.entityName(), ID: id}})
			}
		}
		return nil
	})
	if err != nil {
		return ListEntitiesForPolicyOutput{}, err
	}
	key := func(e *ent) string { return e.key }
	pg, trunc, marker, err := sortedPage(all, key, in.Marker, in.MaxItems)
	if err != nil {
		return ListEntitiesForPolicyOutput{}, err
	}
	out := ListEntitiesForPolicyOutput{IsTruncated: trunc, Marker: marker}
	for _, e := range pg {
		switch e.kind {
		case kindUser:
			out.PolicyUsers = append(out.PolicyUsers, e.e)
		case kindGroup:
			out.PolicyGroups = append(out.PolicyGroups, e.e)
		case kindRole:
			out.PolicyRoles = append(out.PolicyRoles, e.e)
		}
	}
	return out, nil
}

// setBoundaryTx sets an entity's permissions boundary field to a managed policy, keeping
// the boundary index.
func setBoundaryTx(tx store.Tx, acct, kind, name string, field *string, policyARN string) error {
	if policyARN != "" {
		ref, ok, err := lookupPolicy(tx, acct, policyARN)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchPolicy(policyARN)
		}
		policyARN = ref.arn
	}
	if *field != "" {
		if err := deleteIfExists(tx, kindBoundary, attachKey(*field, acct, kind, lower(name))); err != nil {
			return err
		}
	}
	*field = policyARN
	if policyARN == "" {
		return nil
	}
	return tx.Put(kindBoundary, attachKey(policyARN, acct, kind, lower(name)), nil)
}

func (s *Service) putBoundary(ctx context.Context, c *Caller, ek *entityKind, name, policyARN string) error {
	action := "iam:Put" + ek.title + "PermissionsBoundary"
	if policyARN == "" {
		action = "iam:Delete" + ek.title + "PermissionsBoundary"
	}
	return s.updateEntity(ctx, c, ek, action, name, &Request{PermissionsBoundary: policyARN}, func(tx store.Tx, d entity) error {
		var field *string
		switch d := d.(type) {
		case *userDoc:
			field = &d.Boundary
		case *roleDoc:
			field = &d.Boundary
		}
		if policyARN == "" && *field == "" {
			return noSuchEntity("The %s with name %s does not have a permissions boundary.", ek.kind, name)
		}
		if err := setBoundaryTx(tx, c.Account, ek.kind, d.entityName(), field, policyARN); err != nil {
			return err
		}
		return ek.save(tx, c.Account, d)
	})
}

// PutUserPermissionsBoundary sets a user's permissions boundary to a managed policy.
func (s *Service) PutUserPermissionsBoundary(ctx context.Context, c *Caller, userName, policyARN string) error {
	if policyARN == "" {
		return validation("1 validation error detected: Value at 'permissionsBoundary' failed to satisfy constraint: Member must not be null")
	}
	return s.putBoundary(ctx, c, users, userName, policyARN)
}

// DeleteUserPermissionsBoundary removes a user's permissions boundary.
func (s *Service) DeleteUserPermissionsBoundary(ctx context.Context, c *Caller, userName string) error {
	return s.putBoundary(ctx, c, users, userName, "")
}

// PutRolePermissionsBoundary sets a role's permissions boundary to a managed policy.
func (s *Service) PutRolePermissionsBoundary(ctx context.Context, c *Caller, roleName, policyARN string) error {
	if policyARN == "" {
		return validation("1 validation error detected: Value at 'permissionsBoundary' failed to satisfy constraint: Member must not be null")
	}
	return s.putBoundary(ctx, c, roles, roleName, policyARN)
}

// DeleteRolePermissionsBoundary removes a role's permissions boundary.
func (s *Service) DeleteRolePermissionsBoundary(ctx context.Context, c *Caller, roleName string) error {
	return s.putBoundary(ctx, c, roles, roleName, "")
}
