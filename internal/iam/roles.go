package iam

import (
	"context"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

// Bounds of a role's MaxSessionDuration, in seconds.
const (
	minMaxSession     = 3600
	maxMaxSession     = 43200
	defaultMaxSession = 3600
)

func noSuchRole(name string) *Error { return roles.notFound(name) }

func (d *roleDoc) role(acct string) Role {
	r := Role{
		RoleName: d.Name, RoleID: d.ID, ARN: roleARN(acct, d.Path, d.Name), Path: d.Path,
		AssumeRolePolicyDocument: d.Trust, Description: d.Description, MaxSessionDuration: d.MaxSession,
		CreateDate: d.Created, Tags: d.Tags,
	}
	if d.Boundary != "" {
		r.PermissionsBoundary = &PermissionsBoundary{Type: "PermissionsBoundaryPolicy", ARN: d.Boundary}
	}
	return r
}

func parseTrust(doc string) (*policy.Policy, error) {
	return parseDoc(doc, policy.KindTrust, policy.MaxTrustPolicySize, "ACLSizePerRole")
}

// sameEntityARN reports whether a names the entity whose ARN is stored, its last nameLen
// bytes being the name: the rest exactly, the name in any case, as IAM finds names.
func sameEntityARN(stored, a string, nameLen int) bool {
	n := len(stored) - nameLen
	return len(a) == len(stored) && a[:n] == stored[:n] && strings.EqualFold(a[n:], stored[n:])
}

// bindTrust returns the unique IDs of the users and roles that trust names in accounts this
// authority holds, by ARN: AWS stores a trust policy's user and role ARNs as unique IDs, so
// that a principal deleted and created again under the same name does not inherit the
// role, and refuses a policy naming one that does not exist (MalformedPolicyDocument
// "Invalid principal in policy"). The entity is found by its name, in any case, and must
// have the path the ARN gives. Principals in other accounts keep matching by ARN.
func bindTrust(tx store.Tx, trust *policy.Policy) (map[string]string, error) {
	var ids map[string]string
	for _, a := range trust.PrincipalARNs() {
		p, err := arn.Parse(a)
		if err != nil {
			continue // PrincipalARNs returns valid ARNs only
		}
		if ok, err := getDoc(tx, kindAccount, p.AccountID, &accountDoc{}); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		typ, _, _ := strings.Cut(p.Resource, "/")
		ek := entityKindOf(typ)
		d, ok, err := ek.load(tx, p.AccountID, lastSegment(p.Resource))
		if err != nil {
			return nil, err
		}
		if !ok || !sameEntityARN(ek.arn(p.AccountID, d.entityPath(), d.entityName()), a, len(d.entityName())) {
			return nil, apiErr(CodeMalformedPolicyDocument, "Invalid principal in policy: \"AWS\":\"%s\"", a)
		}
		if ids == nil {
			ids = map[string]string{}
		}
		ids[a] = d.entityID()
	}
	return ids, nil
}

func checkMaxSession(n int) (int, error) {
	if n == 0 {
		return defaultMaxSession, nil
	}
	if n < minMaxSession || n > maxMaxSession {
		return 0, validation("1 validation error detected: Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between %d and %d", n, minMaxSession, maxMaxSession)
	}
	return n, nil
}

// CreateRole creates a role with a trust policy (a role trust policy of at most 2048
// characters without white space).
func (s *Service) CreateRole(ctx context.Context, c *Caller, in CreateRoleInput) (Role, error) {
	path, err := checkCreate(c, "roleName", in.RoleName, maxRoleName, in.Path)
	if err != nil {
		return Role{}, err
	}
	maxSession, err := checkMaxSession(in.MaxSessionDuration)
	if err != nil {
		return Role{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return Role{}, err
	}
	trust, err := parseTrust(in.AssumeRolePolicyDocument)
	if err != nil {
		return Role{}, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return Role{}, err
	}
	a := roleARN(c.Account, path, in.RoleName)
	req := &Request{RequestTags: tags, PermissionsBoundary: in.PermissionsBoundary}
	if err := s.authorizeCreate(ctx, c, "iam:CreateRole", "iam:TagRole", a, req); err != nil {
		return Role{}, err
	}
	var out Role
	err = s.update(ctx, func(tx store.Tx) error {
		if _, ok, err := roles.load(tx, c.Account, in.RoleName); err != nil {
			return err
		} else if ok {
			return apiErr(CodeEntityAlreadyExists, "Role with name %s already exists.", in.RoleName)
		}
		d := &roleDoc{
			Name: in.RoleName, Path: path, Created: s.now().UTC(), Trust: in.AssumeRolePolicyDocument,
			Description: in.Description, MaxSession: maxSession, Tags: tags,
		}
		var err error
		if d.TrustIDs, err = bindTrust(tx, trust); err != nil {
			return err
		}
		if err := setBoundaryTx(tx, c.Account, kindRole, d.Name, &d.Boundary, in.PermissionsBoundary); err != nil {
			return err
		}
		if d.ID, err = s.createID(tx, "AROA", kindRole, c.Account, d.Name); err != nil {
			return err
		}
		out = d.role(c.Account)
		return roles.save(tx, c.Account, d)
	})
	return out, err
}

// GetRole returns a role, with RoleLastUsed (written in batches; pending records are
// included).
func (s *Service) GetRole(ctx context.Context, c *Caller, name string) (Role, error) {
	var out Role
	err := s.viewEntity(ctx, c, roles, "iam:GetRole", name, func(tx store.Tx, e entity) error {
		d := e.(*roleDoc)
		out = d.role(c.Account)
		var lu lastUsedDoc
		ok, err := getDoc(tx, kindLastUsed, lastUsedRoleKey(c.Account, d.Name), &lu)
		if err != nil {
			return err
		}
		if ok {
			out.RoleLastUsed = RoleLastUsed{LastUsedDate: lu.Date, Region: lu.Region}
		}
		if p, ok := pending(&s.usage.roles, entityKey(c.Account, d.Name)); ok && p.Date.After(out.RoleLastUsed.LastUsedDate) {
			out.RoleLastUsed = RoleLastUsed{LastUsedDate: p.Date, Region: p.Region}
		}
		return nil
	})
	return out, err
}

// ListRoles lists the account's roles under a path prefix, by name.
func (s *Service) ListRoles(ctx context.Context, c *Caller, in ListInput) (ListRolesOutput, error) {
	var out ListRolesOutput
	var err error
	out.Roles, out.IsTruncated, out.Marker, err = listByPath(ctx, s, c, in, &pathList[roleDoc, Role]{
		action: "iam:ListRoles", kind: kindRole, arn: roleARN,
		path: func(d *roleDoc) string { return d.Path },
		conv: func(_ store.Tx, acct string, d *roleDoc) (Role, error) { return d.role(acct), nil },
		key:  func(r *Role) string { return lower(r.RoleName) },
	})
	return out, err
}

// DeleteRole deletes a role that is in no instance profile and has no policies
// (DeleteConflict otherwise). Its sessions stop working.
func (s *Service) DeleteRole(ctx context.Context, c *Caller, name string) error {
	return s.updateEntity(ctx, c, roles, "iam:DeleteRole", name, nil, func(tx store.Tx, e entity) error {
		d := e.(*roleDoc)
		if len(d.Profiles) > 0 {
			return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		if err := d.policyConflict(); err != nil {
			return err
		}
		if err := setBoundaryTx(tx, c.Account, kindRole, d.Name, &d.Boundary, ""); err != nil {
			return err
		}
		if err := deleteIfExists(tx, kindLastUsed, lastUsedRoleKey(c.Account, d.Name)); err != nil {
			return err
		}
		if err := deleteAdvisorRecords(tx, "role/"+entityKey(c.Account, d.Name)); err != nil {
			return err
		}
		return deleteWithID(tx, kindRole, entityKey(c.Account, d.Name), d.ID)
	})
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, c *Caller, roleName, document string) error {
	trust, err := parseTrust(document)
	if err != nil {
		return err
	}
	return s.updateEntity(ctx, c, roles, "iam:UpdateAssumeRolePolicy", roleName, nil, func(tx store.Tx, e entity) error {
		d := e.(*roleDoc)
		ids, err := bindTrust(tx, trust)
		if err != nil {
			return err
		}
		d.Trust, d.TrustIDs = document, ids
		return roles.save(tx, c.Account, d)
	})
}

// UpdateRole changes a role's description (if not nil) and maximum session duration (if
// not zero).
func (s *Service) UpdateRole(ctx context.Context, c *Caller, roleName string, description *string, maxSessionDuration int) error {
	if description != nil {
		if err := checkDescription(*description); err != nil {
			return err
		}
	}
	var maxSession int
	if maxSessionDuration != 0 {
		var err error
		if maxSession, err = checkMaxSession(maxSessionDuration); err != nil {
			return err
		}
	}
	return s.updateEntity(ctx, c, roles, "iam:UpdateRole", roleName, nil, func(tx store.Tx, e entity) error {
		d := e.(*roleDoc)
		if description != nil {
			d.Description = *description
		}
		if maxSession != 0 {
			d.MaxSession = maxSession
		}
		return roles.save(tx, c.Account, d)
	})
}

// RevokeRoleSessions refuses, from now on, every session of the role issued before before
// (AWS's "revoke active sessions"); a zero before means now. LookupKey then answers
// token.ErrInvalidSessionToken for those sessions, on every replica once its snapshot has
// the change. Authorized as iam:PutRolePolicy on the role, the permission AWS's console
// needs for the same action.
func (s *Service) RevokeRoleSessions(ctx context.Context, c *Caller, roleName string, before time.Time) error {
	if before.IsZero() {
		before = s.now()
	}
	before = before.UTC()
	return s.updateEntity(ctx, c, roles, "iam:PutRolePolicy", roleName, nil, func(tx store.Tx, e entity) error {
		d := e.(*roleDoc)
		if before.After(d.RevokedBefore) {
			d.RevokedBefore = before
		}
		return roles.save(tx, c.Account, d)
	})
}
