package awsquery

import (
	"strings"

	"github.com/iamdb/iamdb/internal/iam"
)

// iamRoleOps are the actions on IAM roles.
func iamRoleOps() map[string]handler {
	return map[string]handler{
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
		"GetRole": got("RoleName", (*iam.Service).GetRole, func(r iam.Role) any {
			return roleResult{toRole(&r, true)}
		}),
		"ListRoles": listed((*call).listInput, (*iam.Service).ListRoles, func(out iam.ListRolesOutput) any {
			return rolesPage{listOf(toRoles(out.Roles)), page{out.IsTruncated, out.Marker}}
		}),
		"DeleteRole":             byName("RoleName", (*iam.Service).DeleteRole),
		"UpdateAssumeRolePolicy": byTwo("RoleName", "PolicyDocument", (*iam.Service).UpdateAssumeRolePolicy),
	}
}

func toProfilesPage(out iam.ListInstanceProfilesOutput) any {
	return profilesPage{listOf(convertAll(out.InstanceProfiles, toInstanceProfile)), page{out.IsTruncated, out.Marker}}
}

// iamInstanceProfileOps are the actions on instance profiles.
func iamInstanceProfileOps() map[string]handler {
	return map[string]handler{
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
		"GetInstanceProfile": got("InstanceProfileName", (*iam.Service).GetInstanceProfile, func(p iam.InstanceProfile) any {
			return profileResult{toInstanceProfile(&p)}
		}),
		"ListInstanceProfiles":          listed((*call).listInput, (*iam.Service).ListInstanceProfiles, toProfilesPage),
		"ListInstanceProfilesForRole":   listed(byNamed("RoleName"), (*iam.Service).ListInstanceProfilesForRole, toProfilesPage),
		"DeleteInstanceProfile":         byName("InstanceProfileName", (*iam.Service).DeleteInstanceProfile),
		"AddRoleToInstanceProfile":      byTwo("InstanceProfileName", "RoleName", (*iam.Service).AddRoleToInstanceProfile),
		"RemoveRoleFromInstanceProfile": byTwo("InstanceProfileName", "RoleName", (*iam.Service).RemoveRoleFromInstanceProfile),
	}
}

// iamOIDCProviderOps are the actions on OpenID Connect providers.
func iamOIDCProviderOps() map[string]handler {
	return map[string]handler{
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
		"GetOpenIDConnectProvider": got("OpenIDConnectProviderArn", (*iam.Service).GetOpenIDConnectProvider, func(p iam.OIDCProvider) any {
			// AWS returns the URL without its scheme.
			return oidcGetResult{Url: strings.TrimPrefix(p.URL, "https://"), ClientIDList: listOf(p.ClientIDList),
				ThumbprintList: listOf(p.ThumbprintList), CreateDate: isoTime(p.CreateDate), Tags: optList(xTags(p.Tags))}
		}),
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
	}
}
