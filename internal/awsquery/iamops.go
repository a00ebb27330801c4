package awsquery

import (
	"context"
	"strings"

	"github.com/iamdb/iamdb/internal/iam"
)

// The IAM API (version 2010-05-08). Each handler decodes its parameters, calls the matching
// iam.Service method (which validates and authorizes) and shapes the result as AWS does.

type (
	userResult    struct{ User xUser }
	groupResult   struct{ Group xGroup }
	roleResult    struct{ Role xRole }
	policyResult  struct{ Policy xPolicy }
	versionResult struct {
		PolicyVersion xPolicyVersion
	}
	profileResult struct{ InstanceProfile xInstanceProfile }
	page          struct {
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}
	usersPage struct {
		Users list[xUser]
		page
	}
	groupsPage struct {
		Groups list[xGroup]
		page
	}
	rolesPage struct {
		Roles list[xRole]
		page
	}
	policiesPage struct {
		Policies list[xPolicy]
		page
	}
	versionsPage struct {
		Versions list[xPolicyVersion]
		page
	}
	attachedPage struct {
		AttachedPolicies list[xAttachedPolicy]
		page
	}
	policyNamesPage struct {
		PolicyNames list[string]
		page
	}
	accessKeysPage struct {
		AccessKeyMetadata list[xAccessKeyMetadata]
		page
	}
	profilesPage struct {
		InstanceProfiles list[xInstanceProfile]
		page
	}
	tagsPage struct {
		Tags list[xTag]
		page
	}
	evaluationPage struct {
		EvaluationResults list[xEvaluationResult]
		page
	}
	getGroupResult struct {
		Group xGroup
		Users list[xUser]
		page
	}
	entitiesPage struct {
		PolicyGroups list[xPolicyGroup]
		PolicyUsers  list[xPolicyUser]
		PolicyRoles  list[xPolicyRole]
		page
	}
	userPolicyResult struct {
		UserName, PolicyName, PolicyDocument string
	}
	groupPolicyResult struct {
		GroupName, PolicyName, PolicyDocument string
	}
	rolePolicyResult struct {
		RoleName, PolicyName, PolicyDocument string
	}
	accessKeyResult     struct{ AccessKey xAccessKey }
	accessKeyLastResult struct {
		UserName          string
		AccessKeyLastUsed xAccessKeyLastUsed
	}
	oidcCreateResult struct {
		OpenIDConnectProviderArn string
		Tags                     *list[xTag] `xml:",omitempty"`
	}
	oidcGetResult struct {
		Url            string
		ClientIDList   list[string]
		ThumbprintList list[string]
		CreateDate     string
		Tags           *list[xTag] `xml:",omitempty"`
	}
	oidcArn        struct{ Arn string }
	oidcListResult struct {
		OpenIDConnectProviderList list[oidcArn]
	}
)

