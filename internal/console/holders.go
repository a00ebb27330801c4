package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// A holder is a kind of IAM identity that policies are attached to: users, groups and
// roles. Their pages share the managed and inline policy actions, served here for all
// three from one table of SDK calls; what differs between the kinds (members, credentials,
// trust policies) stays in the kind's own file.

func init() { pageSets = append(pageSets, registerHolders) }

// holder describes a kind of policy holder: its console paths and its IAM actions, each
// called as the signed-in person.
type holder struct {
	kind string // the path segment: "users"
	noun string // "User", as messages name one
	// The managed policy forms' paths below a holder's page ("policies",
	// "policies/detach"); the form's field arn is the policy.
	attachPath, detachPath string

	// create creates one with a name and a path (iam:CreateUser, iam:CreateGroup): the
	// listing page's form; nil for roles, whose form has a trust policy (roles.go).
	create         func(ctx context.Context, api *awsiam.Client, name, path string) error
	attach, detach func(ctx context.Context, api *awsiam.Client, name, arn string) error
	deleteInline   func(ctx context.Context, api *awsiam.Client, name, policy string) error
	remove         func(ctx context.Context, api *awsiam.Client, name string) error
	listAttached   func(ctx context.Context, api *awsiam.Client, name string) ([]iamtypes.AttachedPolicy, error)
	listInline     func(ctx context.Context, api *awsiam.Client, name string) ([]string, error)
	getInline      func(ctx context.Context, api *awsiam.Client, name, policy string) (string, error)
}

