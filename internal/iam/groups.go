package iam

import (
	"context"

	"github.com/iamdb/iamdb/internal/store"
)

const maxGroupsPerUser = 10

func (d *groupDoc) group(acct string) Group {
	return Group{GroupName: d.Name, GroupID: d.ID, ARN: groupARN(acct, d.Path, d.Name), Path: d.Path, CreateDate: d.Created}
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, c *Caller, in CreateGroupInput) (Group, error) {
	path, err := checkCreate(c, "groupName", in.GroupName, maxGroupName, in.Path)
	if err != nil {
		return Group{}, err
	}
	if err := s.authorize(ctx, c, "iam:CreateGroup", groupARN(c.Account, path, in.GroupName), nil); err != nil {
		return Group{}, err
	}
	var out Group
	err = s.update(ctx, func(tx store.Tx) error {
		if _, ok, err := groups.load(tx, c.Account, in.GroupName); err != nil {
			return err
		} else if ok {
			return apiErr(CodeEntityAlreadyExists, "Group with name %s already exists.", in.GroupName)
		}
		d := &groupDoc{Name: in.GroupName, Path: path, Created: s.now().UTC()}
		var err error
		if d.ID, err = s.createID(tx, "AGPA", kindGroup, c.Account, d.Name); err != nil {
			return err
		}
		out = d.group(c.Account)
		return groups.save(tx, c.Account, d)
	})
	return out, err
}

// GetGroup returns a group and a page of its members, by name (in.Name is the group).
func (s *Service) GetGroup(ctx context.Context, c *Caller, in ListNamedInput) (GetGroupOutput, error) {
	var out GetGroupOutput
	var members []User
	err := s.viewEntity(ctx, c, groups, "iam:GetGroup", in.Name, func(tx store.Tx, e entity) error {
		d := e.(*groupDoc)
		out.Group = d.group(c.Account)
		for _, m := range d.Members {
			u, ok, err := loadUser(tx, c.Account, m)
			if err != nil {
				return err
			}
			if ok {
				members = append(members, u.user(c.Account))
			}
		}
		return nil
	})
	if err != nil {
		return GetGroupOutput{}, err
	}
	key := func(u *User) string { return lower(u.UserName) }
	out.Users, out.IsTruncated, out.Marker, err = sortedPage(members, key, in.Marker, in.MaxItems)
	return out, err
}

// ListGroups lists the account's groups under a path prefix, by name.
func (s *Service) ListGroups(ctx context.Context, c *Caller, in ListInput) (ListGroupsOutput, error) {
	var out ListGroupsOutput
	var err error
	out.Groups, out.IsTruncated, out.Marker, err = listByPath(ctx, s, c, in, &pathList[groupDoc, Group]{
		action: "iam:ListGroups", kind: kindGroup, arn: groupARN,
		path: func(d *groupDoc) string { return d.Path },
		conv: func(_ store.Tx, acct string, d *groupDoc) (Group, error) { return d.group(acct), nil },
		key:  func(g *Group) string { return lower(g.GroupName) },
	})
	return out, err
}

// DeleteGroup deletes a group without members or policies (DeleteConflict otherwise).
func (s *Service) DeleteGroup(ctx context.Context, c *Caller, name string) error {
	return s.updateEntity(ctx, c, groups, "iam:DeleteGroup", name, nil, func(tx store.Tx, e entity) error {
		d := e.(*groupDoc)
		if len(d.Members) > 0 {
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		}
		if err := d.policyConflict(); err != nil {
			return err
		}
		return deleteWithID(tx, kindGroup, entityKey(c.Account, d.Name), d.ID)
	})
}

// membership adds (add) or removes a user to or from a group.
func (s *Service) membership(ctx context.Context, c *Caller, action, group, user string, add bool) error {
	if err := checkName("userName", user, maxUserName); err != nil {
		return err
	}
	return s.updateEntity(ctx, c, groups, action, group, nil, func(tx store.Tx, e entity) error {
		g := e.(*groupDoc)
		u, ok, err := loadUser(tx, c.Account, user)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchUser(user)
		}
		gk, uk := lower(g.Name), lower(u.Name)
		if add {
			if containsString(u.Groups, gk) {
				return nil
			}
			if len(u.Groups) >= maxGroupsPerUser {
				return limitExceeded("Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)
			}
			u.Groups = append(u.Groups, gk)
			g.Members = append(g.Members, uk)
		} else {
			var in bool
			if u.Groups, in = removeString(u.Groups, gk); !in {
				return noSuchEntity("The user with name %s cannot be found in group %s.", u.Name, g.Name)
			}
			g.Members, _ = removeString(g.Members, uk)
		}
		if err := groups.save(tx, c.Account, g); err != nil {
			return err
		}
		return users.save(tx, c.Account, u)
	})
}

// AddUserToGroup adds a user to a group (a user is in at most 10 groups). Adding a member
// again does nothing.
func (s *Service) AddUserToGroup(ctx context.Context, c *Caller, group, user string) error {
	return s.membership(ctx, c, "iam:AddUserToGroup", group, user, true)
}

// RemoveUserFromGroup removes a user from a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, c *Caller, group, user string) error {
	return s.membership(ctx, c, "iam:RemoveUserFromGroup", group, user, false)
}

// ListGroupsForUser lists the groups a user is in, by name (in.Name is the user).
func (s *Service) ListGroupsForUser(ctx context.Context, c *Caller, in ListNamedInput) (ListGroupsOutput, error) {
	var all []Group
	err := s.viewEntity(ctx, c, users, "iam:ListGroupsForUser", in.Name, func(tx store.Tx, e entity) error {
		for _, g := range e.(*userDoc).Groups {
			d, ok, err := groups.load(tx, c.Account, g)
			if err != nil {
				return err
			}
			if ok {
				all = append(all, d.(*groupDoc).group(c.Account))
			}
		}
		return nil
	})
	if err != nil {
		return ListGroupsOutput{}, err
	}
	key := func(g *Group) string { return lower(g.GroupName) }
	var out ListGroupsOutput
	out.Groups, out.IsTruncated, out.Marker, err = sortedPage(all, key, in.Marker, in.MaxItems)
	return out, err
}
