package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func init() { pageSets = append(pageSets, registerGroups) }

func registerGroups(c *Console) {
	c.page("GET "+Prefix+"groups", c.groups)
	c.page("POST "+Prefix+"groups", c.createGroup)
	c.page("GET "+Prefix+"groups/{name}", c.group)
	c.page("POST "+Prefix+"groups/{name}/delete", c.deleteGroup)
	c.page("POST "+Prefix+"groups/{name}/members", c.addGroupMember)
	c.page("POST "+Prefix+"groups/{name}/members/{user}/remove", c.removeGroupMember)
	c.page("POST "+Prefix+"groups/{name}/policies", c.attachGroupPolicy)
	c.page("POST "+Prefix+"groups/{name}/policies/detach", c.detachGroupPolicy)
	c.page("POST "+Prefix+"groups/{name}/inline/{policy}/delete", c.deleteGroupPolicy)
}

// groupPath is the console path of a group's page.
func groupPath(name string) string { return Prefix + "groups/" + url.PathEscape(name) }

// groupsData is the groups page.
type groupsData struct {
	Groups []iamtypes.Group
	More   bool
}

// groups lists the account's groups (iam:ListGroups), a page of at most 1000.
func (c *Console) groups(w http.ResponseWriter, r *http.Request, s *session) {
	out, err := s.clients.iam.ListGroups(apiCtx(r), &awsiam.ListGroupsInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "groups", &view{Title: "Groups", Nav: "groups", Data: &groupsData{Groups: out.Groups, More: out.IsTruncated}})
}

// createGroup creates a group (iam:CreateGroup) and goes to its page.
func (c *Console) createGroup(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	in := &awsiam.CreateGroupInput{GroupName: aws.String(name)}
	if p := strings.TrimSpace(r.PostFormValue("path")); p != "" {
		in.Path = aws.String(p)
	}
	if _, err := s.clients.iam.CreateGroup(apiCtx(r), in); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, groupPath(name), "Group "+name+" created.")
}

// groupData is a group's page; sections other than the members carry their own error.
type groupData struct {
	Name    string
	Group   iamtypes.Group
	Members []iamtypes.User
	More    bool
	Addable []string // the account's users not in the group, for the add form

	Attached    []iamtypes.AttachedPolicy
	AttachedErr *APIError
	PolicyARNs  []string

	Inline    []inlinePolicy
	InlineErr *APIError
}

// group shows a group and its members (iam:GetGroup), its managed policies and inline
// policies.
func (c *Console) group(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	ctx := apiCtx(r)
	api := s.clients.iam
	out, err := api.GetGroup(ctx, &awsiam.GetGroupInput{GroupName: aws.String(name), MaxItems: aws.Int32(1000)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	name = aws.ToString(out.Group.GroupName)
	d := &groupData{Name: name, Group: *out.Group, Members: out.Users, More: out.IsTruncated}
	in := map[string]bool{}
	for _, u := range out.Users {
		in[strings.ToLower(aws.ToString(u.UserName))] = true
	}
	if all, err := api.ListUsers(ctx, &awsiam.ListUsersInput{MaxItems: aws.Int32(1000)}); err == nil {
		for _, u := range all.Users {
			if n := aws.ToString(u.UserName); !in[strings.ToLower(n)] {
				d.Addable = append(d.Addable, n)
			}
		}
	}

	if a, err := api.ListAttachedGroupPolicies(ctx, &awsiam.ListAttachedGroupPoliciesInput{GroupName: aws.String(name), MaxItems: aws.Int32(1000)}); err != nil {
		d.AttachedErr = sectionErr(err)
	} else {
		d.Attached = a.AttachedPolicies
		d.PolicyARNs = policyARNs(r, s)
	}

	if l, err := api.ListGroupPolicies(ctx, &awsiam.ListGroupPoliciesInput{GroupName: aws.String(name), MaxItems: aws.Int32(1000)}); err != nil {
		d.InlineErr = sectionErr(err)
	} else {
		for _, pn := range l.PolicyNames {
			ip := inlinePolicy{Name: pn}
			if p, err := api.GetGroupPolicy(ctx, &awsiam.GetGroupPolicyInput{GroupName: aws.String(name), PolicyName: aws.String(pn)}); err != nil {
				ip.Err = sectionErr(err)
			} else {
				ip.Document = prettyJSON(aws.ToString(p.PolicyDocument))
			}
			d.Inline = append(d.Inline, ip)
		}
	}
	c.render(w, r, s, http.StatusOK, "group", &view{Title: "Group " + name, Nav: "groups", Data: d})
}

// deleteGroup deletes a group (iam:DeleteGroup); AWS refuses while it has members or
// policies, and the page shows why.
func (c *Console) deleteGroup(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if _, err := s.clients.iam.DeleteGroup(apiCtx(r), &awsiam.DeleteGroupInput{GroupName: aws.String(name)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, Prefix+"groups", "Group "+name+" deleted.")
}

// addGroupMember adds the form's user to the group (iam:AddUserToGroup).
func (c *Console) addGroupMember(w http.ResponseWriter, r *http.Request, s *session) {
	name, user := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("user"))
	if _, err := s.clients.iam.AddUserToGroup(apiCtx(r), &awsiam.AddUserToGroupInput{GroupName: aws.String(name), UserName: aws.String(user)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, groupPath(name), "Added "+user+" to the group.")
}

// removeGroupMember removes a user from the group (iam:RemoveUserFromGroup).
func (c *Console) removeGroupMember(w http.ResponseWriter, r *http.Request, s *session) {
	name, user := r.PathValue("name"), r.PathValue("user")
	if _, err := s.clients.iam.RemoveUserFromGroup(apiCtx(r), &awsiam.RemoveUserFromGroupInput{GroupName: aws.String(name), UserName: aws.String(user)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, groupPath(name), "Removed "+user+" from the group.")
}

// attachGroupPolicy attaches the form's managed policy (iam:AttachGroupPolicy).
func (c *Console) attachGroupPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name, arn := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("arn"))
	if _, err := s.clients.iam.AttachGroupPolicy(apiCtx(r), &awsiam.AttachGroupPolicyInput{GroupName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, groupPath(name), "Attached "+arn+".")
}

// detachGroupPolicy detaches the form's managed policy (iam:DetachGroupPolicy).
func (c *Console) detachGroupPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name, arn := r.PathValue("name"), r.PostFormValue("arn")
	if _, err := s.clients.iam.DetachGroupPolicy(apiCtx(r), &awsiam.DetachGroupPolicyInput{GroupName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, groupPath(name), "Detached "+arn+".")
}

// deleteGroupPolicy deletes an inline policy of the group (iam:DeleteGroupPolicy).
func (c *Console) deleteGroupPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name, policy := r.PathValue("name"), r.PathValue("policy")
	if _, err := s.clients.iam.DeleteGroupPolicy(apiCtx(r), &awsiam.DeleteGroupPolicyInput{GroupName: aws.String(name), PolicyName: aws.String(policy)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, groupPath(name), "Deleted inline policy "+policy+".")
}
