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

// iamOps is the dispatch table of the IAM API, assembled from one table per resource
// family. An action listed by two families is a programming error.
func iamOps() map[string]handler {
	ops := map[string]handler{}
	for _, family := range []map[string]handler{
		iamUserOps(),
		iamGroupOps(),
		iamRoleOps(),
		iamPolicyOps(),
		iamAttachmentOps(),
		iamInlinePolicyOps(),
		iamAccessKeyOps(),
		iamLoginOps(),
		iamInstanceProfileOps(),
		iamTagOps(),
		iamOIDCProviderOps(),
		iamSimulatorOps(),
		iamAdvisorOps(),
	} {
		for action, h := range family {
			if _, dup := ops[action]; dup {
				panic("awsquery: IAM action " + action + " is listed twice")
			}
			ops[action] = h
		}
	}
	return ops
}

// iamTagOps tag users, roles and managed policies.
func iamTagOps() map[string]handler {
	return map[string]handler{
		"TagUser":        tagOp("UserName", (*iam.Service).TagUser),
		"UntagUser":      untagOp("UserName", (*iam.Service).UntagUser),
		"ListUserTags":   listTags("UserName", (*iam.Service).ListUserTags),
		"TagRole":        tagOp("RoleName", (*iam.Service).TagRole),
		"UntagRole":      untagOp("RoleName", (*iam.Service).UntagRole),
		"ListRoleTags":   listTags("RoleName", (*iam.Service).ListRoleTags),
		"TagPolicy":      tagOp("PolicyArn", (*iam.Service).TagPolicy),
		"UntagPolicy":    untagOp("PolicyArn", (*iam.Service).UntagPolicy),
		"ListPolicyTags": listTags("PolicyArn", (*iam.Service).ListPolicyTags),
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
	return listed(byNamed(key), fn, func(out iam.ListInlinePoliciesOutput) any {
		return policyNamesPage{listOf(out.PolicyNames), page{out.IsTruncated, out.Marker}}
	})
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
	return listed(byNamed(key), fn, func(out iam.ListTagsOutput) any {
		return tagsPage{listOf(xTags(out.Tags)), page{out.IsTruncated, out.Marker}}
	})
}

// listed is the handler of a List (or Get with a page) action: decode reads its input,
// fn is the iam.Service method and shape makes the answer of its output.
func listed[I, O any](decode func(*call) (I, error), fn func(*iam.Service, context.Context, *iam.Caller, I) (O, error), shape func(O) any) handler {
	return shaped(decode, fn, func(_ *call, out O) any { return shape(out) })
}

// shaped is listed for a shape that needs the call.
func shaped[I, O any](decode func(*call) (I, error), fn func(*iam.Service, context.Context, *iam.Caller, I) (O, error), shape func(*call, O) any) handler {
	return func(c *call) (any, error) {
		in, err := decode(c)
		if err != nil {
			return nil, err
		}
		out, err := fn(c.s.svc, c.ctx, c.caller, in)
		if err != nil {
			return nil, err
		}
		return shape(c, out), nil
	}
}

// created is the handler of a Create action that takes tags: the tags (Tags.member.N) are
// read first, then input builds the input from the call and the tags; fn is the
// iam.Service method and shape makes the answer of its output.
func created[I, O any](input func(*call, []iam.Tag) (I, error), fn func(*iam.Service, context.Context, *iam.Caller, I) (O, error), shape func(O) any) handler {
	return listed(func(c *call) (I, error) {
		tags, err := c.tags()
		if err != nil {
			var zero I
			return zero, err
		}
		return input(c, tags)
	}, fn, shape)
}

// got is a Get action: fn on what the parameter key names, its answer shaped.
func got[O any](key string, fn func(*iam.Service, context.Context, *iam.Caller, string) (O, error), shape func(O) any) handler {
	return listed(func(c *call) (string, error) { return c.f.str(key), nil }, fn, shape)
}

// byNamed decodes the input of a List action on what the entity named by the parameter key
// holds.
func byNamed(key string) func(*call) (iam.ListNamedInput, error) {
	return func(c *call) (iam.ListNamedInput, error) { return c.named(key) }
}