func iamOps() map[string]handler {
	return map[string]handler{
		// Users.
		"CreateUser": func(c *call) (any, error) {
			tags, err := c.tags()
			if err != nil {
				return nil, err
			}
			u, err := c.s.svc.CreateUser(c.ctx, c.caller, iam.CreateUserInput{UserName: c.f.str("UserName"), Path: c.f.str("Path"),
				PermissionsBoundary: c.f.str("PermissionsBoundary"), Tags: tags})
			if err != nil {
				return nil, err
			}
			return userResult{toUser(&u)}, nil
		},
		"GetUser": func(c *call) (any, error) {
			u, err := c.s.svc.GetUser(c.ctx, c.caller, c.f.str("UserName"))
			if err != nil {
				return nil, err
			}
			return userResult{toUser(&u)}, nil
		},
		"ListUsers": func(c *call) (any, error) {
			in, err := c.listInput()
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListUsers(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			us := toUsers(out.Users)
			for i := range us {
				us[i].Tags, us[i].PermissionsBoundary = nil, nil // ListUsers returns neither, as AWS
			}
			return usersPage{listOf(us), page{out.IsTruncated, out.Marker}}, nil
		},
		"DeleteUser": byName("UserName", (*iam.Service).DeleteUser),

		// Groups.
		"CreateGroup": func(c *call) (any, error) {
			g, err := c.s.svc.CreateGroup(c.ctx, c.caller, iam.CreateGroupInput{GroupName: c.f.str("GroupName"), Path: c.f.str("Path")})
			if err != nil {
				return nil, err
			}
			return groupResult{toGroup(&g)}, nil
		},
		"GetGroup": func(c *call) (any, error) {
			in, err := c.named("GroupName")
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.GetGroup(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return getGroupResult{toGroup(&out.Group), listOf(toUsers(out.Users)), page{out.IsTruncated, out.Marker}}, nil
		},
		"ListGroups": func(c *call) (any, error) {
			in, err := c.listInput()
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListGroups(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return groupsPage{listOf(toGroups(out.Groups)), page{out.IsTruncated, out.Marker}}, nil
		},
		"ListGroupsForUser": func(c *call) (any, error) {
			in, err := c.named("UserName")
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListGroupsForUser(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return groupsPage{listOf(toGroups(out.Groups)), page{out.IsTruncated, out.Marker}}, nil
		},
		"DeleteGroup":         byName("GroupName", (*iam.Service).DeleteGroup),
		"AddUserToGroup":      byTwo("GroupName", "UserName", (*iam.Service).AddUserToGroup),
		"RemoveUserFromGroup": byTwo("GroupName", "UserName", (*iam.Service).RemoveUserFromGroup),

		// Roles.
		"CreateRole": func(c *call) (any, error) {
			tags, err := c.tags()
			if err != nil {
				return nil, err
			}
			msd, err := c.intParam("MaxSessionDuration")
			if err != nil {
				return nil, err
			}
			r, err := c.s.svc.CreateRole(c.ctx, c.caller, iam.CreateRoleInput{
				RoleName: c.f.str("RoleName"), Path: c.f.str("Path"),
				AssumeRolePolicyDocument: c.f.str("AssumeRolePolicyDocument"), Description: c.f.str("Description"),
				MaxSessionDuration: msd, PermissionsBoundary: c.f.str("PermissionsBoundary"), Tags: tags,
			})
			if err != nil {
				return nil, err
			}
			x := toRole(&r, true)
			x.RoleLastUsed = nil // CreateRole's answer has none, as AWS
			return roleResult{x}, nil
		},
		"GetRole": func(c *call) (any, error) {
			r, err := c.s.svc.GetRole(c.ctx, c.caller, c.f.str("RoleName"))
			if err != nil {
				return nil, err
			}
			return roleResult{toRole(&r, true)}, nil
		},
		"ListRoles": func(c *call) (any, error) {
			in, err := c.listInput()
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListRoles(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return rolesPage{listOf(toRoles(out.Roles, false)), page{out.IsTruncated, out.Marker}}, nil
		},
		"DeleteRole":             byName("RoleName", (*iam.Service).DeleteRole),
		"UpdateAssumeRolePolicy": byTwo("RoleName", "PolicyDocument", (*iam.Service).UpdateAssumeRolePolicy),

		// Managed policies.
		"CreatePolicy": func(c *call) (any, error) {
			tags, err := c.tags()
			if err != nil {
				return nil, err
			}
			p, err := c.s.svc.CreatePolicy(c.ctx, c.caller, iam.CreatePolicyInput{PolicyName: c.f.str("PolicyName"), Path: c.f.str("Path"),
				PolicyDocument: c.f.str("PolicyDocument"), Description: c.f.str("Description"), Tags: tags})
			if err != nil {
				return nil, err
			}
			return policyResult{toPolicy(&p)}, nil
		},
		"GetPolicy": func(c *call) (any, error) {
			p, err := c.s.svc.GetPolicy(c.ctx, c.caller, c.f.str("PolicyArn"))
			if err != nil {
				return nil, err
			}
			return policyResult{toPolicy(&p)}, nil
		},
		"ListPolicies": func(c *call) (any, error) {
			n, err := c.maxItems("MaxItems", 1, 1000)
			if err != nil {
				return nil, err
			}
			only, err := c.boolParam("OnlyAttached")
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListPolicies(c.ctx, c.caller, iam.ListPoliciesInput{Scope: c.f.str("Scope"), OnlyAttached: only,
				PathPrefix: c.f.str("PathPrefix"), PolicyUsageFilter: c.f.str("PolicyUsageFilter"), Marker: c.f.str("Marker"), MaxItems: n})
			if err != nil {
				return nil, err
			}
			ps := toPolicies(out.Policies)
			for i := range ps {
				ps[i].Tags, ps[i].Description = nil, "" // ListPolicies returns neither, as AWS
			}
			return policiesPage{listOf(ps), page{out.IsTruncated, out.Marker}}, nil
		},
		"DeletePolicy": byName("PolicyArn", (*iam.Service).DeletePolicy),
		"CreatePolicyVersion": func(c *call) (any, error) {
			def, err := c.boolParam("SetAsDefault")
			if err != nil {
				return nil, err
			}
			v, err := c.s.svc.CreatePolicyVersion(c.ctx, c.caller, iam.CreatePolicyVersionInput{PolicyARN: c.f.str("PolicyArn"),
				PolicyDocument: c.f.str("PolicyDocument"), SetAsDefault: def})
			if err != nil {
				return nil, err
			}
			x := toPolicyVersion(&v)
			x.Document = "" // CreatePolicyVersion does not echo the document, as AWS
			return versionResult{x}, nil
		},
		"GetPolicyVersion": func(c *call) (any, error) {
			v, err := c.s.svc.GetPolicyVersion(c.ctx, c.caller, c.f.str("PolicyArn"), c.f.str("VersionId"))
			if err != nil {
				return nil, err
			}
			return versionResult{toPolicyVersion(&v)}, nil
		},
		"ListPolicyVersions": func(c *call) (any, error) {
			in, err := c.named("PolicyArn")
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListPolicyVersions(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			vs := toPolicyVersions(out.Versions)
			for i := range vs {
				vs[i].Document = "" // ListPolicyVersions lists no documents, as AWS
			}
			return versionsPage{listOf(vs), page{out.IsTruncated, out.Marker}}, nil
		},
		"DeletePolicyVersion":     byTwo("PolicyArn", "VersionId", (*iam.Service).DeletePolicyVersion),
		"SetDefaultPolicyVersion": byTwo("PolicyArn", "VersionId", (*iam.Service).SetDefaultPolicyVersion),

		// Attachments.
		"PutUserPermissionsBoundary":    byTwo("UserName", "PermissionsBoundary", (*iam.Service).PutUserPermissionsBoundary),
		"PutRolePermissionsBoundary":    byTwo("RoleName", "PermissionsBoundary", (*iam.Service).PutRolePermissionsBoundary),
		"DeleteUserPermissionsBoundary": byName("UserName", (*iam.Service).DeleteUserPermissionsBoundary),
		"DeleteRolePermissionsBoundary": byName("RoleName", (*iam.Service).DeleteRolePermissionsBoundary),
		"AttachUserPolicy":              byTwo("UserName", "PolicyArn", (*iam.Service).AttachUserPolicy),
		"AttachGroupPolicy":             byTwo("GroupName", "PolicyArn", (*iam.Service).AttachGroupPolicy),
		"AttachRolePolicy":              byTwo("RoleName", "PolicyArn", (*iam.Service).AttachRolePolicy),
		"DetachUserPolicy":              byTwo("UserName", "PolicyArn", (*iam.Service).DetachUserPolicy),
		"DetachGroupPolicy":             byTwo("GroupName", "PolicyArn", (*iam.Service).DetachGroupPolicy),
		"DetachRolePolicy":              byTwo("RoleName", "PolicyArn", (*iam.Service).DetachRolePolicy),
		"ListAttachedUserPolicies":      listAttached("UserName", (*iam.Service).ListAttachedUserPolicies),
		"ListAttachedGroupPolicies":     listAttached("GroupName", (*iam.Service).ListAttachedGroupPolicies),
		"ListAttachedRolePolicies":      listAttached("RoleName", (*iam.Service).ListAttachedRolePolicies),
		"ListEntitiesForPolicy": func(c *call) (any, error) {
			n, err := c.maxItems("MaxItems", 1, 1000)
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListEntitiesForPolicy(c.ctx, c.caller, iam.ListEntitiesForPolicyInput{PolicyARN: c.f.str("PolicyArn"),
				EntityFilter: c.f.str("EntityFilter"), PathPrefix: c.f.str("PathPrefix"), PolicyUsageFilter: c.f.str("PolicyUsageFilter"),
				Marker: c.f.str("Marker"), MaxItems: n})
			if err != nil {
				return nil, err
			}
			r := entitiesPage{page: page{out.IsTruncated, out.Marker}}
			for _, e := range out.PolicyGroups {
				r.PolicyGroups.Member = append(r.PolicyGroups.Member, xPolicyGroup{e.Name, e.ID})
			}
			for _, e := range out.PolicyUsers {
				r.PolicyUsers.Member = append(r.PolicyUsers.Member, xPolicyUser{e.Name, e.ID})
			}
			for _, e := range out.PolicyRoles {
				r.PolicyRoles.Member = append(r.PolicyRoles.Member, xPolicyRole{e.Name, e.ID})
			}
			return r, nil
		},

		// Inline policies.
		"PutUserPolicy":  byThree("UserName", "PolicyName", "PolicyDocument", (*iam.Service).PutUserPolicy),
		"PutGroupPolicy": byThree("GroupName", "PolicyName", "PolicyDocument", (*iam.Service).PutGroupPolicy),
		"PutRolePolicy":  byThree("RoleName", "PolicyName", "PolicyDocument", (*iam.Service).PutRolePolicy),
		"GetUserPolicy": getInline("UserName", (*iam.Service).GetUserPolicy, func(p iam.InlinePolicy) any {
			return userPolicyResult{p.EntityName, p.PolicyName, policyDoc(p.PolicyDocument)}
		}),
		"GetGroupPolicy": getInline("GroupName", (*iam.Service).GetGroupPolicy, func(p iam.InlinePolicy) any {
			return groupPolicyResult{p.EntityName, p.PolicyName, policyDoc(p.PolicyDocument)}
		}),
		"GetRolePolicy": getInline("RoleName", (*iam.Service).GetRolePolicy, func(p iam.InlinePolicy) any {
			return rolePolicyResult{p.EntityName, p.PolicyName, policyDoc(p.PolicyDocument)}
		}),
		"DeleteUserPolicy":  byTwo("UserName", "PolicyName", (*iam.Service).DeleteUserPolicy),
		"DeleteGroupPolicy": byTwo("GroupName", "PolicyName", (*iam.Service).DeleteGroupPolicy),
		"DeleteRolePolicy":  byTwo("RoleName", "PolicyName", (*iam.Service).DeleteRolePolicy),
		"ListUserPolicies":  listInline("UserName", (*iam.Service).ListUserPolicies),
		"ListGroupPolicies": listInline("GroupName", (*iam.Service).ListGroupPolicies),
		"ListRolePolicies":  listInline("RoleName", (*iam.Service).ListRolePolicies),

		// Access keys.
		"CreateAccessKey": func(c *call) (any, error) {
			k, err := c.s.svc.CreateAccessKey(c.ctx, c.caller, c.f.str("UserName"))
			if err != nil {
				return nil, err
			}
			return accessKeyResult{xAccessKey{UserName: k.UserName, AccessKeyID: k.AccessKeyID, Status: k.Status,
				SecretAccessKey: k.SecretAccessKey, CreateDate: isoTime(k.CreateDate)}}, nil
		},
		"ListAccessKeys": func(c *call) (any, error) {
			in, err := c.named("UserName")
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListAccessKeys(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return accessKeysPage{listOf(toAccessKeyMetadata(out.AccessKeys)), page{out.IsTruncated, out.Marker}}, nil
		},
		"UpdateAccessKey": func(c *call) (any, error) {
			return nil, c.s.svc.UpdateAccessKey(c.ctx, c.caller, iam.UpdateAccessKeyInput{UserName: c.f.str("UserName"),
				AccessKeyID: c.f.str("AccessKeyId"), Status: c.f.str("Status")})
		},
		"DeleteAccessKey": byTwo("UserName", "AccessKeyId", (*iam.Service).DeleteAccessKey),
		"GetAccessKeyLastUsed": func(c *call) (any, error) {
			u, err := c.s.svc.GetAccessKeyLastUsed(c.ctx, c.caller, c.f.str("AccessKeyId"))
			if err != nil {
				return nil, err
			}
			return accessKeyLastResult{u.UserName, xAccessKeyLastUsed{LastUsedDate: isoTime(u.LastUsedDate),
				ServiceName: u.ServiceName, Region: u.Region}}, nil
		},

		// Instance profiles.
		"CreateInstanceProfile": func(c *call) (any, error) {
			tags, err := c.tags()
			if err != nil {
				return nil, err
			}
			p, err := c.s.svc.CreateInstanceProfile(c.ctx, c.caller, iam.CreateInstanceProfileInput{
				InstanceProfileName: c.f.str("InstanceProfileName"), Path: c.f.str("Path"), Tags: tags})
			if err != nil {
				return nil, err
			}
			return profileResult{toInstanceProfile(&p)}, nil
		},
		"GetInstanceProfile": func(c *call) (any, error) {
			p, err := c.s.svc.GetInstanceProfile(c.ctx, c.caller, c.f.str("InstanceProfileName"))
			if err != nil {
				return nil, err
			}
			return profileResult{toInstanceProfile(&p)}, nil
		},
		"ListInstanceProfiles": func(c *call) (any, error) {
			in, err := c.listInput()
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListInstanceProfiles(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return profilesPage{listOf(toInstanceProfiles(out.InstanceProfiles)), page{out.IsTruncated, out.Marker}}, nil
		},
		"ListInstanceProfilesForRole": func(c *call) (any, error) {
			in, err := c.named("RoleName")
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListInstanceProfilesForRole(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return profilesPage{listOf(toInstanceProfiles(out.InstanceProfiles)), page{out.IsTruncated, out.Marker}}, nil
		},
		"DeleteInstanceProfile":         byName("InstanceProfileName", (*iam.Service).DeleteInstanceProfile),
		"AddRoleToInstanceProfile":      byTwo("InstanceProfileName", "RoleName", (*iam.Service).AddRoleToInstanceProfile),
		"RemoveRoleFromInstanceProfile": byTwo("InstanceProfileName", "RoleName", (*iam.Service).RemoveRoleFromInstanceProfile),

		// Tags.
		"TagUser":        tagOp("UserName", (*iam.Service).TagUser),
		"UntagUser":      untagOp("UserName", (*iam.Service).UntagUser),
		"ListUserTags":   listTags("UserName", (*iam.Service).ListUserTags),
		"TagRole":        tagOp("RoleName", (*iam.Service).TagRole),
		"UntagRole":      untagOp("RoleName", (*iam.Service).UntagRole),
		"ListRoleTags":   listTags("RoleName", (*iam.Service).ListRoleTags),
		"TagPolicy":      tagOp("PolicyArn", (*iam.Service).TagPolicy),
		"UntagPolicy":    untagOp("PolicyArn", (*iam.Service).UntagPolicy),
		"ListPolicyTags": listTags("PolicyArn", (*iam.Service).ListPolicyTags),

		// OpenID Connect providers.
		"CreateOpenIDConnectProvider": func(c *call) (any, error) {
			tags, err := c.tags()
			if err != nil {
				return nil, err
			}
			clients, err := c.f.strList("ClientIDList.member.")
			if err != nil {
				return nil, err
			}
			thumbs, err := c.f.strList("ThumbprintList.member.")
			if err != nil {
				return nil, err
			}
			p, err := c.s.svc.CreateOpenIDConnectProvider(c.ctx, c.caller, iam.CreateOIDCProviderInput{URL: c.f.str("Url"),
				ClientIDList: clients, ThumbprintList: thumbs, Tags: tags})
			if err != nil {
				return nil, err
			}
			return oidcCreateResult{p.ARN, optList(xTags(p.Tags))}, nil
		},
		"GetOpenIDConnectProvider": func(c *call) (any, error) {
			p, err := c.s.svc.GetOpenIDConnectProvider(c.ctx, c.caller, c.f.str("OpenIDConnectProviderArn"))
			if err != nil {
				return nil, err
			}
			// AWS returns the URL without its scheme.
			return oidcGetResult{Url: strings.TrimPrefix(p.URL, "https://"), ClientIDList: listOf(p.ClientIDList),
				ThumbprintList: listOf(p.ThumbprintList), CreateDate: isoTime(p.CreateDate), Tags: optList(xTags(p.Tags))}, nil
		},
		"ListOpenIDConnectProviders": func(c *call) (any, error) {
			arns, err := c.s.svc.ListOpenIDConnectProviders(c.ctx, c.caller)
			if err != nil {
				return nil, err
			}
			r := oidcListResult{}
			for _, a := range arns {
				r.OpenIDConnectProviderList.Member = append(r.OpenIDConnectProviderList.Member, oidcArn{a})
			}
			return r, nil
		},
		"DeleteOpenIDConnectProvider": byName("OpenIDConnectProviderArn", (*iam.Service).DeleteOpenIDConnectProvider),

		// The policy simulator.
		"SimulatePrincipalPolicy": func(c *call) (any, error) {
			var in iam.SimulatePrincipalPolicyInput
			var err error
			in.PolicySourceARN, in.Marker = c.f.str("PolicySourceArn"), c.f.str("Marker")
			if in.MaxItems, err = c.maxItems("MaxItems", 1, 1000); err != nil {
				return nil, err
			}
			if in.PolicyInputList, err = c.f.strList("PolicyInputList.member."); err != nil {
				return nil, err
			}
			if in.ActionNames, err = c.f.strList("ActionNames.member."); err != nil {
				return nil, err
			}
			if in.ResourceARNs, err = c.f.strList("ResourceArns.member."); err != nil {
				return nil, err
			}
			if in.ContextEntries, err = c.contextEntries(); err != nil {
				return nil, err
			}
			if err := unsupported(c, "ResourcePolicy", "ResourceOwner", "ResourceHandlingOption", "CallerArn",
				"PermissionsBoundaryPolicyInputList.member.1"); err != nil {
				return nil, err
			}
			out, err := c.s.svc.SimulatePrincipalPolicy(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return evaluationPage{listOf(toEvaluationResults(out.EvaluationResults)), page{out.IsTruncated, out.Marker}}, nil
		},
		"SimulateCustomPolicy": func(c *call) (any, error) {
			var in iam.SimulateCustomPolicyInput
			var err error
			in.CallerARN, in.Marker = c.f.str("CallerArn"), c.f.str("Marker")
			if in.MaxItems, err = c.maxItems("MaxItems", 1, 1000); err != nil {
				return nil, err
			}
			if in.PolicyInputList, err = c.f.strList("PolicyInputList.member."); err != nil {
				return nil, err
			}
			if in.PermissionsBoundaryPolicyInputList, err = c.f.strList("PermissionsBoundaryPolicyInputList.member."); err != nil {
				return nil, err
			}
			if in.ActionNames, err = c.f.strList("ActionNames.member."); err != nil {
				return nil, err
			}
			if in.ResourceARNs, err = c.f.strList("ResourceArns.member."); err != nil {
				return nil, err
			}
			if in.ContextEntries, err = c.contextEntries(); err != nil {
				return nil, err
			}
			if err := unsupported(c, "ResourcePolicy", "ResourceOwner", "ResourceHandlingOption"); err != nil {
				return nil, err
			}
			out, err := c.s.svc.SimulateCustomPolicy(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return evaluationPage{listOf(toEvaluationResults(out.EvaluationResults)), page{out.IsTruncated, out.Marker}}, nil
		},
	}
}

// unsupported refuses parameters iamdb does not implement, rather than ignoring them and
// answering as if they had no effect.
func unsupported(c *call, keys ...string) error {
	for _, k := range keys {
		if _, ok := c.f.get(k); ok {
			return &queryError{400, "InvalidInput", "iamdb does not support the parameter " + strings.TrimSuffix(k, ".member.1") + " of " + c.action}
		}
	}
	return nil
}

// Handlers of the shapes many actions share.

func byName(key string, fn func(*iam.Service, context.Context, *iam.Caller, string) error) handler {
	return func(c *call) (any, error) { return nil, fn(c.s.svc, c.ctx, c.caller, c.f.str(key)) }
}

func byTwo(k1, k2 string, fn func(*iam.Service, context.Context, *iam.Caller, string, string) error) handler {
	return func(c *call) (any, error) { return nil, fn(c.s.svc, c.ctx, c.caller, c.f.str(k1), c.f.str(k2)) }
}

func byThree(k1, k2, k3 string, fn func(*iam.Service, context.Context, *iam.Caller, string, string, string) error) handler {
	return func(c *call) (any, error) {
		return nil, fn(c.s.svc, c.ctx, c.caller, c.f.str(k1), c.f.str(k2), c.f.str(k3))
	}
}

func listAttached(key string, fn func(*iam.Service, context.Context, *iam.Caller, iam.ListAttachedPoliciesInput) (iam.ListAttachedPoliciesOutput, error)) handler {
	return func(c *call) (any, error) {
		n, err := c.maxItems("MaxItems", 1, 1000)
		if err != nil {
			return nil, err
		}
		out, err := fn(c.s.svc, c.ctx, c.caller, iam.ListAttachedPoliciesInput{Name: c.f.str(key), PathPrefix: c.f.str("PathPrefix"),
			Marker: c.f.str("Marker"), MaxItems: n})
		if err != nil {
			return nil, err
		}
		return attachedPage{listOf(toAttached(out.AttachedPolicies)), page{out.IsTruncated, out.Marker}}, nil
	}
}

func getInline(key string, fn func(*iam.Service, context.Context, *iam.Caller, string, string) (iam.InlinePolicy, error), shape func(iam.InlinePolicy) any) handler {
	return func(c *call) (any, error) {
		p, err := fn(c.s.svc, c.ctx, c.caller, c.f.str(key), c.f.str("PolicyName"))
		if err != nil {
			return nil, err
		}
		return shape(p), nil
	}
}

func listInline(key string, fn func(*iam.Service, context.Context, *iam.Caller, iam.ListNamedInput) (iam.ListInlinePoliciesOutput, error)) handler {
	return func(c *call) (any, error) {
		in, err := c.named(key)
		if err != nil {
			return nil, err
		}
		out, err := fn(c.s.svc, c.ctx, c.caller, in)
		if err != nil {
			return nil, err
		}
		return policyNamesPage{listOf(out.PolicyNames), page{out.IsTruncated, out.Marker}}, nil
	}
}

func tagOp(key string, fn func(*iam.Service, context.Context, *iam.Caller, string, []iam.Tag) error) handler {
	return func(c *call) (any, error) {
		tags, err := c.tags()
		if err != nil {
			return nil, err
		}
		return nil, fn(c.s.svc, c.ctx, c.caller, c.f.str(key), tags)
	}
}

func untagOp(key string, fn func(*iam.Service, context.Context, *iam.Caller, string, []string) error) handler {
	return func(c *call) (any, error) {
		keys, err := c.f.strList("TagKeys.member.")
		if err != nil {
			return nil, err
		}
		return nil, fn(c.s.svc, c.ctx, c.caller, c.f.str(key), keys)
	}
}

func listTags(key string, fn func(*iam.Service, context.Context, *iam.Caller, iam.ListNamedInput) (iam.ListTagsOutput, error)) handler {
	return func(c *call) (any, error) {
		in, err := c.named(key)
		if err != nil {
			return nil, err
		}
		out, err := fn(c.s.svc, c.ctx, c.caller, in)
		if err != nil {
			return nil, err
		}
		return tagsPage{listOf(xTags(out.Tags)), page{out.IsTruncated, out.Marker}}, nil
	}
}
