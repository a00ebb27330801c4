package awsquery

import "github.com/iamdb/iamdb/internal/iam"

// Conversions from the domain's types to the XML shapes.

// convertAll converts each element of in with conv; the result is never nil.
func convertAll[T, X any](in []T, conv func(*T) X) []X {
	out := make([]X, len(in))
	for i := range in {
		out[i] = conv(&in[i])
	}
	return out
}

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
		PasswordLastUsed:    isoTime(u.PasswordLastUsed),
		PermissionsBoundary: xBoundary(u.PermissionsBoundary),
		Tags:                optList(xTags(u.Tags)),
	}
}

func toGroup(g *iam.Group) xGroup {
	return xGroup{Path: g.Path, GroupName: g.GroupName, GroupID: g.GroupID, Arn: g.ARN, CreateDate: isoTime(g.CreateDate)}
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

// toRoles converts roles as ListRoles returns them.
func toRoles(rs []iam.Role) []xRole {
	return convertAll(rs, func(r *iam.Role) xRole { return toRole(r, false) })
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

func toPolicyVersion(v *iam.PolicyVersion) xPolicyVersion {
	return xPolicyVersion{Document: policyDoc(v.Document), VersionID: v.VersionID,
		IsDefaultVersion: v.IsDefaultVersion, CreateDate: isoTime(v.CreateDate)}
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
		Roles: listOf(toRoles(p.Roles)),
		Tags:  optList(xTags(p.Tags)),
	}
}

func toEvaluationResults(rs []iam.EvaluationResult) []xEvaluationResult {
	out := make([]xEvaluationResult, len(rs))
	for i, r := range rs {
		ms := make([]xStatement, len(r.MatchedStatements))
		for j, m := range r.MatchedStatements {
			ms[j] = xStatement{SourcePolicyID: m.SourcePolicyID, SourcePolicyType: m.SourcePolicyType}
			if m.StartPosition.Line > 0 {
				ms[j].StartPosition = &xPosition{Line: m.StartPosition.Line, Column: m.StartPosition.Column}
				ms[j].EndPosition = &xPosition{Line: m.EndPosition.Line, Column: m.EndPosition.Column}
			}
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