var (
	userHolder = &holder{
		kind: "users", noun: "User", attachPath: "policies", detachPath: "policies/detach",
		create: func(ctx context.Context, api *awsiam.Client, name, path string) error {
			in := &awsiam.CreateUserInput{UserName: &name}
			if path != "" {
				in.Path = &path
			}
			_, err := api.CreateUser(ctx, in)
			return err
		},
		attach: func(ctx context.Context, api *awsiam.Client, name, arn string) error {
			_, err := api.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: &name, PolicyArn: &arn})
			return err
		},
		detach: func(ctx context.Context, api *awsiam.Client, name, arn string) error {
			_, err := api.DetachUserPolicy(ctx, &awsiam.DetachUserPolicyInput{UserName: &name, PolicyArn: &arn})
			return err
		},
		deleteInline: func(ctx context.Context, api *awsiam.Client, name, policy string) error {
			_, err := api.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: &name, PolicyName: &policy})
			return err
		},
		remove: func(ctx context.Context, api *awsiam.Client, name string) error {
			_, err := api.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: &name})
			return err
		},
		listAttached: func(ctx context.Context, api *awsiam.Client, name string) ([]iamtypes.AttachedPolicy, error) {
			out, err := api.ListAttachedUserPolicies(ctx, &awsiam.ListAttachedUserPoliciesInput{UserName: &name, MaxItems: aws.Int32(1000)})
			if err != nil {
				return nil, err
			}
			return out.AttachedPolicies, nil
		},
		listInline: func(ctx context.Context, api *awsiam.Client, name string) ([]string, error) {
			out, err := api.ListUserPolicies(ctx, &awsiam.ListUserPoliciesInput{UserName: &name, MaxItems: aws.Int32(1000)})
			if err != nil {
				return nil, err
			}
			return out.PolicyNames, nil
		},
		getInline: func(ctx context.Context, api *awsiam.Client, name, policy string) (string, error) {
			out, err := api.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: &name, PolicyName: &policy})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.PolicyDocument), nil
		},
	}

	groupHolder = &holder{
		kind: "groups", noun: "Group", attachPath: "policies", detachPath: "policies/detach",
		create: func(ctx context.Context, api *awsiam.Client, name, path string) error {
			in := &awsiam.CreateGroupInput{GroupName: &name}
			if path != "" {
				in.Path = &path
			}
			_, err := api.CreateGroup(ctx, in)
			return err
		},
		attach: func(ctx context.Context, api *awsiam.Client, name, arn string) error {
			_, err := api.AttachGroupPolicy(ctx, &awsiam.AttachGroupPolicyInput{GroupName: &name, PolicyArn: &arn})
			return err
		},
		detach: func(ctx context.Context, api *awsiam.Client, name, arn string) error {
			_, err := api.DetachGroupPolicy(ctx, &awsiam.DetachGroupPolicyInput{GroupName: &name, PolicyArn: &arn})
			return err
		},
		deleteInline: func(ctx context.Context, api *awsiam.Client, name, policy string) error {
			_, err := api.DeleteGroupPolicy(ctx, &awsiam.DeleteGroupPolicyInput{GroupName: &name, PolicyName: &policy})
			return err
		},
		remove: func(ctx context.Context, api *awsiam.Client, name string) error {
			_, err := api.DeleteGroup(ctx, &awsiam.DeleteGroupInput{GroupName: &name})
			return err
		},
		listAttached: func(ctx context.Context, api *awsiam.Client, name string) ([]iamtypes.AttachedPolicy, error) {
			out, err := api.ListAttachedGroupPolicies(ctx, &awsiam.ListAttachedGroupPoliciesInput{GroupName: &name, MaxItems: aws.Int32(1000)})
			if err != nil {
				return nil, err
			}
			return out.AttachedPolicies, nil
		},
		listInline: func(ctx context.Context, api *awsiam.Client, name string) ([]string, error) {
			out, err := api.ListGroupPolicies(ctx, &awsiam.ListGroupPoliciesInput{GroupName: &name, MaxItems: aws.Int32(1000)})
			if err != nil {
				return nil, err
			}
			return out.PolicyNames, nil
		},
		getInline: func(ctx context.Context, api *awsiam.Client, name, policy string) (string, error) {
			out, err := api.GetGroupPolicy(ctx, &awsiam.GetGroupPolicyInput{GroupName: &name, PolicyName: &policy})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.PolicyDocument), nil
		},
	}

	roleHolder = &holder{
		kind: "roles", noun: "Role", attachPath: "attach", detachPath: "detach",
		attach: func(ctx context.Context, api *awsiam.Client, name, arn string) error {
			_, err := api.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: &name, PolicyArn: &arn})
			return err
		},
		detach: func(ctx context.Context, api *awsiam.Client, name, arn string) error {
			_, err := api.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: &name, PolicyArn: &arn})
			return err
		},
		deleteInline: func(ctx context.Context, api *awsiam.Client, name, policy string) error {
			_, err := api.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: &name, PolicyName: &policy})
			return err
		},
		remove: func(ctx context.Context, api *awsiam.Client, name string) error {
			_, err := api.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: &name})
			return err
		},
		listAttached: func(ctx context.Context, api *awsiam.Client, name string) ([]iamtypes.AttachedPolicy, error) {
			out, err := api.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: &name, MaxItems: aws.Int32(1000)})
			if err != nil {
				return nil, err
			}
			return out.AttachedPolicies, nil
		},
		listInline: func(ctx context.Context, api *awsiam.Client, name string) ([]string, error) {
			out, err := api.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: &name, MaxItems: aws.Int32(1000)})
			if err != nil {
				return nil, err
			}
			return out.PolicyNames, nil
		},
		getInline: func(ctx context.Context, api *awsiam.Client, name, policy string) (string, error) {
			out, err := api.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: &name, PolicyName: &policy})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.PolicyDocument), nil
		},
	}

	holders = []*holder{userHolder, groupHolder, roleHolder}
)

// path is the console path of a holder's page.
func (h *holder) path(name string) string { return Prefix + h.kind + "/" + url.PathEscape(name) }

// registerHolders registers what every kind of holder shares: creation (users, groups)
// and deletion, and the managed and inline policy actions.
func registerHolders(c *Console) {
	for _, h := range holders {
		if h.create != nil {
			c.page("POST "+Prefix+h.kind, c.createHolder(h))
		}
		base := "POST " + Prefix + h.kind + "/{name}/"
		c.page(base+h.attachPath, c.attachPolicy(h))
		c.page(base+h.detachPath, c.detachPolicy(h))
		c.page(base+"inline/{policy}/delete", c.deleteInlinePolicy(h))
		c.page(base+"delete", c.deleteHolder(h))
	}
}

