package iam

import (
	"context"
	"strings"

	"github.com/iamdb/iamdb/internal/store"
)

const maxRolesPerProfile = 1

func noSuchProfile(name string) *Error {
	return noSuchEntity("Instance Profile %s cannot be found.", name)
}

func loadProfile(tx store.Tx, acct, name string) (*profileDoc, bool, error) {
	var d profileDoc
	ok, err := getDoc(tx, kindProfile, entityKey(acct, name), &d)
	return &d, ok, err
}

func (d *profileDoc) profile(tx store.Tx, acct string) (InstanceProfile, error) {
	p := InstanceProfile{
		InstanceProfileName: d.Name, InstanceProfileID: d.ID, ARN: profileARN(acct, d.Path, d.Name),
		Path: d.Path, CreateDate: d.Created, Tags: d.Tags, Roles: []Role{},
	}
	for _, r := range d.Roles {
		rd, ok, err := roles.load(tx, acct, r)
		if err != nil {
			return InstanceProfile{}, err
		}
		if ok {
			p.Roles = append(p.Roles, rd.(*roleDoc).role(acct))
		}
	}
	return p, nil
}

// profileOp loads an instance profile, authorizes action on it, and runs fn.
func (s *Service) profileOp(ctx context.Context, c *Caller, action, name string, write bool, fn func(tx store.Tx, d *profileDoc) error) error {
	if err := needCaller(c); err != nil {
		return err
	}
	if err := checkName("instanceProfileName", name, maxProfileName); err != nil {
		return err
	}
	run := s.st.View
	if write {
		run = s.update
	}
	return run(ctx, func(tx store.Tx) error {
		d, ok, err := loadProfile(tx, c.Account, name)
		if err != nil {
			return err
		}
		var req *Request
		if ok {
			req = &Request{ResourceTags: d.Tags}
		}
		if err := s.authorize(ctx, c, action, profileARN(c.Account, pathOf(ok, d.Path), nameOf(ok, d.Name, name)), req); err != nil {
			return err
		}
		if !ok {
			return noSuchProfile(name)
		}
		return fn(tx, d)
	})
}

// CreateInstanceProfile creates an instance profile.
func (s *Service) CreateInstanceProfile(ctx context.Context, c *Caller, in CreateInstanceProfileInput) (InstanceProfile, error) {
	path, err := checkCreate(c, "instanceProfileName", in.InstanceProfileName, maxProfileName, in.Path)
	if err != nil {
		return InstanceProfile{}, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return InstanceProfile{}, err
	}
	if err := s.authorizeCreate(ctx, c, "iam:CreateInstanceProfile", "iam:TagInstanceProfile", profileARN(c.Account, path, in.InstanceProfileName), &Request{RequestTags: tags}); err != nil {
		return InstanceProfile{}, err
	}
	var out InstanceProfile
	err = s.update(ctx, func(tx store.Tx) error {
		if _, ok, err := loadProfile(tx, c.Account, in.InstanceProfileName); err != nil {
			return err
		} else if ok {
			return apiErr(CodeEntityAlreadyExists, "Instance Profile %s already exists.", in.InstanceProfileName)
		}
		d := &profileDoc{Name: in.InstanceProfileName, Path: path, Created: s.now().UTC(), Tags: tags}
		var err error
		if d.ID, err = s.createID(tx, "AIPA", kindProfile, c.Account, d.Name); err != nil {
			return err
		}
		if out, err = d.profile(tx, c.Account); err != nil {
			return err
		}
		return putDoc(tx, kindProfile, entityKey(c.Account, d.Name), d)
	})
	return out, err
}

// GetInstanceProfile returns an instance profile with its role.
func (s *Service) GetInstanceProfile(ctx context.Context, c *Caller, name string) (InstanceProfile, error) {
	var out InstanceProfile
	err := s.profileOp(ctx, c, "iam:GetInstanceProfile", name, false, func(tx store.Tx, d *profileDoc) error {
		var err error
		out, err = d.profile(tx, c.Account)
		return err
	})
	return out, err
}

// ListInstanceProfiles lists the account's instance profiles under a path prefix, by name.
func (s *Service) ListInstanceProfiles(ctx context.Context, c *Caller, in ListInput) (ListInstanceProfilesOutput, error) {
	var out ListInstanceProfilesOutput
	var err error
	out.InstanceProfiles, out.IsTruncated, out.Marker, err = listByPath(ctx, s, c, in, &pathList[profileDoc, InstanceProfile]{
		action: "iam:ListInstanceProfiles", kind: kindProfile, arn: profileARN,
		path: func(d *profileDoc) string { return d.Path },
		conv: func(tx store.Tx, acct string, d *profileDoc) (InstanceProfile, error) { return d.profile(tx, acct) },
		key:  func(p *InstanceProfile) string { return lower(p.InstanceProfileName) },
	})
	return out, err
}

