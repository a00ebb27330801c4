package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

func init() { pageSets = append(pageSets, registerUsers) }

// registerUsers registers the user pages;
// registerHolders registers creation, deletion and the policy actions.
func registerUsers(c *Console) {
	c.page("GET "+Prefix+"users", c.users)
	c.page("GET "+Prefix+"users/{name}", c.user)
	c.page("POST "+Prefix+"users/{name}/groups", c.addUserToGroup)
	c.page("POST "+Prefix+"users/{name}/groups/{group}/remove", c.removeUserFromGroup)
	registerCredentials(c)
}

// usersData is the users page.
type usersData struct {
	Users  []iamtypes.User
	More   bool
	Create *createForm
}

// users lists the account's users (iam:ListUsers), a page of at most 1000.
func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session) {
	out, err := s.clients.iam.ListUsers(apiCtx(r), &awsiam.ListUsersInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "users", &view{Title: "Users", Nav: "users", Data: &usersData{Users: out.Users, More: out.IsTruncated, Create: &createForm{Noun: "user", Label: "User", Action: Prefix + "users", NameMax: 64}}})
}

// userData is a user's page: each section carries its own error, so that a person who
// may read only part of it (their own keys, say) sees that part.
type userData struct {
	Name string
	User iamtypes.User
	Self bool // the signed-in user's own page: the change-password form

	Groups    []iamtypes.Group
	GroupsErr *APIError
	Joinable  []string // the account's groups the user is not in, for the add form

	heldPolicies

	Login    *iamtypes.LoginProfile // nil: no console password (if LoginErr is nil)
	LoginErr *APIError

	MFA    []iamtypes.MFADevice
	MFAErr *APIError

	Keys    []accessKey
	KeysErr *APIError
}

// accessKey is an access key's metadata and when it was last used.
type accessKey struct {
	iamtypes.AccessKeyMetadata
	LastUsed              time.Time
	LastService, LastArea string
}

// sectionErr is a section's error as the page shows it; nil for nil.
func sectionErr(err error) *APIError {
	if err == nil {
		return nil
	}
	return asAPIError(err)
}

// isCode reports whether err is the API error code.
func isCode(err error, code string) bool {
	var se smithy.APIError
	return errors.As(err, &se) && se.ErrorCode() == code
}

// userPath is the console path of a user's page.
func userPath(name string) string { return userHolder.path(name) }

// user shows a user (iam:GetUser) with its groups, policies, console password, MFA
// devices and access keys, each read with its own action.
func (c *Console) user(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	ctx := apiCtx(r)
	api := s.clients.iam
	out, err := api.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String(name)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	name = aws.ToString(out.User.UserName)
	d := &userData{Name: name, User: *out.User, Self: strings.EqualFold(name, s.user)}

	if g, err := api.ListGroupsForUser(ctx, &awsiam.ListGroupsForUserInput{UserName: aws.String(name), MaxItems: aws.Int32(1000)}); err != nil {
		d.GroupsErr = sectionErr(err)
	} else {
		d.Groups = g.Groups
		in := map[string]bool{}
		for _, g := range g.Groups {
			in[aws.ToString(g.GroupName)] = true
		}
		if all, err := api.ListGroups(ctx, &awsiam.ListGroupsInput{MaxItems: aws.Int32(1000)}); err == nil {
			for _, g := range all.Groups {
				if n := aws.ToString(g.GroupName); !in[n] {
					d.Joinable = append(d.Joinable, n)
				}
			}
		}
	}

	d.heldPolicies = c.heldPolicies(r, s, userHolder, name)

	if lp, err := api.GetLoginProfile(ctx, &awsiam.GetLoginProfileInput{UserName: aws.String(name)}); err == nil {
		d.Login = lp.LoginProfile
	} else if !isCode(err, "NoSuchEntity") {
		d.LoginErr = sectionErr(err)
	}

	if m, err := api.ListMFADevices(ctx, &awsiam.ListMFADevicesInput{UserName: aws.String(name), MaxItems: aws.Int32(1000)}); err != nil {
		d.MFAErr = sectionErr(err)
	} else {
		d.MFA = m.MFADevices
	}

	if k, err := api.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String(name), MaxItems: aws.Int32(1000)}); err != nil {
		d.KeysErr = sectionErr(err)
	} else {
		for _, m := range k.AccessKeyMetadata {
			ak := accessKey{AccessKeyMetadata: m}
			if lu, err := api.GetAccessKeyLastUsed(ctx, &awsiam.GetAccessKeyLastUsedInput{AccessKeyId: m.AccessKeyId}); err == nil && lu.AccessKeyLastUsed != nil {
				ak.LastUsed = aws.ToTime(lu.AccessKeyLastUsed.LastUsedDate)
				ak.LastService = aws.ToString(lu.AccessKeyLastUsed.ServiceName)
				ak.LastArea = aws.ToString(lu.AccessKeyLastUsed.Region)
			}
			d.Keys = append(d.Keys, ak)
		}
	}
	c.render(w, r, s, http.StatusOK, "user", &view{Title: "User " + name, Nav: "users", Data: d})
}

// addUserToGroup adds the user to the form's group (iam:AddUserToGroup).
func (c *Console) addUserToGroup(w http.ResponseWriter, r *http.Request, s *session) {
	name, group := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("group"))
	_, err := s.clients.iam.AddUserToGroup(apiCtx(r), &awsiam.AddUserToGroupInput{UserName: aws.String(name), GroupName: aws.String(group)})
	c.finish(w, r, s, err, userPath(name), "Added "+name+" to group "+group+".")
}

// removeUserFromGroup removes the user from a group (iam:RemoveUserFromGroup).
func (c *Console) removeUserFromGroup(w http.ResponseWriter, r *http.Request, s *session) {
	name, group := r.PathValue("name"), r.PathValue("group")
	_, err := s.clients.iam.RemoveUserFromGroup(apiCtx(r), &awsiam.RemoveUserFromGroupInput{UserName: aws.String(name), GroupName: aws.String(group)})
	c.finish(w, r, s, err, userPath(name), "Removed "+name+" from group "+group+".")
}