// createHolder creates a user or a group (iam:CreateUser, iam:CreateGroup) and goes to
// its page.
func (c *Console) createHolder(h *holder) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		name, path := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("path"))
		c.finish(w, r, s, h.create(apiCtx(r), s.clients.iam, name, path), h.path(name), h.noun+" "+name+" created.")
	}
}

// attachPolicy attaches the form's managed policy (iam:AttachUserPolicy, …).
func (c *Console) attachPolicy(h *holder) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		name, arn := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("arn"))
		c.finish(w, r, s, h.attach(apiCtx(r), s.clients.iam, name, arn), h.path(name), "Policy "+arn+" attached.")
	}
}

// detachPolicy detaches the form's managed policy (iam:DetachUserPolicy, …).
func (c *Console) detachPolicy(h *holder) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		name, arn := r.PathValue("name"), r.PostFormValue("arn")
		c.finish(w, r, s, h.detach(apiCtx(r), s.clients.iam, name, arn), h.path(name), "Policy "+arn+" detached.")
	}
}

// deleteInlinePolicy deletes an inline policy (iam:DeleteUserPolicy, …).
func (c *Console) deleteInlinePolicy(h *holder) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		name, policy := r.PathValue("name"), r.PathValue("policy")
		c.finish(w, r, s, h.deleteInline(apiCtx(r), s.clients.iam, name, policy), h.path(name), "Inline policy "+policy+" deleted.")
	}
}

// deleteHolder deletes the user, group or role (iam:DeleteUser, …); IAM refuses while it
// has policies (and members, credentials), and the error page shows why.
func (c *Console) deleteHolder(h *holder) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		name := r.PathValue("name")
		c.finish(w, r, s, h.remove(apiCtx(r), s.clients.iam, name), Prefix+h.kind, h.noun+" "+name+" deleted.")
	}
}

// heldPolicies is the policies part of a user's or a group's page (partials.html
// "held-policies"), each list with its own error, so that a person who may read only
// part of the page sees that part.
type heldPolicies struct {
	Kind string // the holder's path segment, for the forms' paths

	Attached    []iamtypes.AttachedPolicy
	AttachedErr *APIError
	PolicyARNs  []string // the account's and AWS's managed policies, for the attach form

	Inline    []inlinePolicy
	InlineErr *APIError
}

// inlinePolicy is an inline policy with its document, or the error reading it.
type inlinePolicy struct {
	Name, Document string
	Err            *APIError
}

// heldPolicies reads a holder's managed and inline policies, and the policies the attach
// form suggests.
func (c *Console) heldPolicies(r *http.Request, s *session, h *holder, name string) heldPolicies {
	ctx, api := apiCtx(r), s.clients.iam
	d := heldPolicies{Kind: h.kind}
	if a, err := h.listAttached(ctx, api, name); err != nil {
		d.AttachedErr = sectionErr(err)
	} else {
		d.Attached = a
		d.PolicyARNs = policyARNs(r, s)
	}
	names, err := h.listInline(ctx, api, name)
	if err != nil {
		d.InlineErr = sectionErr(err)
		return d
	}
	for _, pn := range names {
		ip := inlinePolicy{Name: pn}
		if doc, err := h.getInline(ctx, api, name, pn); err != nil {
			ip.Err = sectionErr(err)
		} else {
			ip.Document = prettyJSON(doc)
		}
		d.Inline = append(d.Inline, ip)
	}
	return d
}

// policyARNs lists the managed policies (iam:ListPolicies, Scope All) for an attach form's
// suggestions; none if the session may not list them.
func policyARNs(r *http.Request, s *session) []string {
	out, err := s.clients.iam.ListPolicies(apiCtx(r), &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeAll, MaxItems: aws.Int32(1000)})
	if err != nil {
		return nil
	}
	arns := make([]string, 0, len(out.Policies))
	for _, p := range out.Policies {
		arns = append(arns, aws.ToString(p.Arn))
	}
	return arns
}
