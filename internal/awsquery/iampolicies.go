package awsquery

import (
	"github.com/iamdb/iamdb/internal/iam"
)

// iamPolicyOps are the actions on managed policies and their versions.
func iamPolicyOps() map[string]handler {
	return map[string]handler{
		"CreatePolicy": created(func(c *call, tags []iam.Tag) (iam.CreatePolicyInput, error) {
			return iam.CreatePolicyInput{PolicyName: c.f.str("PolicyName"), Path: c.f.str("Path"),
				PolicyDocument: c.f.str("PolicyDocument"), Description: c.f.str("Description"), Tags: tags}, nil
		}, (*iam.Service).CreatePolicy, policyAnswer),
		"GetPolicy": got("PolicyArn", (*iam.Service).GetPolicy, policyAnswer),
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
			ps := convertAll(out.Policies, toPolicy)
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
		"ListPolicyVersions": listed(byNamed("PolicyArn"), (*iam.Service).ListPolicyVersions, func(out iam.ListPolicyVersionsOutput) any {
			vs := convertAll(out.Versions, toPolicyVersion)
			for i := range vs {
				vs[i].Document = "" // ListPolicyVersions lists no documents, as AWS
			}
			return versionsPage{listOf(vs), page{out.IsTruncated, out.Marker}}
		}),
		"DeletePolicyVersion":     byTwo("PolicyArn", "VersionId", (*iam.Service).DeletePolicyVersion),
		"SetDefaultPolicyVersion": byTwo("PolicyArn", "VersionId", (*iam.Service).SetDefaultPolicyVersion),
	}
}

func policyAnswer(p iam.Policy) any { return policyResult{toPolicy(&p)} }

// iamAttachmentOps attach managed policies and permissions boundaries to users, groups
// and roles, and list the attachments.
func iamAttachmentOps() map[string]handler {
	return map[string]handler{
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
	}
}

// iamInlinePolicyOps are the actions on the inline policies of users, groups and roles.
func iamInlinePolicyOps() map[string]handler {
	return map[string]handler{
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
	}
}
