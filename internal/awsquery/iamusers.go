package awsquery

import (
	"github.com/iamdb/iamdb/internal/iam"
)

// iamUserOps are the actions on IAM users.
func iamUserOps() map[string]handler {
	return map[string]handler{
		"CreateUser": created(func(c *call, tags []iam.Tag) (iam.CreateUserInput, error) {
			return iam.CreateUserInput{UserName: c.f.str("UserName"), Path: c.f.str("Path"),
				PermissionsBoundary: c.f.str("PermissionsBoundary"), Tags: tags}, nil
		}, (*iam.Service).CreateUser, userAnswer),
		"GetUser": got("UserName", (*iam.Service).GetUser, userAnswer),
		"ListUsers": listed((*call).listInput, (*iam.Service).ListUsers, func(out iam.ListUsersOutput) any {
			us := convertAll(out.Users, toUser)
			for i := range us {
				us[i].Tags, us[i].PermissionsBoundary = nil, nil // ListUsers returns neither, as AWS
			}
			return usersPage{listOf(us), page{out.IsTruncated, out.Marker}}
		}),
		"DeleteUser": byName("UserName", (*iam.Service).DeleteUser),
	}
}

func userAnswer(u iam.User) any { return userResult{toUser(&u)} }

func toGroupsPage(out iam.ListGroupsOutput) any {
	return groupsPage{listOf(convertAll(out.Groups, toGroup)), page{out.IsTruncated, out.Marker}}
}

// iamGroupOps are the actions on IAM groups and their members.
func iamGroupOps() map[string]handler {
	return map[string]handler{
		"CreateGroup": func(c *call) (any, error) {
			g, err := c.s.svc.CreateGroup(c.ctx, c.caller, iam.CreateGroupInput{GroupName: c.f.str("GroupName"), Path: c.f.str("Path")})
			if err != nil {
				return nil, err
			}
			return groupResult{toGroup(&g)}, nil
		},
		"GetGroup": listed(byNamed("GroupName"), (*iam.Service).GetGroup, func(out iam.GetGroupOutput) any {
			return getGroupResult{toGroup(&out.Group), listOf(convertAll(out.Users, toUser)), page{out.IsTruncated, out.Marker}}
		}),
		"ListGroups":          listed((*call).listInput, (*iam.Service).ListGroups, toGroupsPage),
		"ListGroupsForUser":   listed(byNamed("UserName"), (*iam.Service).ListGroupsForUser, toGroupsPage),
		"DeleteGroup":         byName("GroupName", (*iam.Service).DeleteGroup),
		"AddUserToGroup":      byTwo("GroupName", "UserName", (*iam.Service).AddUserToGroup),
		"RemoveUserFromGroup": byTwo("GroupName", "UserName", (*iam.Service).RemoveUserFromGroup),
	}
}

// iamAccessKeyOps are the actions on access keys.
func iamAccessKeyOps() map[string]handler {
	return map[string]handler{
		"CreateAccessKey": func(c *call) (any, error) {
			k, err := c.s.svc.CreateAccessKey(c.ctx, c.caller, c.f.str("UserName"))
			if err != nil {
				return nil, err
			}
			return accessKeyResult{xAccessKey{UserName: k.UserName, AccessKeyID: k.AccessKeyID, Status: k.Status,
				SecretAccessKey: k.SecretAccessKey, CreateDate: isoTime(k.CreateDate)}}, nil
		},
		"ListAccessKeys": listed(byNamed("UserName"), (*iam.Service).ListAccessKeys, func(out iam.ListAccessKeysOutput) any {
			return accessKeysPage{listOf(toAccessKeyMetadata(out.AccessKeys)), page{out.IsTruncated, out.Marker}}
		}),
		"UpdateAccessKey": func(c *call) (any, error) {
			return nil, c.s.svc.UpdateAccessKey(c.ctx, c.caller, iam.UpdateAccessKeyInput{UserName: c.f.str("UserName"),
				AccessKeyID: c.f.str("AccessKeyId"), Status: c.f.str("Status")})
		},
		"DeleteAccessKey": byTwo("UserName", "AccessKeyId", (*iam.Service).DeleteAccessKey),
		"GetAccessKeyLastUsed": got("AccessKeyId", (*iam.Service).GetAccessKeyLastUsed, func(u iam.AccessKeyLastUsed) any {
			return accessKeyLastResult{u.UserName, xAccessKeyLastUsed{LastUsedDate: isoTime(u.LastUsedDate),
				ServiceName: u.ServiceName, Region: u.Region}}
		}),
	}
}