// DeleteInstanceProfile deletes an instance profile that has no role (DeleteConflict
// otherwise).
func (s *Service) DeleteInstanceProfile(ctx context.Context, c *Caller, name string) error {
	return s.profileOp(ctx, c, "iam:DeleteInstanceProfile", name, true, func(tx store.Tx, d *profileDoc) error {
		if len(d.Roles) > 0 {
			return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		return deleteWithID(tx, kindProfile, entityKey(c.Account, d.Name), d.ID)
	})
}

// AddRoleToInstanceProfile adds a role to an instance profile, which holds at most one
// (LimitExceeded). Putting a role in a profile hands it to EC2, so the caller also needs
// iam:PassRole on the role, with iam:PassedToService ec2.amazonaws.com and
// iam:AssociatedResourceArn the profile's ARN, as AWS requires.
func (s *Service) AddRoleToInstanceProfile(ctx context.Context, c *Caller, profile, role string) error {
	return s.profileRoleOp(ctx, c, "iam:AddRoleToInstanceProfile", profile, role, func(d *profileDoc, r *roleDoc) error {
		pass := entityRequest(&Request{PassedToService: ServiceEC2, AssociatedResourceARN: profileARN(c.Account, d.Path, d.Name)}, r, true)
		if err := s.authorize(ctx, c, "iam:PassRole", roleARN(c.Account, r.Path, r.Name), pass); err != nil {
			return err
		}
		rk, pk := lower(r.Name), lower(d.Name)
		if containsString(d.Roles, rk) || len(d.Roles) >= maxRolesPerProfile {
			return limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d", maxRolesPerProfile)
		}
		d.Roles = append(d.Roles, rk)
		r.Profiles = append(r.Profiles, pk)
		return nil
	})
}

// RemoveRoleFromInstanceProfile removes the role from an instance profile.
func (s *Service) RemoveRoleFromInstanceProfile(ctx context.Context, c *Caller, profile, role string) error {
	return s.profileRoleOp(ctx, c, "iam:RemoveRoleFromInstanceProfile", profile, role, func(d *profileDoc, r *roleDoc) error {
		var in bool
		if d.Roles, in = removeString(d.Roles, lower(r.Name)); !in {
			return noSuchEntity("The role with name %s cannot be found in instance profile %s.", r.Name, d.Name)
		}
		r.Profiles, _ = removeString(r.Profiles, lower(d.Name))
		return nil
	})
}

// profileRoleOp runs fn on an instance profile and the role named role in one
// transaction (after checking the role's name), and saves both if fn succeeds. An unknown
// role is NoSuchEntity.
func (s *Service) profileRoleOp(ctx context.Context, c *Caller, action, profile, role string, fn func(d *profileDoc, r *roleDoc) error) error {
	if err := checkName("roleName", role, maxRoleName); err != nil {
		return err
	}
	return s.profileOp(ctx, c, action, profile, true, func(tx store.Tx, d *profileDoc) error {
		e, ok, err := roles.load(tx, c.Account, role)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchRole(role)
		}
		r := e.(*roleDoc)
		if err := fn(d, r); err != nil {
			return err
		}
		if err := roles.save(tx, c.Account, r); err != nil {
			return err
		}
		return putDoc(tx, kindProfile, entityKey(c.Account, d.Name), d)
	})
}

// ListInstanceProfilesForRole lists the instance profiles a role is in (in.Name is the
// role).
func (s *Service) ListInstanceProfilesForRole(ctx context.Context, c *Caller, in ListNamedInput) (ListInstanceProfilesOutput, error) {
	var all []InstanceProfile
	err := s.viewEntity(ctx, c, roles, "iam:ListInstanceProfilesForRole", in.Name, func(tx store.Tx, e entity) error {
		for _, pn := range e.(*roleDoc).Profiles {
			d, ok, err := loadProfile(tx, c.Account, pn)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			p, err := d.profile(tx, c.Account)
			if err != nil {
				return err
			}
			all = append(all, p)
		}
		return nil
	})
	if err != nil {
		return ListInstanceProfilesOutput{}, err
	}
	key := func(p *InstanceProfile) string { return lower(p.InstanceProfileName) }
	var out ListInstanceProfilesOutput
	out.InstanceProfiles, out.IsTruncated, out.Marker, err = sortedPage(all, key, in.Marker, in.MaxItems)
	return out, err
}

// InstanceProfileRole returns the ARN of the role in an instance profile, given the
// profile's ARN, for the workload credential endpoints (with AssumeRoleForWorkload). It
// is internal: no caller, no authorization.
func (s *Service) InstanceProfileRole(ctx context.Context, profileARN string) (string, error) {
	acct, name := "", lastSegment(profileARN)
	if parts := strings.SplitN(profileARN, ":", 6); len(parts) == 6 {
		acct = parts[4]
	}
	var out string
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, ok, err := loadProfile(tx, acct, name)
		if err != nil {
			return err
		}
		if !ok || len(d.Roles) == 0 {
			return noSuchProfile(name)
		}
		e, ok, err := roles.load(tx, acct, d.Roles[0])
		if err != nil {
			return err
		}
		if !ok {
			return noSuchRole(d.Roles[0])
		}
		r := e.(*roleDoc)
		out = roleARN(acct, r.Path, r.Name)
		return nil
	})
	return out, err
}
