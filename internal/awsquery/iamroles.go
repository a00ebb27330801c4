package awsquery

import (
	"strings"

	"github.com/iamdb/iamdb/internal/iam"
)

// iamRoleOps are the actions on IAM roles.
func iamRoleOps() map[string]handler {
	return map[string]handler{
		"CreateRole": created(func(c *call, tags []iam.Tag) (iam.CreateRoleInput, error) {
			msd, err := c.intParam("MaxSessionDuration")
			return iam.CreateRoleInput{
				RoleName: c.f.str("RoleName"), Path: c.f.str("Path"),
				AssumeRolePolicyDocument: c.f.str("AssumeRolePolicyDocument"), Description: c.f.str("Description"),
				MaxSessionDuration: msd, PermissionsBoundary: c.f.str("PermissionsBoundary"), Tags: tags,
			}, err
		}, (*iam.Service).CreateRole, func(r iam.Role) any {
			x := toRole(&r, true)
			x.RoleLastUsed = nil // CreateRole's answer has none, as AWS
			return roleResult{x}
		}),
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

func profileAnswer(p iam.InstanceProfile) any { return profileResult{toInstanceProfile(&p)} }

func toProfilesPage(out iam.ListInstanceProfilesOutput) any {
	return profilesPage{listOf(convertAll(out.InstanceProfiles, toInstanceProfile)), page{out.IsTruncated, out.Marker}}
}

// iamInstanceProfileOps are the actions on instance profiles.
func iamInstanceProfileOps() map[string]handler {
	return map[string]handler{
		"CreateInstanceProfile": created(func(c *call, tags []iam.Tag) (iam.CreateInstanceProfileInput, error) {
			return iam.CreateInstanceProfileInput{InstanceProfileName: c.f.str("InstanceProfileName"), Path: c.f.str("Path"), Tags: tags}, nil
		}, (*iam.Service).CreateInstanceProfile, profileAnswer),
		"GetInstanceProfile":            got("InstanceProfileName", (*iam.Service).GetInstanceProfile, profileAnswer),
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
		"CreateOpenIDConnectProvider": created(func(c *call, tags []iam.Tag) (iam.CreateOIDCProviderInput, error) {
			clients, err := c.f.strList("ClientIDList.member.")
			if err != nil {
				return iam.CreateOIDCProviderInput{}, err
			}
			thumbs, err := c.f.strList("ThumbprintList.member.")
			return iam.CreateOIDCProviderInput{URL: c.f.str("Url"), ClientIDList: clients, ThumbprintList: thumbs, Tags: tags}, err
		}, (*iam.Service).CreateOpenIDConnectProvider, func(p iam.OIDCProvider) any {
			return oidcCreateResult{p.ARN, optList(xTags(p.Tags))}
		}),
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
