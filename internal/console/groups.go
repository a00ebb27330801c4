package console

import (
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func init() { pageSets = append(pageSets, registerGroups) }

// registerGroups registers the group pages;
// registerHolders registers creation, deletion and the policy actions.
func registerGroups(c *Console) {
	c.page("GET "+Prefix+"groups", c.groups)
	c.page("GET "+Prefix+"groups/{name}", c.group)
	c.page("POST "+Prefix+"groups/{name}/members", c.addGroupMember)
	c.page("POST "+Prefix+"groups/{name}/members/{user}/remove", c.removeGroupMember)
}

// groupPath is the console path of a group's page.
func groupPath(name string) string { return groupHolder.path(name) }

// groupsData is the groups page.
type groupsData struct {
	Groups []iamtypes.Group
	More   bool
	Create *createForm
}

// groups lists the account's groups (iam:ListGroups), a page of at most 1000.
func (c *Console) groups(w http.ResponseWriter, r *http.Request, s *session) {
	out, err := s.clients.iam.ListGroups(apiCtx(r), &awsiam.ListGroupsInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "groups", &view{Title: "Groups", Nav: "groups", Data: &groupsData{Groups: out.Groups, More: out.IsTruncated, Create: &createForm{Noun: "group", Label: "Group", Action: Prefix + "groups", NameMax: 128}}})
}

// groupData is a group's page; the policies carry their own errors.
type groupData struct {
	Name    string
	Group   iamtypes.Group
	Members []iamtypes.User
	More    bool
	Addable []string // the account's users not in the group, for the add form

	heldPolicies
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

	d.heldPolicies = c.heldPolicies(r, s, groupHolder, name)
	c.render(w, r, s, http.StatusOK, "group", &view{Title: "Group " + name, Nav: "groups", Data: d})
}

// addGroupMember adds the form's user to the group (iam:AddUserToGroup).
func (c *Console) addGroupMember(w http.ResponseWriter, r *http.Request, s *session) {
	name, user := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("user"))
	_, err := s.clients.iam.AddUserToGroup(apiCtx(r), &awsiam.AddUserToGroupInput{GroupName: aws.String(name), UserName: aws.String(user)})
	c.finish(w, r, s, err, groupPath(name), "Added "+user+" to the group.")
}

// removeGroupMember removes a user from the group (iam:RemoveUserFromGroup).
func (c *Console) removeGroupMember(w http.ResponseWriter, r *http.Request, s *session) {
	name, user := r.PathValue("name"), r.PathValue("user")
	_, err := s.clients.iam.RemoveUserFromGroup(apiCtx(r), &awsiam.RemoveUserFromGroupInput{GroupName: aws.String(name), UserName: aws.String(user)})
	c.finish(w, r, s, err, groupPath(name), "Removed "+user+" from the group.")
}
