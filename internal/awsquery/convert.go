package awsquery

import "github.com/iamdb/iamdb/internal/iam"

// Conversions from the domain's types to the XML shapes.

func xTags(tags []iam.Tag) []xTag {
	out := make([]xTag, len(tags))
	for i, t := range tags {
		out[i] = xTag{Key: t.Key, Value: t.Value}
	}
	return out
}

func xBoundary(b *iam.PermissionsBoundary) *xPermissionsBoundary {
	if b == nil {
		return nil
	}
	typ := b.Type
	if typ == "" {
		typ = "PermissionsBoundaryPolicy"
	}
	return &xPermissionsBoundary{PermissionsBoundaryType: typ, PermissionsBoundaryArn: b.ARN}
}

func toUser(u *iam.User) xUser {
	return xUser{
		Path: u.Path, UserName: u.UserName, UserID: u.UserID, Arn: u.ARN,
		CreateDate:          isoTime(u.CreateDate),
		PermissionsBoundary: xBoundary(u.PermissionsBoundary),
		Tags:                optList(xTags(u.Tags)),
	}
}

func toUsers(us []iam.User) []xUser {
	out := make([]xUser, len(us))
	for i := range us {
		out[i] = toUser(&us[i])
	}
	return out
}

func toGroup(g *iam.Group) xGroup {
	return xGroup{Path: g.Path, GroupName: g.GroupName, GroupID: g.GroupID, Arn: g.ARN, CreateDate: isoTime(g.CreateDate)}
}

func toGroups(gs []iam.Group) []xGroup {
	out := make([]xGroup, len(gs))
	for i := range gs {
		out[i] = toGroup(&gs[i])
	}
	return out
}

// toRole converts a role. AWS's ListRoles leaves out tags, boundary and last use; GetRole and
// CreateRole include them. full chooses.
func toRole(r *iam.Role, full bool) xRole {
	x := xRole{
		Path: r.Path, RoleName: r.RoleName, RoleID: r.RoleID, Arn: r.ARN,
		CreateDate:               isoTime(r.CreateDate),
		AssumeRolePolicyDocument: policyDoc(r.AssumeRolePolicyDocument),
		Description:              r.Description,
		MaxSessionDuration:       r.MaxSessionDuration,
	}
	if full {
		x.PermissionsBoundary = xBoundary(r.PermissionsBoundary)
		x.Tags = optList(xTags(r.Tags))
		x.RoleLastUsed = &xRoleLastUsed{LastUsedDate: isoTime(r.RoleLastUsed.LastUsedDate), Region: r.RoleLastUsed.Region}
	}
	return x
}

func toRoles(rs []iam.Role, full bool) []xRole {
	out := make([]xRole, len(rs))
	for i := range rs {
		out[i] = toRole(&rs[i], full)
	}
	return out
}

func toPolicy(p *iam.Policy) xPolicy {
	return xPolicy{
		PolicyName: p.PolicyName, PolicyID: p.PolicyID, Arn: p.ARN, Path: p.Path,
		DefaultVersionID: p.DefaultVersionID, AttachmentCount: p.AttachmentCount,
		PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount,
		IsAttachable:                  p.IsAttachable, Description: p.Description,
		CreateDate: isoTime(p.CreateDate), UpdateDate: isoTime(p.UpdateDate),
		Tags: optList(xTags(p.Tags)),
	}
}

func toPolicies(ps []iam.Policy) []xPolicy {
	out := make([]xPolicy, len(ps))
	for i := range ps {
		out[i] = toPolicy(&ps[i])
	}
	return out
}

func toPolicyVersion(v *iam.PolicyVersion) xPolicyVersion {
	return xPolicyVersion{Document: policyDoc(v.Document), VersionID: v.VersionID,
		IsDefaultVersion: v.IsDefaultVersion, CreateDate: isoTime(v.CreateDate)}
}

func toPolicyVersions(vs []iam.PolicyVersion) []xPolicyVersion {
	out := make([]xPolicyVersion, len(vs))
	for i := range vs {
		out[i] = toPolicyVersion(&vs[i])
	}
	return out
}

func toAttached(as []iam.AttachedPolicy) []xAttachedPolicy {
	out := make([]xAttachedPolicy, len(as))
	for i, a := range as {
		out[i] = xAttachedPolicy{PolicyName: a.PolicyName, PolicyArn: a.PolicyARN}
	}
	return out
}

func toAccessKeyMetadata(ks []iam.AccessKey) []xAccessKeyMetadata {
	out := make([]xAccessKeyMetadata, len(ks))
	for i, k := range ks {
		out[i] = xAccessKeyMetadata{UserName: k.UserName, AccessKeyID: k.AccessKeyID, Status: k.Status, CreateDate: isoTime(k.CreateDate)}
	}
	return out
}

func toInstanceProfile(p *iam.InstanceProfile) xInstanceProfile {
	return xInstanceProfile{
		Path: p.Path, InstanceProfileName: p.InstanceProfileName, InstanceProfileID: p.InstanceProfileID,
		Arn: p.ARN, CreateDate: isoTime(p.CreateDate),
		Roles: listOf(toRoles(p.Roles, false)),
		Tags:  optList(xTags(p.Tags)),
	}
}

func toInstanceProfiles(ps []iam.InstanceProfile) []xInstanceProfile {
	out := make([]xInstanceProfile, len(ps))
	for i := range ps {
		out[i] = toInstanceProfile(&ps[i])
	}
	return out
}

func toEvaluationResults(rs []iam.EvaluationResult) []xEvaluationResult {
	out := make([]xEvaluationResult, len(rs))
	for i, r := range rs {
		ms := make([]xStatement, len(r.MatchedStatements))
		for j, m := range r.MatchedStatements {
			ms[j] = xStatement{SourcePolicyID: m.SourcePolicyID, SourcePolicyType: m.SourcePolicyType}
		}
		out[i] = xEvaluationResult{
			EvalActionName: r.EvalActionName, EvalResourceName: r.EvalResourceName, EvalDecision: r.EvalDecision,
			MatchedStatements:    listOf(ms),
			MissingContextValues: listOf(r.MissingContextValues),
		}
	}
	return out
}

func toCredentials(c *iam.Credentials) xCredentials {
	return xCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: isoTime(c.Expiration)}
}
