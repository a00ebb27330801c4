package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func init() { pageSets = append(pageSets, registerUsers) }

func registerUsers(c *Console) {
	c.page("GET "+Prefix+"users", c.users)
	c.page("POST "+Prefix+"users", c.createUser)
}

// usersData is the users page.
type usersData struct {
	Users []iamtypes.User
	More  bool
}

// users lists the account's users (iam:ListUsers), a page of at most 1000.
func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session) {
	out, err := s.clients.iam.ListUsers(apiCtx(r), &awsiam.ListUsersInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "users", &view{Title: "Users", Nav: "users", Data: &usersData{Users: out.Users, More: out.IsTruncated}})
}

// createUser creates a user (iam:CreateUser) and goes to its page.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	in := &awsiam.CreateUserInput{UserName: aws.String(name)}
	if p := strings.TrimSpace(r.PostFormValue("path")); p != "" {
		in.Path = aws.String(p)
	}
	if _, err := s.clients.iam.CreateUser(apiCtx(r), in); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, Prefix+"users/"+url.PathEscape(name), "User "+name+" created.")
}
